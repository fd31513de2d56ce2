// snn-bench-layer-cuda: the field's shared layer benchmark (Open Neuromorphic's configuration,
// reference/peers.md): Linear(n, n, bias=False) + multi-step LIF (tau 2, ATan surrogate, hard
// reset to 0), batch 16, T = 500, float32, n = 4096 / 8192 / 16384. Forward (GEMM + LIF forward
// for training) and backward (LIF backward + weight-gradient GEMM; the input needs no gradient,
// as in that benchmark, unless --grad-input) are timed separately (median of CUDA-event times
// after a warm-up). Peak memory is the sum of the buffers live in each pass (what
// torch.cuda.max_memory_allocated counts) and, as a cross-check, the drop in free device memory
// from before the first allocation to after the warm-up (cuBLAS workspace included).
//
// Time folding makes the layer two library calls per pass: the GEMM output [T*16, n] is the
// LIF's [T, N] input with N = 16 n, with no copy. The LIF runs in recompute mode (membrane
// checkpoints every K steps instead of the [T, N] pre-spike membrane) to cut peak memory;
// spikes are written as float32, the dtype the next Linear would read.
//
// Rows: "fp32" (IEEE float32 GEMMs, the anchor's setting) and "tf32" (tensor-core TF32 GEMMs,
// labelled separately: a different numeric result). Column "weight" is the dense weight layout
// (snn::synapse::weight_layout): "in_out" ([in, out], the NN GEMM, faster in cuBLAS) for the
// fp32 and tf32 rows, plus one fp32 row per n with torch's "out_in" ([out, in], TN GEMM) for
// comparison. --anchor FILE prints SpikingJelly's best
// time and peak memory at the same n (anchor-bench-sj-on-config-h200.csv) beside each row.
//
//   snn-bench-layer-cuda [--anchor FILE] [--sizes 4096,8192,16384] [--steps 500] [--batch 16]
//                        [--reps 10] [--grad-input] [--no-tf32] [--csv FILE]
//
// --conv instead times snn::cuda::conv2d (im2col + cuBLAS) at the Fashion-MNIST CSNN demo's two
// layer shapes, T*N = 512 images: conv 128 -> 128 on 14x14 and conv 1 -> 128 on 28x28, 3x3,
// padding 1, no bias. Forward, and backward with grad_x + grad_weight (128 -> 128) or
// grad_weight alone (1 -> 128: the image needs no gradient), fp32 and tf32, for each chunk size
// in --conv-chunks (images per chunk, 0 = the whole batch; the workspace is sized for it).
// --conv-breakdown adds the time of each piece (im2col, GEMMs, col2im, permute) of the 128 -> 128 layer.
//   snn-bench-layer-cuda --conv [--conv-breakdown] [--conv-batch 512] [--conv-chunks 0,128,32] [--reps 10] [--no-tf32]
//
// --spike-density instead times the forward of Linear(n, n, bias=False) on binary input at the
// layer's shapes (rows = batch * T = 8000, n = 4096 and 8192 unless --sizes), for each density
// of --densities: the cuBLAS GEMM on the 0/1 input as float32 (in_out weight; fp32, and tf32
// unless --no-tf32) against snn::cuda::dense_spike_forward on uint8 spikes and on bit-packed
// spikes (same weight). Each row also checks the results: the spike path's largest difference
// from the fp32 GEMM (summation order only) and whether the uint8 and packed paths agree bit for bit.
//   snn-bench-layer-cuda --spike-density [--densities 0.01,0.05,0.1,0.2,0.5] [--sizes 4096,8192] [--steps 500] [--batch 16] [--reps 10] [--no-tf32]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "bench_timing.cuh"
#include "snn/cuda/multistep.cuh"
#include "snn/cuda/synapse/conv2d.cuh"
#include "snn/cuda/synapse/dense.cuh"
#include "snn/cuda/synapse/dense_spike.cuh"

namespace {

constexpr const char* program = "snn-bench-layer-cuda";

void check(cudaError_t e, const char* what) { snn_bench::check_cuda(program, e, what); }

using lif = snn::neuron_config<snn::charge::lif<true>, snn::fire::greater_equal, snn::reset::hard<false>, snn::surrogate::atan,
                               snn::division::reciprocal, snn::precision::f32>;
using tuning = snn::cuda::multistep_tuning<snn::precision::f32>;

/// Uniform values in [lo, hi) from a per-element hash: reproducible, no RNG state or library.
__global__ void fill_uniform(float* __restrict__ out, std::int64_t count, std::uint32_t seed, float lo, float hi) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
        std::uint64_t h = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull + seed;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        out[i] = lo + (hi - lo) * static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
    }
}

/// The same hash as fill_uniform: spikes [rows, n] fire with probability `density`, written as
/// 0/1 bytes and as 0/1 float32 (the GEMM's input).
__global__ void fill_spikes(std::uint8_t* __restrict__ bytes, float* __restrict__ as_float, std::int64_t count, std::uint32_t seed, float density) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
        std::uint64_t h = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull + seed;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        const bool fired = static_cast<float>(h >> 40) * (1.0f / 16777216.0f) < density;
        bytes[i] = fired ? 1 : 0;
        as_float[i] = fired ? 1.0f : 0.0f;
    }
}

/// bits [rows, words]: bit j of word w is bytes [row, 32 w + j] != 0.
__global__ void pack_spikes(const std::uint8_t* __restrict__ bytes, std::uint32_t* __restrict__ bits, std::int64_t rows, std::int64_t n) {
    const std::int64_t words = (n + 31) / 32, total = rows * words;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const std::int64_t row = i / words, k0 = (i % words) * 32;
        std::uint32_t word = 0;
        for (int j = 0; j < 32 && k0 + j < n; ++j)
            if (bytes[row * n + k0 + j] != 0) word |= std::uint32_t{1} << j;
        bits[i] = word;
    }
}

/// stats[0] = max |a - b| (float bits: non-negative floats order as unsigned integers; NaN
/// counts as inf),
/// stats[1] = how many elements of b and c differ in their bits.
__global__ void compare_outputs(const float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ c, std::int64_t count,
                                unsigned long long* __restrict__ stats) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    float max_diff = 0.0f;
    unsigned long long mismatches = 0;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
        const float diff = fabsf(a[i] - b[i]);
        max_diff = diff != diff ? INFINITY : fmaxf(max_diff, diff);  // a NaN reads as inf (fmaxf would drop it)
        mismatches += __float_as_uint(b[i]) != __float_as_uint(c[i]) ? 1 : 0;
    }
    atomicMax(&stats[0], static_cast<unsigned long long>(__float_as_uint(max_diff)));
    if (mismatches != 0) atomicAdd(&stats[1], mismatches);
}

/// Device buffers with their byte counts, so that each pass's live memory can be summed.
struct device_buffer {
    void* ptr = nullptr;
    std::size_t bytes = 0;
    device_buffer() = default;
    explicit device_buffer(std::size_t n) : bytes(n) { check(cudaMalloc(&ptr, n), "cudaMalloc"); }
    ~device_buffer() { cudaFree(ptr); }
    device_buffer(const device_buffer&) = delete;
    device_buffer& operator=(const device_buffer&) = delete;
    float* f() const { return static_cast<float*>(ptr); }
};

struct anchor_row {
    double fwd_ms = 0, bwd_ms = 0, peak_gb = 0;
    std::string fwd_backend, bwd_backend, mem_backend;
};

/// SpikingJelly's best forward, backward and peak memory per n over its backends.
std::map<std::int64_t, anchor_row> read_anchor(const std::string& path) {
    std::map<std::int64_t, anchor_row> best;
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "%s: cannot read --anchor %s\n", program, path.c_str());
        std::exit(2);
    }
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("n,", 0) == 0) continue;
        std::stringstream ss(line);
        std::string n, backend, fwd, bwd, peak;
        if (!std::getline(ss, n, ',') || !std::getline(ss, backend, ',') || !std::getline(ss, fwd, ',') || !std::getline(ss, bwd, ',') ||
            !std::getline(ss, peak, ',')) {
            std::fprintf(stderr, "%s: malformed anchor line: %s\n", program, line.c_str());
            std::exit(2);
        }
        auto& row = best[std::stoll(n)];
        const double f = std::stod(fwd), b = std::stod(bwd), p = std::stod(peak);
        if (row.fwd_backend.empty() || f < row.fwd_ms) row.fwd_ms = f, row.fwd_backend = backend;
        if (row.bwd_backend.empty() || b < row.bwd_ms) row.bwd_ms = b, row.bwd_backend = backend;
        if (row.mem_backend.empty() || p < row.peak_gb) row.peak_gb = p, row.mem_backend = backend;
    }
    return best;
}

const char* layout_name(snn::synapse::weight_layout layout) {
    return layout == snn::synapse::weight_layout::in_out ? "in_out" : "out_in";
}

struct result {
    std::int64_t n;
    std::string math, layout;
    float fwd_ms, bwd_ms;
    double fwd_peak_gb, peak_gb, free_drop_gb;
};

result run_layer(cublasHandle_t handle, std::int64_t n, std::int64_t steps, std::int64_t batch, int reps, bool grad_input, snn::cuda::gemm_math math,
                 snn::synapse::weight_layout layout) {
    const std::int64_t rows = steps * batch, neurons = batch * n;
    const std::size_t act = static_cast<std::size_t>(rows * n) * sizeof(float);  // one [T*16, n] float32 tensor
    const std::size_t weight_bytes = static_cast<std::size_t>(n * n) * sizeof(float);
    const std::size_t ckpt = static_cast<std::size_t>(snn::cuda::checkpoint_rows<lif, tuning>(steps) * neurons) * sizeof(float);
    std::size_t free_before = 0, total = 0;
    check(cudaDeviceSynchronize(), "sync");
    check(cudaMemGetInfo(&free_before, &total), "cudaMemGetInfo");

    device_buffer x(act), weight(weight_bytes), current(act), spikes(act), checkpoints(ckpt);  // forward
    device_buffer grad_spikes(act), grad_current(act), grad_weight(weight_bytes);               // backward
    device_buffer grad_x(grad_input ? act : 0);
    const double gb = 1e-9;
    const double fwd_peak = static_cast<double>(x.bytes + weight.bytes + current.bytes + spikes.bytes + checkpoints.bytes) * gb;
    const double peak = fwd_peak + static_cast<double>(grad_spikes.bytes + grad_current.bytes + grad_weight.bytes + grad_x.bytes) * gb;

    const float bound = 1.0f / std::sqrt(static_cast<float>(n));  // nn.Linear's initialisation range
    fill_uniform<<<4096, 256>>>(x.f(), rows * n, 1u, 0.0f, 1.0f);  // torch.rand input
    fill_uniform<<<4096, 256>>>(weight.f(), n * n, 2u, -bound, bound);
    fill_uniform<<<4096, 256>>>(grad_spikes.f(), rows * n, 3u, 1.0f, 1.0f);  // output.sum().backward()
    check(cudaGetLastError(), "fill");

    snn::synapse::dense_forward_args<float> dense_f;
    dense_f.rows = rows;
    dense_f.in_features = n;
    dense_f.out_features = n;
    dense_f.x = x.f();
    dense_f.weight = weight.f();  // random: [n, n] in either layout
    dense_f.layout = layout;
    dense_f.y = current.f();  // [T*16, n] == the LIF's [T, 16 n]
    snn::forward_args<lif> lif_f;
    lif_f.steps = steps;
    lif_f.neurons = neurons;
    lif_f.x = current.f();
    lif_f.spike = spikes.f();
    lif_f.v_checkpoints = checkpoints.f();
    snn::backward_args<lif> lif_b;
    lif_b.steps = steps;
    lif_b.neurons = neurons;
    lif_b.grad_spike = grad_spikes.f();
    lif_b.x = current.f();
    lif_b.v_checkpoints = checkpoints.f();
    lif_b.grad_x = grad_current.f();
    snn::synapse::dense_backward_args<float> dense_b;
    dense_b.rows = rows;
    dense_b.in_features = n;
    dense_b.out_features = n;
    dense_b.grad_y = grad_current.f();
    dense_b.x = x.f();
    dense_b.weight = weight.f();
    dense_b.grad_weight = grad_weight.f();
    dense_b.layout = layout;
    dense_b.grad_x = grad_input ? grad_x.f() : nullptr;
    const snn::neuron_params params;  // tau 2, threshold 1, hard reset to 0, ATan alpha 2

    const float fwd_ms = snn_bench::median_ms(program, reps, [&] {
        check(snn::cuda::dense_forward(handle, dense_f, nullptr, math), "dense_forward");
        check(snn::cuda::forward_training<lif, tuning>(params, lif_f, nullptr), "LIF forward_training");
    });
    const float bwd_ms = snn_bench::median_ms(program, reps, [&] {
        check(snn::cuda::backward<lif, tuning>(params, lif_b, nullptr, 0, nullptr), "LIF backward");
        check(snn::cuda::dense_backward(handle, dense_b, nullptr, math), "dense_backward");
    });
    std::size_t free_after = 0;
    check(cudaMemGetInfo(&free_after, &total), "cudaMemGetInfo");
    const double drop = free_before > free_after ? static_cast<double>(free_before - free_after) * gb : 0.0;
    return {n, math == snn::cuda::gemm_math::tf32 ? "tf32" : "fp32", layout_name(layout), fwd_ms, bwd_ms, fwd_peak, peak, drop};
}

/// The demo's conv layers: forward and backward times at `images_per_chunk` (0: whole batch).
void run_conv_rows(cublasHandle_t handle, std::int64_t batch, const std::vector<std::int64_t>& chunks, int reps, bool tf32) {
    struct layer {
        const char* name;
        std::int64_t in_channels, size;
        bool grad_x;
    };
    const layer layers[] = {{"conv 128->128 14x14", 128, 14, true}, {"conv 1->128 28x28", 1, 28, false}};
    std::printf("%-20s %6s %5s %9s %10s %10s %10s  %s\n", "layer", "chunk", "gemm", "ws_MB", "fwd_ms", "bwd_ms", "fwd_TFLOPs", "backward computes");
    for (const auto& l : layers)
        for (const std::int64_t chunk_request : chunks)
            for (const auto math : {snn::cuda::gemm_math::fp32, snn::cuda::gemm_math::tf32}) {
                if (math == snn::cuda::gemm_math::tf32 && !tf32) continue;
                snn::synapse::conv2d_shape s;
                s.batch = batch;
                s.in_channels = l.in_channels;
                s.in_height = s.in_width = l.size;
                s.out_channels = 128;
                s.kernel_h = s.kernel_w = 3;
                s.pad_h = s.pad_w = 1;
                const std::int64_t x_size = batch * s.in_channels * l.size * l.size, y_size = batch * s.out_channels * s.out_height() * s.out_width();
                const std::size_t ws_bytes = snn::cuda::conv2d_workspace_bytes<float>(s, chunk_request);
                device_buffer x(x_size * sizeof(float)), weight(s.weight_size() * sizeof(float)), y(y_size * sizeof(float)), grad_y(y_size * sizeof(float));
                device_buffer grad_x(l.grad_x ? x_size * sizeof(float) : 0), grad_weight(s.weight_size() * sizeof(float)), workspace(ws_bytes);
                const float bound = 1.0f / std::sqrt(static_cast<float>(s.in_channels * 9));
                fill_uniform<<<4096, 256>>>(x.f(), x_size, 1u, 0.0f, 1.0f);
                fill_uniform<<<4096, 256>>>(weight.f(), s.weight_size(), 2u, -bound, bound);
                fill_uniform<<<4096, 256>>>(grad_y.f(), y_size, 3u, -1.0f, 1.0f);
                check(cudaGetLastError(), "fill");
                snn::synapse::conv2d_forward_args<float> f;
                f.shape = s;
                f.x = x.f();
                f.weight = weight.f();
                f.y = y.f();
                snn::synapse::conv2d_backward_args<float> b;
                b.shape = s;
                b.grad_y = grad_y.f();
                b.x = x.f();
                b.weight = weight.f();
                b.grad_x = l.grad_x ? grad_x.f() : nullptr;
                b.grad_weight = grad_weight.f();
                const float fwd_ms = snn_bench::median_ms(program, reps, [&] {
                    check(snn::cuda::conv2d_forward(handle, f, workspace.ptr, ws_bytes, nullptr, math), "conv2d_forward");
                });
                const float bwd_ms = snn_bench::median_ms(program, reps, [&] {
                    check(snn::cuda::conv2d_backward(handle, b, workspace.ptr, ws_bytes, nullptr, math), "conv2d_backward");
                });
                const double flops = 2.0 * static_cast<double>(y_size) * static_cast<double>(s.in_channels * 9);
                std::printf("%-20s %6lld %5s %9.1f %10.3f %10.3f %10.2f  %s\n", l.name, static_cast<long long>(chunk_request == 0 ? batch : chunk_request),
                            math == snn::cuda::gemm_math::tf32 ? "tf32" : "fp32", static_cast<double>(ws_bytes) * 1e-6, fwd_ms, bwd_ms,
                            flops / (fwd_ms * 1e-3) * 1e-12, l.grad_x ? "grad_x + grad_weight" : "grad_weight");
            }
}

/// Where the time of the 128 -> 128 layer goes (whole batch in one chunk): each piece of the
/// forward and backward alone.
void run_conv_breakdown(cublasHandle_t handle, std::int64_t batch, int reps) {
    snn::synapse::conv2d_shape s;
    s.batch = batch;
    s.in_channels = 128;
    s.in_height = s.in_width = 14;
    s.out_channels = 128;
    s.kernel_h = s.kernel_w = 3;
    s.pad_h = s.pad_w = 1;
    const std::int64_t L = s.out_height() * s.out_width(), P = 128 * 9, F = 128;
    const std::int64_t x_size = batch * 128 * 196, y_size = batch * F * L, col_size = batch * P * L;
    device_buffer x(x_size * sizeof(float)), weight(s.weight_size() * sizeof(float)), y(y_size * sizeof(float)), col(col_size * sizeof(float)),
        outer(y_size * sizeof(float)), grad_weight(s.weight_size() * sizeof(float));
    fill_uniform<<<4096, 256>>>(x.f(), x_size, 1u, 0.0f, 1.0f);
    fill_uniform<<<4096, 256>>>(weight.f(), s.weight_size(), 2u, -0.03f, 0.03f);
    fill_uniform<<<4096, 256>>>(y.f(), y_size, 3u, -1.0f, 1.0f);
    check(cudaGetLastError(), "fill");
    snn::cuda::synapse_detail::check_cublas(cublasSetStream(handle, nullptr), "cublasSetStream");
    const snn::cuda::synapse_detail::conv_launcher<float> launch{s, batch, nullptr};
    std::printf("breakdown of conv 128->128 14x14, %lld images in one chunk (ms):\n", static_cast<long long>(batch));
    std::printf("  im2col [P, n, L]                 %8.3f\n", snn_bench::median_ms(program, reps, [&] { check(launch.im2col(x.f(), col.f()), "im2col"); }));
    std::printf("  permute [n, F, L] -> [F, n, L]   %8.3f\n", snn_bench::median_ms(program, reps, [&] { check(launch.channels_outer(y.f(), outer.f()), "permute"); }));
    std::printf("  col2im gather                    %8.3f\n", snn_bench::median_ms(program, reps, [&] { check(launch.col2im(col.f(), x.f()), "col2im"); }));
    for (const auto math : {snn::cuda::gemm_math::fp32, snn::cuda::gemm_math::tf32}) {
        const char* name = math == snn::cuda::gemm_math::tf32 ? "tf32" : "fp32";
        const std::int64_t k = batch * L;
        const float forward = snn_bench::median_ms(program, reps, [&] {
            snn::cuda::synapse_detail::gemm<float>(handle, CUBLAS_OP_N, CUBLAS_OP_N, k, F, P, col.f(), k, weight.f(), P, 0.0f, outer.f(), k, math, "forward");
        });
        const float grad_x = snn_bench::median_ms(program, reps, [&] {
            snn::cuda::synapse_detail::gemm<float>(handle, CUBLAS_OP_N, CUBLAS_OP_T, k, P, F, outer.f(), k, weight.f(), P, 0.0f, col.f(), k, math, "grad_x");
        });
        const float grad_w = snn_bench::median_ms(program, reps, [&] {
            snn::cuda::synapse_detail::gemm<float>(handle, CUBLAS_OP_T, CUBLAS_OP_N, P, F, k, col.f(), k, outer.f(), k, 0.0f, grad_weight.f(), P, math,
                                                   "grad_w");
        });
        std::printf("  %s GEMMs: forward (m %lld, n 128, k 1152) %8.3f | grad_x (m %lld, n 1152, k 128) %8.3f | grad_weight (m 1152, n 128, k %lld) %8.3f\n",
                    name, static_cast<long long>(k), forward, static_cast<long long>(k), grad_x, static_cast<long long>(k), grad_w);
    }
}

/// Binary-input forward at the layer's shapes: the cuBLAS GEMM on 0/1 float32 input against the
/// spike-input kernel on uint8 and bit-packed spikes, per density.
void run_spike_rows(cublasHandle_t handle, const std::vector<std::int64_t>& sizes, const std::vector<double>& densities, std::int64_t rows, int reps,
                    bool tf32) {
    std::printf("%7s %8s %11s %11s %11s %11s %10s %10s %12s %11s\n", "n", "density", "gemm_fp32", "gemm_tf32", "spike_u8", "spike_bits",
                "u8_vs_fp32", "bits_vs_fp32", "max|d|_fp32", "u8==bits");
    for (const std::int64_t n : sizes) {
        const std::int64_t words = (n + 31) / 32;
        device_buffer bytes(static_cast<std::size_t>(rows * n)), bits(static_cast<std::size_t>(rows * words) * sizeof(std::uint32_t));
        device_buffer x(static_cast<std::size_t>(rows * n) * sizeof(float)), weight_t(static_cast<std::size_t>(n * n) * sizeof(float));
        device_buffer y_gemm(static_cast<std::size_t>(rows * n) * sizeof(float)), y_u8(static_cast<std::size_t>(rows * n) * sizeof(float)),
            y_bits(static_cast<std::size_t>(rows * n) * sizeof(float)), stats(2 * sizeof(unsigned long long));
        const float bound = 1.0f / std::sqrt(static_cast<float>(n));
        fill_uniform<<<4096, 256>>>(weight_t.f(), n * n, 2u, -bound, bound);
        check(cudaGetLastError(), "fill");
        snn::synapse::dense_forward_args<float> gemm;
        gemm.rows = rows;
        gemm.in_features = n;
        gemm.out_features = n;
        gemm.x = x.f();
        gemm.weight = weight_t.f();
        gemm.layout = snn::synapse::weight_layout::in_out;
        gemm.y = y_gemm.f();
        snn::synapse::dense_spike_forward_args<float> spike;
        spike.rows = rows;
        spike.in_features = n;
        spike.out_features = n;
        spike.weight_t = weight_t.f();
        for (const double density : densities) {
            fill_spikes<<<4096, 256>>>(static_cast<std::uint8_t*>(bytes.ptr), x.f(), rows * n, 5u, static_cast<float>(density));
            pack_spikes<<<4096, 256>>>(static_cast<const std::uint8_t*>(bytes.ptr), static_cast<std::uint32_t*>(bits.ptr), rows, n);
            check(cudaGetLastError(), "fill spikes");
            float tf32_ms = 0.0f;
            if (tf32)
                tf32_ms = snn_bench::median_ms(program, reps, [&] { check(snn::cuda::dense_forward(handle, gemm, nullptr, snn::cuda::gemm_math::tf32), "GEMM tf32"); });
            const float fp32_ms = snn_bench::median_ms(program, reps, [&] { check(snn::cuda::dense_forward(handle, gemm, nullptr), "GEMM fp32"); });
            spike.spikes = static_cast<const std::uint8_t*>(bytes.ptr);
            spike.spike_bits = nullptr;
            spike.y = y_u8.f();
            const float u8_ms = snn_bench::median_ms(program, reps, [&] { check(snn::cuda::dense_spike_forward(spike, nullptr), "spike u8"); });
            spike.spikes = nullptr;
            spike.spike_bits = static_cast<const std::uint32_t*>(bits.ptr);
            spike.y = y_bits.f();
            const float bits_ms = snn_bench::median_ms(program, reps, [&] { check(snn::cuda::dense_spike_forward(spike, nullptr), "spike bits"); });
            check(cudaMemset(stats.ptr, 0, stats.bytes), "memset");
            compare_outputs<<<1024, 256>>>(y_gemm.f(), y_u8.f(), y_bits.f(), rows * n, static_cast<unsigned long long*>(stats.ptr));
            unsigned long long host_stats[2] = {0, 0};
            check(cudaMemcpy(host_stats, stats.ptr, sizeof(host_stats), cudaMemcpyDeviceToHost), "copy stats");
            const auto max_bits = static_cast<std::uint32_t>(host_stats[0]);
            float max_diff = 0.0f;
            std::memcpy(&max_diff, &max_bits, sizeof(max_diff));
            char tf32_text[32] = "-";
            if (tf32) std::snprintf(tf32_text, sizeof(tf32_text), "%.3f", tf32_ms);
            std::printf("%7lld %8.3f %11.3f %11s %11.3f %11.3f %9.2fx %9.2fx %12.3g %11s\n", static_cast<long long>(n), density, fp32_ms, tf32_text, u8_ms,
                        bits_ms, fp32_ms / u8_ms, fp32_ms / bits_ms, static_cast<double>(max_diff), host_stats[1] == 0 ? "yes" : "NO");
        }
    }
}

/// Comma-separated integers, > 0 (or >= 0 when `allow_zero`).
std::vector<std::int64_t> parse_sizes(const std::string& list, bool allow_zero = false) {
    std::vector<std::int64_t> sizes;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
        char* end = nullptr;
        const long long v = std::strtoll(item.c_str(), &end, 10);
        if (end == item.c_str() || *end != '\0' || v < (allow_zero ? 0 : 1)) {
            std::fprintf(stderr, "%s: wants %s integers separated by commas, got '%s'\n", program, allow_zero ? "non-negative" : "positive", list.c_str());
            std::exit(2);
        }
        sizes.push_back(v);
    }
    return sizes;
}

/// Comma-separated numbers in (0, 1].
std::vector<double> parse_densities(const std::string& list) {
    std::vector<double> values;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (end == item.c_str() || *end != '\0' || !(v > 0.0 && v <= 1.0)) {
            std::fprintf(stderr, "%s: --densities wants numbers in (0, 1] separated by commas, got '%s'\n", program, list.c_str());
            std::exit(2);
        }
        values.push_back(v);
    }
    return values;
}

long long positive_arg(const char* flag, const char* text) {
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0' || v <= 0) {
        std::fprintf(stderr, "%s: %s wants a positive integer, got '%s'\n", program, flag, text);
        std::exit(2);
    }
    return v;
}

}  // namespace

int run_benchmark(int argc, char** argv) {
    std::string anchor_path, csv_path;
    std::vector<std::int64_t> sizes{4096, 8192, 16384};
    std::int64_t steps = 500, batch = 16;
    int reps = 10;
    bool grad_input = false, tf32 = true, conv = false, breakdown = false, spike_density = false, sizes_given = false;
    std::vector<double> densities{0.01, 0.05, 0.1, 0.2, 0.5};
    std::int64_t conv_batch = 512;
    std::vector<std::int64_t> conv_chunks{0, 128, 32};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s: %s needs a value\n", program, a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--anchor") anchor_path = value();
        else if (a == "--csv") csv_path = value();
        else if (a == "--sizes") sizes = parse_sizes(value()), sizes_given = true;
        else if (a == "--steps") steps = positive_arg("--steps", value());
        else if (a == "--batch") batch = positive_arg("--batch", value());
        else if (a == "--reps") reps = static_cast<int>(positive_arg("--reps", value()));
        else if (a == "--grad-input") grad_input = true;
        else if (a == "--no-tf32") tf32 = false;
        else if (a == "--conv") conv = true;
        else if (a == "--conv-breakdown") conv = breakdown = true;
        else if (a == "--conv-batch") conv_batch = positive_arg("--conv-batch", value());
        else if (a == "--conv-chunks") conv_chunks = parse_sizes(value(), true);
        else if (a == "--spike-density") spike_density = true;
        else if (a == "--densities") densities = parse_densities(value());
        else {
            std::fprintf(stderr,
                         "usage: %s [--anchor FILE] [--sizes 4096,8192,16384] [--steps 500] [--batch 16] [--reps 10] [--grad-input] [--no-tf32] [--csv FILE]\n"
                         "       %s --conv [--conv-breakdown] [--conv-batch 512] [--conv-chunks 0,128,32] [--reps 10] [--no-tf32]\n"
                         "       %s --spike-density [--densities 0.01,0.05,0.1,0.2,0.5] [--sizes 4096,8192] [--steps 500] [--batch 16] [--reps 10] [--no-tf32]\n",
                         program, program, program);
            return 2;
        }
    }
    const auto anchor = anchor_path.empty() ? std::map<std::int64_t, anchor_row>{} : read_anchor(anchor_path);

    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    cublasHandle_t handle = nullptr;
    if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
        std::fprintf(stderr, "%s: cublasCreate failed\n", program);
        return 1;
    }
    if (conv) {
        std::printf("%s: %s, conv2d (im2col + cuBLAS), batch T*N = %lld, 3x3, padding 1, no bias, median of %d; chunk = images per chunk (workspace sized for it)\n",
                    program, prop.name, static_cast<long long>(conv_batch), reps);
        run_conv_rows(handle, conv_batch, conv_chunks, reps, tf32);
        if (breakdown) run_conv_breakdown(handle, conv_batch, reps);
        cublasDestroy(handle);
        return 0;
    }
    if (spike_density) {
        if (!sizes_given) sizes = {4096, 8192};
        std::printf("%s: %s, forward of Linear(n, n, bias=False) on binary input, rows = batch %lld x T %lld, median of %d ms; "
                    "GEMM = cuBLAS on 0/1 float32 (in_out weight), spike = snn::cuda::dense_spike_forward (same weight), *_vs_fp32 = speed-up over the fp32 GEMM\n",
                    program, prop.name, static_cast<long long>(batch), static_cast<long long>(steps), reps);
        run_spike_rows(handle, sizes, densities, batch * steps, reps, tf32);
        cublasDestroy(handle);
        return 0;
    }
    std::printf("%s: %s, Linear(n, n, bias=False) + LIF(tau 2, ATan), batch %lld, T = %lld, LIF in recompute mode, %s, median of %d\n",
                program, prop.name, static_cast<long long>(batch), static_cast<long long>(steps),
                grad_input ? "backward with grad of the input" : "backward without grad of the input (as the anchor)", reps);
    std::printf("weight: in_out = [in, out] (NN GEMM), out_in = torch's [out, in] (TN GEMM)\n");
    std::printf("%7s %5s %7s %10s %10s %9s %9s %10s | %-26s %-26s %-18s\n", "n", "gemm", "weight", "fwd_ms", "bwd_ms", "fwd_GB", "peak_GB", "free_drop",
                "anchor fwd_ms (x faster)", "anchor bwd_ms (x faster)", "anchor peak_GB");
    std::vector<result> results;
    struct row_kind {
        snn::cuda::gemm_math math;
        snn::synapse::weight_layout layout;
    };
    const row_kind row_kinds[] = {{snn::cuda::gemm_math::fp32, snn::synapse::weight_layout::in_out},
                                  {snn::cuda::gemm_math::fp32, snn::synapse::weight_layout::out_in},
                                  {snn::cuda::gemm_math::tf32, snn::synapse::weight_layout::in_out}};
    for (const std::int64_t n : sizes)
        for (const auto& kind : row_kinds) {
            if (kind.math == snn::cuda::gemm_math::tf32 && !tf32) continue;
            const result r = run_layer(handle, n, steps, batch, reps, grad_input, kind.math, kind.layout);
            results.push_back(r);
            std::printf("%7lld %5s %7s %10.3f %10.3f %9.3f %9.3f %10.3f", static_cast<long long>(r.n), r.math.c_str(), r.layout.c_str(), r.fwd_ms, r.bwd_ms,
                        r.fwd_peak_gb, r.peak_gb, r.free_drop_gb);
            const auto it = anchor.find(n);
            if (it != anchor.end()) {
                const auto& a = it->second;
                std::printf(" | %8.3f %-7s (%5.2fx) %8.3f %-7s (%5.2fx) %6.2f %-7s", a.fwd_ms, a.fwd_backend.c_str(), a.fwd_ms / r.fwd_ms, a.bwd_ms,
                            a.bwd_backend.c_str(), a.bwd_ms / r.bwd_ms, a.peak_gb, a.mem_backend.c_str());
            }
            std::printf("\n");
        }
    cublasDestroy(handle);
    if (!csv_path.empty()) {
        std::FILE* csv = std::fopen(csv_path.c_str(), "w");
        if (csv == nullptr) {
            std::fprintf(stderr, "%s: cannot write --csv %s\n", program, csv_path.c_str());
            return 1;
        }
        std::fprintf(csv, "n,gemm,weight,fwd_ms,bwd_ms,fwd_peak_GB,peak_GB,free_drop_GB,anchor_fwd_ms,anchor_bwd_ms,anchor_peak_GB\n");
        for (const auto& r : results) {
            const auto it = anchor.find(r.n);
            std::fprintf(csv, "%lld,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f", static_cast<long long>(r.n), r.math.c_str(), r.layout.c_str(), r.fwd_ms, r.bwd_ms,
                         r.fwd_peak_gb, r.peak_gb, r.free_drop_gb);
            if (it != anchor.end()) std::fprintf(csv, ",%.3f,%.3f,%.2f\n", it->second.fwd_ms, it->second.bwd_ms, it->second.peak_gb);
            else std::fprintf(csv, ",,,\n");
        }
        std::fclose(csv);
    }
    return 0;
}

/// cuBLAS failures and rejected arguments arrive as exceptions: reported, exit 1.
int main(int argc, char** argv) {
    try {
        return run_benchmark(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
    }
}
