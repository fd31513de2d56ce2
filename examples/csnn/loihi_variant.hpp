#pragma once
/// \file
/// The Loihi variant of the demo: the network of SpikingJelly's Lava tutorial (MNISTNet of
/// `activation_based/examples/lava_mnist.py`) on Fashion-MNIST, trained on the CPU in the
/// numerics of SpikingJelly's `lava_exchange.BlockContainer`, then evaluated as Lava runs its
/// NetX export on Loihi, and exported as a NetX hdf5 file.
///
/// Network (every block bias-free, no batch norm, no pooling; spatial sizes in comments):
///   Conv(1->C, 3x3, pad 1)  28   Conv(C->C, 2x2, stride 2)  14
///   Conv(C->C, 3x3, pad 1)  14   Conv(C->C, 2x2, stride 2)   7
///   Flatten  Linear(C*49 -> 128)  Linear(128 -> 10)
/// each followed by the neuron BlockContainer substitutes for an IFNode: CubaLIFNode with
/// current decay 1 (iDecay 4096: no current memory), voltage decay 0 (vDecay 0: a perfect
/// integrator), threshold 1 (vThMant 64), integer state in 1/4096 units, hard reset to 0.
///
/// Training numerics ("lava-dl CUBA block forward"), as BlockContainer computes them:
///   * weights: quantize_8b (multiples of 1/32, SpikingJelly's clamp [-4, 255/64]) in every
///     forward, gradient straight through inside the clamp range, zero outside;
///   * synapse: float32 conv / linear on the quantised weights (the library's Eigen synapse
///     ops); every sum is a whole number of 1/32 below 2^23 of them (|sum| <= 4 * 50176 inputs
///     at C = 1024), so float32 is exact in any summation order;
///   * neuron: the library's CUBA kernel under spikingjelly_rule (emu/lava/cuba_simd.hpp);
///   * backward: SpikingJelly's autograd through CubaLIFNode (sj_cuba_backward below): the
///     Sigmoid(alpha 4) surrogate BlockContainer installs, the reset differentiated
///     (detach_reset False, BlockContainer's default), the leaky integrators' straight-through
///     inputs. (The library's cuba_backward is lava-dl's: exponential surrogate, reset not
///     differentiated; BlockContainer trains with SpikingJelly's, so that one is written here.)
///   * input: Poisson spikes (torch's PoissonEncoder: spike where U[0,1) <= pixel), drawn from
///     std::mt19937; the chip only takes spikes, so the network never sees analog pixels;
///   * loss: cross entropy on the firing rate (mean over T of the output spikes), as the
///     tutorial; learning rate cosine-annealed over the epochs like the float stage;
///   * optimiser: Adam (lr 3e-3, batch 16) by default, because the runs here are short.
///     Measured (3000 training images, 2000 test images, T = 8, init gain 3): Adam 3e-3 59%
///     (batch 32) and 62% (batch 16), Adam 1e-3 49%, Adam 1e-2 53%; the tutorial's SGD (lr 0.1,
///     momentum 0.9, written below) 50% (48% at T = 16, where Adam 3e-3 reached 63%), SGD lr
///     0.3 48%, lr 1 32%. `--loihi-optimiser sgd` selects the tutorial's;
///   * initial weights: torch's default times init_gain = 2 (why: see init_gain).
///
/// Loihi numerics ("Loihi integer, Lava fixed point, NetX"): the network as NetX hands it to
/// Lava. Weight mantissas as lava-dl exports them (quantize_8bit, clamp 254: a weight SJ
/// trained at 255/64 is deployed at 254/64), integer dendritic sums (Conv: wrapped to 24 bits;
/// Dense: NetX's optimize_weight_bits and Lava Dense's effective weights and exponent), Lava's
/// bit-accurate LIF (du = iDecay - 1, dv = vDecay, 24-bit wrap / saturation), and the one-step
/// delay every Lava Dense/Conv adds: BlockContainer has none, so the deployed network answers
/// six steps later than it trained. Evaluated over the same T steps the output has only T - 6
/// steps of evidence; fed six empty steps more (T + 6), it sees the same spikes as in training.
///
/// The batched evaluator here computes the integer sums with the float32 synapse ops on integer
/// mantissas (exact: every sum of at most 65535 products of |w| <= 256 and a 0/1 spike is an
/// integer below 2^24) and runs the library's Lava LIF kernel; each run checks it spike for
/// spike against the library's scalar reference snn::lava::run_lava on the first test images.
///
/// Files: `loihi_manifest.txt` + one float32 .npy per weight (SpikingJelly's state_dict names,
/// e.g. conv_fc.0.synapse.weight.npy [C, 1, 3, 3]) and, with HDF5, `loihi_variant.net` (NetX).

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <snn/cpu/parallel.hpp>
#include <snn/emu/lava/cuba_simd.hpp>
#include <snn/emu/lava/loihi_lif_simd.hpp>
#include <snn/emu/lava/network.hpp>
#include <snn/synapse/cpu.hpp>
#ifdef SNN_EXAMPLE_WITH_NETX
#include <snn/io/netx.hpp>
#endif

#include "common.hpp"
#include "curves.hpp"

namespace csnn {
namespace loihi {

// ------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------

struct options {
    bool enabled = true;
    int channels = 0;       // 0: 16 (the tutorial's default), or what --loihi-load's manifest says
    int steps = 0;          // 0: the default below, or the trained T of --loihi-load
    int epochs = -1;        // -1: the default below (0 with --loihi-load: evaluate only)
    int batch = 16;
    int train_limit = -1;   // -1: the default below; 0: all 60000
    double lr = 0.0;        // 0: 3e-3 for Adam, 0.1 for SGD (the tutorial's)
    bool adam = true;       // the optimiser: Adam (default) or SGD with momentum 0.9 (the tutorial's)
    int verify_images = 64; // test images checked against snn::lava::run_lava
    int test_limit = 0;     // 0: all 10000 test images
    std::string load_dir;
};

constexpr int default_steps = 16;
constexpr int default_epochs = 1;
constexpr int default_train_limit = 4000;

const char* const usage =
    "  --no-loihi              skip the Loihi variant\n"
    "  --loihi-channels C      its convolution channels (default 16, as the Lava tutorial)\n"
    "  --loihi-steps T         its time steps (default 16, the tutorial's default)\n"
    "  --loihi-epochs E        its training epochs (default 1; 0 with --loihi-load: evaluate only, the default there)\n"
    "  --loihi-train-limit K   its training images (default 4000, 8000 when the float stage runs on CUDA; 0: all 60000)\n"
    "  --loihi-batch B         its batch size (default 16)\n"
    "  --loihi-optimiser O     adam (default) or sgd (momentum 0.9, the tutorial's)\n"
    "  --loihi-lr LR           its learning rate, cosine-annealed (default 3e-3 for adam; 0.1 for sgd, as the tutorial)\n"
    "  --loihi-verify K        test images checked spike for spike against snn::lava::run_lava (default 64)\n"
    "  --loihi-test-limit K    evaluate it on the first K test images (default: all 10000)\n"
    "  --loihi-load DIR        evaluate (or continue training) the Loihi variant saved in DIR (loihi_manifest.txt + .npy)\n";

/// Consumes `--no-loihi`; returns whether it did.
inline bool parse_flag(const std::string& arg, options& o) {
    if (arg != "--no-loihi") return false;
    o.enabled = false;
    return true;
}

/// Consumes one `--loihi-* VALUE` option; returns whether `arg` was one.
inline bool parse_option(const std::string& arg, const std::string& value, options& o) {
    if (arg == "--loihi-channels") o.channels = static_cast<int>(parse_integer(value, arg, 1, 1024));
    else if (arg == "--loihi-steps") o.steps = static_cast<int>(parse_integer(value, arg, 1, 1000));
    else if (arg == "--loihi-epochs") o.epochs = static_cast<int>(parse_integer(value, arg, 0, 100000));
    else if (arg == "--loihi-train-limit") o.train_limit = static_cast<int>(parse_integer(value, arg, 0, 60000));
    else if (arg == "--loihi-batch") o.batch = static_cast<int>(parse_integer(value, arg, 1, 60000));
    else if (arg == "--loihi-verify") o.verify_images = static_cast<int>(parse_integer(value, arg, 0, 10000));
    else if (arg == "--loihi-test-limit") o.test_limit = static_cast<int>(parse_integer(value, arg, 1, 10000));
    else if (arg == "--loihi-load") o.load_dir = value;
    else if (arg == "--loihi-optimiser") {
        if (value != "sgd" && value != "adam") throw usage_error("--loihi-optimiser must be sgd or adam, got '" + value + "'");
        o.adam = value == "adam";
    }
    else if (arg == "--loihi-lr") o.lr = parse_positive(value, arg);
    else return false;
    return true;
}

// ------------------------------------------------------------------------------------------
// The network: shapes, parameters, files
// ------------------------------------------------------------------------------------------

constexpr std::int64_t hidden = 128;  // the tutorial's Linear(C*49, 128)
constexpr int block_count = 6;        // blocks with a neuron (the Flatten block has none)
constexpr double threshold = 1.0;     // IFNode's v_threshold: vThMant 64, on the 1/64 grid
constexpr float surrogate_alpha = 4.0f;  // Sigmoid(alpha 4), BlockContainer's CubaLIFNode default
/// The initial weights are torch's default U(+-1/sqrt(fan_in)) times this gain. With the gain
/// 1 of the tutorial, the IF blocks (perfect integrators, threshold 1) pass too little on at
/// T <= 16 on Fashion-MNIST: measured firing rates 5.8%, 1.4%, 0.13%, 0, 0, 0 over the six
/// blocks at T = 16, so the last blocks get no gradient at all and a short run never starts
/// learning. Gain 2 gives 9.9%, 4.9%, 2.5%, 1.2%, 0.2% in the first five blocks at T = 8,
/// enough for every block to get gradients. Measured (3000 training images, T = 8, Adam 3e-3,
/// batch 16, 2000 test images): gain 1.5 53%, 2 69%, 3 62%, 4 49%.
constexpr float init_gain = 2.0f;

/// One block: a conv ([in_c, in_side^2] -> [out_c, out_side^2]) or a dense layer.
struct block_shape {
    bool conv = true;
    std::int64_t in_c = 0, in_side = 0, out_c = 0, out_side = 0, kernel = 0, stride = 1, pad = 0;
    std::int64_t in_features() const { return conv ? in_c * in_side * in_side : in_c; }
    std::int64_t out_features() const { return conv ? out_c * out_side * out_side : out_c; }
    std::vector<std::int64_t> weight_shape() const {
        return conv ? std::vector<std::int64_t>{out_c, in_c, kernel, kernel} : std::vector<std::int64_t>{out_c, in_c};
    }
    snn::synapse::conv2d_shape conv_shape(std::int64_t rows) const {
        snn::synapse::conv2d_shape s;
        s.batch = rows, s.in_channels = in_c, s.in_height = s.in_width = in_side, s.out_channels = out_c;
        s.kernel_h = s.kernel_w = kernel, s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad;
        return s;
    }
};

inline std::array<block_shape, block_count> network_shapes(std::int64_t C) {
    return {{{true, 1, 28, C, 28, 3, 1, 1},
             {true, C, 28, C, 14, 2, 2, 0},
             {true, C, 14, C, 14, 3, 1, 1},
             {true, C, 14, C, 7, 2, 2, 0},
             {false, C * 49, 0, hidden, 0, 0, 1, 0},
             {false, hidden, 0, class_count, 0, 0, 1, 0}}};
}

/// SpikingJelly's state_dict names of MNISTNet (conv_fc.4 is the Flatten block).
inline const std::array<const char*, block_count> weight_names = {"conv_fc.0.synapse.weight", "conv_fc.1.synapse.weight", "conv_fc.2.synapse.weight",
                                                                   "conv_fc.3.synapse.weight", "conv_fc.5.synapse.weight", "conv_fc.6.synapse.weight"};

inline const model_files files{"loihi_manifest.txt", "snn-fashion-mnist-loihi-variant 1"};
inline const char* const netx_file_name = "loihi_variant.net";

/// common.hpp's messages name the float model's --load; these files come from --loihi-load.
template <class F>
auto renaming_option(F&& f) {
    try {
        return f();
    } catch (const usage_error& e) {
        const std::string what = e.what(), prefix = "--load";
        throw usage_error(what.compare(0, prefix.size(), prefix) == 0 ? "--loihi-load" + what.substr(prefix.size()) : what);
    }
}

struct model {
    std::int64_t C;
    std::int64_t trained_steps;
    std::array<block_shape, block_count> shapes;
    std::vector<tensor> weights;  // float32 master weights, torch layout

    model(std::int64_t channels, std::int64_t steps) : C(channels), trained_steps(steps), shapes(network_shapes(channels)) {
        for (int l = 0; l < block_count; ++l) weights.emplace_back(weight_names[static_cast<std::size_t>(l)], shapes[static_cast<std::size_t>(l)].weight_shape());
    }
    std::vector<tensor*> all() {
        std::vector<tensor*> r;
        for (tensor& t : weights) r.push_back(&t);
        return r;
    }
    /// U(+-init_gain/sqrt(fan_in)): torch's default init scaled by init_gain, drawn from
    /// std::mt19937 (see init_gain).
    void initialise(std::uint32_t seed) {
        std::mt19937 gen(seed);
        for (tensor& t : weights) {
            torch_default_init(t, gen);
            for (float& v : t.value) v *= init_gain;
        }
    }
    void save(const std::string& dir) { save_tensors(dir, files, {{"channels", C}, {"steps", trained_steps}}, all()); }

    /// Channels and trained T of the model saved in `dir`.
    static std::pair<std::int64_t, std::int64_t> saved_shape(const std::string& dir) {
        return renaming_option([&] {
            const auto header = read_manifest_header(dir, files, {"channels", "steps"}, 1024);
            return std::pair<std::int64_t, std::int64_t>{header[0], header[1]};
        });
    }
    void load(const std::string& dir) {
        renaming_option([&] {
            load_tensors(dir, all(), std::to_string(C) + " channels (Loihi variant)");
            return 0;
        });
    }

};

/// quantize_8b's straight-through mask: the gradient passes where round(w * 32) / 32 lies in
/// the clamp range [-4, 255/64] (torch.clamp passes it at the bounds too).
inline bool quantizer_passes_gradient(float w) {
    const double steps = snn::fixed::round_half_even(static_cast<double>(w * 32.0f));
    return steps >= -128.0 && steps <= 127.0;
}

/// BlockContainer's forward weights: quantize_8b(w) = mantissa / 64, SpikingJelly's clamp.
inline void quantize_weights(const tensor& w, std::vector<float>& q) {
    q.resize(w.value.size());
    for (std::size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(snn::lava::quantize_weight(w.value[i], snn::lava::weight_clamp::spikingjelly)) / 64.0f;
}

/// The network as lava-dl's `to_lava_block()` + `export_hdf5` describe it: slayer's weight
/// mantissas (clamp 254), IF as CUBA (iDecay 4096, vDecay 0, vThMant 64), no bias, no delay.
inline snn::lava::network_desc to_netx(const model& m) {
    snn::lava::network_desc net;
    net.input_shape = {1, 28, 28};
    const std::int64_t v_th_mant = snn::lava::quantize_threshold(threshold);
    const std::int32_t i_decay = snn::lava::quantize_decay(1.0), v_decay = snn::lava::quantize_decay(0.0);
    for (int l = 0; l < block_count; ++l) {
        const block_shape& b = m.shapes[static_cast<std::size_t>(l)];
        if (l == 4) {  // the Flatten block: [C, 7, 7] -> [C * 49], torch C-H-W order
            snn::lava::layer_desc f;
            f.kind = snn::lava::layer_kind::flatten;
            f.has_neuron = false;
            f.in_shape = {m.C, 7, 7};
            f.out_shape = {m.C * 49};
            net.layers.push_back(f);
        }
        snn::lava::layer_desc L;
        const tensor& w = m.weights[static_cast<std::size_t>(l)];
        L.weight.resize(w.value.size());
        for (std::size_t i = 0; i < w.value.size(); ++i) L.weight[i] = snn::lava::quantize_weight(w.value[i], snn::lava::weight_clamp::slayer);
        if (b.conv) {
            L.kind = snn::lava::layer_kind::conv;
            L.in_shape = {b.in_c, b.in_side, b.in_side};
            L.out_shape = {b.out_c, b.out_side, b.out_side};
            L.conv.in_channels = b.in_c, L.conv.out_channels = b.out_c, L.conv.in_h = L.conv.in_w = b.in_side;
            L.conv.kernel_h = L.conv.kernel_w = b.kernel, L.conv.stride_h = L.conv.stride_w = b.stride, L.conv.pad_h = L.conv.pad_w = b.pad;
        } else {
            L.kind = snn::lava::layer_kind::dense;
            L.in_shape = {b.in_c};
            L.out_shape = {b.out_c};
        }
        L.neuron.i_decay = {i_decay};
        L.neuron.v_decay = {v_decay};
        L.neuron.v_th_mant = v_th_mant;
        net.layers.push_back(std::move(L));
    }
    snn::lava::check_network(net);
    return net;
}

// ------------------------------------------------------------------------------------------
// Input spikes and the loss
// ------------------------------------------------------------------------------------------

/// torch's PoissonEncoder on one image: spike[t, p] = U[0,1) <= pixel / 255, T steps, into
/// out [T, 784] (floats 0/1).
template <class Generator>
void poisson_encode(const std::uint8_t* pixels, std::int64_t steps, Generator& gen, float* out) {
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    for (std::int64_t t = 0; t < steps; ++t)
        for (int p = 0; p < image_pixels; ++p) out[t * image_pixels + p] = uniform(gen) <= static_cast<float>(pixels[p]) / 255.0f ? 1.0f : 0.0f;
}

/// The evaluation input of test image `image`: its own generator, so that every numerics and
/// every check sees the same spikes whatever the batching.
inline void evaluation_spikes(const dataset& d, int image, std::int64_t steps, std::uint32_t seed, float* out) {
    std::seed_seq sequence{seed, static_cast<std::uint32_t>(image), 0x10a1u};
    std::mt19937 gen(sequence);
    poisson_encode(d.pixels.data() + static_cast<std::size_t>(image) * image_pixels, steps, gen, out);
}

/// F.cross_entropy(rate, label) averaged over the batch, rate = spike count / T over
/// counts [N, 10]; writes dL/dcount into grad [N, 10] (null: none). `correct` counts argmax
/// hits (first maximum wins, as torch.argmax).
inline double rate_cross_entropy(const float* counts, std::int64_t N, std::int64_t steps, const std::uint8_t* labels, float* grad, int& correct) {
    double loss = 0.0;
    correct = 0;
    for (std::int64_t n = 0; n < N; ++n) {
        std::array<double, class_count> rate{};
        int best = 0;
        double top = -1.0;
        for (int k = 0; k < class_count; ++k) {
            rate[static_cast<std::size_t>(k)] = static_cast<double>(counts[n * class_count + k]) / static_cast<double>(steps);
            if (rate[static_cast<std::size_t>(k)] > top) top = rate[static_cast<std::size_t>(k)], best = k;
        }
        double sum = 0.0;
        for (double r : rate) sum += std::exp(r - top);
        const double log_sum = top + std::log(sum);
        loss += log_sum - rate[labels[n]];
        correct += best == labels[n] ? 1 : 0;
        if (grad != nullptr)
            for (int k = 0; k < class_count; ++k) {
                const double p = std::exp(rate[static_cast<std::size_t>(k)] - log_sum);
                grad[n * class_count + k] = static_cast<float>((p - (labels[n] == k ? 1.0 : 0.0)) / static_cast<double>(N * steps));
            }
    }
    return loss / static_cast<double>(N);
}

/// Index of the largest count (first wins).
inline int argmax(const float* counts) {
    int best = 0;
    for (int k = 1; k < class_count; ++k)
        if (counts[k] > counts[best]) best = k;
    return best;
}

// ------------------------------------------------------------------------------------------
// Training numerics: BlockContainer forward, SpikingJelly's backward
// ------------------------------------------------------------------------------------------

/// SpikingJelly's autograd through CubaLIFNode over T steps of F neurons of one sample
/// ([T, F], time-major): per step, backward in reverse order of
///   I = LIS(x, cd, I')  (dx = g, dI' = i_keep g)     V = LIS(I, vd, V')  (dI = g, dV' = v_keep g)
///   s = heaviside(V - theta) with surrogate sigmoid'(alpha (V - theta))
///   V'' = (1 - s) V     (detach_reset False: ds gets -V g)
/// `voltage` is the pre-reset V, `spike` the forward's spikes; writes grad_x.
inline void sj_cuba_backward(std::int64_t steps, std::int64_t F, const float* voltage, const float* spike, const float* grad_spike, float* grad_x,
                             float theta, float i_keep, float v_keep, std::vector<float>& scratch) {
    scratch.assign(static_cast<std::size_t>(2 * F), 0.0f);
    float* g_v = scratch.data();      // dL/d(post-reset V of this step), from the next step
    float* g_i = scratch.data() + F;  // dL/d(I of this step), from the next step's current decay
    for (std::int64_t t = steps - 1; t >= 0; --t) {
        const float* v = voltage + t * F;
        const float* s = spike + t * F;
        const float* gs = grad_spike + t * F;
        float* gx = grad_x + t * F;
        for (std::int64_t n = 0; n < F; ++n) {
            const float sg = 1.0f / (1.0f + std::exp(-surrogate_alpha * (v[n] - theta)));
            const float surrogate = surrogate_alpha * sg * (1.0f - sg);
            const float g_spike = gs[n] - g_v[n] * v[n];
            const float g_pre = g_spike * surrogate + g_v[n] * (1.0f - s[n]);
            const float g_current = g_pre + i_keep * g_i[n];
            gx[n] = g_current;
            g_v[n] = v_keep * g_pre;
            g_i[n] = g_current;
        }
    }
}

/// Runs body(first, last) over image ranges on the worker threads (images are independent).
template <class Body>
void for_images(std::int64_t images, const snn::cpu::execution& exec, Body&& body) {
    snn::cpu::detail::parallel_blocks(images, exec, 1, body);
}

struct layer_state {
    std::vector<float> q;                 // quantised weights (the forward's)
    std::vector<float> z, spike, voltage;  // [N*T, F_out] synapse output, spikes, pre-reset voltage
    std::vector<float> g_z;               // [N*T, F_out] dL/dz
};

/// The BlockContainer network on the CPU. Activations are image-major, [N, T, features]
/// (rows n*T + t): the synapse ops treat rows independently, and each image's [T, F] block is
/// contiguous for the neuron kernels, which then run in parallel over images.
class trainer {
public:
    trainer(model& m, int threads) : m_(m), exec_{threads}, neuron_(snn::lava::spikingjelly_constants(threshold, 1.0, 0.0)) {}

    /// Forward of N images whose input spikes are in input() [N*T, 784]; spike counts [N, 10].
    void forward(std::int64_t N, std::int64_t steps, bool keep_for_backward) {
        N_ = N, T_ = steps;
        const std::int64_t rows = N * steps;
        const float* in = input_.data();
        for (int l = 0; l < block_count; ++l) {
            const block_shape& b = m_.shapes[static_cast<std::size_t>(l)];
            layer_state& L = layers_[static_cast<std::size_t>(l)];
            quantize_weights(m_.weights[static_cast<std::size_t>(l)], L.q);
            const std::int64_t F = b.out_features();
            L.z.resize(static_cast<std::size_t>(rows * F)), L.spike.resize(L.z.size());
            if (keep_for_backward) L.voltage.resize(L.z.size());
            synapse_forward(b, rows, in, L.q.data(), L.z.data());
            for_images(N, exec_, [&](std::int64_t n0, std::int64_t n1) {
                for (std::int64_t n = n0; n < n1; ++n) {
                    snn::lava::cuba_forward_args a;
                    a.steps = steps, a.neurons = F;
                    a.x = L.z.data() + n * steps * F;
                    a.spike = L.spike.data() + n * steps * F;
                    a.voltage = keep_for_backward ? L.voltage.data() + n * steps * F : nullptr;
                    snn::lava::cuba_forward_simd<snn::lava::spikingjelly_rule>(neuron_, a);
                }
            });
            in = L.spike.data();
        }
        counts_.assign(static_cast<std::size_t>(N * class_count), 0.0f);
        const std::vector<float>& out = layers_.back().spike;
        for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t t = 0; t < steps; ++t)
                for (int k = 0; k < class_count; ++k) counts_[static_cast<std::size_t>(n * class_count + k)] += out[static_cast<std::size_t>((n * steps + t) * class_count + k)];
    }

    /// BPTT from dL/dcount [N, 10] into every weight's grad (overwritten), straight through the
    /// quantiser.
    void backward(const float* grad_counts) {
        const std::int64_t N = N_, steps = T_, rows = N * steps;
        std::vector<float>& g_out = grad_spike_;
        g_out.resize(static_cast<std::size_t>(rows * class_count));
        for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t t = 0; t < steps; ++t)
                std::copy(grad_counts + n * class_count, grad_counts + (n + 1) * class_count, g_out.begin() + (n * steps + t) * class_count);
        const float i_keep = 1.0f - static_cast<float>(neuron_.i_decay) / 4096.0f, v_keep = 1.0f - static_cast<float>(neuron_.v_decay) / 4096.0f;
        for (int l = block_count - 1; l >= 0; --l) {
            const block_shape& b = m_.shapes[static_cast<std::size_t>(l)];
            layer_state& L = layers_[static_cast<std::size_t>(l)];
            const std::int64_t F = b.out_features();
            L.g_z.resize(L.z.size());
            for_images(N, exec_, [&](std::int64_t n0, std::int64_t n1) {
                std::vector<float> scratch;
                for (std::int64_t n = n0; n < n1; ++n) {
                    const std::int64_t o = n * steps * F;
                    sj_cuba_backward(steps, F, L.voltage.data() + o, L.spike.data() + o, g_out.data() + o, L.g_z.data() + o, neuron_.spike_threshold, i_keep,
                                     v_keep, scratch);
                }
            });
            const float* x = l == 0 ? input_.data() : layers_[static_cast<std::size_t>(l - 1)].spike.data();
            tensor& w = m_.weights[static_cast<std::size_t>(l)];
            grad_input_.resize(l == 0 ? 0 : static_cast<std::size_t>(rows * b.in_features()));
            synapse_backward(b, rows, x, L.q.data(), L.g_z.data(), l == 0 ? nullptr : grad_input_.data(), w.grad.data());
            for (std::size_t i = 0; i < w.grad.size(); ++i)
                if (!quantizer_passes_gradient(w.value[i])) w.grad[i] = 0.0f;
            std::swap(g_out, grad_input_);
        }
    }

    std::vector<float>& input() { return input_; }
    const std::vector<float>& counts() const { return counts_; }
    const snn::cpu::execution& exec() const { return exec_; }
    const layer_state& layer(int l) const { return layers_[static_cast<std::size_t>(l)]; }

private:
    void synapse_forward(const block_shape& b, std::int64_t rows, const float* x, const float* w, float* y) const {
        if (b.conv) {
            snn::synapse::conv2d_forward_args<float> a;
            a.shape = b.conv_shape(rows), a.x = x, a.weight = w, a.y = y;
            snn::cpu::conv2d_forward(a, exec_);
        } else {
            snn::synapse::dense_forward_args<float> a;
            a.rows = rows, a.in_features = b.in_c, a.out_features = b.out_c, a.x = x, a.weight = w, a.y = y;
            snn::cpu::dense_forward(a, exec_);
        }
    }
    void synapse_backward(const block_shape& b, std::int64_t rows, const float* x, const float* w, const float* g_y, float* g_x, float* g_w) const {
        if (b.conv) {
            snn::synapse::conv2d_backward_args<float> a;
            a.shape = b.conv_shape(rows), a.grad_y = g_y, a.x = x, a.weight = w, a.grad_x = g_x, a.grad_weight = g_w;
            snn::cpu::conv2d_backward(a, exec_);
        } else {
            snn::synapse::dense_backward_args<float> a;
            a.rows = rows, a.in_features = b.in_c, a.out_features = b.out_c, a.grad_y = g_y, a.x = x, a.weight = w, a.grad_x = g_x, a.grad_weight = g_w;
            snn::cpu::dense_backward(a, exec_);
        }
    }

    model& m_;
    snn::cpu::execution exec_;
    snn::lava::cuba_constants neuron_;
    std::array<layer_state, block_count> layers_;
    std::vector<float> input_, counts_, grad_spike_, grad_input_;
    std::int64_t N_ = 0, T_ = 0;
};

/// torch.optim.SGD(lr, momentum 0.9): buf = 0.9 buf + g (buf = g at the first step), w -= lr buf.
struct sgd_momentum {
    double momentum = 0.9;
    bool started = false;
    std::vector<std::vector<float>> buffers;
    void step(std::vector<tensor>& weights, double lr) {
        if (!started) {
            buffers.clear();
            for (const tensor& w : weights) buffers.emplace_back(w.grad);
        }
        for (std::size_t t = 0; t < weights.size(); ++t) {
            tensor& w = weights[t];
            std::vector<float>& buf = buffers[t];
            for (std::size_t i = 0; i < w.value.size(); ++i) {
                if (started) buf[i] = static_cast<float>(momentum) * buf[i] + w.grad[i];
                w.value[i] -= static_cast<float>(lr) * buf[i];
            }
        }
        started = true;
    }
};

// ------------------------------------------------------------------------------------------
// Loihi numerics: the NetX network as Lava runs it, batched
// ------------------------------------------------------------------------------------------

/// Lava's fixed-point execution of a NetX chain over many images at once. Bit for bit what
/// snn::lava::run_lava computes per image (checked at run time and in tests/test_loihi_variant.cpp).
class lava_batch_runner {
public:
    lava_batch_runner(const snn::lava::network_desc& net, int threads) : net_(net), exec_{threads} {
        snn::lava::check_network(net_);
        for (const snn::lava::layer_desc& L : net_.layers) {
            prepared p;
            if (L.kind == snn::lava::layer_kind::dense) {
                const snn::lava::lava_dense_config d = snn::lava::netx_dense(L);
                p.weight.assign(d.weights_effective.begin(), d.weights_effective.end());
                p.weight_exp = d.weight_exp;
                p.fan_in = d.in;
            } else if (L.kind == snn::lava::layer_kind::conv) {
                p.weight.assign(L.weight.begin(), L.weight.end());
                p.fan_in = (L.conv.in_channels / L.conv.groups) * L.conv.kernel_h * L.conv.kernel_w;
            }
            // Exactness of the float32 sums: |sum| <= 256 * fan_in must stay below 2^24.
            snn::require(p.fan_in < 65536, "network", "a layer has more than 65535 inputs per neuron: its float32 sums would not be exact");
            prepared_.push_back(std::move(p));
        }
    }

    /// Input spikes [N, T, input elements] (0/1 floats); returns each layer's spikes
    /// [N, T, elements] (flatten layers: empty), like run_lava per image. The buffers are the
    /// runner's own and are overwritten by the next call.
    const std::vector<std::vector<float>>& run(const float* input, std::int64_t N, std::int64_t steps) {
        spikes_.resize(net_.layers.size());
        const std::int64_t rows = N * steps;
        const float* current = input;
        for (std::size_t l = 0; l < net_.layers.size(); ++l) {
            const snn::lava::layer_desc& L = net_.layers[l];
            if (L.kind == snn::lava::layer_kind::flatten) continue;
            const prepared& p = prepared_[l];
            const std::int64_t F = snn::lava::element_count(L.out_shape);
            sums_.resize(static_cast<std::size_t>(rows * F));
            if (L.kind == snn::lava::layer_kind::conv) {
                snn::synapse::conv2d_forward_args<float> a;
                a.shape.batch = rows, a.shape.in_channels = L.conv.in_channels, a.shape.in_height = L.conv.in_h, a.shape.in_width = L.conv.in_w;
                a.shape.out_channels = L.conv.out_channels, a.shape.kernel_h = L.conv.kernel_h, a.shape.kernel_w = L.conv.kernel_w;
                a.shape.stride_h = L.conv.stride_h, a.shape.stride_w = L.conv.stride_w, a.shape.pad_h = L.conv.pad_h, a.shape.pad_w = L.conv.pad_w;
                a.shape.dilation_h = L.conv.dilation_h, a.shape.dilation_w = L.conv.dilation_w, a.shape.groups = L.conv.groups;
                a.x = current, a.weight = p.weight.data(), a.y = sums_.data();
                snn::cpu::conv2d_forward(a, exec_);
            } else {
                snn::synapse::dense_forward_args<float> a;
                a.rows = rows, a.in_features = snn::lava::element_count(L.in_shape), a.out_features = F;
                a.x = current, a.weight = p.weight.data(), a.y = sums_.data();
                snn::cpu::dense_forward(a, exec_);
            }
            std::vector<float>& spikes = spikes_[l];
            spikes.resize(static_cast<std::size_t>(rows * F));
            const bool conv = L.kind == snn::lava::layer_kind::conv;
            const std::int64_t per_channel = F / L.out_shape[0];
            for_images(N, exec_, [&](std::int64_t n0, std::int64_t n1) {
                std::vector<std::int32_t> a_in(static_cast<std::size_t>(steps * F)), u(static_cast<std::size_t>(F)), v(static_cast<std::size_t>(F));
                std::vector<std::int32_t> du(static_cast<std::size_t>(F)), dv(static_cast<std::size_t>(F)), bias(L.bias.empty() ? 0 : static_cast<std::size_t>(F));
                std::vector<std::int64_t> lag(static_cast<std::size_t>(F));
                for (std::int64_t o = 0; o < F; ++o) {
                    const std::size_t c = static_cast<std::size_t>(o / per_channel);
                    du[static_cast<std::size_t>(o)] = (L.neuron.i_decay.size() == 1 ? L.neuron.i_decay[0] : L.neuron.i_decay[c]) - 1;
                    dv[static_cast<std::size_t>(o)] = L.neuron.v_decay.size() == 1 ? L.neuron.v_decay[0] : L.neuron.v_decay[c];
                    if (!bias.empty()) bias[static_cast<std::size_t>(o)] = L.bias[c];
                    lag[static_cast<std::size_t>(o)] = 1 + (L.delay.empty() ? 0 : L.delay[c]);
                }
                std::vector<std::int8_t> s(static_cast<std::size_t>(steps * F));
                snn::lava::loihi_lif_params lif;
                lif.vth = L.neuron.v_th_mant;
                lif.bias_exp = 6;
                for (std::int64_t n = n0; n < n1; ++n) {
                    const float* z = sums_.data() + n * steps * F;
                    // What the LIF receives at step t: the Dense/Conv output of step t - lag
                    // (one step, plus the axonal delay), nothing before.
                    for (std::int64_t t = 0; t < steps; ++t)
                        for (std::int64_t o = 0; o < F; ++o) {
                            const std::int64_t source = t - lag[static_cast<std::size_t>(o)];
                            std::int32_t value = 0;
                            if (source >= 0) {
                                const auto sum = static_cast<std::int64_t>(z[source * F + o]);
                                value = conv ? static_cast<std::int32_t>(snn::fixed::wrap_signed_bits(sum, 24))
                                             : snn::fixed::wrap_int32(snn::fixed::shift_by_exponent(sum, p.weight_exp));
                            }
                            a_in[static_cast<std::size_t>(t * F + o)] = value;
                        }
                    std::fill(u.begin(), u.end(), 0), std::fill(v.begin(), v.end(), 0);
                    snn::lava::loihi_lif_args args;
                    args.steps = steps, args.neurons = F, args.a_in = a_in.data(), args.u = u.data(), args.v = v.data(), args.spike = s.data();
                    args.du = du.data(), args.dv = dv.data(), args.bias_mant = bias.empty() ? nullptr : bias.data();
                    snn::lava::loihi_lif_forward_simd(lif, args);
                    std::copy(s.begin(), s.end(), spikes.begin() + n * steps * F);
                }
            });
            current = spikes.data();
        }
        return spikes_;
    }

    const snn::lava::network_desc& network() const { return net_; }

private:
    struct prepared {
        std::vector<float> weight;  // integer mantissas (conv) or Lava Dense's effective weights
        int weight_exp = 0;
        std::int64_t fan_in = 0;
    };
    snn::lava::network_desc net_;
    snn::cpu::execution exec_;
    std::vector<prepared> prepared_;
    std::vector<float> sums_;                  // [N, T, F] integer dendritic sums of one layer
    std::vector<std::vector<float>> spikes_;   // per layer [N, T, F]
};

/// Checks lava_batch_runner against the library's per-image scalar reference run_lava on
/// `images` images of input [N, T, 784]; returns the number of layer spikes compared. Throws
/// when any spike differs.
inline std::int64_t verify_against_run_lava(lava_batch_runner& runner, const float* input, std::int64_t images, std::int64_t steps) {
    const auto& batched = runner.run(input, images, steps);
    const snn::lava::network_desc& net = runner.network();
    const std::int64_t in_n = snn::lava::element_count(net.input_shape);
    std::int64_t compared = 0;
    for (std::int64_t n = 0; n < images; ++n) {
        std::vector<std::int32_t> s_in(static_cast<std::size_t>(steps * in_n));
        for (std::size_t i = 0; i < s_in.size(); ++i) s_in[i] = input[static_cast<std::size_t>(n * steps * in_n) + i] != 0.0f ? 1 : 0;
        const snn::lava::layer_spikes reference = snn::lava::run_lava(net, steps, s_in.data());
        for (std::size_t l = 0; l < net.layers.size(); ++l) {
            if (net.layers[l].kind == snn::lava::layer_kind::flatten) continue;
            const std::int64_t F = snn::lava::element_count(net.layers[l].out_shape);
            for (std::int64_t i = 0; i < steps * F; ++i) {
                const bool mine = batched[l][static_cast<std::size_t>(n * steps * F + i)] != 0.0f, theirs = reference[l][static_cast<std::size_t>(i)] != 0;
                if (mine != theirs)
                    throw std::runtime_error("Loihi evaluation: the batched evaluator differs from snn::lava::run_lava at image " + std::to_string(n) + ", layer " +
                                             std::to_string(l) + ", step " + std::to_string(i / F) + ", neuron " + std::to_string(i % F));
                ++compared;
            }
        }
    }
    return compared;
}

// ------------------------------------------------------------------------------------------
// The stage
// ------------------------------------------------------------------------------------------

struct result {
    bool ran = false;
    std::int64_t channels = 0, steps = 0, train_images = 0, test_images = 0;
    int epochs = 0;
    history curves;
    double train_seconds = 0.0, eval_seconds = 0.0, stage_seconds = 0.0;
    double probe_loss_before = 0.0, probe_loss_after = 0.0;
    double accuracy_training = 0.0;     // (a) BlockContainer / lava-dl CUBA block numerics, T steps
    double accuracy_loihi = 0.0;        // (b) Lava fixed point from the NetX network, T steps
    double accuracy_loihi_flushed = 0.0;  // (b) with T + latency steps (empty input at the end)
    std::int64_t latency = 0;            // Lava's extra steps: one per block with a neuron
    std::int64_t flushed_mismatches = 0; // test images whose output counts differ between (a) and (b, T + latency)
    std::int64_t weights_at_255 = 0;     // weights SJ trains at 255/64 and lava-dl exports at 254/64
    std::int64_t verified_spikes = 0;    // layer spikes checked against run_lava
    std::string netx_path;               // empty: not exported
    std::string netx_note;               // why not, or what was checked
};

/// What the demo's main program passes in.
struct context {
    const dataset& train;
    const dataset& test;
    std::uint32_t seed;
    int threads;
    std::string out_dir;
};

/// Loss and accuracy under the training numerics over `images` of `d` (fixed spikes per image).
inline eval_result evaluate_training_numerics(trainer& net, const dataset& d, const std::vector<int>& images, std::int64_t steps, std::uint32_t seed,
                                              std::vector<float>* counts_out = nullptr) {
    const std::int64_t batch = 64;
    double loss_sum = 0.0;
    long long correct_sum = 0;
    std::vector<std::uint8_t> labels;
    if (counts_out) counts_out->assign(images.size() * class_count, 0.0f);
    for (std::size_t first = 0; first < images.size(); first += batch) {
        const auto n = static_cast<std::int64_t>(std::min<std::size_t>(batch, images.size() - first));
        net.input().resize(static_cast<std::size_t>(n * steps * image_pixels));
        labels.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
            const int image = images[first + static_cast<std::size_t>(i)];
            evaluation_spikes(d, image, steps, seed, net.input().data() + i * steps * image_pixels);
            labels[static_cast<std::size_t>(i)] = d.labels[static_cast<std::size_t>(image)];
        }
        net.forward(n, steps, false);
        int correct = 0;
        loss_sum += rate_cross_entropy(net.counts().data(), n, steps, labels.data(), nullptr, correct) * static_cast<double>(n);
        correct_sum += correct;
        if (counts_out) std::copy(net.counts().begin(), net.counts().end(), counts_out->begin() + static_cast<std::ptrdiff_t>(first * class_count));
    }
    return {loss_sum / static_cast<double>(images.size()), static_cast<double>(correct_sum) / static_cast<double>(images.size())};
}

/// Runs the Loihi numerics over all test images for T + `latency` steps (the first T carry the
/// Poisson input, the rest are empty) and counts the output spikes of the first T steps into
/// counts_t and of all steps into counts_flushed ([images, 10] each). The network is causal and
/// both windows see the same input in their first T steps, so the first T steps of this run are
/// exactly a run of T steps. Returns the two accuracies.
inline std::pair<double, double> evaluate_loihi(lava_batch_runner& runner, const dataset& d, std::int64_t count, std::int64_t steps, std::int64_t latency,
                                                std::uint32_t seed, std::vector<float>& counts_t, std::vector<float>& counts_flushed) {
    const std::int64_t batch = 64, window = steps + latency;
    counts_t.assign(static_cast<std::size_t>(count * class_count), 0.0f);
    counts_flushed.assign(counts_t.size(), 0.0f);
    std::vector<float> input;
    long long correct_t = 0, correct_flushed = 0;
    for (std::int64_t first = 0; first < count; first += batch) {
        const std::int64_t n = std::min(batch, count - first);
        input.assign(static_cast<std::size_t>(n * window * image_pixels), 0.0f);
        for (std::int64_t i = 0; i < n; ++i) evaluation_spikes(d, static_cast<int>(first + i), steps, seed, input.data() + i * window * image_pixels);
        const std::vector<float>& out = runner.run(input.data(), n, window).back();
        for (std::int64_t i = 0; i < n; ++i) {
            float* ct = counts_t.data() + (first + i) * class_count;
            float* cf = counts_flushed.data() + (first + i) * class_count;
            for (std::int64_t t = 0; t < window; ++t)
                for (int k = 0; k < class_count; ++k) {
                    const float s = out[static_cast<std::size_t>((i * window + t) * class_count + k)];
                    cf[k] += s;
                    if (t < steps) ct[k] += s;
                }
            const std::uint8_t label = d.labels[static_cast<std::size_t>(first + i)];
            correct_t += argmax(ct) == label ? 1 : 0;
            correct_flushed += argmax(cf) == label ? 1 : 0;
        }
    }
    return {static_cast<double>(correct_t) / static_cast<double>(count), static_cast<double>(correct_flushed) / static_cast<double>(count)};
}

/// Exports `net` to `path` as NetX and reads it back; throws unless every layer comes back
/// identical. Returns the re-read network (what the Loihi evaluation then runs).
#ifdef SNN_EXAMPLE_WITH_NETX
inline snn::lava::network_desc export_and_reread(const snn::lava::network_desc& net, const std::string& path) {
    snn::io::write_netx(path, net);
    snn::lava::network_desc back = snn::io::read_netx(path, net.input_shape);
    bool same = back.input_shape == net.input_shape && back.layers.size() == net.layers.size();
    for (std::size_t l = 0; same && l < net.layers.size(); ++l) {
        const auto &a = net.layers[l], &b = back.layers[l];
        same = a.kind == b.kind && a.in_shape == b.in_shape && a.out_shape == b.out_shape && a.weight == b.weight && a.bias == b.bias && a.delay == b.delay &&
               a.has_neuron == b.has_neuron;
        if (same && a.kind == snn::lava::layer_kind::conv)
            same = a.conv.kernel_h == b.conv.kernel_h && a.conv.kernel_w == b.conv.kernel_w && a.conv.stride_h == b.conv.stride_h &&
                   a.conv.stride_w == b.conv.stride_w && a.conv.pad_h == b.conv.pad_h && a.conv.pad_w == b.conv.pad_w && a.conv.in_channels == b.conv.in_channels &&
                   a.conv.out_channels == b.conv.out_channels && a.conv.groups == b.conv.groups;
        if (same && a.kind != snn::lava::layer_kind::flatten)
            same = a.neuron.i_decay == b.neuron.i_decay && a.neuron.v_decay == b.neuron.v_decay && a.neuron.v_th_mant == b.neuron.v_th_mant;
        if (!same) throw std::runtime_error("NetX export: '" + path + "' does not read back as written (layer " + std::to_string(l) + ")");
    }
    return back;
}
#endif

/// Checks the stage's options and reads --loihi-load's model completely, so that a bad option
/// or file stops the demo before the float stage spends minutes training.
inline void validate(const options& opt) {
    if (!opt.enabled) return;
    if (opt.epochs == 0 && opt.load_dir.empty()) throw usage_error("--loihi-epochs 0 only makes sense with --loihi-load (evaluate a saved Loihi variant)");
    if (opt.load_dir.empty()) return;
    const auto [saved_c, saved_t] = model::saved_shape(opt.load_dir);
    if (opt.channels > 0 && saved_c != opt.channels)
        throw usage_error("--loihi-load: the model in '" + opt.load_dir + "' has " + std::to_string(saved_c) + " channels, but --loihi-channels " +
                          std::to_string(opt.channels) + " was given");
    model m(saved_c, saved_t);
    m.load(opt.load_dir);
}

/// Trains (or loads) the Loihi variant, evaluates it in both numerics, exports and saves it.
inline result run_stage(options opt, const context& ctx) {
    validate(opt);
    const auto started = clock_type::now();
    result r;
    r.ran = true;
    std::int64_t C = opt.channels > 0 ? opt.channels : 16, trained_steps = 0;
    if (!opt.load_dir.empty()) {
        const auto [saved_c, saved_t] = model::saved_shape(opt.load_dir);
        C = saved_c, trained_steps = saved_t;
    }
    const std::int64_t T = opt.steps > 0 ? opt.steps : (trained_steps > 0 ? trained_steps : default_steps);
    const int epochs = opt.epochs >= 0 ? opt.epochs : (opt.load_dir.empty() ? default_epochs : 0);
    const int limit = opt.train_limit >= 0 ? opt.train_limit : default_train_limit;
    // A fixed random subset of the training set (the same every epoch), reshuffled each epoch.
    std::mt19937 shuffler(ctx.seed + 11), encoder(ctx.seed + 13);
    std::vector<int> order(static_cast<std::size_t>(ctx.train.count));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), shuffler);
    const std::size_t train_count = limit > 0 ? std::min<std::size_t>(static_cast<std::size_t>(limit), order.size()) : order.size();
    order.resize(train_count);
    r.channels = C, r.steps = T, r.epochs = epochs, r.train_images = epochs > 0 ? static_cast<std::int64_t>(train_count) : 0;

    model m(C, epochs > 0 ? T : (trained_steps > 0 ? trained_steps : T));
    m.initialise(ctx.seed + 7);
    if (!opt.load_dir.empty()) m.load(opt.load_dir);
    trainer net(m, ctx.threads);

    std::cout << "\nLoihi variant (the Lava tutorial's MNISTNet): Conv3x3(" << C << ")-Conv2x2/2-Conv3x3-Conv2x2/2-Flatten-Linear(" << C * 49 << ", " << hidden
              << ")-Linear(" << hidden << ", 10), CUBA IF blocks (iDecay 4096, vDecay 0, vThMant 64), 8-bit weights; T = " << T << ", Poisson input"
              << (opt.load_dir.empty() ? std::string() : ", loaded from " + opt.load_dir) << "\n";
    if (epochs > 0)
        std::cout << "training: BlockContainer numerics on the CPU, " << (opt.adam ? "Adam" : "SGD momentum 0.9") << ", lr " << (opt.lr > 0.0 ? opt.lr : (opt.adam ? 3e-3 : 0.1)) << " (cosine), batch " << opt.batch << ", " << epochs
                  << " epoch(s) of " << train_count << " images, CE on the firing rate\n";

    const std::vector<int> probe(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(order.size(), 256)));
    if (epochs > 0) r.probe_loss_before = evaluate_training_numerics(net, ctx.train, probe, T, ctx.seed).loss;
    // The loss is cross entropy (the float CSNN's is MSE) and an epoch is this stage's subset:
    // the legend says so, since both runs share the axes.
    r.curves.label = "Loihi variant (BlockContainer numerics, CPU), C = " + std::to_string(C) + ", T = " + std::to_string(T) + ", CE loss, epoch = " +
                     std::to_string(train_count) + " images";
    const std::int64_t test_count = opt.test_limit > 0 ? std::min(opt.test_limit, ctx.test.count) : ctx.test.count;
    r.test_images = test_count;
    std::vector<int> test_images(static_cast<std::size_t>(test_count));
    std::iota(test_images.begin(), test_images.end(), 0);

    const double base_lr = opt.lr > 0.0 ? opt.lr : (opt.adam ? 3e-3 : 0.1);
    sgd_momentum sgd;
    adam adam_optimiser;
    std::vector<float> counts_training;  // [test images, 10] output counts under the training numerics
    std::vector<std::uint8_t> labels;
    std::vector<float> grad_counts;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        const double lr = 0.5 * base_lr * (1.0 + std::cos(pi * epoch / epochs));
        std::shuffle(order.begin(), order.end(), shuffler);
        const auto epoch_start = clock_type::now();
        double loss_sum = 0.0;
        long long correct_sum = 0;
        std::size_t done = 0;
        history::recorder record{r.curves, epoch, train_count};
        const std::string label = "Loihi variant epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs);
        auto last_shown = clock_type::now() - std::chrono::seconds(1);
        for (std::size_t first = 0; first < train_count; first += static_cast<std::size_t>(opt.batch)) {
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(opt.batch), train_count - first));
            net.input().resize(static_cast<std::size_t>(n * T * image_pixels));
            labels.resize(static_cast<std::size_t>(n));
            for (std::int64_t i = 0; i < n; ++i) {
                const int image = order[first + static_cast<std::size_t>(i)];
                poisson_encode(ctx.train.pixels.data() + static_cast<std::size_t>(image) * image_pixels, T, encoder, net.input().data() + i * T * image_pixels);
                labels[static_cast<std::size_t>(i)] = ctx.train.labels[static_cast<std::size_t>(image)];
            }
            net.forward(n, T, true);
            grad_counts.resize(static_cast<std::size_t>(n * class_count));
            int correct = 0;
            const double loss = rate_cross_entropy(net.counts().data(), n, T, labels.data(), grad_counts.data(), correct);
            net.backward(grad_counts.data());
            if (opt.adam) adam_optimiser.step(m.all(), lr);
            else sgd.step(m.weights, lr);
            done += static_cast<std::size_t>(n);
            loss_sum += loss * static_cast<double>(n), correct_sum += correct;
            record.add(done, loss, correct, n);
            if (clock_type::now() - last_shown > std::chrono::milliseconds(250) || done == train_count) {
                last_shown = clock_type::now();
                show_progress(label, done, train_count, loss_sum / static_cast<double>(done), static_cast<double>(correct_sum) / static_cast<double>(done),
                              static_cast<double>(done) / seconds_since(epoch_start));
            }
        }
        const double epoch_seconds = seconds_since(epoch_start);
        r.train_seconds += epoch_seconds;
        std::cerr << '\n';
        // The last epoch's evaluation is also the stage's row (a): keep its per-image counts.
        const eval_result test = evaluate_training_numerics(net, ctx.test, test_images, T, ctx.seed, epoch + 1 == epochs ? &counts_training : nullptr);
        r.curves.test.emplace_back(epoch + 1.0, test.accuracy);
        r.accuracy_training = test.accuracy;
        std::cout << "Loihi variant epoch " << epoch + 1 << ": train loss " << std::fixed << std::setprecision(4) << loss_sum / static_cast<double>(done)
                  << ", train acc " << std::setprecision(2) << 100.0 * static_cast<double>(correct_sum) / static_cast<double>(done) << "%, test acc "
                  << 100.0 * test.accuracy << "% (BlockContainer numerics), " << std::setprecision(1) << epoch_seconds << " s, " << std::setprecision(0)
                  << static_cast<double>(done) / epoch_seconds << " img/s" << std::endl;
        std::cout.unsetf(std::ios::floatfield);
    }
    if (epochs > 0) {
        r.probe_loss_after = evaluate_training_numerics(net, ctx.train, probe, T, ctx.seed).loss;
        m.save(ctx.out_dir);
        std::cout << "wrote " << ctx.out_dir << "/" << files.manifest << " (+ " << block_count << " .npy files)\n";
    }

    // (a) the training numerics (already evaluated at the end of the last epoch), keeping the
    // per-image counts for the comparison with (b).
    const auto eval_start = clock_type::now();
    if (epochs == 0) r.accuracy_training = evaluate_training_numerics(net, ctx.test, test_images, T, ctx.seed, &counts_training).accuracy;

    // (b) the network as NetX describes it, exported and read back when HDF5 is there.
    snn::lava::network_desc deployed = to_netx(m);
    for (const tensor& w : m.weights)
        for (float v : w.value) r.weights_at_255 += snn::lava::quantize_weight(v, snn::lava::weight_clamp::spikingjelly) == 255 ? 1 : 0;
#ifdef SNN_EXAMPLE_WITH_NETX
    r.netx_path = ctx.out_dir + "/" + netx_file_name;
    deployed = export_and_reread(deployed, r.netx_path);
    r.netx_note = "exported " + r.netx_path + ", read back identical; the Loihi rows run the network read from it";
#else
    r.netx_note = "NetX export skipped: this build has no HDF5 (snn::netx needs the HDF5 C library, Debian libhdf5-dev; reconfigure with it installed)";
#endif
    std::cout << r.netx_note << "\n";
    lava_batch_runner runner(deployed, ctx.threads);
    r.latency = block_count;
    if (opt.verify_images > 0) {
        const auto verify_start = clock_type::now();
        const std::int64_t k = std::min<std::int64_t>(opt.verify_images, test_count), window = T + r.latency;
        std::vector<float> input(static_cast<std::size_t>(k * window * image_pixels), 0.0f);
        for (std::int64_t i = 0; i < k; ++i) evaluation_spikes(ctx.test, static_cast<int>(i), T, ctx.seed, input.data() + i * window * image_pixels);
        r.verified_spikes = verify_against_run_lava(runner, input.data(), k, window);
        std::cout << "Loihi evaluator checked against snn::lava::run_lava on " << k << " test images: " << r.verified_spikes << " layer outputs (T + " << r.latency
                  << " steps), all equal (" << std::fixed << std::setprecision(1) << seconds_since(verify_start) << " s)\n";
        std::cout.unsetf(std::ios::floatfield);
    }
    std::vector<float> counts_loihi, counts_flushed;
    std::tie(r.accuracy_loihi, r.accuracy_loihi_flushed) = evaluate_loihi(runner, ctx.test, test_count, T, r.latency, ctx.seed, counts_loihi, counts_flushed);
    for (std::int64_t i = 0; i < test_count; ++i)
        if (!std::equal(counts_flushed.begin() + i * class_count, counts_flushed.begin() + (i + 1) * class_count, counts_training.begin() + i * class_count))
            ++r.flushed_mismatches;
    r.eval_seconds = seconds_since(eval_start);
    r.stage_seconds = seconds_since(started);
    return r;
}

/// The table rows of the stage.
inline void print_rows(const result& r) {
    if (!r.ran) return;
    std::cout << std::fixed << std::setprecision(2)
              << "  Loihi variant (C = " << r.channels << ", T = " << r.steps << "), 8-bit weights, integer CUBA state"
              << (r.test_images < 10000 ? ", first " + std::to_string(r.test_images) + " test images" : std::string()) << ":\n"
              << "    lava-dl CUBA numerics (training forward)            " << 100.0 * r.accuracy_training << "%\n"
              << "    Loihi integer (Lava fixed point, NetX), T steps     " << 100.0 * r.accuracy_loihi << "%   (Lava's " << r.latency
              << "-step layer latency: the output sees " << std::max<std::int64_t>(0, r.steps - r.latency) << " input steps)\n"
              << "    Loihi integer, T + " << r.latency << " steps (latency flushed)       " << 100.0 * r.accuracy_loihi_flushed << "%   (" << r.flushed_mismatches
              << " of the test images' output counts differ from the training forward)\n";
}

/// The RESULT line's fields of the stage.
inline std::string result_fields(const result& r) {
    if (!r.ran) return " loihi=off";
    std::ostringstream s;
    s << std::setprecision(6) << " loihi_channels=" << r.channels << " loihi_steps=" << r.steps << " loihi_epochs=" << r.epochs << " loihi_train_images=" << r.train_images
      << " loihi_test_images=" << r.test_images
      << " loihi_accuracy_training_numerics=" << r.accuracy_training << " loihi_accuracy_lava=" << r.accuracy_loihi
      << " loihi_accuracy_lava_flushed=" << r.accuracy_loihi_flushed << " loihi_flushed_mismatches=" << r.flushed_mismatches
      << " loihi_weights_at_255=" << r.weights_at_255 << " loihi_netx=" << (r.netx_path.empty() ? std::string("skipped") : std::string("written"))
      << std::setprecision(1) << std::fixed << " loihi_train_seconds=" << r.train_seconds << " loihi_eval_seconds=" << r.eval_seconds
      << " loihi_stage_seconds=" << r.stage_seconds;
    return s.str();
}

}  // namespace loihi
}  // namespace csnn
