// GPU half of snn-bench-lynxi, see bench_lynxi_gpu.hpp.
#include "bench_lynxi_gpu.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "snn/emu/lynxi/multistep.cuh"

namespace snn_bench_lynxi {

namespace {

namespace ly = snn::emu::lynxi;

/// BIDL Lif spike mode with native binary16 intrinsics: the `_rn` forms are never contracted,
/// so this is the same sequence of correctly rounded binary16 operations as the emulation.
__global__ void lif_native_half(const __half* __restrict__ x, __half* __restrict__ spike, __half* __restrict__ v_seq,
                                std::int64_t steps, std::int64_t neurons, __half alpha, __half beta, __half theta, __half v0) {
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n >= neurons) return;
    const __half zero = __float2half_rn(0.0f), one = __float2half_rn(1.0f);
    __half v = zero;
    for (std::int64_t t = 0, idx = n; t < steps; ++t, idx += neurons) {
        const __half o1 = __hadd_rn(x[idx], v);
        const __half fire = __hgt(__hsub_rn(o1, theta), zero) ? one : zero;
        const __half o3 = __hadd_rn(__hmul_rn(fire, v0), __hmul_rn(__hsub_rn(one, fire), o1));
        v = __hadd_rn(__hmul_rn(alpha, o3), beta);
        spike[idx] = fire;
        v_seq[idx] = v;
    }
}

template <class Launch>
double median_ms(Launch&& launch, int repeats) {
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    launch();  // warm-up
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
        cudaEventRecord(start);
        launch();
        cudaEventRecord(stop);
        cudaEventSynchronize(stop);
        float ms = 0.0f;
        cudaEventElapsedTime(&ms, start, stop);
        times.push_back(ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

std::vector<gpu_row> gpu_rows(std::int64_t steps, std::int64_t neurons, int repeats, std::string& why) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        why = "no CUDA device";
        return {};
    }
    const std::int64_t tn = steps * neurons;
    std::vector<snn::binary16> host_x(static_cast<std::size_t>(tn));
    std::uint32_t state = 12345u;
    for (auto& h : host_x) {
        state = state * 1664525u + 1013904223u;
        h = snn::binary16(static_cast<float>(state >> 8) / 16777216.0f * 1.6f - 0.4f);
    }
    std::vector<float> host_x32(host_x.size());
    for (std::size_t i = 0; i < host_x.size(); ++i) host_x32[i] = host_x[i].to_float();

    void *x16, *s16, *v16, *s16n, *v16n, *x32, *s32, *v32;
    const std::size_t b16 = static_cast<std::size_t>(tn) * 2, b32 = static_cast<std::size_t>(tn) * 4;
    for (auto* p : {&x16, &s16, &v16, &s16n, &v16n}) cudaMalloc(p, b16);
    for (auto* p : {&x32, &s32, &v32}) cudaMalloc(p, b32);
    cudaMemcpy(x16, host_x.data(), b16, cudaMemcpyHostToDevice);
    cudaMemcpy(x32, host_x32.data(), b32, cudaMemcpyHostToDevice);

    ly::bidl_lif_params p;  // BIDL defaults, torch CUDA rules
    p.device = ly::torch_device::cuda;
    ly::bidl_lif_args<snn::binary16> a16;
    a16.steps = steps;
    a16.neurons = neurons;
    a16.x = static_cast<const snn::binary16*>(x16);
    a16.spike = static_cast<snn::binary16*>(s16);
    a16.v = static_cast<snn::binary16*>(v16);
    ly::bidl_lif_args<float> a32;
    a32.steps = steps;
    a32.neurons = neurons;
    a32.x = static_cast<const float*>(x32);
    a32.spike = static_cast<float*>(s32);
    a32.v = static_cast<float*>(v32);

    std::vector<gpu_row> rows;
    rows.push_back({"binary16 emulated (float32 _rn + cvt.rn.f16)", median_ms([&] { ly::cuda::bidl_lif_forward(p, a16, nullptr); }, repeats), ""});
    const unsigned blocks = static_cast<unsigned>((neurons + 255) / 256);
    const __half alpha = __float2half_rn(p.alpha.shared.to_float()), beta = __float2half_rn(p.beta.shared.to_float());
    const __half theta = __float2half_rn(p.theta.shared.to_float()), v0 = __float2half_rn(p.v0.shared.to_float());
    rows.push_back({"native __half intrinsics (_rn)",
                    median_ms([&] {
                        lif_native_half<<<blocks, 256>>>(static_cast<const __half*>(x16), static_cast<__half*>(s16n),
                                                         static_cast<__half*>(v16n), steps, neurons, alpha, beta, theta, v0);
                    }, repeats),
                    ""});
    rows.push_back({"float32 native", median_ms([&] { ly::cuda::bidl_lif_forward_float32(p, a32, nullptr); }, repeats), ""});
    const cudaError_t error = cudaDeviceSynchronize();
    if (error != cudaSuccess) why = cudaGetErrorString(error);

    // The native-intrinsics kernel must give the emulation's bits.
    std::vector<std::uint16_t> e(static_cast<std::size_t>(tn)), n(static_cast<std::size_t>(tn));
    cudaMemcpy(e.data(), v16, b16, cudaMemcpyDeviceToHost);
    cudaMemcpy(n.data(), v16n, b16, cudaMemcpyDeviceToHost);
    std::int64_t differ = 0;
    for (std::size_t i = 0; i < e.size(); ++i)
        if (e[i] != n[i] && !((e[i] & 0x7FFF) > 0x7C00 && (n[i] & 0x7FFF) > 0x7C00)) ++differ;
    rows[1].note = "v bits differing from the emulation: " + std::to_string(differ);
    for (void* ptr : {x16, s16, v16, s16n, v16n, x32, s32, v32}) cudaFree(ptr);
    return rows;
}

}  // namespace snn_bench_lynxi
