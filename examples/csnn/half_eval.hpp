#pragma once
/// \file
/// The trained float32 CSNN (float_csnn.hpp) evaluated in float16 numerics on the CPU, one table
/// row per reference computation:
///
/// - `float16_gpu`: `model.half()` with SpikingJelly's ordinary IFNode on a CUDA GPU (the seed
///   tutorial's "93.3% float16 on a GPU" path). Parameters and every activation are binary16;
///   the IF neuron is snn's binary16-emulated IF with torch's CUDA scalar rules
///   (precision::b16_torch_cuda), bit-exact to SpikingJelly's IFNode `.half()` for given inputs.
/// - `lynxi`: the same network after `lynxi_exchange.to_lynxi_supported_modules` (the seed's
///   InferenceNet, built on the CPU from the checkpoint) as its `.half()` computes it, the IF
///   neurons through snn::emu::lynxi's lynxi_exchange IFNode (reference level, torch CPU rules).
///   This is the torch reference of what the tutorial compiled for the HP300; the chip's own
///   arithmetic inside conv/linear/BN is unknown. (emu/lynxi's chip-hypothesis level exists for
///   BIDL's neurons only, not for lynxi_exchange's IFNode, so there is no chip row.)
///
/// Both rows share the synapse numerics, which follow torch's half kernels:
/// - input: ToTensor's float32 pixel / 255 rounded to binary16 (`img.half()`);
/// - conv / linear (no bias): binary16 weights and inputs, float32 accumulation, the sum rounded
///   once to binary16 (cuDNN/cuBLAS half GEMMs with float accumulation, torch's CPU half GEMM).
///   They run as float32 GEMMs (snn/synapse/cpu, Eigen) on binary16-valued floats followed by a
///   rounding pass: the product of two binary16 numbers (11-bit significands, exponents in
///   [-24, 15]) is exact in float32, so the GEMM's float32 multiply-adds (fused or not) are a
///   float32 accumulation of the exact binary16 products. The ORDER of that accumulation is
///   Eigen's, not cuDNN's/cuBLAS's/torch CPU's: where float32 rounding inside the sum differs,
///   an output can differ by one binary16 ulp from the real library (rare; not reproduced).
/// - BatchNorm2d (eval): the conv output (a binary16 tensor) times a float32 per-channel scale
///   plus shift, computed from the binary16 parameters and buffers (`.half()` rounds them) as
///   emu/lynxi's fold_batch_norm does, rounded once. torch's CPU and CUDA kernels each differ
///   from this in a few last bits per 10^4 outputs (bidl.md §6.3), so BN is not bit-exact.
/// - max pool: exact (a maximum of binary16 spikes).
/// - output: the firing rate over T = 4 (k/4, exact in binary16, so torch's half mean is exact)
///   and argmax (first maximum on ties, as torch).
/// For IF with v_threshold 1 and hard reset to 0, SpikingJelly's IFNode and lynxi_exchange's
/// IFNode perform the same binary16 operations on the same values (charge `x + v`, fire
/// `v >= 1`, reset by blending with 0; 1 and 0 are exact in binary16, so CPU and CUDA scalar
/// rules agree, and both start from v = 0), so the two rows give the same spikes: they are two
/// independent code paths (snn's neuron kernels and emu/lynxi's) that must agree.
///
/// Evaluation runs in chunks of `half_chunk_images` test images, each chunk wholly on one worker
/// thread (its own workspace, every op single-threaded), chunks handed out dynamically. The
/// chunk partition does not depend on the thread count, so neither do the results.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <xsimd/xsimd.hpp>

#include <snn/core/binary16.hpp>
#include <snn/cpu/multistep.hpp>
#include <snn/cpu/parallel.hpp>
#include <snn/emu/lynxi/cpu.hpp>
#include <snn/synapse/cpu.hpp>

#include "common.hpp"
#include "float_csnn.hpp"

namespace csnn {

/// The reference computation a half evaluation reproduces (one row of the demo's table).
enum class half_numerics { float16_gpu, lynxi };

/// The row's name in the demo's table.
inline const char* half_numerics_label(half_numerics numerics) {
    return numerics == half_numerics::float16_gpu ? "float16 (.half(), SJ IFNode, CUDA rules)" : "Lynxi (lynxi_exchange IFNode .half())";
}

/// torch's BatchNorm2d default eps, a Python float that meets the binary16 running_var in float32.
constexpr float half_bn_eps = 1e-5f;

/// The parameters as `model.half()` leaves them: conv/linear weights rounded to binary16 (held
/// in floats so that float32 GEMMs read them), and each batch norm as float32 per-channel
/// scale/shift folded from its binary16 weight, bias, running mean and running variance.
struct half_parameters {
    std::int64_t C = 0;
    std::vector<float> conv1_w, conv2_w, fc1_w, fc2_w;              // binary16 values, shapes as in `model`
    std::vector<float> bn1_scale, bn1_shift, bn2_scale, bn2_shift;  // [C]

    explicit half_parameters(const model& m)
        : C(m.C), conv1_w(halve(m.conv1_w)), conv2_w(halve(m.conv2_w)), fc1_w(halve(m.fc1_w)), fc2_w(halve(m.fc2_w)) {
        fold(m.bn1_gamma, m.bn1_beta, m.bn1_mean, m.bn1_var, bn1_scale, bn1_shift);
        fold(m.bn2_gamma, m.bn2_beta, m.bn2_mean, m.bn2_var, bn2_scale, bn2_shift);
    }

private:
    static std::vector<float> halve(const tensor& t) {
        std::vector<float> v(t.value.size());
        std::transform(t.value.begin(), t.value.end(), v.begin(), [](float f) { return snn::round_to_binary16(f); });
        return v;
    }
    static void fold(const tensor& gamma, const tensor& beta, const tensor& mean, const tensor& var, std::vector<float>& scale, std::vector<float>& shift) {
        scale.resize(gamma.value.size()), shift.resize(gamma.value.size());
        for (std::size_t c = 0; c < gamma.value.size(); ++c)
            snn::emu::lynxi::fold_batch_norm(snn::round_to_binary16(gamma.value[c]), snn::round_to_binary16(beta.value[c]), snn::round_to_binary16(mean.value[c]),
                                             snn::round_to_binary16(var.value[c]), half_bn_eps, scale[c], shift[c]);
    }
};

/// Buffers of one chunk of images. Every binary16 activation of the torch module is kept as
/// binary16 (the neuron kernels' storage) or as the float of a binary16 value (GEMM inputs).
struct half_workspace {
    std::int64_t n = 0;
    std::vector<float> x;                        // [N, 1, 28, 28] the input, binary16 values
    std::vector<float> c1;                       // [N, C, 28, 28] conv1 float32 sums
    std::vector<snn::binary16> a1;               // [T, N*C*784] BN1 output repeated over T: IF1's input
    std::vector<snn::binary16> s1;               // [T, N*C*784] IF1 spikes
    std::vector<float> p1;                       // [T*N, C, 14, 14] pool1 (0/1)
    std::vector<float> c2;                       // [T*N, C*196] conv2 float32 sums
    std::vector<snn::binary16> a2, s2;           // [T, N*C*196] BN2 output, IF2 spikes
    std::vector<float> p2;                       // [T*N, C*49] pool2 (0/1), flattened
    std::vector<float> d3;                       // [T*N, C*16] fc1 float32 sums
    std::vector<snn::binary16> a3, s3;           // [T, N*C*16]
    std::vector<float> f3;                       // [T*N, C*16] IF3 spikes as fc2's input
    std::vector<float> d4;                       // [T*N, 10] fc2 float32 sums
    std::vector<snn::binary16> a4, s4;           // [T, N*10]
    std::vector<float> out;                      // [T, N, 10] output spikes (0/1)

    void resize(std::int64_t batch, std::int64_t C) {
        n = batch;
        auto sz = [](std::int64_t e) { return static_cast<std::size_t>(e); };
        const std::int64_t TN = steps * batch, L1 = C * 784, L2 = C * 196, L3 = C * 49, H = C * 16;
        x.resize(sz(batch * 784));
        c1.resize(sz(batch * L1)), a1.resize(sz(TN * L1));
        s1.resize(sz(TN * L1)), p1.resize(sz(TN * L2));
        c2.resize(sz(TN * L2)), a2.resize(sz(TN * L2)), s2.resize(sz(TN * L2)), p2.resize(sz(TN * L3));
        d3.resize(sz(TN * H)), a3.resize(sz(TN * H)), s3.resize(sz(TN * H)), f3.resize(sz(TN * H));
        d4.resize(sz(TN * class_count)), a4.resize(sz(TN * class_count)), s4.resize(sz(TN * class_count)), out.resize(sz(TN * class_count));
    }
};

namespace half_detail {

/// y[i] = binary16(x[i]): a float32 GEMM's sums stored as torch's half output tensor.
inline void round_to_half(const float* x, snn::binary16* y, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = snn::binary16(x[i]);
}

/// Batch norm of a half conv output: y = binary16(binary16(x) * scale[c] + shift[c]) over
/// x [rows, C, spatial] (two float32 operations; -ffp-contract=off keeps them unfused).
inline void batch_norm_to_half(const float* x, snn::binary16* y, std::int64_t rows, std::int64_t C, std::int64_t spatial, const float* scale,
                               const float* shift) {
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < C; ++c) {
            const std::int64_t base = (r * C + c) * spatial;
            const float k = scale[c], b = shift[c];
            for (std::int64_t i = 0; i < spatial; ++i) y[base + i] = snn::binary16(snn::round_to_binary16(x[base + i]) * k + b);
        }
}

/// 2x2 max pool, stride 2, of binary16 spikes s [rows, C, side, side] into floats
/// p [rows, C, side/2, side/2] (exact: the maximum of binary16 values is one of them).
inline void max_pool2(const snn::binary16* s, float* p, std::int64_t planes, std::int64_t side) {
    const std::int64_t half_side = side / 2;
    for (std::int64_t q = 0; q < planes; ++q) {
        const snn::binary16* in = s + q * side * side;
        float* out = p + q * half_side * half_side;
        for (std::int64_t i = 0; i < half_side; ++i)
            for (std::int64_t j = 0; j < half_side; ++j) {
                const std::int64_t at = 2 * i * side + 2 * j;
                out[i * half_side + j] = std::max(std::max(in[at].to_float(), in[at + 1].to_float()), std::max(in[at + side].to_float(), in[at + side + 1].to_float()));
            }
    }
}

inline void to_float(const snn::binary16* x, float* y, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = x[i].to_float();
}

}  // namespace half_detail

/// The CSNN's forward in one of the half numerics, single-threaded over one chunk of images
/// (the evaluation parallelises over chunks).
class half_network {
public:
    using sj_half_if = snn::if_neuron<snn::precision::b16_torch_cuda, snn::surrogate::atan>;

    half_network(const half_parameters& params, half_numerics numerics) : p_(params), numerics_(numerics) {}
    half_network(half_parameters&&, half_numerics) = delete;  // keeps a reference: no temporaries

    half_numerics numerics() const { return numerics_; }

    /// Forward of n images `pixels` [n, 28, 28] as ToTensor gives them (float32 in [0, 1]);
    /// the output spikes are ws.out [T, n, 10].
    void forward(half_workspace& ws, const float* pixels, std::int64_t n) const {
        const std::int64_t C = p_.C, TN = steps * n, L1 = C * 784, L2 = C * 196, L3 = C * 49, H = C * 16;
        ws.resize(n, C);
        std::transform(pixels, pixels + n * image_pixels, ws.x.begin(), [](float f) { return snn::round_to_binary16(f); });  // img.half()

        // conv1 + BN1 once, copied to every step: the input is the same image at every step
        // (torch repeats it T times and computes the same bits T times).
        snn::synapse::conv2d_forward_args<float> conv1;
        conv1.shape = conv_shape(n, 1, 28), conv1.x = ws.x.data(), conv1.weight = p_.conv1_w.data(), conv1.y = ws.c1.data();
        snn::cpu::conv2d_forward(conv1, single_thread);
        half_detail::batch_norm_to_half(ws.c1.data(), ws.a1.data(), n, C, 784, p_.bn1_scale.data(), p_.bn1_shift.data());
        for (std::int64_t t = 1; t < steps; ++t) std::copy(ws.a1.begin(), ws.a1.begin() + n * L1, ws.a1.begin() + t * n * L1);
        fire(ws.a1.data(), ws.s1.data(), steps, n * L1);
        half_detail::max_pool2(ws.s1.data(), ws.p1.data(), TN * C, 28);

        snn::synapse::conv2d_forward_args<float> conv2;
        conv2.shape = conv_shape(TN, C, 14), conv2.x = ws.p1.data(), conv2.weight = p_.conv2_w.data(), conv2.y = ws.c2.data();
        snn::cpu::conv2d_forward(conv2, single_thread);
        half_detail::batch_norm_to_half(ws.c2.data(), ws.a2.data(), TN, C, 196, p_.bn2_scale.data(), p_.bn2_shift.data());
        fire(ws.a2.data(), ws.s2.data(), steps, n * L2);
        half_detail::max_pool2(ws.s2.data(), ws.p2.data(), TN * C, 14);

        // Flatten: [T*N, C, 7, 7] is [T*N, C*49] in memory; [T*N, F] rows are T-major, i.e. [T, N*F].
        dense(ws.p2.data(), p_.fc1_w.data(), ws.d3.data(), TN, L3, H);
        half_detail::round_to_half(ws.d3.data(), ws.a3.data(), TN * H);
        fire(ws.a3.data(), ws.s3.data(), steps, n * H);
        half_detail::to_float(ws.s3.data(), ws.f3.data(), TN * H);

        dense(ws.f3.data(), p_.fc2_w.data(), ws.d4.data(), TN, H, class_count);
        half_detail::round_to_half(ws.d4.data(), ws.a4.data(), TN * class_count);
        fire(ws.a4.data(), ws.s4.data(), steps, n * class_count);
        half_detail::to_float(ws.s4.data(), ws.out.data(), TN * class_count);
    }

private:
    static constexpr snn::cpu::execution single_thread{1};

    const half_parameters& p_;
    half_numerics numerics_;

    snn::synapse::conv2d_shape conv_shape(std::int64_t batch, std::int64_t in_c, std::int64_t side) const {
        snn::synapse::conv2d_shape s;
        s.batch = batch, s.in_channels = in_c, s.in_height = side, s.in_width = side, s.out_channels = p_.C;
        s.kernel_h = s.kernel_w = 3, s.pad_h = s.pad_w = 1;
        return s;
    }

    static void dense(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
        snn::synapse::dense_forward_args<float> a;
        a.rows = rows, a.in_features = in, a.out_features = out, a.x = x, a.weight = weight, a.y = y;
        snn::cpu::dense_forward(a, single_thread);
    }

    /// IF (v_threshold 1, hard reset to 0, v = 0 at the start) over x [T, neurons].
    void fire(const snn::binary16* x, snn::binary16* spike, std::int64_t T, std::int64_t neurons) const {
        if (numerics_ == half_numerics::float16_gpu) {
            snn::forward_args<sj_half_if> f;
            f.steps = T, f.neurons = neurons, f.x = x, f.spike = spike;
            snn::cpu::forward_inference(snn::neuron_params{}, f, snn::cpu::backend::simd, single_thread);
        } else {
            snn::emu::lynxi::sj_lynxi_params p;  // IFNode: v_threshold 1, hard reset to 0
            p.device = snn::emu::lynxi::torch_device::cpu;
            snn::emu::lynxi::sj_lynxi_args<snn::binary16> a;
            a.steps = T, a.neurons = neurons, a.x = x, a.spike = spike;
            snn::emu::lynxi::sj_lynxi_forward<xsimd::default_arch>(p, a, single_thread);
        }
    }
};

/// Images per chunk: one chunk's GEMMs are [T*32, ...] and its buffers stay within a few MiB
/// per worker for C = 16 (about 30 MiB for C = 128).
constexpr std::int64_t half_chunk_images = 32;

struct half_eval_result {
    double loss = 0.0, accuracy = 0.0;
    double seconds = 0.0;
};

/// Loss (the training MSE on firing rates) and accuracy of the float model `m` evaluated in
/// `numerics` on images order[0..count) of `d`, on `threads` workers (0: all hardware threads).
/// With a non-empty `progress_label`, a progress line on stderr (show_progress) while it runs.
inline half_eval_result evaluate_half(const model& m, half_numerics numerics, const dataset& d, const std::vector<int>& order, std::size_t count, int threads,
                                      const std::string& progress_label = {}) {
    snn::require(count <= order.size(), "count", "more images than the order lists");
    const auto started = clock_type::now();
    const half_parameters params(m);
    const half_network net(params, numerics);
    const auto chunk = static_cast<std::size_t>(half_chunk_images);
    const std::size_t chunks = (count + chunk - 1) / chunk;
    std::vector<double> chunk_loss(chunks, 0.0);
    std::vector<int> chunk_correct(chunks, 0);
    std::atomic<std::size_t> next{0};
    std::mutex progress_mutex;
    std::size_t done = 0;
    double loss_so_far = 0.0;
    long long correct_so_far = 0;
    auto last_shown = clock_type::now() - std::chrono::seconds(1);

    const snn::cpu::execution exec{threads};
    const auto workers = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(snn::cpu::detail::resolve_threads(exec)), std::max<std::size_t>(chunks, 1)));
    snn::cpu::detail::parallel_blocks(workers, exec, 1, [&](std::int64_t, std::int64_t) {
        half_workspace ws;
        std::vector<float> pixels(chunk * image_pixels);
        std::vector<std::uint8_t> labels;
        for (std::size_t c = next++; c < chunks; c = next++) {
            const std::size_t first = c * chunk;
            const auto n = static_cast<std::int64_t>(std::min(chunk, count - first));
            gather_images(d, order, first, n, pixels.data(), labels);
            net.forward(ws, pixels.data(), n);
            int correct = 0;
            const double loss = rate_mse(ws.out.data(), steps, n, labels.data(), nullptr, correct);
            chunk_loss[c] = loss * static_cast<double>(n), chunk_correct[c] = correct;
            if (progress_label.empty()) continue;
            const std::lock_guard<std::mutex> lock(progress_mutex);
            done += static_cast<std::size_t>(n), loss_so_far += loss * static_cast<double>(n), correct_so_far += correct;
            if (clock_type::now() - last_shown > std::chrono::milliseconds(250) || done == count) {
                last_shown = clock_type::now();
                show_progress(progress_label, done, count, loss_so_far / static_cast<double>(done), static_cast<double>(correct_so_far) / static_cast<double>(done),
                              static_cast<double>(done) / seconds_since(started));
            }
        }
    });
    if (!progress_label.empty()) std::cerr << '\n';
    half_eval_result r;
    double loss_sum = 0.0;
    long long correct_sum = 0;
    for (std::size_t c = 0; c < chunks; ++c) loss_sum += chunk_loss[c], correct_sum += chunk_correct[c];  // fixed order: same sum for any thread count
    r.loss = count > 0 ? loss_sum / static_cast<double>(count) : 0.0;
    r.accuracy = count > 0 ? static_cast<double>(correct_sum) / static_cast<double>(count) : 0.0;
    r.seconds = seconds_since(started);
    return r;
}

}  // namespace csnn
