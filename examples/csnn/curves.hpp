#pragma once
/// \file
/// Training curves of the demo's runs as one SVG: training loss, and train/test accuracy,
/// against epochs, one colour per run (the float CSNN, the Loihi variant, ...).

#include <algorithm>
#include <cmath>
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

/// Two panels (loss on a log scale, since the runs' losses differ by orders of magnitude; and
/// accuracy) with every run in `runs` overlaid; `title` and `subtitle` on top.
inline void write_curves_svg(const std::string& path, const std::string& title, const std::string& subtitle, const std::vector<history>& runs) {
    std::ofstream svg(path);
    if (!svg) throw usage_error("cannot write '" + path + "' (check --out)");
    static const char* const colors[] = {"#3b6ea8", "#c0392b", "#27ae60", "#8e44ad"};
    const double panel_w = 420, panel_h = 260, left = 70, top = 85, gap = 90;
    double max_epoch = 1e-9, min_loss = 1e300, max_loss = 0.0, min_accuracy = 1.0;
    for (const history& h : runs) {
        for (const auto& p : h.train) {
            max_epoch = std::max(max_epoch, p.epoch), min_accuracy = std::min(min_accuracy, p.train_accuracy);
            if (p.loss > 0.0) min_loss = std::min(min_loss, p.loss), max_loss = std::max(max_loss, p.loss);
        }
        for (const auto& p : h.test) max_epoch = std::max(max_epoch, p.first), min_accuracy = std::min(min_accuracy, p.second);
    }
    if (!(max_loss > 0.0)) min_loss = 0.1, max_loss = 1.0;
    // Loss axis: whole decades around the data; accuracy axis: tens of percent above the lowest point.
    const double loss_lo = std::floor(std::log10(min_loss)), loss_hi = std::max(std::ceil(std::log10(max_loss)), loss_lo + 1.0);
    const double acc_lo = std::max(0.0, std::floor(100.0 * min_accuracy / 10.0) * 10.0), acc_hi = 100.0;
    auto x_of = [&](double panel_left, double epoch) { return panel_left + panel_w * epoch / max_epoch; };
    auto y_loss = [&](double loss) { return top + panel_h * (1.0 - (std::log10(std::max(loss, 1e-300)) - loss_lo) / (loss_hi - loss_lo)); };
    auto y_acc = [&](double percent) { return top + panel_h * (1.0 - (percent - acc_lo) / (acc_hi - acc_lo)); };
    const double legend_h = 18.0 * static_cast<double>(2 * runs.size());
    svg << std::fixed << std::setprecision(2);
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << 2 * panel_w + gap + left + 40 << "\" height=\"" << top + panel_h + 60 + legend_h
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << left << "\" y=\"28\" font-size=\"16\" font-weight=\"bold\">" << title << "</text>\n<text x=\"" << left << "\" y=\"48\" fill=\"#444\">" << subtitle
        << "</text>\n";
    auto frame = [&](double panel_left, const std::string& name) {
        svg << "<text x=\"" << panel_left << "\" y=\"" << top - 10 << "\" font-weight=\"bold\">" << name << "</text>\n";
        for (int tick = 0; tick <= 4; ++tick) {
            const double e = max_epoch * tick / 4.0;
            svg << "<text x=\"" << x_of(panel_left, e) << "\" y=\"" << top + panel_h + 18 << "\" text-anchor=\"middle\">" << std::setprecision(e == std::floor(e) ? 0 : 2) << e
                << "</text>\n";
        }
        svg << std::setprecision(2) << "<text x=\"" << panel_left + panel_w / 2 << "\" y=\"" << top + panel_h + 38 << "\" text-anchor=\"middle\">epoch</text>\n"
            << "<rect x=\"" << panel_left << "\" y=\"" << top << "\" width=\"" << panel_w << "\" height=\"" << panel_h << "\" fill=\"none\" stroke=\"black\"/>\n";
    };
    auto gridline = [&](double panel_left, double y, const std::string& label) {
        svg << "<line x1=\"" << panel_left << "\" y1=\"" << y << "\" x2=\"" << panel_left + panel_w << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n"
            << "<text x=\"" << panel_left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << label << "</text>\n";
    };
    const double right = left + panel_w + gap;
    for (double d = loss_lo; d <= loss_hi + 0.5; d += 1.0) gridline(left, y_loss(std::pow(10.0, d)), "1e" + std::to_string(static_cast<int>(d)));
    const double acc_step = acc_hi - acc_lo > 50.0 ? 20.0 : acc_hi - acc_lo > 20.0 ? 10.0 : 5.0;
    for (double v = acc_lo; v <= acc_hi + 0.5; v += acc_step) gridline(right, y_acc(v), std::to_string(static_cast<int>(v)) + "%");
    frame(left, "training loss (log scale)");
    frame(right, "accuracy (solid: test, dashed: train, running)");
    auto polyline = [&](const std::vector<std::pair<double, double>>& points, double panel_left, bool loss_panel, const char* color, bool dashed) {
        auto y_of = [&](double v) { return loss_panel ? y_loss(v) : y_acc(v); };
        svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"" << (dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"";
        for (const auto& [e, v] : points) svg << x_of(panel_left, e) << ',' << y_of(v) << ' ';
        svg << "\"/>\n";
        if (!dashed)
            for (const auto& [e, v] : points) svg << "<circle cx=\"" << x_of(panel_left, e) << "\" cy=\"" << y_of(v) << "\" r=\"2.5\" fill=\"" << color << "\"/>\n";
    };
    double legend_y = top + panel_h + 60;
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const char* color = colors[r % 4];
        std::vector<std::pair<double, double>> loss, train_acc, test_acc;
        for (const auto& p : runs[r].train) loss.emplace_back(p.epoch, p.loss), train_acc.emplace_back(p.epoch, 100.0 * p.train_accuracy);
        for (const auto& [e, a] : runs[r].test) test_acc.emplace_back(e, 100.0 * a);
        polyline(loss, left, true, color, false);
        polyline(train_acc, right, false, color, true);
        polyline(test_acc, right, false, color, false);
        svg << "<text x=\"" << left << "\" y=\"" << legend_y << "\" fill=\"" << color << "\">" << runs[r].label;
        if (!runs[r].test.empty()) svg << " — final test accuracy " << std::setprecision(2) << 100.0 * runs[r].test.back().second << "%";
        svg << "</text>\n";
        legend_y += 18;
    }
    svg << "</svg>\n";
    if (!svg) throw usage_error("failed writing '" + path + "'");
}

}  // namespace csnn
