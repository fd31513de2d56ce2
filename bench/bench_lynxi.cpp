// snn-bench-lynxi: what the bit-exact binary16 emulation costs, for BIDL Lif (spike mode) over
// [T, N]: binary16 emulated vs float32 on the CPU (scalar and the best SIMD instruction set, all
// threads) and, in a CUDA build with a GPU, emulated vs native __half vs float32 on the GPU.
//
//   snn-bench-lynxi [--steps T] [--neurons N] [--repeat R]
//
// Prints one line per variant: median time and neuron-steps per second. The CPU has no native
// binary16 arithmetic here (x86 without AVX512-FP16), so "native float16" is a GPU row only.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "snn/emu/lynxi/dispatch.hpp"
#if SNN_BENCH_HAS_CUDA
#include "bench_lynxi_gpu.hpp"
#endif

namespace {

namespace ly = snn::emu::lynxi;

template <class F>
double median_ms(F&& f, int repeats) {
    f();  // warm-up (pages touched, threads started once)
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        f();
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

void print(const char* device, const std::string& variant, double ms, std::int64_t steps, std::int64_t neurons, const std::string& note = "") {
    const double rate = static_cast<double>(steps) * static_cast<double>(neurons) / (ms * 1e-3) / 1e9;
    std::printf("%-4s %-48s %10.3f ms %9.3f G neuron-steps/s %s\n", device, variant.c_str(), ms, rate, note.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t steps = 16, neurons = std::int64_t{1} << 20;
    int repeats = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "--steps" || arg == "--neurons" || arg == "--repeat") && i + 1 < argc) {
            const long long value = std::atoll(argv[++i]);
            if (value <= 0) {
                std::fprintf(stderr, "snn-bench-lynxi: %s must be positive\n", arg.c_str());
                return 2;
            }
            if (arg == "--steps") steps = value;
            else if (arg == "--neurons") neurons = value;
            else repeats = static_cast<int>(value);
        } else {
            std::fprintf(stderr, "usage: snn-bench-lynxi [--steps T] [--neurons N] [--repeat R]\n");
            return arg == "-h" || arg == "--help" ? 0 : 2;
        }
    }
    const std::int64_t tn = steps * neurons;
    std::printf("snn-bench-lynxi: BIDL Lif spike mode, T = %lld, N = %lld, median of %d\n", static_cast<long long>(steps),
                static_cast<long long>(neurons), repeats);

    std::vector<snn::binary16> x16(static_cast<std::size_t>(tn)), s16(x16.size()), v16(x16.size());
    std::vector<float> x32(x16.size()), s32(x16.size()), v32(x16.size());
    std::uint32_t state = 12345u;
    for (std::size_t i = 0; i < x16.size(); ++i) {
        state = state * 1664525u + 1013904223u;
        x16[i] = snn::binary16(static_cast<float>(state >> 8) / 16777216.0f * 1.6f - 0.4f);
        x32[i] = x16[i].to_float();
    }
    ly::bidl_lif_params p;
    ly::bidl_lif_args<snn::binary16> a16;
    a16.steps = steps;
    a16.neurons = neurons;
    a16.x = x16.data();
    a16.spike = s16.data();
    a16.v = v16.data();
    ly::bidl_lif_args<float> a32;
    a32.steps = steps;
    a32.neurons = neurons;
    a32.x = x32.data();
    a32.spike = s32.data();
    a32.v = v32.data();

    for (const char* isa : {"scalar", "simd"}) {
        const ly::kernel_table& t = ly::select_isa(isa);
        const std::string name = std::string(" [") + t.isa + "]";
        print("cpu", "binary16 emulated" + name, median_ms([&] { t.bidl_lif(p, a16, {}); }, repeats), steps, neurons);
        print("cpu", "float32 native" + name, median_ms([&] { t.bidl_lif_float32(p, a32, {}); }, repeats), steps, neurons);
    }
#if SNN_BENCH_HAS_CUDA
    std::string why;
    const auto rows = snn_bench_lynxi::gpu_rows(steps, neurons, repeats, why);
    for (const auto& r : rows) print("gpu", r.variant, r.milliseconds, steps, neurons, r.note);
    if (!why.empty()) std::printf("gpu  %s\n", why.c_str());
#else
    std::printf("gpu  (not built: configure with CUDA)\n");
#endif
    return 0;
}
