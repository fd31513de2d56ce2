// snn-bench-lava-cuda: the integer Loihi CUBA neuron (slayer rule, int64 state) against snn's
// float32 LIF kernel on the same GPU in the same run, at lava-dl's anchor sizes (N = 2^20,
// T = 8 / 32 / 128; reference/anchor-bench-lavadl-cuba-h200.csv: lava-dl's CUDA CUBA takes
// 0.38 / 2.86 / 14.9 ms forward and 1.25 / 5.25 / 23.9 ms forward+backward on an H200).
//   snn-bench-lava-cuda [--csv FILE]
// Forward: x float32 in, spike + pre-reset voltage float32 out (the voltage is what the
// backward needs). Backward: voltage + grad_spike in, grad_x out. float32 LIF: forward_training
// (x in; spike, h_seq out) and backward (grad_spike, h_seq in; grad_x out).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "bench_timing.cuh"

#include <snn/cuda/lava_cuba.cuh>
#include <snn/cuda/multistep.cuh>

namespace {

void check(cudaError_t e, const char* what) { snn_bench::check_cuda("snn-bench-lava-cuda", e, what); }

__global__ void fill_grid(float* p, std::int64_t n, std::uint32_t seed) {
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = static_cast<float>(static_cast<int>(h % 49) - 8) / 32.0f;  // slayer grid of 1/32
    }
}

template <class F>
float median_ms(int reps, F&& launch) {
    return snn_bench::median_ms("snn-bench-lava-cuda", reps, launch);
}

}  // namespace

int main(int argc, char** argv) {
    std::string csv;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--csv" && i + 1 < argc) csv = argv[++i];
        else {
            std::fprintf(stderr, "usage: snn-bench-lava-cuda [--csv FILE]\n");
            return 2;
        }
    }
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "device");
    std::printf("snn-bench-lava-cuda: integer CUBA (slayer rule) vs float32 LIF, device %s\n", prop.name);
    const std::int64_t N = std::int64_t{1} << 20;
    const std::int64_t max_tn = 128 * N;
    float* buf[6];
    for (auto& b : buf) check(cudaMalloc(&b, static_cast<std::size_t>(max_tn) * sizeof(float)), "cudaMalloc");
    fill_grid<<<4096, 256>>>(buf[0], max_tn, 7u);
    fill_grid<<<4096, 256>>>(buf[3], max_tn, 11u);
    check(cudaDeviceSynchronize(), "fill");
    const auto k = snn::lava::slayer_constants(1.25, 0.25, 0.03);
    using lif_cfg = snn::neuron_config<snn::charge::lif<true>, snn::fire::greater_equal, snn::reset::hard<false>, snn::surrogate::atan,
                                       snn::division::true_division, snn::precision::f32>;
    snn::neuron_params lif;
    const double anchor_fwd[] = {0.38, 2.86, 14.9}, anchor_fb[] = {1.25, 5.25, 23.9};
    std::ofstream out;
    if (!csv.empty()) {
        out.open(csv);
        out << "T,N,kernel,median_ms,lava_dl_anchor_ms\n";
    }
    std::printf("%5s %-36s %10s %12s %10s\n", "T", "kernel", "median ms", "vs f32 LIF", "lava-dl ms");
    int i = 0;
    for (const std::int64_t T : {8, 32, 128}) {
        snn::lava::cuba_forward_args f;
        f.steps = T;
        f.neurons = N;
        f.x = buf[0];
        f.spike = buf[1];
        f.voltage = buf[2];
        snn::lava::cuba_backward_args b;
        b.steps = T;
        b.neurons = N;
        b.voltage = buf[2];
        b.grad_spike = buf[3];
        b.grad_x = buf[4];
        snn::forward_args<lif_cfg> lf;
        lf.steps = T;
        lf.neurons = N;
        lf.x = buf[0];
        lf.spike = buf[1];
        lf.h_seq = buf[5];
        snn::backward_args<lif_cfg> lb;
        lb.steps = T;
        lb.neurons = N;
        lb.grad_spike = buf[3];
        lb.h_seq = buf[5];
        lb.grad_x = buf[4];
        const int reps = 30;
        const float int_fwd = median_ms(reps, [&] { check(snn::cuda::lava_cuba_forward<snn::lava::slayer_rule>(k, f, nullptr), "CUBA forward"); });
        const float int_bwd = median_ms(reps, [&] { check(snn::cuda::lava_cuba_backward(k, b, nullptr), "CUBA backward"); });
        const float lif_fwd = median_ms(reps, [&] { check(snn::cuda::forward_training<lif_cfg>(lif, lf, nullptr), "LIF forward"); });
        const float lif_bwd = median_ms(reps, [&] { check(snn::cuda::backward<lif_cfg>(lif, lb, nullptr, 0, nullptr), "LIF backward"); });
        const auto row = [&](const char* name, double ms, double ref, double anchor) {
            std::printf("%5lld %-36s %10.4f %11.2fx %10.2f\n", static_cast<long long>(T), name, ms, ms / ref, anchor);
            if (out) out << T << "," << N << "," << name << "," << ms << "," << anchor << "\n";
        };
        row("float32 LIF forward (training)", lif_fwd, lif_fwd, 0);
        row("integer CUBA forward", int_fwd, lif_fwd, anchor_fwd[i]);
        row("float32 LIF forward+backward", lif_fwd + lif_bwd, lif_fwd + lif_bwd, 0);
        row("integer CUBA forward+backward", int_fwd + int_bwd, lif_fwd + lif_bwd, anchor_fb[i]);
        ++i;
    }
    for (auto& p : buf) cudaFree(p);
    return 0;
}
