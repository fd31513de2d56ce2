// snn-bench-synapse-spikes: dense GEMM (Eigen) vs the spike-input path (uint8 and bit-packed
// spikes accumulating weight rows) by spike density, float32, one thread, to locate the
// density below which the spike path wins. Usage: snn-bench-synapse-spikes [rows K O]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "snn/synapse/cpu/dense.hpp"
#include "snn/synapse/weights.hpp"

namespace {

template <class F>
double best_ms(F&& f, int reps) {
    double best = 1e300;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        best = ms < best ? ms : best;
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    const std::int64_t M = argc > 1 ? std::atoll(argv[1]) : 256;   // T * N
    const std::int64_t K = argc > 2 ? std::atoll(argv[2]) : 1024;  // in features
    const std::int64_t O = argc > 3 ? std::atoll(argv[3]) : 1024;  // out features
    const std::int64_t words = (K + 31) / 32;
    std::mt19937 gen(1);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> w(static_cast<std::size_t>(O * K)), y(static_cast<std::size_t>(M * O));
    for (auto& e : w) e = dist(gen);
    const auto wt = snn::synapse::transpose_weight(w.data(), O, K);
    const snn::cpu::execution one_thread{1};
    std::printf("rows %lld, in %lld, out %lld, float32, 1 thread, best of 5 (ms)\n", static_cast<long long>(M),
                static_cast<long long>(K), static_cast<long long>(O));
    std::printf("%8s %10s %10s %10s %8s\n", "density", "gemm", "bytes", "bits", "gemm/bits");
    for (double density : {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5}) {
        std::bernoulli_distribution fire(density);
        std::vector<float> x(static_cast<std::size_t>(M * K));
        std::vector<std::uint8_t> s(x.size());
        std::vector<std::uint32_t> bits(static_cast<std::size_t>(M * words), 0);
        for (std::int64_t m = 0; m < M; ++m)
            for (std::int64_t k = 0; k < K; ++k)
                if (fire(gen)) {
                    x[static_cast<std::size_t>(m * K + k)] = 1.0f;
                    s[static_cast<std::size_t>(m * K + k)] = 1;
                    bits[static_cast<std::size_t>(m * words + k / 32)] |= std::uint32_t{1} << (k % 32);
                }
        snn::synapse::dense_forward_args<float> d;
        d.rows = M, d.in_features = K, d.out_features = O, d.x = x.data(), d.weight = w.data(), d.y = y.data();
        snn::synapse::dense_spike_forward_args<float> a;
        a.rows = M, a.in_features = K, a.out_features = O, a.weight_t = wt.data(), a.y = y.data();
        const double gemm = best_ms([&] { snn::cpu::dense_forward(d, one_thread); }, 5);
        a.spikes = s.data();
        const double bytes = best_ms([&] { snn::cpu::dense_spike_forward(a, one_thread); }, 5);
        a.spikes = nullptr;
        a.spike_bits = bits.data();
        const double packed = best_ms([&] { snn::cpu::dense_spike_forward(a, one_thread); }, 5);
        std::printf("%8.3f %10.3f %10.3f %10.3f %8.2f\n", density, gemm, bytes, packed, gemm / packed);
    }
    return 0;
}
