// snn-bench-cuda: fused multi-step LIF kernels on the GPU against the device-to-device copy
// bandwidth measured in the same run. LIF tau 2, decay_input, hard reset to 0, v_th 1, ATan,
// `x / tau` as torch computes it on CUDA (multiplication by the float32 reciprocal; one
// float32 row also with the correctly rounded division torch uses on the CPU).
//   snn-bench-cuda [--csv FILE] [--quick] [--anchor SJ_ANCHOR_CSV] [--tuning]
// --anchor adds SpikingJelly's best backend for the same T, N, dtype and mode (from
// ../shared/reference/anchor-bench-sj-lif-h200.csv) and snn's speed-up over it.
// --tuning first times float32 LIF under several launch configurations (threads, vector width,
// prefetch depth) and prints them; the library's defaults live in include/snn/cuda/tuning.cuh.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <cuda_runtime.h>

#include "bench_timing.cuh"

#include <snn/cuda/multistep.cuh>
#include <snn/cuda/staged_table.hpp>

namespace {

void check(cudaError_t e, const char* what) { snn_bench::check_cuda("snn-bench-cuda", e, what); }

/// Random values in [lo, lo + span) as float32 (never zeros: METHOD.md).
__global__ void fill(float* p, std::int64_t n, float lo, float span, std::uint32_t seed) {
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = lo + span * static_cast<float>(h & 0xFFFFFF) / 16777216.0f;
    }
}

/// The same values as 16-bit storage (binary16 or bfloat16).
template <class T>
__global__ void narrow(const float* in, T* out, std::int64_t n) {
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
        out[i] = T(in[i]);
}

template <class F>
float median_ms(int reps, F&& launch) {
    return snn_bench::median_ms("snn-bench-cuda", reps, launch);
}

struct row {
    std::string precision, spikes, kernel;
    std::int64_t steps, neurons;
    double ms, bytes, copy_gbs;
};

/// Device buffers, each big enough for the largest T*N at 4 bytes an element; inputs filled
/// with random data once (float32 and the same values as float16 / bfloat16).
struct buffers {
    std::int64_t capacity = 0;
    void* x32 = nullptr;
    void* g32 = nullptr;
    void* x16 = nullptr;
    void* g16 = nullptr;
    void* xb16 = nullptr;
    void* gb16 = nullptr;
    void* spike = nullptr;
    void* spike_u8 = nullptr;
    void* spike_bits = nullptr;
    void* h = nullptr;
    void* grad_x = nullptr;
    void* copy_dst = nullptr;

    explicit buffers(std::int64_t elements) : capacity(elements) {
        const std::size_t n = static_cast<std::size_t>(elements);
        for (auto* p : {&x32, &g32, &spike, &h, &grad_x, &copy_dst}) check(cudaMalloc(p, n * 4), "cudaMalloc");
        for (auto* p : {&x16, &g16, &xb16, &gb16}) check(cudaMalloc(p, n * 2), "cudaMalloc");
        check(cudaMalloc(&spike_u8, n), "cudaMalloc");
        check(cudaMalloc(&spike_bits, n / 8 + 64), "cudaMalloc");
        fill<<<4096, 256>>>(static_cast<float*>(x32), elements, 0.0f, 1.5f, 17u);
        fill<<<4096, 256>>>(static_cast<float*>(g32), elements, -1.0f, 2.0f, 29u);
        narrow<<<4096, 256>>>(static_cast<const float*>(x32), static_cast<snn::binary16*>(x16), elements);
        narrow<<<4096, 256>>>(static_cast<const float*>(g32), static_cast<snn::binary16*>(g16), elements);
        narrow<<<4096, 256>>>(static_cast<const float*>(x32), static_cast<snn::bfloat16*>(xb16), elements);
        narrow<<<4096, 256>>>(static_cast<const float*>(g32), static_cast<snn::bfloat16*>(gb16), elements);
        check(cudaDeviceSynchronize(), "fill");
    }
    ~buffers() {
        for (void* p : {x32, g32, x16, g16, xb16, gb16, spike, spike_u8, spike_bits, h, grad_x, copy_dst}) cudaFree(p);
    }
    buffers(const buffers&) = delete;
    buffers& operator=(const buffers&) = delete;
};

enum class spike_format { storage, u8, bits };

const char* format_name(spike_format f) {
    switch (f) {
        case spike_format::storage: return "dtype";
        case spike_format::u8: return "uint8";
        case spike_format::bits: return "bits";
    }
    return "?";
}

template <class Precision, class Division = snn::division::reciprocal>
using lif = snn::neuron_config<snn::charge::lif<true>, snn::fire::greater_equal, snn::reset::hard<false>, snn::surrogate::atan, Division, Precision>;

template <class Precision, class Tuning = snn::cuda::multistep_tuning<Precision>, class Division = snn::division::reciprocal>
void bench_precision(const char* name, spike_format format, std::int64_t T, std::int64_t N, buffers& buf, int reps, double copy_gbs,
                     std::vector<row>& rows, bool with_backward = true) {
    using cfg = lif<Precision, Division>;
    using S = typename cfg::storage_type;
    using Sv = typename cfg::saved_type;
    const bool half = sizeof(S) == 2;
    const bool brain = std::is_same_v<S, snn::bfloat16>;
    snn::neuron_params p;
    snn::forward_args<cfg> f;
    f.steps = T;
    f.neurons = N;
    f.x = static_cast<const S*>(half ? (brain ? buf.xb16 : buf.x16) : buf.x32);
    if (format == spike_format::storage) f.spike = static_cast<S*>(buf.spike);
    if (format == spike_format::u8) f.spike_u8 = static_cast<std::uint8_t*>(buf.spike_u8);
    if (format == spike_format::bits) f.spike_bits = static_cast<std::uint32_t*>(buf.spike_bits);
    f.h_seq = static_cast<Sv*>(buf.h);
    snn::backward_args<cfg> b;
    b.steps = T;
    b.neurons = N;
    b.grad_spike = static_cast<const S*>(half ? (brain ? buf.gb16 : buf.g16) : buf.g32);
    b.h_seq = static_cast<const Sv*>(buf.h);
    b.grad_x = static_cast<S*>(buf.grad_x);
    const double tn = static_cast<double>(T) * static_cast<double>(N);
    const double s = sizeof(S), sv = sizeof(Sv);
    const double spike_bytes = format == spike_format::storage ? s : format == spike_format::u8 ? 1.0 : 1.0 / 8.0;
    const std::string spikes = format_name(format);
    const float inf_ms = median_ms(reps, [&] { check(snn::cuda::forward_inference<cfg, Tuning>(p, f, nullptr), "forward_inference"); });
    const float fwd_ms = median_ms(reps, [&] { check(snn::cuda::forward_training<cfg, Tuning>(p, f, nullptr), "forward_training"); });
    rows.push_back({name, spikes, "forward-inference", T, N, inf_ms, tn * (s + spike_bytes), copy_gbs});
    rows.push_back({name, spikes, "forward-training", T, N, fwd_ms, tn * (s + spike_bytes + sv), copy_gbs});
    if (!with_backward) return;
    const float bwd_ms = median_ms(reps, [&] { check(snn::cuda::backward<cfg, Tuning>(p, b, nullptr, 0, nullptr), "backward"); });
    rows.push_back({name, spikes, "backward", T, N, bwd_ms, tn * (2 * s + sv), copy_gbs});
    rows.push_back({name, spikes, "forward+backward", T, N, fwd_ms + bwd_ms, tn * (s + spike_bytes + sv + 2 * s + sv), copy_gbs});
}

/// Recompute mode: forward_training saves membrane checkpoints only, backward re-runs each
/// segment from x (bytes: no h_seq written or read; x read twice).
template <class Precision, class Tuning = snn::cuda::multistep_tuning<Precision>>
void bench_recompute(const char* name, spike_format format, std::int64_t T, std::int64_t N, buffers& buf, int reps, double copy_gbs,
                     std::vector<row>& rows) {
    using cfg = lif<Precision>;
    using S = typename cfg::storage_type;
    using St = typename cfg::state_type;
    const bool half = sizeof(S) == 2;
    snn::neuron_params p;
    snn::forward_args<cfg> f;
    f.steps = T;
    f.neurons = N;
    f.x = static_cast<const S*>(half ? buf.x16 : buf.x32);
    if (format == spike_format::storage) f.spike = static_cast<S*>(buf.spike);
    if (format == spike_format::bits) f.spike_bits = static_cast<std::uint32_t*>(buf.spike_bits);
    f.v_checkpoints = static_cast<St*>(buf.h);
    snn::backward_args<cfg> b;
    b.steps = T;
    b.neurons = N;
    b.x = f.x;
    b.grad_spike = static_cast<const S*>(half ? buf.g16 : buf.g32);
    b.v_checkpoints = static_cast<const St*>(buf.h);
    b.grad_x = static_cast<S*>(buf.grad_x);
    const double tn = static_cast<double>(T) * static_cast<double>(N);
    const double ckpt = static_cast<double>(snn::cuda::checkpoint_rows<cfg, Tuning>(T)) * static_cast<double>(N) * sizeof(St);
    const double s = sizeof(S);
    const double spike_bytes = format == spike_format::storage ? s : 1.0 / 8.0;
    const std::string spikes = std::string(format_name(format));
    const float fwd_ms = median_ms(reps, [&] { check(snn::cuda::forward_training<cfg, Tuning>(p, f, nullptr), "forward_training (checkpoints)"); });
    const float bwd_ms = median_ms(reps, [&] { check(snn::cuda::backward<cfg, Tuning>(p, b, nullptr, 0, nullptr), "backward (recompute)"); });
    rows.push_back({name, spikes, "fwd-train-recomp", T, N, fwd_ms, tn * (s + spike_bytes) + ckpt, copy_gbs});
    rows.push_back({name, spikes, "backward-recomp", T, N, bwd_ms, tn * 3 * s + ckpt, copy_gbs});
    rows.push_back({name, spikes, "fwd+bwd-recomp", T, N, fwd_ms + bwd_ms, tn * (4 * s + spike_bytes) + 2 * ckpt, copy_gbs});
}

double copy_bandwidth(buffers& buf, std::int64_t elements, int reps) {
    const std::size_t bytes = static_cast<std::size_t>(elements) * 4;
    const float ms = median_ms(reps, [&] { check(cudaMemcpyAsync(buf.copy_dst, buf.x32, bytes, cudaMemcpyDeviceToDevice), "copy"); });
    return 2.0 * static_cast<double>(bytes) / (ms * 1e6);
}

/// SpikingJelly's best time per (N, dtype, mode, T) from the anchor CSV.
std::map<std::tuple<std::int64_t, std::string, std::string, std::int64_t>, std::pair<double, std::string>> read_anchor(const std::string& path) {
    std::map<std::tuple<std::int64_t, std::string, std::string, std::int64_t>, std::pair<double, std::string>> best;
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "snn-bench-cuda: cannot read --anchor %s\n", path.c_str());
        std::exit(2);
    }
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("N,", 0) == 0) continue;
        std::stringstream ss(line);
        std::string f[8];
        for (auto& field : f) std::getline(ss, field, ',');
        // Rows without a time (a backend that failed at that size) are skipped.
        char* end = nullptr;
        const double ms = std::strtod(f[5].c_str(), &end);
        if (f[5].empty() || end == f[5].c_str() || !(ms > 0)) continue;
        const auto key = std::make_tuple(std::atoll(f[0].c_str()), f[1], f[2], std::atoll(f[3].c_str()));
        auto it = best.find(key);
        if (it == best.end() || ms < it->second.first) best[key] = {ms, f[4]};
    }
    return best;
}

void print_rows(const std::vector<row>& rows, const std::string& csv, const std::string& anchor) {
    const auto best = anchor.empty() ? decltype(read_anchor("")){} : read_anchor(anchor);
    std::printf("\n%-17s %-6s %-18s %4s %9s %10s %8s %8s %7s  %s\n", "precision", "spikes", "kernel", "T", "N", "median ms", "GB/s", "copy", "%copy",
                anchor.empty() ? "" : "SpikingJelly best (ms, backend, snn speed-up)");
    std::ofstream out;
    if (!csv.empty()) {
        out.open(csv);
        out << "precision,spikes,kernel,T,N,median_ms,bytes,GBps,copy_GBps,fraction_of_copy,sj_best_ms,sj_best_backend,speedup_vs_sj\n";
    }
    for (const row& r : rows) {
        const double gbs = r.bytes / (r.ms * 1e6);
        // The anchor's float16 rows are SpikingJelly's fast kernels (float32 arithmetic on half
        // storage): compared with float16-storage; per-op binary16 emulation is a numerics mode.
        std::string dtype = r.precision.rfind("float32", 0) == 0 ? "float32" : r.precision == "float16-storage" ? "float16" : "";
        std::string mode = r.kernel == "forward-inference" ? "fwd" : (r.kernel == "forward+backward" || r.kernel == "fwd+bwd-recomp") ? "fwdbwd" : "";
        std::string sj;
        double sj_ms = 0;
        std::string sj_backend;
        const auto it = best.find(std::make_tuple(r.neurons, dtype, mode, r.steps));
        if (it != best.end()) {
            sj_ms = it->second.first;
            sj_backend = it->second.second;
            char text[96];
            std::snprintf(text, sizeof text, "%.4f %s %.1fx", sj_ms, sj_backend.c_str(), sj_ms / r.ms);
            sj = text;
        }
        std::printf("%-17s %-6s %-18s %4lld %9lld %10.4f %8.1f %8.1f %6.1f%%  %s\n", r.precision.c_str(), r.spikes.c_str(), r.kernel.c_str(),
                    static_cast<long long>(r.steps), static_cast<long long>(r.neurons), r.ms, gbs, r.copy_gbs, 100.0 * gbs / r.copy_gbs, sj.c_str());
        if (out) {
            out << r.precision << "," << r.spikes << "," << r.kernel << "," << r.steps << "," << r.neurons << "," << r.ms << "," << r.bytes << ","
                << gbs << "," << r.copy_gbs << "," << gbs / r.copy_gbs << ",";
            if (sj_ms > 0) out << sj_ms << "," << sj_backend << "," << sj_ms / r.ms;
            else out << ",,";
            out << "\n";
        }
    }
}

template <int Threads, int Vec, int Fwd, int Bwd, class Precision = snn::precision::f32>
void tuning_row(std::int64_t T, std::int64_t N, buffers& buf, int reps, double copy_gbs, std::vector<row>& rows) {
    using tuning = snn::cuda::explicit_tuning<Threads, Vec, Fwd, Bwd>;
    char name[64];
    std::snprintf(name, sizeof name, "%s t%d v%d p%d/%d", sizeof(typename Precision::storage_type) == 2 ? "f16" : "f32", Threads, Vec, Fwd, Bwd);
    bench_precision<Precision, tuning>(name, spike_format::storage, T, N, buf, reps, copy_gbs, rows);
}

void tuning_sweep(buffers& buf) {
    std::vector<row> rows;
    for (std::int64_t N : {std::int64_t{1} << 20, std::int64_t{1} << 24}) {
        const std::int64_t T = 32;
        const double copy_gbs = copy_bandwidth(buf, T * N, 20);
        tuning_row<256, 4, 1, 1>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 8, 1, 1>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 16, 1, 1>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 16, 2, 2>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 16, 4, 4>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 16, 8, 4>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<128, 16, 4, 4>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<512, 16, 4, 4>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 32, 2, 2>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 16, 4, 2, snn::precision::f16_storage>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 8, 4, 2, snn::precision::f16_storage>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 8, 8, 4, snn::precision::f16_storage>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<256, 4, 8, 4, snn::precision::f16_storage>(T, N, buf, 20, copy_gbs, rows);
        tuning_row<128, 8, 4, 2, snn::precision::f16_storage>(T, N, buf, 20, copy_gbs, rows);
        bench_recompute<snn::precision::f32, snn::cuda::explicit_tuning<256, 16, 4, 2, 8, 1>>("f32 recompute w1 k8", spike_format::storage, T, N, buf,
                                                                                               20, copy_gbs, rows);
        bench_recompute<snn::precision::f32, snn::cuda::explicit_tuning<256, 16, 4, 2, 8, 2>>("f32 recompute w2 k8", spike_format::storage, T, N, buf,
                                                                                               20, copy_gbs, rows);
        bench_recompute<snn::precision::f32, snn::cuda::explicit_tuning<256, 16, 4, 2, 16, 1>>("f32 recompute w1 k16", spike_format::storage, T, N, buf,
                                                                                                20, copy_gbs, rows);
        bench_recompute<snn::precision::f32, snn::cuda::explicit_tuning<256, 16, 4, 2, 4, 2>>("f32 recompute w2 k4", spike_format::storage, T, N, buf,
                                                                                               20, copy_gbs, rows);
    }
    std::printf("\nlaunch configurations (float32 LIF, T = 32): t threads, v vector bytes, p forward/backward prefetch steps");
    print_rows(rows, "", "");
}

}  // namespace

int main(int argc, char** argv) {
    std::string csv, anchor;
    bool quick = false, tuning = false, only_tuning = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--csv" && i + 1 < argc) csv = argv[++i];
        else if (a == "--anchor" && i + 1 < argc) anchor = argv[++i];
        else if (a == "--quick") quick = true;
        else if (a == "--tuning") tuning = true;
        else if (a == "--tuning-only") tuning = only_tuning = true;
        else {
            std::fprintf(stderr, "usage: snn-bench-cuda [--csv FILE] [--quick] [--anchor SJ_ANCHOR_CSV] [--tuning | --tuning-only]\n");
            return 2;
        }
    }
    std::printf("snn-bench-cuda: multi-step LIF (tau 2, decay_input, hard reset 0, v_th 1, ATan)\ndevice: %s\n",
                snn::cuda::device_description().c_str());
    std::printf("bytes counted: each [T, N] buffer read or written once (x, spikes, h_seq saved for backward, grad_spike, grad_x); "
                "copy = cudaMemcpyAsync device-to-device of T*N*4 bytes, read + write\n");
    const std::vector<std::int64_t> steps = quick ? std::vector<std::int64_t>{8, 32} : std::vector<std::int64_t>{8, 16, 32, 64, 128};
    const std::vector<std::int64_t> sizes = {std::int64_t{1} << 20, std::int64_t{1} << 24};
    buffers buf(std::int64_t{128} << 24);
    if (tuning) tuning_sweep(buf);
    if (only_tuning) return 0;
    std::vector<row> rows;
    for (std::int64_t N : sizes) {
        for (std::int64_t T : steps) {
            const int reps = (T * N > (std::int64_t{1} << 28)) ? 10 : 30;
            const double copy_gbs = copy_bandwidth(buf, T * N, reps);
            bench_precision<snn::precision::f32>("float32", spike_format::storage, T, N, buf, reps, copy_gbs, rows);
            bench_precision<snn::precision::f32, snn::cuda::multistep_tuning<snn::precision::f32>, snn::division::true_division>(
                "float32-truediv", spike_format::storage, T, N, buf, reps, copy_gbs, rows);
            bench_precision<snn::precision::f32>("float32", spike_format::u8, T, N, buf, reps, copy_gbs, rows, false);
            bench_precision<snn::precision::f32>("float32", spike_format::bits, T, N, buf, reps, copy_gbs, rows);
            bench_recompute<snn::precision::f32>("float32", spike_format::storage, T, N, buf, reps, copy_gbs, rows);
            bench_recompute<snn::precision::f32>("float32", spike_format::bits, T, N, buf, reps, copy_gbs, rows);
            bench_recompute<snn::precision::f16_storage>("float16-storage", spike_format::bits, T, N, buf, reps, copy_gbs, rows);
            bench_precision<snn::precision::f32_fast>("float32-fast", spike_format::storage, T, N, buf, reps, copy_gbs, rows);
            bench_precision<snn::precision::f16_storage>("float16-storage", spike_format::storage, T, N, buf, reps, copy_gbs, rows);
            bench_precision<snn::precision::f16_storage>("float16-storage", spike_format::bits, T, N, buf, reps, copy_gbs, rows);
            bench_precision<snn::precision::bf16_storage>("bfloat16-storage", spike_format::storage, T, N, buf, reps, copy_gbs, rows);
            bench_precision<snn::precision::b16_torch_cuda>("float16-emulated", spike_format::storage, T, N, buf, reps, copy_gbs, rows);
        }
    }
    print_rows(rows, csv, anchor);
    return 0;
}
