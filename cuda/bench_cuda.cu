// snn-bench-cuda: fused multi-step LIF kernels on the GPU against the device-to-device copy
// bandwidth measured in the same run. LIF tau 2, decay_input, hard reset to 0, v_th 1, ATan.
//   snn-bench-cuda [--csv FILE] [--quick]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include <snn/cuda/multistep.cuh>
#include <snn/cuda/staged_table.hpp>

namespace {

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) {
        std::fprintf(stderr, "snn-bench-cuda: %s: %s\n", what, cudaGetErrorString(e));
        std::exit(1);
    }
}

__global__ void fill(float* p, std::int64_t n, float lo, float span, std::uint32_t seed) {
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = lo + span * static_cast<float>(h & 0xFFFFFF) / 16777216.0f;
    }
}

template <class F>
float median_ms(int reps, F&& launch) {
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "event");
    check(cudaEventCreate(&stop), "event");
    launch();  // warm-up
    check(cudaDeviceSynchronize(), "warm-up");
    std::vector<float> times;
    for (int r = 0; r < reps; ++r) {
        check(cudaEventRecord(start), "record");
        launch();
        check(cudaEventRecord(stop), "record");
        check(cudaEventSynchronize(stop), "sync");
        float ms = 0;
        check(cudaEventElapsedTime(&ms, start, stop), "elapsed");
        times.push_back(ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

struct row {
    std::string precision, kernel;
    std::int64_t steps, neurons;
    double ms, bytes, copy_gbs;
};

template <class Precision>
void bench_precision(const char* name, std::int64_t T, std::int64_t N, void* buffers[5], int reps, double copy_gbs, std::vector<row>& rows) {
    using cfg = snn::neuron_config<snn::charge::lif<true>, snn::fire::greater_equal, snn::reset::hard<false>, snn::surrogate::atan,
                                   snn::division::true_division, Precision>;
    using S = typename cfg::storage_type;
    using Sv = typename cfg::saved_type;
    snn::neuron_params p;
    snn::forward_args<cfg> f;
    f.steps = T;
    f.neurons = N;
    f.x = static_cast<const S*>(buffers[0]);
    f.spike = static_cast<S*>(buffers[1]);
    f.h_seq = static_cast<Sv*>(buffers[2]);
    snn::backward_args<cfg> b;
    b.steps = T;
    b.neurons = N;
    b.grad_spike = static_cast<const S*>(buffers[3]);
    b.h_seq = static_cast<const Sv*>(buffers[2]);
    b.grad_x = static_cast<S*>(buffers[4]);
    const double tn = static_cast<double>(T) * static_cast<double>(N);
    const double s = sizeof(S), sv = sizeof(Sv);
    const float inf_ms = median_ms(reps, [&] { check(snn::cuda::forward_inference<cfg>(p, f, nullptr), "forward_inference"); });
    const float fwd_ms = median_ms(reps, [&] { check(snn::cuda::forward_training<cfg>(p, f, nullptr), "forward_training"); });
    const float bwd_ms = median_ms(reps, [&] { check(snn::cuda::backward<cfg>(p, b, nullptr, 0, nullptr), "backward"); });
    rows.push_back({name, "forward-inference", T, N, inf_ms, tn * 2 * s, copy_gbs});
    rows.push_back({name, "forward-training", T, N, fwd_ms, tn * (2 * s + sv), copy_gbs});
    rows.push_back({name, "backward", T, N, bwd_ms, tn * (2 * s + sv), copy_gbs});
    rows.push_back({name, "forward+backward", T, N, fwd_ms + bwd_ms, tn * 2 * (2 * s + sv), copy_gbs});
}

}  // namespace

int main(int argc, char** argv) {
    std::string csv;
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--csv" && i + 1 < argc) csv = argv[++i];
        else if (a == "--quick") quick = true;
        else {
            std::fprintf(stderr, "usage: snn-bench-cuda [--csv FILE] [--quick]\n");
            return 2;
        }
    }
    std::printf("snn-bench-cuda: multi-step LIF (tau 2, decay_input, hard reset 0, v_th 1, ATan)\ndevice: %s\n",
                snn::cuda::device_description().c_str());
    const std::vector<std::int64_t> steps = quick ? std::vector<std::int64_t>{8, 32} : std::vector<std::int64_t>{8, 16, 32, 64, 128};
    const std::vector<std::int64_t> sizes = {std::int64_t{1} << 20, std::int64_t{1} << 24};
    const std::int64_t max_elems = std::int64_t{128} << 24;
    void* buffers[5];
    for (auto& b : buffers) check(cudaMalloc(&b, static_cast<std::size_t>(max_elems) * 4), "cudaMalloc");
    for (int i : {0, 3}) fill<<<4096, 256>>>(static_cast<float*>(buffers[i]), max_elems, 0.0f, 1.5f, 17u + static_cast<unsigned>(i));
    check(cudaDeviceSynchronize(), "fill");
    // float16 inputs: reinterpret the same bytes' first half as binary16 values in [0, 1.5).
    std::vector<row> rows;
    for (std::int64_t N : sizes) {
        for (std::int64_t T : steps) {
            const int reps = (T * N > (std::int64_t{1} << 28)) ? 10 : 30;
            const std::size_t copy_bytes = static_cast<std::size_t>(T * N) * 4;
            const float copy_ms = median_ms(reps, [&] { check(cudaMemcpyAsync(buffers[1], buffers[0], copy_bytes, cudaMemcpyDeviceToDevice), "copy"); });
            const double copy_gbs = 2.0 * static_cast<double>(copy_bytes) / (copy_ms * 1e6);
            bench_precision<snn::precision::f32>("float32", T, N, buffers, reps, copy_gbs, rows);
            bench_precision<snn::precision::f32_fast>("float32-fast", T, N, buffers, reps, copy_gbs, rows);
            bench_precision<snn::precision::f16_storage>("float16-storage", T, N, buffers, reps, copy_gbs, rows);
        }
    }
    std::printf("\n%-16s %-18s %5s %9s %10s %9s %9s %8s\n", "precision", "kernel", "T", "N", "median ms", "GB/s", "copy GB/s", "%copy");
    std::ofstream out;
    if (!csv.empty()) {
        out.open(csv);
        out << "precision,kernel,T,N,median_ms,bytes,GBps,copy_GBps,fraction_of_copy\n";
    }
    for (const row& r : rows) {
        const double gbs = r.bytes / (r.ms * 1e6);
        std::printf("%-16s %-18s %5lld %9lld %10.4f %9.1f %9.1f %7.1f%%\n", r.precision.c_str(), r.kernel.c_str(), static_cast<long long>(r.steps),
                    static_cast<long long>(r.neurons), r.ms, gbs, r.copy_gbs, 100.0 * gbs / r.copy_gbs);
        if (out) out << r.precision << "," << r.kernel << "," << r.steps << "," << r.neurons << "," << r.ms << "," << r.bytes << "," << gbs << ","
                     << r.copy_gbs << "," << gbs / r.copy_gbs << "\n";
    }
    for (auto& b : buffers) cudaFree(b);
    return 0;
}
