#pragma once
/// \file
/// What the Fashion-MNIST demo's networks share: the dataset reader (gzip IDX files), errors
/// with the program's exit codes, parameter tensors with Adam, the .npy + manifest model files,
/// the rate-coded loss, and the progress bar. Plain C++; no snn dependency beyond io/npy.

#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <snn/io/npy.hpp>

namespace csnn {

using clock_type = std::chrono::steady_clock;

constexpr int image_side = 28;
constexpr int image_pixels = image_side * image_side;
constexpr int class_count = 10;
constexpr double pi = 3.14159265358979323846;

inline double seconds_since(clock_type::time_point start) { return std::chrono::duration<double>(clock_type::now() - start).count(); }

/// Bad command line or files: exit status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/// The dataset is not installed: exit status 4 (ctest skips on it).
struct missing_data : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The integer `text` of command-line option `option`, which must lie in [lo, hi].
inline long long parse_integer(const std::string& text, const std::string& option, long long lo, long long hi) {
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || value < lo || value > hi)
        throw usage_error(option + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + text + "'");
    return value;
}

/// The finite number > 0 `text` of command-line option `option`.
inline double parse_positive(const std::string& text, const std::string& option) {
    std::size_t used = 0;
    double value = 0.0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || !(value > 0.0) || !std::isfinite(value)) throw usage_error(option + " must be a number > 0, got '" + text + "'");
    return value;
}

// ------------------------------------------------------------------------------------------
// Fashion-MNIST: gzip-compressed IDX files
// ------------------------------------------------------------------------------------------

struct dataset {
    int count = 0;
    std::vector<std::uint8_t> pixels;  // [count, 28, 28]
    std::vector<std::uint8_t> labels;  // [count], 0..9
};

inline std::string data_hint(const std::string& path) {
    return "cannot use '" + path +
           "'. Fashion-MNIST is expected there as gzip IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
           "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). Install the Debian package with\n"
           "  apt-get install dataset-fashion-mnist\n"
           "or pass --data DIR naming a directory that holds them";
}

inline std::vector<std::uint8_t> read_gzip(const std::string& path) {
    if (!std::filesystem::exists(path)) throw missing_data(data_hint(path) + "\n(no such file)");
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) throw usage_error(data_hint(path) + "\n(the file cannot be opened)");
    std::vector<std::uint8_t> content;
    std::array<std::uint8_t, 1 << 16> chunk{};
    for (;;) {
        const int got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
        if (got < 0) {
            int code = 0;
            const std::string reason = gzerror(file, &code);
            gzclose(file);
            throw usage_error(data_hint(path) + "\n(corrupt gzip data: " + reason + ")");
        }
        if (got == 0) break;
        content.insert(content.end(), chunk.begin(), chunk.begin() + got);
    }
    int code = Z_OK;
    const std::string reason = gzerror(file, &code);  // a truncated stream ends without a read error
    gzclose(file);
    if (code != Z_OK) throw usage_error(data_hint(path) + "\n(corrupt gzip data: " + reason + ")");
    return content;
}

inline std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& bytes, std::size_t offset) {
    return (std::uint32_t{bytes[offset]} << 24) | (std::uint32_t{bytes[offset + 1]} << 16) | (std::uint32_t{bytes[offset + 2]} << 8) |
           std::uint32_t{bytes[offset + 3]};
}

/// Checks an IDX header (unsigned bytes, `dims` dimensions) against the file size; returns the extents.
inline std::vector<std::uint32_t> check_idx(const std::vector<std::uint8_t>& bytes, std::uint32_t dims, const std::string& path) {
    const std::size_t header = 4 + 4 * std::size_t{dims};
    if (bytes.size() < header) throw usage_error(data_hint(path) + "\n(too short for an IDX header)");
    if (big_endian_u32(bytes, 0) != (0x0800u | dims)) throw usage_error(data_hint(path) + "\n(not an unsigned-byte IDX file of " + std::to_string(dims) + " dimensions)");
    std::vector<std::uint32_t> extents;
    std::size_t elements = 1;
    for (std::uint32_t d = 0; d < dims; ++d) {
        extents.push_back(big_endian_u32(bytes, 4 + 4 * std::size_t{d}));
        elements *= extents.back();
    }
    if (bytes.size() != header + elements) throw usage_error(data_hint(path) + "\n(the header does not match the file size)");
    return extents;
}

inline dataset load_split(const std::string& dir, const std::string& prefix) {
    const std::string images_path = dir + "/" + prefix + "-images-idx3-ubyte.gz";
    const std::string labels_path = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
    const std::vector<std::uint8_t> images = read_gzip(images_path);
    const std::vector<std::uint8_t> labels = read_gzip(labels_path);
    const auto image_dims = check_idx(images, 3, images_path);
    const auto label_dims = check_idx(labels, 1, labels_path);
    if (image_dims[1] != image_side || image_dims[2] != image_side) throw usage_error(data_hint(images_path) + "\n(images are not 28x28)");
    if (image_dims[0] != label_dims[0]) throw usage_error(data_hint(dir) + "\n(image and label counts differ)");
    dataset d;
    d.count = static_cast<int>(image_dims[0]);
    d.pixels.assign(images.begin() + 16, images.end());
    d.labels.assign(labels.begin() + 8, labels.end());
    for (std::uint8_t label : d.labels)
        if (label >= class_count) throw usage_error(data_hint(labels_path) + "\n(label " + std::to_string(label) + " is not a class 0..9)");
    return d;
}

/// Pixels of images order[first .. first+count) as ToTensor() gives them ([0, 1], no
/// normalisation) into x [count, 1, 28, 28], and their labels.
inline void gather_images(const dataset& d, const std::vector<int>& order, std::size_t first, std::int64_t count, float* x, std::vector<std::uint8_t>& labels) {
    labels.resize(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
        const auto image = static_cast<std::size_t>(order[first + static_cast<std::size_t>(i)]);
        labels[static_cast<std::size_t>(i)] = d.labels[image];
        for (std::size_t p = 0; p < image_pixels; ++p) x[static_cast<std::size_t>(i) * image_pixels + p] = static_cast<float>(d.pixels[image * image_pixels + p]) / 255.0f;
    }
}

// ------------------------------------------------------------------------------------------
// Parameters, Adam, model files
// ------------------------------------------------------------------------------------------

/// A named float32 parameter (torch state_dict name and shape) with its gradient and Adam state.
struct tensor {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> value, grad, adam_m, adam_v;
    bool trainable = true;  // running statistics are saved but not trained

    tensor(std::string n, std::vector<std::int64_t> s, bool train = true) : name(std::move(n)), shape(std::move(s)), trainable(train) {
        const auto size = static_cast<std::size_t>(std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>()));
        value.assign(size, 0.0f);
        if (trainable) grad.assign(size, 0.0f), adam_m.assign(size, 0.0f), adam_v.assign(size, 0.0f);
    }
    std::int64_t fan_in() const { return std::accumulate(shape.begin() + 1, shape.end(), std::int64_t{1}, std::multiplies<>()); }
};

/// torch's default init of a conv/linear weight: kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in)).
template <class Generator>
void torch_default_init(tensor& w, Generator& gen) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(w.fan_in()));
    std::uniform_real_distribution<float> dist(-bound, bound);
    for (float& v : w.value) v = dist(gen);
}

/// torch.optim.Adam (betas 0.9, 0.999, eps 1e-8, no weight decay) over the trainable tensors.
struct adam {
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    long long step_count = 0;

    void step(const std::vector<tensor*>& tensors, double lr) {
        ++step_count;
        const double correction1 = 1.0 - std::pow(beta1, static_cast<double>(step_count));
        const double correction2 = 1.0 - std::pow(beta2, static_cast<double>(step_count));
        const double step_size = lr / correction1, sqrt_c2 = std::sqrt(correction2);
        for (tensor* t : tensors) {
            if (!t->trainable) continue;
            for (std::size_t i = 0; i < t->value.size(); ++i) {
                const double g = t->grad[i];
                const double mi = beta1 * t->adam_m[i] + (1.0 - beta1) * g;
                const double vi = beta2 * t->adam_v[i] + (1.0 - beta2) * g * g;
                t->adam_m[i] = static_cast<float>(mi);
                t->adam_v[i] = static_cast<float>(vi);
                t->value[i] -= static_cast<float>(step_size * mi / (std::sqrt(vi) / sqrt_c2 + eps));
            }
        }
    }
};

inline std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

/// A model directory: `manifest` (first line `magic`, then `key value` lines, then one
/// `tensor NAME float32 SHAPE...` line per tensor) beside one float32 NAME.npy per tensor.
struct model_files {
    std::string manifest;  // file name inside the directory
    std::string magic;     // first line
};

inline void save_tensors(const std::string& dir, const model_files& files, const std::vector<std::pair<std::string, std::int64_t>>& header,
                         const std::vector<tensor*>& tensors) {
    for (const tensor* t : tensors) snn::io::write_npy(dir + "/" + t->name + ".npy", t->shape, t->value.data());
    std::ofstream manifest(dir + "/" + files.manifest);
    manifest << files.magic << "\n";
    for (const auto& [key, value] : header) manifest << key << ' ' << value << '\n';
    for (const tensor* t : tensors) {
        manifest << "tensor " << t->name << " float32";
        for (std::int64_t e : t->shape) manifest << ' ' << e;
        manifest << '\n';
    }
    if (!manifest) throw usage_error("cannot write '" + dir + "/" + files.manifest + "' (check --out)");
}

/// The values of `keys` (in this order, each in [1, limit]) from a manifest's header lines.
inline std::vector<std::int64_t> read_manifest_header(const std::string& dir, const model_files& files, const std::vector<std::string>& keys,
                                                      std::int64_t limit = 1 << 20) {
    const std::string path = dir + "/" + files.manifest;
    std::ifstream manifest(path);
    if (!manifest) throw usage_error("--load: cannot open '" + path + "' (no model saved there? --out DIR of a training run writes it)");
    std::string magic, key;
    std::getline(manifest, magic);
    if (magic != files.magic) throw usage_error("--load: '" + path + "' is not a model manifest of this program (first line '" + magic + "', expected '" + files.magic + "')");
    std::vector<std::int64_t> values;
    for (const std::string& expected : keys) {
        std::int64_t value = 0;
        if (!(manifest >> key >> value) || key != expected || value < 1 || value > limit)
            throw usage_error("--load: '" + path + "': expected a line '" + expected + " V' with V in 1.." + std::to_string(limit));
        values.push_back(value);
    }
    return values;
}

/// Reads every tensor's NAME.npy from `dir`: float32, the expected shape, finite values.
inline void load_tensors(const std::string& dir, const std::vector<tensor*>& tensors, const std::string& shape_context) {
    for (tensor* t : tensors) {
        const std::string path = dir + "/" + t->name + ".npy";
        snn::io::npy_array array = [&] {
            try {
                return snn::io::read_npy(path);
            } catch (const std::exception& e) {
                throw usage_error("--load: " + std::string(e.what()));
            }
        }();
        if (array.type() != snn::io::dtype::float32) throw usage_error("--load: '" + path + "' holds " + snn::io::dtype_name(array.type()) + ", expected float32");
        if (array.shape() != t->shape)
            throw usage_error("--load: '" + path + "' has shape " + shape_text(array.shape()) + ", expected " + shape_text(t->shape) + " for " + shape_context);
        std::copy(array.data<float>(), array.data<float>() + array.size(), t->value.begin());
        for (float v : t->value)
            if (!std::isfinite(v)) throw usage_error("--load: '" + path + "' holds a non-finite value");
    }
}

// ------------------------------------------------------------------------------------------
// Loss on firing rates
// ------------------------------------------------------------------------------------------

/// MSE(mean over T of the output spikes, one-hot) as F.mse_loss (mean over N*10), from spikes
/// [T, N, 10]; writes dL/dspike into grad [T, N, 10] when it is not null. Returns the loss;
/// `correct` counts argmax hits (first max wins, as torch.argmax on ties).
inline double rate_mse(const float* spikes, std::int64_t steps, std::int64_t N, const std::uint8_t* labels, float* grad, int& correct) {
    double loss = 0.0;
    correct = 0;
    const double scale = 2.0 / static_cast<double>(N * class_count * steps);
    for (std::int64_t n = 0; n < N; ++n) {
        std::array<double, class_count> rate{};
        for (std::int64_t t = 0; t < steps; ++t)
            for (int k = 0; k < class_count; ++k) rate[static_cast<std::size_t>(k)] += spikes[(t * N + n) * class_count + k];
        int best = 0;
        for (int k = 0; k < class_count; ++k) {
            auto& r = rate[static_cast<std::size_t>(k)];
            r /= static_cast<double>(steps);
            if (r > rate[static_cast<std::size_t>(best)]) best = k;
            const double err = r - (labels[n] == k ? 1.0 : 0.0);
            loss += err * err;
            if (grad != nullptr)
                for (std::int64_t t = 0; t < steps; ++t) grad[(t * N + n) * class_count + k] = static_cast<float>(scale * err);
        }
        correct += best == labels[n] ? 1 : 0;
    }
    return loss / static_cast<double>(N * class_count);
}

struct eval_result {
    double loss = 0.0, accuracy = 0.0;
};

// ------------------------------------------------------------------------------------------
// Progress
// ------------------------------------------------------------------------------------------

/// One carriage-returned line on stderr: `label` [####....] done/total  loss  acc  img/s.
inline void show_progress(const std::string& label, std::size_t done, std::size_t total, double loss, double accuracy, double images_per_s) {
    constexpr int width = 30;
    const int filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(done) / static_cast<double>(total));
    std::ostringstream line;
    line << '\r' << label << " [" << std::string(static_cast<std::size_t>(filled), '#') << std::string(static_cast<std::size_t>(width - filled), '.') << "] " << done << '/'
         << total << "  loss " << std::fixed << std::setprecision(4) << loss << "  acc " << std::setprecision(2) << 100.0 * accuracy << "%  " << std::setprecision(0)
         << images_per_s << " img/s ";
    std::cerr << line.str() << std::flush;
}

}  // namespace csnn
