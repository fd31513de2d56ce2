#pragma once
/// \file
/// Training curves of the demo's runs as one SVG: training loss, and train/test accuracy,
/// against epochs, one colour per run (the float CSNN, the Loihi variant, ...).

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

namespace csnn {

struct curve_point {
    double epoch;  // fractional: the end of the segment
    double loss, train_accuracy;
};

/// One training run: points every tenth of an epoch, test accuracy at each epoch's end.
struct history {
    std::string label;                            // legend text, e.g. "CSNN float32, C = 128"
    std::vector<curve_point> train;
    std::vector<std::pair<double, double>> test;  // (epoch, accuracy)

    /// Records the segment [.., done] of `epoch` (0-based) when a tenth of the epoch has passed.
    struct recorder {
        history& h;
        int epoch;
        std::size_t total, next = 1, images = 0;
        double loss_sum = 0.0;
        long long correct = 0;
        void add(std::size_t done, double batch_loss, int batch_correct, std::int64_t batch_images) {
            loss_sum += batch_loss * static_cast<double>(batch_images), correct += batch_correct, images += static_cast<std::size_t>(batch_images);
            if (done * 10 < next * total && done != total) return;
            h.train.push_back({epoch + static_cast<double>(done) / static_cast<double>(total), loss_sum / static_cast<double>(images),
                               static_cast<double>(correct) / static_cast<double>(images)});
            loss_sum = 0.0, correct = 0, images = 0;
            while (done * 10 >= next * total) ++next;
        }
    };
};

/// Two panels (loss; accuracy) with every run in `runs` overlaid; `title` and `subtitle` on top.
inline void write_curves_svg(const std::string& path, const std::string& title, const std::string& subtitle, const std::vector<history>& runs) {
    std::ofstream svg(path);
    if (!svg) throw usage_error("cannot write '" + path + "' (check --out)");
    static const char* const colors[] = {"#3b6ea8", "#c0392b", "#27ae60", "#8e44ad"};
    const double panel_w = 420, panel_h = 260, left = 70, top = 85, gap = 90;
    double max_epoch = 1e-9, max_loss = 1e-9;
    for (const history& h : runs) {
        for (const auto& p : h.train) max_epoch = std::max(max_epoch, p.epoch), max_loss = std::max(max_loss, p.loss);
        for (const auto& p : h.test) max_epoch = std::max(max_epoch, p.first);
    }
    auto x_of = [&](double panel_left, double epoch) { return panel_left + panel_w * epoch / max_epoch; };
    auto y_of = [&](double value, double max_value) { return top + panel_h * (1.0 - value / max_value); };
    const double legend_h = 18.0 * static_cast<double>(2 * runs.size());
    svg << std::fixed << std::setprecision(2);
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << 2 * panel_w + gap + left + 40 << "\" height=\"" << top + panel_h + 60 + legend_h
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << left << "\" y=\"28\" font-size=\"16\" font-weight=\"bold\">" << title << "</text>\n<text x=\"" << left << "\" y=\"48\" fill=\"#444\">" << subtitle
        << "</text>\n";
    auto axes = [&](double panel_left, const std::string& name, double max_value, bool percent) {
        svg << "<text x=\"" << panel_left << "\" y=\"" << top - 10 << "\" font-weight=\"bold\">" << name << "</text>\n";
        for (int tick = 0; tick <= 4; ++tick) {
            const double v = max_value * tick / 4.0, y = y_of(v, max_value);
            svg << "<line x1=\"" << panel_left << "\" y1=\"" << y << "\" x2=\"" << panel_left + panel_w << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n"
                << "<text x=\"" << panel_left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << std::setprecision(percent ? 0 : 3) << v << (percent ? "%" : "")
                << "</text>\n";
        }
        for (int tick = 0; tick <= 4; ++tick) {
            const double e = max_epoch * tick / 4.0;
            svg << "<text x=\"" << x_of(panel_left, e) << "\" y=\"" << top + panel_h + 18 << "\" text-anchor=\"middle\">" << std::setprecision(2) << e << "</text>\n";
        }
        svg << "<text x=\"" << panel_left + panel_w / 2 << "\" y=\"" << top + panel_h + 38 << "\" text-anchor=\"middle\">epoch</text>\n"
            << "<rect x=\"" << panel_left << "\" y=\"" << top << "\" width=\"" << panel_w << "\" height=\"" << panel_h << "\" fill=\"none\" stroke=\"black\"/>\n";
        svg << std::setprecision(2);
    };
    auto polyline = [&](const std::vector<std::pair<double, double>>& points, double panel_left, double max_value, const char* color, bool dashed) {
        svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"" << (dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"";
        for (const auto& [e, v] : points) svg << x_of(panel_left, e) << ',' << y_of(v, max_value) << ' ';
        svg << "\"/>\n";
        for (const auto& [e, v] : points) svg << "<circle cx=\"" << x_of(panel_left, e) << "\" cy=\"" << y_of(v, max_value) << "\" r=\"3\" fill=\"" << color << "\"/>\n";
    };
    const double right = left + panel_w + gap;
    axes(left, "training loss", max_loss, false);
    axes(right, "accuracy (solid: test, dashed: train running)", 100.0, true);
    double legend_y = top + panel_h + 60;
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const char* color = colors[r % 4];
        std::vector<std::pair<double, double>> loss, train_acc, test_acc;
        for (const auto& p : runs[r].train) loss.emplace_back(p.epoch, p.loss), train_acc.emplace_back(p.epoch, 100.0 * p.train_accuracy);
        for (const auto& [e, a] : runs[r].test) test_acc.emplace_back(e, 100.0 * a);
        polyline(loss, left, max_loss, color, false);
        polyline(train_acc, right, 100.0, color, true);
        polyline(test_acc, right, 100.0, color, false);
        svg << "<text x=\"" << left << "\" y=\"" << legend_y << "\" fill=\"" << color << "\">" << runs[r].label << "</text>\n";
        legend_y += 18;
    }
    svg << "</svg>\n";
    if (!svg) throw usage_error("failed writing '" + path + "'");
}

}  // namespace csnn
