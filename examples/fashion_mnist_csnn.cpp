// snn-example-fashion-mnist-csnn: trains SpikingJelly's conv_fashion_mnist CSNN on the CPU with
// the library's synapse ops and fused IF kernels (forward and BPTT), then evaluates it.
//
// The network (SpikingJelly activation_based/examples/conv_fashion_mnist.py, `CSNN`):
//   {Conv2d(3x3, padding 1, no bias) - BatchNorm2d - IFNode - MaxPool2d(2)} x 2   28 -> 14 -> 7
//   Flatten - Linear(C*7*7, C*4*4, no bias) - IFNode - Linear(C*4*4, 10, no bias) - IFNode
// with IFNode(surrogate ATan(alpha 2), v_threshold 1, hard reset to 0, detach_reset False, the
// example's defaults), T = 4 steps, the image fed directly (the same static input at each
// step), output = firing rate averaged over T, loss = MSE(rate, one-hot), Adam with cosine
// annealing of the learning rate over the epochs (the example's -opt adam, lr 1e-3).
//
// Differences from the Python example, all deliberate:
// - The first conv + batch norm run once on [N, ...] and the result is repeated over T (the
//   input is static, so every step sees the same values; SpikingJelly computes the same thing
//   T times). Batch mean and biased variance are identical; only the running variance's
//   unbiased correction uses n = N*H*W instead of T*N*H*W (a factor 1 + O(1/(N*H*W))).
// - The default width is C = 16 channels (the example uses 128) so that an epoch takes a few
//   minutes on 2 CPU cores; --channels 128 is the full network.
// - Weights start from torch's default init (kaiming_uniform(a = sqrt(5)): U(+-1/sqrt(fan_in)))
//   drawn from std::mt19937 with --seed, so numbers match torch's in distribution, not bit for bit.
//
// Saved models: --out DIR writes csnn_manifest.txt plus one float32 .npy per tensor (torch's
// state_dict names and shapes, e.g. conv1.weight.npy [C, 1, 3, 3]); --load DIR reads them back
// (the manifest fixes C; a missing, corrupt or mismatched file stops with an error naming it).
//
// Exit status: 0 success, 1 --check failed (training did not lower the probe loss), 2 bad
// arguments, unreadable or mismatched files, 4 the Fashion-MNIST files are missing.

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
#include <new>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <snn/cpu/multistep.hpp>
#include <snn/io/npy.hpp>
#include <snn/synapse/cpu.hpp>

namespace {

using clock_type = std::chrono::steady_clock;
using if_node = snn::if_neuron<snn::precision::f32, snn::surrogate::atan>;

constexpr int image_side = 28;
constexpr int image_pixels = image_side * image_side;
constexpr int class_count = 10;
constexpr std::int64_t steps = 4;  // T, as in the example
constexpr double pi = 3.14159265358979323846;
constexpr const char* manifest_name = "csnn_manifest.txt";
constexpr const char* manifest_magic = "snn-fashion-mnist-csnn 1";

double seconds_since(clock_type::time_point start) { return std::chrono::duration<double>(clock_type::now() - start).count(); }

// ------------------------------------------------------------------------------------------
// Command line
// ------------------------------------------------------------------------------------------

struct options {
    int channels = 16;
    bool channels_given = false;
    int epochs = 1;
    int batch = 64;
    double lr = 1e-3;
    int train_limit = 0;  // 0: all 60000
    std::uint32_t seed = 2022;
    int threads = 0;
    bool check = false;
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    std::string out_dir = ".";
    std::string load_dir;
};

/// Bad command line or files: exit status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/// The dataset is not installed: exit status 4 (ctest skips on it).
struct missing_data : std::runtime_error {
    using std::runtime_error::runtime_error;
};

const char* const usage =
    "usage: snn-example-fashion-mnist-csnn [options]\n"
    "  --channels C      convolution channels (default 16; SpikingJelly's example uses 128)\n"
    "  --epochs E        training epochs (default 1; 0 with --load: evaluate only)\n"
    "  --batch B         training batch size (default 64)\n"
    "  --lr LR           Adam learning rate, cosine-annealed over the epochs (default 1e-3)\n"
    "  --train-limit K   train on the first K images of the shuffled training set (default: all 60000)\n"
    "  --seed S          initial weights and shuffling (default 2022)\n"
    "  --threads K       worker threads (default: all hardware threads)\n"
    "  --data DIR        Fashion-MNIST gzip IDX files (default /usr/share/datasets/fashion-mnist)\n"
    "  --out DIR         where the curves (csnn_curves.svg) and the model (csnn_manifest.txt + .npy) go (default .)\n"
    "  --load DIR        start from the model saved in DIR instead of random weights\n"
    "  --check           exit 1 unless training lowered the loss on a fixed probe batch\n";

long long parse_integer(const std::string& text, const std::string& option, long long lo, long long hi) {
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

options parse_options(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            std::exit(0);
        }
        if (arg == "--check") {
            opt.check = true;
            continue;
        }
        if (i + 1 >= argc) throw usage_error("unknown option or missing value: '" + arg + "'\n" + usage);
        const std::string value = argv[++i];
        if (arg == "--channels") opt.channels = static_cast<int>(parse_integer(value, arg, 1, 1024)), opt.channels_given = true;
        else if (arg == "--epochs") opt.epochs = static_cast<int>(parse_integer(value, arg, 0, 100000));
        else if (arg == "--batch") opt.batch = static_cast<int>(parse_integer(value, arg, 2, 60000));
        else if (arg == "--train-limit") opt.train_limit = static_cast<int>(parse_integer(value, arg, 2, 60000));
        else if (arg == "--seed") opt.seed = static_cast<std::uint32_t>(parse_integer(value, arg, 0, 4294967295LL));
        else if (arg == "--threads") opt.threads = static_cast<int>(parse_integer(value, arg, 1, 4096));
        else if (arg == "--data") opt.data_dir = value;
        else if (arg == "--out") opt.out_dir = value;
        else if (arg == "--load") opt.load_dir = value;
        else if (arg == "--lr") {
            std::size_t used = 0;
            try {
                opt.lr = std::stod(value, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != value.size() || !(opt.lr > 0.0) || !std::isfinite(opt.lr)) throw usage_error("--lr must be a number > 0, got '" + value + "'");
        } else throw usage_error("unknown option '" + arg + "'\n" + usage);
    }
    if (opt.epochs == 0 && opt.load_dir.empty()) throw usage_error("--epochs 0 only makes sense with --load (evaluate a saved model)");
    return opt;
}

// ------------------------------------------------------------------------------------------
// Fashion-MNIST: gzip-compressed IDX files
// ------------------------------------------------------------------------------------------

struct dataset {
    int count = 0;
    std::vector<std::uint8_t> pixels;  // [count, 28, 28]
    std::vector<std::uint8_t> labels;  // [count], 0..9
};

std::string data_hint(const std::string& path) {
    return "cannot use '" + path +
           "'. Fashion-MNIST is expected there as gzip IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
           "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). Install the Debian package with\n"
           "  apt-get install dataset-fashion-mnist\n"
           "or pass --data DIR naming a directory that holds them";
}

std::vector<std::uint8_t> read_gzip(const std::string& path) {
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

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& bytes, std::size_t offset) {
    return (std::uint32_t{bytes[offset]} << 24) | (std::uint32_t{bytes[offset + 1]} << 16) | (std::uint32_t{bytes[offset + 2]} << 8) |
           std::uint32_t{bytes[offset + 3]};
}

/// Checks an IDX header (unsigned bytes, `dims` dimensions) against the file size; returns the extents.
std::vector<std::uint32_t> check_idx(const std::vector<std::uint8_t>& bytes, std::uint32_t dims, const std::string& path) {
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

dataset load_split(const std::string& dir, const std::string& prefix) {
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

// ------------------------------------------------------------------------------------------
// The model: parameters with torch's state_dict names, Adam state, and the forward/backward
// ------------------------------------------------------------------------------------------

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
};

struct model {
    std::int64_t C;
    tensor conv1_w, bn1_gamma, bn1_beta, bn1_mean, bn1_var;
    tensor conv2_w, bn2_gamma, bn2_beta, bn2_mean, bn2_var;
    tensor fc1_w, fc2_w;

    explicit model(std::int64_t channels)
        : C(channels),
          conv1_w("conv1.weight", {C, 1, 3, 3}),
          bn1_gamma("bn1.weight", {C}),
          bn1_beta("bn1.bias", {C}),
          bn1_mean("bn1.running_mean", {C}, false),
          bn1_var("bn1.running_var", {C}, false),
          conv2_w("conv2.weight", {C, C, 3, 3}),
          bn2_gamma("bn2.weight", {C}),
          bn2_beta("bn2.bias", {C}),
          bn2_mean("bn2.running_mean", {C}, false),
          bn2_var("bn2.running_var", {C}, false),
          fc1_w("fc1.weight", {C * 16, C * 49}),
          fc2_w("fc2.weight", {class_count, C * 16}) {}

    std::vector<tensor*> all() { return {&conv1_w, &bn1_gamma, &bn1_beta, &bn1_mean, &bn1_var, &conv2_w, &bn2_gamma, &bn2_beta, &bn2_mean, &bn2_var, &fc1_w, &fc2_w}; }

    /// torch's defaults: kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in)) for conv/linear,
    /// gamma 1, beta 0, running mean 0, running var 1.
    void initialise(std::uint32_t seed) {
        std::mt19937 gen(seed);
        for (tensor* t : {&conv1_w, &conv2_w, &fc1_w, &fc2_w}) {
            const std::int64_t fan_in = std::accumulate(t->shape.begin() + 1, t->shape.end(), std::int64_t{1}, std::multiplies<>());
            const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
            std::uniform_real_distribution<float> dist(-bound, bound);
            for (float& w : t->value) w = dist(gen);
        }
        for (tensor* t : {&bn1_gamma, &bn2_gamma, &bn1_var, &bn2_var}) std::fill(t->value.begin(), t->value.end(), 1.0f);
    }
};

void save_model(model& m, const std::string& dir) {
    for (tensor* t : m.all()) snn::io::write_npy(dir + "/" + t->name + ".npy", t->shape, t->value.data());
    std::ofstream manifest(dir + "/" + manifest_name);
    manifest << manifest_magic << "\nchannels " << m.C << "\nsteps " << steps << "\n";
    for (tensor* t : m.all()) {
        manifest << "tensor " << t->name << " float32";
        for (std::int64_t e : t->shape) manifest << ' ' << e;
        manifest << '\n';
    }
    if (!manifest) throw usage_error("cannot write '" + dir + "/" + manifest_name + "' (check --out)");
}

/// The channel count a saved model was trained with (its manifest's `channels` line).
std::int64_t saved_channels(const std::string& dir) {
    const std::string path = dir + "/" + manifest_name;
    std::ifstream manifest(path);
    if (!manifest) throw usage_error("--load: cannot open '" + path + "' (no model saved there? --out DIR of a training run writes it)");
    std::string magic, key;
    std::getline(manifest, magic);
    if (magic != manifest_magic) throw usage_error("--load: '" + path + "' is not a model manifest of this program (first line '" + magic + "', expected '" + manifest_magic + "')");
    std::int64_t channels = 0, saved_steps = 0;
    if (!(manifest >> key >> channels) || key != "channels" || channels < 1 || channels > 1024)
        throw usage_error("--load: '" + path + "': second line must be 'channels C' with C in 1..1024");
    if (!(manifest >> key >> saved_steps) || key != "steps" || saved_steps != steps)
        throw usage_error("--load: '" + path + "': third line must be 'steps " + std::to_string(steps) + "'");
    return channels;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

void load_model(model& m, const std::string& dir) {
    for (tensor* t : m.all()) {
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
            throw usage_error("--load: '" + path + "' has shape " + shape_text(array.shape()) + ", expected " +
                              shape_text(t->shape) + " for " + std::to_string(m.C) + " channels");
        std::copy(array.data<float>(), array.data<float>() + array.size(), t->value.begin());
        for (float v : t->value)
            if (!std::isfinite(v)) throw usage_error("--load: '" + path + "' holds a non-finite value");
    }
    for (const tensor* t : {&m.bn1_var, &m.bn2_var})
        for (float v : t->value)
            if (v < 0.0f) throw usage_error("--load: '" + dir + "/" + t->name + ".npy' holds a negative variance");
}

/// torch.optim.Adam (betas 0.9, 0.999, eps 1e-8, no weight decay).
struct adam {
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    long long step_count = 0;

    void step(model& m, double lr) {
        ++step_count;
        const double correction1 = 1.0 - std::pow(beta1, static_cast<double>(step_count));
        const double correction2 = 1.0 - std::pow(beta2, static_cast<double>(step_count));
        const double step_size = lr / correction1, sqrt_c2 = std::sqrt(correction2);
        for (tensor* t : m.all()) {
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

/// Activations of one batch; buffers grow to the largest batch seen and are reused.
/// Sequences are time-major and time-folded: [T, N, ...] stored as [T*N, ...].
struct workspace {
    std::int64_t n = 0;
    std::vector<float> x;                         // [N, 1, 28, 28]
    std::vector<float> c1, a1;                    // [N, C, 28, 28] conv1, bn1 (a1 is repeated over T)
    std::vector<float> a1_seq, s1, h1;            // [T*N, C, 28, 28]
    std::vector<float> p1;                        // [T*N, C, 14, 14]
    std::vector<std::int64_t> p1_idx;             // [T*N, C, 14, 14]
    std::vector<float> c2, a2, s2, h2;            // [T*N, C, 14, 14]
    std::vector<float> p2;                        // [T*N, C*7*7]
    std::vector<std::int64_t> p2_idx;             // [T*N, C, 7, 7]
    std::vector<float> d3, s3, h3;                // [T*N, C*16]
    std::vector<float> d4, s4, h4;                // [T*N, 10]
    std::vector<float> bn1_mean, bn1_invstd, bn2_mean, bn2_invstd;  // [C]
    // gradients
    std::vector<float> g_s4, g_d4, g_s3, g_d3, g_p2, g_s2, g_a2, g_c2, g_p1, g_s1, g_a1_seq, g_a1;

    void resize(std::int64_t batch, std::int64_t C, bool training) {
        n = batch;
        auto sz = [](std::int64_t e) { return static_cast<std::size_t>(e); };
        const std::int64_t TN = steps * batch, L1 = C * 784, L2 = C * 196, L3 = C * 49, H = C * 16;
        x.resize(sz(batch * 784));
        c1.resize(sz(batch * L1)), a1.resize(sz(batch * L1));
        a1_seq.resize(sz(TN * L1)), s1.resize(sz(TN * L1)), h1.resize(sz(TN * L1));
        p1.resize(sz(TN * L2)), p1_idx.resize(sz(TN * L2));
        c2.resize(sz(TN * L2)), a2.resize(sz(TN * L2)), s2.resize(sz(TN * L2)), h2.resize(sz(TN * L2));
        p2.resize(sz(TN * L3)), p2_idx.resize(sz(TN * L3));
        d3.resize(sz(TN * H)), s3.resize(sz(TN * H)), h3.resize(sz(TN * H));
        d4.resize(sz(TN * class_count)), s4.resize(sz(TN * class_count)), h4.resize(sz(TN * class_count));
        bn1_mean.resize(sz(C)), bn1_invstd.resize(sz(C)), bn2_mean.resize(sz(C)), bn2_invstd.resize(sz(C));
        if (!training) return;
        g_s4.resize(sz(TN * class_count)), g_d4.resize(sz(TN * class_count));
        g_s3.resize(sz(TN * H)), g_d3.resize(sz(TN * H));
        g_p2.resize(sz(TN * L3));
        g_s2.resize(sz(TN * L2)), g_a2.resize(sz(TN * L2)), g_c2.resize(sz(TN * L2)), g_p1.resize(sz(TN * L2));
        g_s1.resize(sz(TN * L1)), g_a1_seq.resize(sz(TN * L1)), g_a1.resize(sz(batch * L1));
    }
};

/// How a forward pass treats batch norm: batch statistics with or without updating the running
/// ones (training / probe), or the running statistics (evaluation).
enum class bn_mode { train, batch_stats_only, running_stats };

struct network {
    model& m;
    snn::neuron_params neuron;  // defaults: v_th 1, hard reset to 0, ATan(alpha 2), detach_reset false
    snn::cpu::execution exec;

    snn::synapse::conv2d_shape conv_shape(std::int64_t batch, std::int64_t in_c, std::int64_t side) const {
        snn::synapse::conv2d_shape s;
        s.batch = batch, s.in_channels = in_c, s.in_height = side, s.in_width = side, s.out_channels = m.C;
        s.kernel_h = s.kernel_w = 3, s.pad_h = s.pad_w = 1;
        return s;
    }
    snn::synapse::pool2d_shape pool_shape(std::int64_t batch, std::int64_t side) const {
        snn::synapse::pool2d_shape s;
        s.batch = batch, s.channels = m.C, s.in_height = side, s.in_width = side, s.kernel_h = s.kernel_w = 2;
        return s;
    }

    void batch_norm(const float* x, float* y, std::int64_t batch, std::int64_t side, tensor& gamma, tensor& beta, tensor& mean, tensor& var,
                    float* saved_mean, float* saved_invstd, bn_mode mode) const {
        snn::synapse::batch_norm_forward_args<float> a;
        a.batch = batch, a.channels = m.C, a.spatial = side * side;
        a.training = mode != bn_mode::running_stats;
        a.x = x, a.y = y, a.gamma = gamma.value.data(), a.beta = beta.value.data();
        if (mode != bn_mode::batch_stats_only) a.running_mean = mean.value.data(), a.running_var = var.value.data();
        a.saved_mean = saved_mean, a.saved_invstd = saved_invstd;
        snn::cpu::batch_norm_forward(a, exec);
    }

    void fire(const float* x, float* spike, float* h_seq, std::int64_t neurons_per_step, bool training) const {
        snn::forward_args<if_node> f;
        f.steps = steps, f.neurons = neurons_per_step, f.x = x, f.spike = spike;
        if (training) {
            f.h_seq = h_seq;
            snn::cpu::forward_training(neuron, f, snn::cpu::backend::simd, exec);
        } else {
            snn::cpu::forward_inference(neuron, f, snn::cpu::backend::simd, exec);
        }
    }

    void unfire(const float* grad_spike, const float* h_seq, float* grad_x, std::int64_t neurons_per_step) const {
        snn::backward_args<if_node> b;
        b.steps = steps, b.neurons = neurons_per_step, b.grad_spike = grad_spike, b.h_seq = h_seq, b.grad_x = grad_x;
        snn::cpu::backward(neuron, b, snn::cpu::backend::simd, exec);
    }

    /// Forward of ws.n images in ws.x; the output spikes are ws.s4 [T, N, 10].
    void forward(workspace& ws, bn_mode mode) const {
        const std::int64_t N = ws.n, TN = steps * N, C = m.C;
        const bool training = mode != bn_mode::running_stats;
        snn::synapse::conv2d_forward_args<float> conv1;
        conv1.shape = conv_shape(N, 1, 28), conv1.x = ws.x.data(), conv1.weight = m.conv1_w.value.data(), conv1.y = ws.c1.data();
        snn::cpu::conv2d_forward(conv1, exec);
        batch_norm(ws.c1.data(), ws.a1.data(), N, 28, m.bn1_gamma, m.bn1_beta, m.bn1_mean, m.bn1_var, ws.bn1_mean.data(), ws.bn1_invstd.data(), mode);
        for (std::int64_t t = 0; t < steps; ++t) std::copy(ws.a1.begin(), ws.a1.end(), ws.a1_seq.begin() + t * N * C * 784);
        fire(ws.a1_seq.data(), ws.s1.data(), ws.h1.data(), N * C * 784, training);

        snn::synapse::pool2d_forward_args<float> pool1;
        pool1.shape = pool_shape(TN, 28), pool1.x = ws.s1.data(), pool1.y = ws.p1.data(), pool1.indices = ws.p1_idx.data();
        snn::cpu::pool2d_forward(pool1, exec);
        snn::synapse::conv2d_forward_args<float> conv2;
        conv2.shape = conv_shape(TN, C, 14), conv2.x = ws.p1.data(), conv2.weight = m.conv2_w.value.data(), conv2.y = ws.c2.data();
        snn::cpu::conv2d_forward(conv2, exec);
        batch_norm(ws.c2.data(), ws.a2.data(), TN, 14, m.bn2_gamma, m.bn2_beta, m.bn2_mean, m.bn2_var, ws.bn2_mean.data(), ws.bn2_invstd.data(), mode);
        fire(ws.a2.data(), ws.s2.data(), ws.h2.data(), N * C * 196, training);

        snn::synapse::pool2d_forward_args<float> pool2;
        pool2.shape = pool_shape(TN, 14), pool2.x = ws.s2.data(), pool2.y = ws.p2.data(), pool2.indices = ws.p2_idx.data();
        snn::cpu::pool2d_forward(pool2, exec);
        // Flatten: [T*N, C, 7, 7] is already [T*N, C*49] in memory.
        snn::synapse::dense_forward_args<float> fc1;
        fc1.rows = TN, fc1.in_features = C * 49, fc1.out_features = C * 16, fc1.x = ws.p2.data(), fc1.weight = m.fc1_w.value.data(), fc1.y = ws.d3.data();
        snn::cpu::dense_forward(fc1, exec);
        fire(ws.d3.data(), ws.s3.data(), ws.h3.data(), N * C * 16, training);
        snn::synapse::dense_forward_args<float> fc2;
        fc2.rows = TN, fc2.in_features = C * 16, fc2.out_features = class_count, fc2.x = ws.s3.data(), fc2.weight = m.fc2_w.value.data(), fc2.y = ws.d4.data();
        snn::cpu::dense_forward(fc2, exec);
        fire(ws.d4.data(), ws.s4.data(), ws.h4.data(), N * class_count, training);
    }

    /// BPTT from dL/ds4 in ws.g_s4 down to every parameter's grad (overwritten).
    void backward(workspace& ws) const {
        const std::int64_t N = ws.n, TN = steps * N, C = m.C;
        unfire(ws.g_s4.data(), ws.h4.data(), ws.g_d4.data(), N * class_count);
        snn::synapse::dense_backward_args<float> fc2;
        fc2.rows = TN, fc2.in_features = C * 16, fc2.out_features = class_count, fc2.grad_y = ws.g_d4.data(), fc2.x = ws.s3.data();
        fc2.weight = m.fc2_w.value.data(), fc2.grad_x = ws.g_s3.data(), fc2.grad_weight = m.fc2_w.grad.data();
        snn::cpu::dense_backward(fc2, exec);
        unfire(ws.g_s3.data(), ws.h3.data(), ws.g_d3.data(), N * C * 16);
        snn::synapse::dense_backward_args<float> fc1;
        fc1.rows = TN, fc1.in_features = C * 49, fc1.out_features = C * 16, fc1.grad_y = ws.g_d3.data(), fc1.x = ws.p2.data();
        fc1.weight = m.fc1_w.value.data(), fc1.grad_x = ws.g_p2.data(), fc1.grad_weight = m.fc1_w.grad.data();
        snn::cpu::dense_backward(fc1, exec);

        snn::synapse::pool2d_backward_args<float> pool2;
        pool2.shape = pool_shape(TN, 14), pool2.grad_y = ws.g_p2.data(), pool2.indices = ws.p2_idx.data(), pool2.grad_x = ws.g_s2.data();
        snn::cpu::pool2d_backward(pool2, exec);
        unfire(ws.g_s2.data(), ws.h2.data(), ws.g_a2.data(), N * C * 196);
        snn::synapse::batch_norm_backward_args<float> bn2;
        bn2.batch = TN, bn2.channels = C, bn2.spatial = 196, bn2.grad_y = ws.g_a2.data(), bn2.x = ws.c2.data(), bn2.gamma = m.bn2_gamma.value.data();
        bn2.saved_mean = ws.bn2_mean.data(), bn2.saved_invstd = ws.bn2_invstd.data();
        bn2.grad_x = ws.g_c2.data(), bn2.grad_gamma = m.bn2_gamma.grad.data(), bn2.grad_beta = m.bn2_beta.grad.data();
        snn::cpu::batch_norm_backward(bn2, exec);
        snn::synapse::conv2d_backward_args<float> conv2;
        conv2.shape = conv_shape(TN, C, 14), conv2.grad_y = ws.g_c2.data(), conv2.x = ws.p1.data(), conv2.weight = m.conv2_w.value.data();
        conv2.grad_x = ws.g_p1.data(), conv2.grad_weight = m.conv2_w.grad.data();
        snn::cpu::conv2d_backward(conv2, exec);

        snn::synapse::pool2d_backward_args<float> pool1;
        pool1.shape = pool_shape(TN, 28), pool1.grad_y = ws.g_p1.data(), pool1.indices = ws.p1_idx.data(), pool1.grad_x = ws.g_s1.data();
        snn::cpu::pool2d_backward(pool1, exec);
        unfire(ws.g_s1.data(), ws.h1.data(), ws.g_a1_seq.data(), N * C * 784);
        // The repeat over T in the forward sums the gradients of the T copies.
        const std::size_t per_step = static_cast<std::size_t>(N * C * 784);
        std::copy(ws.g_a1_seq.begin(), ws.g_a1_seq.begin() + static_cast<std::ptrdiff_t>(per_step), ws.g_a1.begin());
        for (std::int64_t t = 1; t < steps; ++t)
            for (std::size_t i = 0; i < per_step; ++i) ws.g_a1[i] += ws.g_a1_seq[static_cast<std::size_t>(t) * per_step + i];
        snn::synapse::batch_norm_backward_args<float> bn1;
        bn1.batch = N, bn1.channels = C, bn1.spatial = 784, bn1.grad_y = ws.g_a1.data(), bn1.x = ws.c1.data(), bn1.gamma = m.bn1_gamma.value.data();
        bn1.saved_mean = ws.bn1_mean.data(), bn1.saved_invstd = ws.bn1_invstd.data();
        bn1.grad_gamma = m.bn1_gamma.grad.data(), bn1.grad_beta = m.bn1_beta.grad.data();
        bn1.grad_x = ws.g_a1_seq.data();  // dL/dc1 [N, C, 28, 28] into the first step of a buffer free by now
        snn::cpu::batch_norm_backward(bn1, exec);
        snn::synapse::conv2d_backward_args<float> conv1;
        conv1.shape = conv_shape(N, 1, 28), conv1.grad_y = ws.g_a1_seq.data(), conv1.x = ws.x.data(), conv1.grad_weight = m.conv1_w.grad.data();
        snn::cpu::conv2d_backward(conv1, exec);
    }
};

/// MSE(mean over T of the output spikes, one-hot) as F.mse_loss (mean over N*10); optionally
/// writes dL/ds4 into ws.g_s4. Returns the loss; `correct` counts argmax hits (first max wins,
/// as torch.argmax on ties returns the first).
double rate_mse(workspace& ws, const std::uint8_t* labels, bool gradient, int& correct) {
    const std::int64_t N = ws.n;
    double loss = 0.0;
    correct = 0;
    const double scale = 2.0 / static_cast<double>(N * class_count * steps);
    for (std::int64_t n = 0; n < N; ++n) {
        std::array<double, class_count> rate{};
        for (std::int64_t t = 0; t < steps; ++t)
            for (int k = 0; k < class_count; ++k) rate[static_cast<std::size_t>(k)] += ws.s4[static_cast<std::size_t>((t * N + n) * class_count + k)];
        int best = 0;
        for (int k = 0; k < class_count; ++k) {
            auto& r = rate[static_cast<std::size_t>(k)];
            r /= static_cast<double>(steps);
            if (r > rate[static_cast<std::size_t>(best)]) best = k;
            const double err = r - (labels[n] == k ? 1.0 : 0.0);
            loss += err * err;
            if (gradient)
                for (std::int64_t t = 0; t < steps; ++t) ws.g_s4[static_cast<std::size_t>((t * N + n) * class_count + k)] = static_cast<float>(scale * err);
        }
        correct += best == labels[n] ? 1 : 0;
    }
    return loss / static_cast<double>(N * class_count);
}

void load_images(workspace& ws, const dataset& d, const std::vector<int>& order, std::size_t first, std::int64_t count, std::vector<std::uint8_t>& labels) {
    labels.resize(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
        const auto image = static_cast<std::size_t>(order[first + static_cast<std::size_t>(i)]);
        labels[static_cast<std::size_t>(i)] = d.labels[image];
        for (std::size_t p = 0; p < image_pixels; ++p)  // ToTensor(): [0, 1], no normalisation
            ws.x[static_cast<std::size_t>(i) * image_pixels + p] = static_cast<float>(d.pixels[image * image_pixels + p]) / 255.0f;
    }
}

struct eval_result {
    double loss = 0.0, accuracy = 0.0;
};

/// Loss and accuracy over `order[0..count)` in batches, without training.
eval_result evaluate(const network& net, workspace& ws, const dataset& d, const std::vector<int>& order, std::size_t count, std::int64_t batch, bn_mode mode) {
    std::vector<std::uint8_t> labels;
    double loss_sum = 0.0;
    long long correct_sum = 0;
    for (std::size_t first = 0; first < count; first += static_cast<std::size_t>(batch)) {
        const auto n = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(batch), count - first));
        ws.resize(n, net.m.C, false);
        load_images(ws, d, order, first, n, labels);
        net.forward(ws, mode);
        int correct = 0;
        loss_sum += rate_mse(ws, labels.data(), false, correct) * static_cast<double>(n);
        correct_sum += correct;
    }
    return {loss_sum / static_cast<double>(count), static_cast<double>(correct_sum) / static_cast<double>(count)};
}

// ------------------------------------------------------------------------------------------
// Progress bar and curves
// ------------------------------------------------------------------------------------------

void show_progress(int epoch, int epochs, std::size_t done, std::size_t total, double loss, double accuracy, double images_per_s) {
    constexpr int width = 30;
    const int filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(done) / static_cast<double>(total));
    std::ostringstream line;
    line << "\repoch " << epoch << '/' << epochs << " [" << std::string(static_cast<std::size_t>(filled), '#') << std::string(static_cast<std::size_t>(width - filled), '.') << "] "
         << done << '/' << total << "  loss " << std::fixed << std::setprecision(4) << loss << "  acc " << std::setprecision(2) << 100.0 * accuracy << "%  "
         << std::setprecision(0) << images_per_s << " img/s ";
    std::cerr << line.str() << std::flush;
}

struct curve_point {
    double epoch;  // fractional: the end of the segment
    double loss, train_accuracy;
};

struct history {
    std::vector<curve_point> train;                     // every tenth of an epoch
    std::vector<std::pair<double, double>> test;        // (epoch, accuracy) at each epoch's end
};

/// Two panels: training loss, and train/test accuracy, both against epochs.
void write_curves_svg(const std::string& path, const history& h, std::int64_t C, double seconds_per_epoch) {
    std::ofstream svg(path);
    if (!svg) throw usage_error("cannot write '" + path + "' (check --out)");
    const double panel_w = 420, panel_h = 260, left = 70, top = 85, gap = 90;
    double max_epoch = 1e-9, max_loss = 1e-9;
    for (const auto& p : h.train) max_epoch = std::max(max_epoch, p.epoch), max_loss = std::max(max_loss, p.loss);
    for (const auto& p : h.test) max_epoch = std::max(max_epoch, p.first);
    auto x_of = [&](double panel_left, double epoch) { return panel_left + panel_w * epoch / max_epoch; };
    auto y_of = [&](double value, double max_value) { return top + panel_h * (1.0 - value / max_value); };
    svg << std::fixed << std::setprecision(2);
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << 2 * panel_w + gap + left + 40 << "\" height=\"" << top + panel_h + 70
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << left << "\" y=\"28\" font-size=\"16\" font-weight=\"bold\">CSNN on Fashion-MNIST (snn, CPU, float32): C = " << C << ", T = " << steps
        << "</text>\n<text x=\"" << left << "\" y=\"48\" fill=\"#444\">" << std::setprecision(1) << seconds_per_epoch << " s per epoch; training curves every tenth of an epoch, test accuracy at each epoch's end</text>\n";
    svg << std::setprecision(2);
    auto axes = [&](double panel_left, const std::string& title, double max_value, const std::string& unit) {
        svg << "<text x=\"" << panel_left << "\" y=\"" << top - 10 << "\" font-weight=\"bold\">" << title << "</text>\n";
        for (int tick = 0; tick <= 4; ++tick) {
            const double v = max_value * tick / 4.0, y = y_of(v, max_value);
            svg << "<line x1=\"" << panel_left << "\" y1=\"" << y << "\" x2=\"" << panel_left + panel_w << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n"
                << "<text x=\"" << panel_left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << std::setprecision(unit == "%" ? 0 : 3) << v << unit << "</text>\n";
        }
        for (int tick = 0; tick <= 4; ++tick) {
            const double e = max_epoch * tick / 4.0;
            svg << "<text x=\"" << x_of(panel_left, e) << "\" y=\"" << top + panel_h + 18 << "\" text-anchor=\"middle\">" << std::setprecision(2) << e << "</text>\n";
        }
        svg << "<text x=\"" << panel_left + panel_w / 2 << "\" y=\"" << top + panel_h + 38 << "\" text-anchor=\"middle\">epoch</text>\n"
            << "<rect x=\"" << panel_left << "\" y=\"" << top << "\" width=\"" << panel_w << "\" height=\"" << panel_h << "\" fill=\"none\" stroke=\"black\"/>\n";
        svg << std::setprecision(2);
    };
    auto polyline = [&](const std::vector<std::pair<double, double>>& points, double panel_left, double max_value, const char* color) {
        svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
        for (const auto& [e, v] : points) svg << x_of(panel_left, e) << ',' << y_of(v, max_value) << ' ';
        svg << "\"/>\n";
        for (const auto& [e, v] : points) svg << "<circle cx=\"" << x_of(panel_left, e) << "\" cy=\"" << y_of(v, max_value) << "\" r=\"3\" fill=\"" << color << "\"/>\n";
    };
    const double right = left + panel_w + gap;
    axes(left, "training loss (MSE of firing rate vs one-hot)", max_loss, "");
    axes(right, "accuracy", 100.0, "%");
    std::vector<std::pair<double, double>> loss, train_acc, test_acc;
    for (const auto& p : h.train) loss.emplace_back(p.epoch, p.loss), train_acc.emplace_back(p.epoch, 100.0 * p.train_accuracy);
    for (const auto& [e, a] : h.test) test_acc.emplace_back(e, 100.0 * a);
    polyline(loss, left, max_loss, "#3b6ea8");
    polyline(train_acc, right, 100.0, "#3b6ea8");
    polyline(test_acc, right, 100.0, "#c0392b");
    svg << "<text x=\"" << right + 10 << "\" y=\"" << top + panel_h - 30 << "\" fill=\"#3b6ea8\">train (running, during the epoch)</text>\n"
        << "<text x=\"" << right + 10 << "\" y=\"" << top + panel_h - 12 << "\" fill=\"#c0392b\">test (float32, running BN statistics)</text>\n</svg>\n";
    if (!svg) throw usage_error("failed writing '" + path + "'");
}

// ------------------------------------------------------------------------------------------

int run(const options& opt) {
    const auto started = clock_type::now();
    if (!std::filesystem::is_directory(opt.out_dir)) throw usage_error("--out '" + opt.out_dir + "' is not a directory");
    std::int64_t C = opt.channels;
    if (!opt.load_dir.empty()) {
        const std::int64_t saved = saved_channels(opt.load_dir);
        if (opt.channels_given && saved != opt.channels)
            throw usage_error("--load: the model in '" + opt.load_dir + "' has " + std::to_string(saved) + " channels, but --channels " + std::to_string(opt.channels) + " was given");
        C = saved;
    }
    const dataset train = load_split(opt.data_dir, "train");
    const dataset test = load_split(opt.data_dir, "t10k");

    model m(C);
    m.initialise(opt.seed);
    if (!opt.load_dir.empty()) load_model(m, opt.load_dir);
    network net{m, snn::neuron_params{}, snn::cpu::execution{opt.threads}};
    workspace ws;

    std::mt19937 shuffler(opt.seed + 1);
    std::vector<int> order(static_cast<std::size_t>(train.count));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), shuffler);
    // --train-limit takes a fixed random subset (the same every epoch); each epoch reshuffles it.
    const std::size_t train_count = opt.train_limit > 0 ? static_cast<std::size_t>(std::min(opt.train_limit, train.count)) : order.size();
    order.resize(train_count);
    std::vector<int> test_order(static_cast<std::size_t>(test.count));
    std::iota(test_order.begin(), test_order.end(), 0);
    // Probe: a fixed set of training images, evaluated with batch statistics (not touching the
    // running ones) before and after training, for --check and the final line.
    const std::vector<int> probe_order(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(train_count, 256)));
    const std::int64_t eval_batch = 256;

    std::cout << "Fashion-MNIST from " << opt.data_dir << ": " << train_count << " training images, " << test.count << " test images\n"
              << "CSNN: {Conv3x3(" << C << ")-BN-IF-MaxPool2} x 2, Linear(" << C * 49 << ", " << C * 16 << ")-IF, Linear(" << C * 16 << ", 10)-IF; T = " << steps
              << "; Adam lr " << opt.lr << " (cosine), batch " << opt.batch << ", " << opt.epochs << " epoch(s), seed " << opt.seed
              << (opt.load_dir.empty() ? std::string() : ", loaded from " + opt.load_dir) << "\n";

    const double probe_before = evaluate(net, ws, train, probe_order, probe_order.size(), eval_batch, bn_mode::batch_stats_only).loss;
    history h;
    adam optimiser;
    std::vector<std::uint8_t> labels;
    double train_seconds = 0.0;
    eval_result test_result{};
    for (int epoch = 0; epoch < opt.epochs; ++epoch) {
        const double lr = 0.5 * opt.lr * (1.0 + std::cos(pi * epoch / opt.epochs));  // CosineAnnealingLR(T_max = epochs), stepped per epoch
        std::shuffle(order.begin(), order.end(), shuffler);
        const auto epoch_start = clock_type::now();
        double loss_sum = 0.0, segment_loss = 0.0;
        long long correct_sum = 0, segment_correct = 0;
        std::size_t done = 0, segment_images = 0, next_segment = 1;
        auto last_shown = clock_type::now() - std::chrono::seconds(1);
        for (std::size_t first = 0; first < train_count; first += static_cast<std::size_t>(opt.batch)) {
            std::int64_t n = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(opt.batch), train_count - first));
            if (n < 2) break;  // batch norm needs two images (torch raises on a batch of one)
            ws.resize(n, C, true);
            load_images(ws, train, order, first, n, labels);
            net.forward(ws, bn_mode::train);
            int correct = 0;
            const double loss = rate_mse(ws, labels.data(), true, correct);
            net.backward(ws);
            optimiser.step(m, lr);
            done += static_cast<std::size_t>(n);
            loss_sum += loss * static_cast<double>(n), correct_sum += correct;
            segment_loss += loss * static_cast<double>(n), segment_correct += correct, segment_images += static_cast<std::size_t>(n);
            if (done * 10 >= next_segment * train_count || done == train_count) {
                h.train.push_back({epoch + static_cast<double>(done) / static_cast<double>(train_count), segment_loss / static_cast<double>(segment_images),
                                   static_cast<double>(segment_correct) / static_cast<double>(segment_images)});
                segment_loss = 0.0, segment_correct = 0, segment_images = 0;
                while (done * 10 >= next_segment * train_count) ++next_segment;
            }
            if (clock_type::now() - last_shown > std::chrono::milliseconds(250) || done == train_count) {
                last_shown = clock_type::now();
                show_progress(epoch + 1, opt.epochs, done, train_count, loss_sum / static_cast<double>(done), static_cast<double>(correct_sum) / static_cast<double>(done),
                              static_cast<double>(done) / seconds_since(epoch_start));
            }
        }
        const double epoch_seconds = seconds_since(epoch_start);
        train_seconds += epoch_seconds;
        std::cerr << '\n';
        test_result = evaluate(net, ws, test, test_order, test_order.size(), eval_batch, bn_mode::running_stats);
        h.test.emplace_back(epoch + 1.0, test_result.accuracy);
        std::cout << "epoch " << epoch + 1 << ": train loss " << std::fixed << std::setprecision(4) << loss_sum / static_cast<double>(done) << ", train acc "
                  << std::setprecision(2) << 100.0 * static_cast<double>(correct_sum) / static_cast<double>(done) << "%, test acc " << 100.0 * test_result.accuracy
                  << "% (float32), " << std::setprecision(1) << epoch_seconds << " s, " << std::setprecision(0) << static_cast<double>(done) / epoch_seconds
                  << " img/s" << std::endl;
        std::cout.unsetf(std::ios::floatfield);
    }
    if (opt.epochs == 0) test_result = evaluate(net, ws, test, test_order, test_order.size(), eval_batch, bn_mode::running_stats);
    const double probe_after = evaluate(net, ws, train, probe_order, probe_order.size(), eval_batch, bn_mode::batch_stats_only).loss;

    if (opt.epochs > 0) {
        save_model(m, opt.out_dir);
        const std::string svg_path = opt.out_dir + "/csnn_curves.svg";
        write_curves_svg(svg_path, h, C, train_seconds / opt.epochs);
        std::cout << "wrote " << opt.out_dir << "/" << manifest_name << " (+ " << m.all().size() << " .npy files) and " << svg_path << "\n";
    }
    std::cout << "\n  numerics                         test accuracy\n"
              << "  float32 (snn CPU kernels)        " << std::fixed << std::setprecision(2) << 100.0 * test_result.accuracy << "%\n\n";
    const double total = seconds_since(started);
    std::cout << "RESULT channels=" << C << " epochs=" << opt.epochs << " train_images=" << train_count << " probe_loss_before=" << std::setprecision(6)
              << probe_before << " probe_loss_after=" << probe_after << " test_accuracy=" << test_result.accuracy << " train_seconds=" << std::setprecision(1)
              << train_seconds << " total_seconds=" << total << std::endl;
    if (opt.check && opt.epochs > 0 && !(probe_after < probe_before)) {
        std::cerr << "check failed: the probe loss did not fall (" << probe_before << " -> " << probe_after << ")\n";
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const char* name = "snn-example-fashion-mnist-csnn";
    try {
        return run(parse_options(argc, argv));
    } catch (const missing_data& e) {
        std::cerr << name << ": " << e.what() << '\n';
        return 4;
    } catch (const std::bad_alloc&) {
        std::cerr << name << ": out of memory (try a smaller --batch or --channels)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << name << ": " << e.what() << '\n';
        return 2;
    }
}
