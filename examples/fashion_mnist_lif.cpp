// snn-example-fashion-mnist: one layer of LIF neurons driven by real Fashion-MNIST images.
//
// What it does, end to end:
//   1. reads the Fashion-MNIST test set (gzip IDX files, via zlib) and takes a batch of images;
//   2. encodes every pixel as a constant input current over T time steps, x[T, batch * 784];
//   3. runs SpikingJelly's LIFNode(tau=2, decay_input=True, v_threshold=1, v_reset=0,
//      surrogate ATan(alpha=2)) in float32 forward (training form) and backward through time,
//      with the best SIMD kernels this CPU runs and with the scalar reference kernels;
//   4. prints one image next to its spike counts, the firing rate per class, the parity of
//      SIMD against scalar (bit for bit), throughput, and writes fashion_mnist_lif.svg.
//
//   snn-example-fashion-mnist [--batch B] [--steps T] [--threads K] [--data DIR] [--out DIR]
//
// Exit status: 0 success, 1 SIMD and scalar results differ, 2 bad arguments or unreadable data.
//
// The kernels are reached through the run-time dispatch table (snn/cpu/dispatch.hpp): the
// program is built once for any x86-64 and picks SSE2, AVX2 or AVX-512 when it starts. Code
// compiled for one known CPU can call the typed snn::cpu::forward_training<Config>() of
// snn/cpu/multistep.hpp instead; the arguments are the same.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <snn/cpu/dispatch.hpp>
#include <snn/neuron/params.hpp>

#include "csnn/common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int image_side = 28;
constexpr int image_pixels = image_side * image_side;
constexpr int class_count = 10;
const char* const class_names[class_count] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Input encoding: x = pixel / 255 * gain, the same current at every step. With tau = 2 and
// decay_input the membrane relaxes halfway to x each step and fires at 1, so a pixel fires
// only if gain * pixel/255 >= 1, and every step once it reaches 2. Gain 2.5 makes pixels
// darker than 40% silent (the background and the faint texture), pixels brighter than 80%
// fire at every step, and the grey levels in between fire every 2nd, 3rd... step: the spike
// counts keep the garment's shape and shading.
constexpr float input_gain = 2.5f;

// Loss for the backward pass: L = 1/2 * sum over (t, n) of (spike[t, n] - target)^2, a
// firing-rate regulariser pulling every neuron towards `target_rate` spikes per step, so
// dL/dspike = spike - target_rate. Its gradient wrt the input current says which pixels
// should be brighter or darker.
constexpr float target_rate = 0.1f;

// ------------------------------------------------------------------------------------------
// Command line
// ------------------------------------------------------------------------------------------

struct options {
    int batch = 256;
    int steps = 8;
    int threads = 0;  // 0: every hardware thread
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    std::string out_dir = ".";
};

/// Bad command line or data: reported with exit status 2.
using csnn::usage_error;

const char* const usage =
    "usage: snn-example-fashion-mnist [options]\n"
    "  --batch B     test images to run (1..10000, default 256)\n"
    "  --steps T     time steps per image (default 8)\n"
    "  --threads K   worker threads (default: all hardware threads)\n"
    "  --data DIR    directory with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz\n"
    "                (default /usr/share/datasets/fashion-mnist)\n"
    "  --out DIR     where to write fashion_mnist_lif.svg (default: current directory)\n";

int parse_int(const std::string& text, const std::string& option, int lo, int hi) {
    return static_cast<int>(csnn::parse_integer(text, option, lo, hi));
}

options parse_options(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            std::exit(0);
        }
        if (i + 1 >= argc) throw usage_error("unknown option or missing value: '" + arg + "'\n" + usage);
        const std::string value = argv[++i];
        if (arg == "--batch") opt.batch = parse_int(value, arg, 1, 10000);
        else if (arg == "--steps") opt.steps = parse_int(value, arg, 1, 4096);
        else if (arg == "--threads") opt.threads = parse_int(value, arg, 1, 4096);
        else if (arg == "--data") opt.data_dir = value;
        else if (arg == "--out") opt.out_dir = value;
        else throw usage_error("unknown option '" + arg + "'\n" + usage);
    }
    return opt;
}

// ------------------------------------------------------------------------------------------
// Progress: silent for quick phases, a counter on stderr once a phase runs past one second
// ------------------------------------------------------------------------------------------

class progress {
public:
    progress(std::string label, std::size_t total) : label_(std::move(label)), total_(total), start_(clock_type::now()) {}
    ~progress() {
        if (shown_) std::cerr << '\r' << label_ << ": done" << std::string(16, ' ') << std::endl;
    }
    progress(const progress&) = delete;
    progress& operator=(const progress&) = delete;

    void update(std::size_t done) {
        if (clock_type::now() - start_ < std::chrono::seconds(1)) return;
        shown_ = true;
        std::cerr << '\r' << label_ << ": " << done;
        if (total_ > 0) std::cerr << " / " << total_;
        std::cerr << std::flush;
    }

private:
    std::string label_;
    std::size_t total_;
    clock_type::time_point start_;
    bool shown_ = false;
};

// ------------------------------------------------------------------------------------------
// Fashion-MNIST: the CSNN demo's reader (csnn/common.hpp: gzip IDX files, clear errors)
// ------------------------------------------------------------------------------------------

using dataset = csnn::dataset;  // count, pixels [count, 28, 28] (0 background, 255 brightest), labels [count]

/// The first `limit` images and labels of the Fashion-MNIST test set in `dir`.
dataset load_test_set(const std::string& dir, int limit) {
    dataset d = csnn::load_split(dir, "t10k");
    if (d.count < limit)
        throw usage_error("--batch " + std::to_string(limit) + " asks for more images than the " + std::to_string(d.count) + " in " + dir + "/t10k-images-idx3-ubyte.gz");
    d.count = limit;
    d.pixels.resize(static_cast<std::size_t>(limit) * image_pixels);
    d.labels.resize(static_cast<std::size_t>(limit));
    return d;
}

// ------------------------------------------------------------------------------------------
// The LIF layer: one neuron per pixel, buffers laid out [T, N] (time first), N = batch * 784
// ------------------------------------------------------------------------------------------

struct layer_buffers {
    std::int64_t steps = 0, neurons = 0;
    std::vector<float> spike, v_seq, h_seq;  // forward outputs, [T, N]
    std::vector<float> grad_x;               // backward output, [T, N]
    std::vector<float> grad_v_init;          // backward output, [N]

    layer_buffers(std::int64_t T, std::int64_t N)
        : steps(T), neurons(N), spike(static_cast<std::size_t>(T * N)), v_seq(spike.size()), h_seq(spike.size()), grad_x(spike.size()),
          grad_v_init(static_cast<std::size_t>(N)) {}
};

/// Constant-current encoding: x[t, image * 784 + pixel] = pixel / 255 * gain for every t.
std::vector<float> encode_images(const dataset& d, int steps) {
    const std::size_t N = d.pixels.size();
    std::vector<float> x(static_cast<std::size_t>(steps) * N);
    for (std::size_t n = 0; n < N; ++n) x[n] = static_cast<float>(d.pixels[n]) / 255.0f * input_gain;
    for (int t = 1; t < steps; ++t) std::copy(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(N), x.begin() + static_cast<std::ptrdiff_t>(t * N));
    return x;
}

/// The neuron: LIFNode(tau=2, decay_input=True, v_threshold=1, v_reset=0, ATan(alpha=2)). The
/// dispatch table's kernels read reset, fire, division and surrogate from `dynamic`.
snn::neuron_params lif_params() {
    snn::neuron_params p;
    p.tau = 2.0;
    p.v_threshold = 1.0;
    p.v_reset = 0.0;
    p.surrogate = snn::default_surrogate_params(snn::surrogate_kind::atan);  // alpha = 2
    p.dynamic.reset = snn::reset_kind::hard;
    p.dynamic.fire = snn::fire_kind::greater_equal;
    p.dynamic.division = snn::division_kind::true_division;  // as torch computes on the CPU
    p.dynamic.surrogate = snn::surrogate_kind::atan;
    return p;
}

/// One set of kernels (scalar or one SIMD ISA) for float32 LIF with decay_input.
struct lif_layer {
    const snn::cpu::kernel_entry& kernels;
    snn::neuron_params params;
    snn::cpu::execution exec;

    /// Forward, training form: spikes, plus v_seq and the h_seq that backward needs.
    void forward(const std::vector<float>& x, layer_buffers& b) const {
        snn::cpu::erased_forward_args a;
        a.steps = b.steps;
        a.neurons = b.neurons;
        a.x = x.data();
        a.spike = b.spike.data();
        a.v_seq = b.v_seq.data();
        a.h_seq = b.h_seq.data();
        kernels.forward_training(params, a, exec);  // v_init nullptr: start from v_reset = 0
    }

    /// Backward through time from dL/dspike; v_seq is not part of the loss.
    void backward(const std::vector<float>& grad_spike, layer_buffers& b) const {
        snn::cpu::erased_backward_args a;
        a.steps = b.steps;
        a.neurons = b.neurons;
        a.grad_spike = grad_spike.data();
        a.h_seq = b.h_seq.data();
        a.grad_x = b.grad_x.data();
        a.grad_v_init = b.grad_v_init.data();
        kernels.backward(params, a, exec);
    }
};

const snn::cpu::kernel_entry& f32_lif_kernels(const snn::cpu::kernel_table& table) {
    return table.at(snn::cpu::precision_id::f32, snn::cpu::charge_id::lif_decay_input);
}

/// The best SIMD table this CPU runs, or the scalar one where no SIMD ISA was compiled in.
const snn::cpu::kernel_table& best_table() {
    try {
        return snn::cpu::select_isa("simd");
    } catch (const snn::invalid_argument& e) {
        std::cerr << "note: " << e.what() << "; using the scalar kernels for both runs\n";
        return snn::cpu::select_isa("scalar");
    }
}

/// dL/dspike = spike - target_rate (see target_rate above).
std::vector<float> rate_loss_gradient(const std::vector<float>& spike) {
    std::vector<float> grad(spike.size());
    std::transform(spike.begin(), spike.end(), grad.begin(), [](float s) { return s - target_rate; });
    return grad;
}

// ------------------------------------------------------------------------------------------
// What the spikes say
// ------------------------------------------------------------------------------------------

/// Spikes per neuron over all T steps, [N].
std::vector<int> spike_counts(const layer_buffers& b) {
    std::vector<int> counts(static_cast<std::size_t>(b.neurons), 0);
    for (std::int64_t t = 0; t < b.steps; ++t)
        for (std::int64_t n = 0; n < b.neurons; ++n) counts[static_cast<std::size_t>(n)] += b.spike[static_cast<std::size_t>(t * b.neurons + n)] != 0.0f;
    return counts;
}

struct class_rates {
    std::array<double, class_count> rate{};  // spikes per neuron per step, over the class's images
    std::array<int, class_count> images{};
};

class_rates rates_per_class(const dataset& d, const std::vector<int>& counts, int steps) {
    class_rates r;
    std::array<double, class_count> spikes{};
    for (int i = 0; i < d.count; ++i) {
        const int label = d.labels[static_cast<std::size_t>(i)];
        ++r.images[static_cast<std::size_t>(label)];
        for (int p = 0; p < image_pixels; ++p) spikes[static_cast<std::size_t>(label)] += counts[static_cast<std::size_t>(i) * image_pixels + static_cast<std::size_t>(p)];
    }
    for (int c = 0; c < class_count; ++c) {
        const auto k = static_cast<std::size_t>(c);
        r.rate[k] = r.images[k] ? spikes[k] / (static_cast<double>(r.images[k]) * image_pixels * steps) : 0.0;
    }
    return r;
}

/// Character for a fraction in [0, 1]: darker to brighter.
char shade(double fraction) {
    static const char ramp[] = " .:-=+*#%@";
    const int last = static_cast<int>(sizeof(ramp)) - 2;
    const int i = std::clamp(static_cast<int>(std::lround(fraction * last)), 0, last);
    return ramp[i];
}

void print_image_and_counts(const dataset& d, const std::vector<int>& counts, int image, int steps) {
    std::cout << "image " << image << " (" << class_names[d.labels[static_cast<std::size_t>(image)]] << "): input pixels | spike counts over "
              << steps << " steps (' ' = 0 ... '@' = " << steps << ")\n";
    const std::size_t base = static_cast<std::size_t>(image) * image_pixels;
    for (int row = 0; row < image_side; ++row) {
        std::string line = "  ";
        for (int col = 0; col < image_side; ++col) line += shade(d.pixels[base + static_cast<std::size_t>(row * image_side + col)] / 255.0);
        line += " | ";
        for (int col = 0; col < image_side; ++col)
            line += shade(static_cast<double>(counts[base + static_cast<std::size_t>(row * image_side + col)]) / steps);
        std::cout << line << '\n';
    }
}

void print_class_rates(const class_rates& r) {
    double top = 1e-12;
    for (double v : r.rate) top = std::max(top, v);
    std::cout << "firing rate per class (spikes per neuron per step):\n";
    for (int c = 0; c < class_count; ++c) {
        const auto k = static_cast<std::size_t>(c);
        std::cout << "  " << std::left << std::setw(12) << class_names[c] << std::right << std::setw(5) << r.images[k] << " images  " << std::fixed
                  << std::setprecision(4) << r.rate[k] << "  " << std::string(static_cast<std::size_t>(std::lround(40.0 * r.rate[k] / top)), '#') << '\n';
    }
    std::cout.unsetf(std::ios::floatfield);
}

// ------------------------------------------------------------------------------------------
// Parity: SIMD against the scalar reference, bit for bit
// ------------------------------------------------------------------------------------------

std::size_t differing_bits(const std::vector<float>& a, const std::vector<float>& b) {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        std::uint32_t x = 0, y = 0;
        std::memcpy(&x, &a[i], sizeof x);  // compare representations: -0 != +0, NaN == same NaN
        std::memcpy(&y, &b[i], sizeof y);
        differ += x != y;
    }
    return differ;
}

/// Prints the counts of differing elements; true when all four tensors match exactly.
bool report_parity(const layer_buffers& simd, const layer_buffers& scalar) {
    const std::pair<const char*, std::size_t> diffs[] = {{"spike", differing_bits(simd.spike, scalar.spike)},
                                                         {"v_seq", differing_bits(simd.v_seq, scalar.v_seq)},
                                                         {"grad_x", differing_bits(simd.grad_x, scalar.grad_x)},
                                                         {"grad_v_init", differing_bits(simd.grad_v_init, scalar.grad_v_init)}};
    bool all_equal = true;
    std::cout << "parity SIMD vs scalar reference (differing elements, expected 0):";
    for (const auto& [name, count] : diffs) {
        std::cout << "  " << name << " " << count;
        all_equal = all_equal && count == 0;
    }
    std::cout << (all_equal ? "  -> identical\n" : "  -> MISMATCH\n");
    return all_equal;
}

// ------------------------------------------------------------------------------------------
// Throughput
// ------------------------------------------------------------------------------------------

struct throughput {
    double forward_ms = 0.0, backward_ms = 0.0;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/// Median time of `run` over up to 15 calls or about half a second (at least 3 calls).
double median_ms(const std::function<void()>& run, progress& shown, std::size_t& done) {
    std::vector<double> ms;
    const auto start = clock_type::now();
    while (ms.size() < 15 && (ms.size() < 3 || clock_type::now() - start < std::chrono::milliseconds(500))) {
        const auto t0 = clock_type::now();
        run();
        ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        shown.update(++done);
    }
    return median(ms);
}

/// Times forward and backward again (they rewrite the same results into `b`).
throughput time_layer(const lif_layer& layer, const std::vector<float>& x, const std::vector<float>& grad_spike, layer_buffers& b,
                      const std::string& label) {
    progress shown("timing " + label + " (kernel calls)", 0);
    std::size_t done = 0;
    throughput t;
    t.forward_ms = median_ms([&] { layer.forward(x, b); }, shown, done);
    t.backward_ms = median_ms([&] { layer.backward(grad_spike, b); }, shown, done);
    return t;
}

void print_throughput(const std::string& name, const throughput& t, std::int64_t T, std::int64_t N) {
    const double steps = static_cast<double>(T) * static_cast<double>(N);
    // Bytes each pass must move: forward reads x and writes spike, v_seq, h_seq; backward
    // reads grad_spike, h_seq and writes grad_x (+ grad_v_init, [N]).
    const double forward_bytes = 16.0 * steps;
    const double backward_bytes = 12.0 * steps + 4.0 * static_cast<double>(N);
    std::printf("  %-15s forward %8.3f ms  %7.3f G neuron-steps/s  %6.2f GB/s | backward %8.3f ms  %7.3f G neuron-steps/s  %6.2f GB/s\n",
                name.c_str(), t.forward_ms, steps / t.forward_ms * 1e-6, forward_bytes / t.forward_ms * 1e-6, t.backward_ms,
                steps / t.backward_ms * 1e-6, backward_bytes / t.backward_ms * 1e-6);
}

// ------------------------------------------------------------------------------------------
// SVG: a few inputs next to their spike-count maps, and the per-class firing rates
// ------------------------------------------------------------------------------------------

std::string hex_rgb(int r, int g, int b) {
    char text[8];
    std::snprintf(text, sizeof text, "#%02x%02x%02x", std::clamp(r, 0, 255), std::clamp(g, 0, 255), std::clamp(b, 0, 255));
    return text;
}

/// Black -> red -> yellow -> white ("hot"), for spike counts.
std::string hot_color(double f) {
    f = std::clamp(f, 0.0, 1.0);
    return hex_rgb(static_cast<int>(std::lround(255 * std::min(1.0, 3 * f))), static_cast<int>(std::lround(255 * std::clamp(3 * f - 1, 0.0, 1.0))),
                   static_cast<int>(std::lround(255 * std::clamp(3 * f - 2, 0.0, 1.0))));
}

std::string grey_color(double f) {
    const int v = static_cast<int>(std::lround(255 * std::clamp(f, 0.0, 1.0)));
    return hex_rgb(v, v, v);
}

/// A 28x28 map of levels 0..levels-1 as one <path> per level (runs of equal level merged),
/// `scale` SVG units per pixel, top-left at (x, y). Far smaller than one <rect> per pixel.
void svg_map(std::ostream& svg, const std::vector<int>& level, int levels, double x, double y, double scale,
             const std::function<std::string(double)>& color) {
    svg << "<g transform=\"translate(" << x << ' ' << y << ") scale(" << scale << ")\" shape-rendering=\"crispEdges\">\n";
    svg << "<rect width=\"28\" height=\"28\" fill=\"" << color(0.0) << "\"/>\n";
    for (int l = 1; l < levels; ++l) {
        std::ostringstream path;
        for (int row = 0; row < image_side; ++row)
            for (int col = 0; col < image_side;) {
                int end = col;
                while (end < image_side && level[static_cast<std::size_t>(row * image_side + end)] == l) ++end;
                if (end > col) path << 'M' << col << ' ' << row << 'h' << end - col << "v1h-" << end - col << 'z';
                col = end > col ? end : col + 1;
            }
        if (!path.str().empty()) svg << "<path fill=\"" << color(static_cast<double>(l) / (levels - 1)) << "\" d=\"" << path.str() << "\"/>\n";
    }
    svg << "</g>\n";
}

/// Up to one image per class, first occurrence in the batch, in class order.
std::vector<int> example_images(const dataset& d) {
    std::vector<int> picked;
    for (int c = 0; c < class_count; ++c)
        for (int i = 0; i < d.count; ++i)
            if (d.labels[static_cast<std::size_t>(i)] == c) {
                picked.push_back(i);
                break;
            }
    return picked;
}

void write_svg(const std::string& path, const dataset& d, const std::vector<int>& counts, const class_rates& rates, int steps,
               const std::string& isa) {
    const std::vector<int> shown = example_images(d);
    const double cell = 3.0, map = image_side * cell, pitch = map + 16.0, left = 90.0;
    const double width = std::max(760.0, left + pitch * static_cast<double>(shown.size()) + 20.0);
    const double row1 = 95.0, row2 = row1 + map + 40.0;  // inputs, then spike counts
    const double chart_top = row2 + map + 80.0, chart_height = 200.0, height = chart_top + chart_height + 50.0;
    std::ofstream svg(path);
    if (!svg) throw usage_error("cannot write '" + path + "' (check --out)");

    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << ' ' << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"20\" y=\"28\" font-size=\"17\" font-weight=\"bold\">LIF neurons driven by Fashion-MNIST (snn, " << isa << ")</text>\n"
        << "<text x=\"20\" y=\"48\" fill=\"#444\">one neuron per pixel, constant current pixel/255 x " << input_gain << " for " << steps
        << " steps; tau 2, v_th 1, hard reset to 0; " << d.count << " test images</text>\n";

    // Row 1: inputs (grey, 32 levels); row 2: spike counts (hot, 0..T).
    svg << "<text x=\"20\" y=\"" << row1 + map / 2 << "\">input</text>\n"
        << "<text x=\"20\" y=\"" << row2 + map / 2 << "\">spike</text><text x=\"20\" y=\"" << row2 + map / 2 + 15 << "\">count</text>\n";
    for (std::size_t k = 0; k < shown.size(); ++k) {
        const std::size_t base = static_cast<std::size_t>(shown[k]) * image_pixels;
        const double x = left + pitch * static_cast<double>(k);
        std::vector<int> grey(image_pixels), count(image_pixels);
        for (std::size_t p = 0; p < image_pixels; ++p) {
            grey[p] = d.pixels[base + p] * 31 / 255;
            count[p] = counts[base + p];
        }
        svg << "<text x=\"" << x + map / 2 << "\" y=\"" << row1 - 8 << "\" text-anchor=\"middle\" font-size=\"11\">" << class_names[d.labels[static_cast<std::size_t>(shown[k])]]
            << "</text>\n";
        svg_map(svg, grey, 32, x, row1, cell, grey_color);
        svg_map(svg, count, steps + 1, x, row2, cell, hot_color);
    }
    // Colour scale of the spike counts.
    const double scale_y = row2 + map + 14.0;
    for (int c = 0; c <= steps; ++c) {
        const double w = 200.0 / (steps + 1);
        svg << "<rect x=\"" << left + c * w << "\" y=\"" << scale_y << "\" width=\"" << w + 0.5 << "\" height=\"10\" fill=\"" << hot_color(static_cast<double>(c) / steps)
            << "\"/>\n";
    }
    svg << "<text x=\"" << left + 210 << "\" y=\"" << scale_y + 9 << "\" fill=\"#444\">spikes: 0 .. " << steps << "</text>\n";

    // Bar chart: firing rate per class.
    double top = 1e-12;
    for (double r : rates.rate) top = std::max(top, r);
    top = std::ceil(top * 20.0) / 20.0;  // axis to the next multiple of 0.05
    const double bar_pitch = (width - left - 40.0) / class_count;
    const double base_y = chart_top + chart_height;
    svg << "<text x=\"20\" y=\"" << chart_top - 14 << "\" font-size=\"14\" font-weight=\"bold\">firing rate per class (spikes per neuron per step)</text>\n";
    for (int tick = 0; tick <= 4; ++tick) {
        const double v = top * tick / 4.0, y = base_y - chart_height * tick / 4.0;
        svg << "<line x1=\"" << left - 4 << "\" y1=\"" << y << "\" x2=\"" << width - 30 << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n"
            << "<text x=\"" << left - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << std::fixed << std::setprecision(3) << v << "</text>\n";
    }
    for (int c = 0; c < class_count; ++c) {
        const auto k = static_cast<std::size_t>(c);
        const double h = chart_height * rates.rate[k] / top, x = left + bar_pitch * c + bar_pitch * 0.15;
        svg << "<rect x=\"" << x << "\" y=\"" << base_y - h << "\" width=\"" << bar_pitch * 0.7 << "\" height=\"" << h << "\" fill=\"#3b6ea8\"/>\n"
            << "<text x=\"" << x + bar_pitch * 0.35 << "\" y=\"" << base_y - h - 4 << "\" text-anchor=\"middle\" font-size=\"10\">" << rates.rate[k] << "</text>\n"
            << "<text x=\"" << x + bar_pitch * 0.35 << "\" y=\"" << base_y + 16 << "\" text-anchor=\"middle\" font-size=\"11\">" << class_names[c] << "</text>\n"
            << "<text x=\"" << x + bar_pitch * 0.35 << "\" y=\"" << base_y + 30 << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#666\">n="
            << rates.images[k] << "</text>\n";
    }
    svg << "<line x1=\"" << left << "\" y1=\"" << base_y << "\" x2=\"" << width - 30 << "\" y2=\"" << base_y << "\" stroke=\"black\"/>\n</svg>\n";
    if (!svg) throw usage_error("failed writing '" + path + "'");
}

// ------------------------------------------------------------------------------------------

int run(const options& opt) {
    const auto started = clock_type::now();
    // Fail before the work, not after it, when the plot cannot be written.
    if (!std::filesystem::is_directory(opt.out_dir)) throw usage_error("--out '" + opt.out_dir + "' is not a directory");
    const dataset data = load_test_set(opt.data_dir, opt.batch);
    const std::int64_t T = opt.steps, N = static_cast<std::int64_t>(data.count) * image_pixels;
    const std::vector<float> x = encode_images(data, opt.steps);

    const snn::cpu::kernel_table& simd_table = best_table();
    const snn::cpu::execution exec{opt.threads};
    const lif_layer simd{f32_lif_kernels(simd_table), lif_params(), exec};
    const lif_layer scalar{f32_lif_kernels(snn::cpu::select_isa("scalar")), lif_params(), exec};
    const int threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::cout << "Fashion-MNIST test set from " << opt.data_dir << ": " << data.count << " images, T = " << T << " steps, N = " << N
              << " neurons (one per pixel)\nkernels: " << simd_table.isa << " (CPU runs: " << snn::cpu::available_isas() << "), " << threads
              << " threads; LIF tau 2, v_th 1, hard reset to 0, ATan alpha 2, float32\n";
    // x and grad_spike, and spike, v_seq, h_seq, grad_x for each of the two runs.
    std::cout << "buffers: " << std::fixed << std::setprecision(1) << 10.0 * static_cast<double>(T * N) * sizeof(float) / (1 << 20) << " MiB\n\n";
    std::cout.unsetf(std::ios::floatfield);
    std::cout << std::setprecision(6);
    layer_buffers simd_out(T, N), scalar_out(T, N);

    // The results: SIMD forward, the loss gradient from its spikes, SIMD backward; then the
    // scalar reference on the same inputs (the same grad_spike, so both backward passes
    // see identical data and any difference is the kernels').
    std::vector<float> grad_spike;
    {
        progress shown("forward and backward, SIMD then scalar (kernel calls)", 4);
        simd.forward(x, simd_out);
        grad_spike = rate_loss_gradient(simd_out.spike);
        simd.backward(grad_spike, simd_out);
        shown.update(2);
        scalar.forward(x, scalar_out);
        shown.update(3);
        scalar.backward(grad_spike, scalar_out);
        shown.update(4);
    }

    const std::vector<int> counts = spike_counts(simd_out);
    print_image_and_counts(data, counts, 0, opt.steps);
    std::cout << '\n';
    const class_rates rates = rates_per_class(data, counts, opt.steps);
    print_class_rates(rates);

    double grad_abs = 0.0;
    for (float g : simd_out.grad_x) grad_abs += std::fabs(g);
    std::cout << "\nbackward with dL/dspike = spike - " << target_rate << ": mean |dL/dx| = " << grad_abs / static_cast<double>(simd_out.grad_x.size())
              << "\n";
    const bool parity = report_parity(simd_out, scalar_out);

    const throughput simd_time = time_layer(simd, x, grad_spike, simd_out, std::string("SIMD ") + simd_table.isa);
    const throughput scalar_time = time_layer(scalar, x, grad_spike, scalar_out, "scalar");

    std::cout << "throughput (median; forward = training form writing spike, v_seq, h_seq):\n";
    print_throughput(std::string("SIMD (") + simd_table.isa + ")", simd_time, T, N);
    print_throughput("scalar", scalar_time, T, N);
    std::printf("  SIMD speed-up: forward %.1fx, backward %.1fx\n", scalar_time.forward_ms / simd_time.forward_ms,
                scalar_time.backward_ms / simd_time.backward_ms);

    const std::string svg_path = opt.out_dir + "/fashion_mnist_lif.svg";
    write_svg(svg_path, data, counts, rates, opt.steps, simd_table.isa);
    std::cout << "wrote " << svg_path << " (" << std::fixed << std::setprecision(2)
              << std::chrono::duration<double>(clock_type::now() - started).count() << " s in all)\n";
    if (!parity) {
        std::cerr << "error: the SIMD kernels disagree with the scalar reference\n";
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_options(argc, argv));
    } catch (const usage_error& e) {
        std::cerr << "snn-example-fashion-mnist: " << e.what() << '\n';
        return 2;
    } catch (const std::bad_alloc&) {
        std::cerr << "snn-example-fashion-mnist: out of memory (try a smaller --batch or --steps)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "snn-example-fashion-mnist: " << e.what() << '\n';
        return 2;
    }
}
