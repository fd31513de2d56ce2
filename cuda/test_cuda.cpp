// CUDA kernel tests (run on a GPU machine): CUDA == CPU scalar reference bit for bit (forward;
// backward with rational surrogates) for every precision x charge x surrogate x reset, 64-bit
// indexing, deterministic PLIF grad_w, graph capture, workspace checking.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_test_helpers.hpp"
#include "snn/cpu/multistep.hpp"
#include "snn/cuda/staged_table.hpp"
#include "support/table_runs.hpp"

using namespace snn;

TEST_CASE("a CUDA device is present") {
    MESSAGE(cuda::device_description());
    REQUIRE(snn_cuda_test::device_present());
}

TEST_CASE("binary16 conversions on the device equal the host's") {
    CHECK(snn_cuda_test::binary16_conversions_match_host() == "");
}

TEST_CASE("CUDA equals the CPU scalar reference bit for bit") {
    const cpu::kernel_table& scalar = cpu::select_isa("scalar");
    const cpu::kernel_table& gpu = cuda::staged_kernel_table();
    int compared = 0;
    for (int pi = 0; pi < cpu::precision_id_count; ++pi) {
        for (int ci = 0; ci < cpu::charge_id_count; ++ci) {
            for (int si = 0; si < surrogate_kind_count; ++si) {
                for (auto reset : {reset_kind::hard, reset_kind::soft, reset_kind::none}) {
                    const auto kind = static_cast<surrogate_kind>(si);
                    neuron_params p = snn_test::varied_params(si, ci, reset);
                    p.dynamic.fire = (si % 3 == 0) ? fire_kind::greater : fire_kind::greater_equal;
                    const auto prec = static_cast<cpu::precision_id>(pi);
                    const auto ch = static_cast<cpu::charge_id>(ci);
                    const std::string sg = surrogate_name(kind);
                    CAPTURE(pi);
                    CAPTURE(ci);
                    CAPTURE(sg);
                    CAPTURE(static_cast<int>(reset));
                    CAPTURE(static_cast<int>(p.dynamic.division));
                    // 3001 neurons: one neuron per thread; 3072: the vectorised several-per-thread path.
                    for (const std::int64_t N : {std::int64_t{3001}, std::int64_t{3072}}) {
                        CAPTURE(N);
                        const std::int64_t T = 6;
                        const snn_test::run_result a = snn_test::run_table(scalar, prec, ch, p, T, N);
                        const snn_test::run_result b = snn_test::run_table(gpu, prec, ch, p, T, N);
                        CHECK(a.spike == b.spike);
                        CHECK(a.v_seq == b.v_seq);
                        if (snn_test::rational(kind)) {
                            CHECK(a.grad_x == b.grad_x);
                            CHECK(a.grad_v0 == b.grad_v0);
                        }
                        if (ci >= static_cast<int>(cpu::charge_id::plif_decay_input))
                            CHECK(b.grad_w == doctest::Approx(a.grad_w).epsilon(1e-6));
                        ++compared;
                    }
                }
            }
        }
    }
    MESSAGE("configurations compared: " << compared);
}

namespace {

std::vector<float> random_currents(std::size_t count, std::uint32_t seed) {
    std::vector<float> x(count);
    std::uint32_t state = seed;
    for (auto& v : x) {
        state = state * 1664525u + 1013904223u;
        v = -0.5f + 2.5f * static_cast<float>(state >> 8) / 16777216.0f;
    }
    return x;
}

}  // namespace

TEST_CASE("spikes as dtype, bytes and bit-packed words agree with the CPU reference") {
    using lif = lif_neuron<precision::f32>;
    struct shape {
        std::int64_t steps, neurons;
        int offset;
    };
    // Several neurons per thread (N % 4 == 0, aligned), one per thread (odd N or misaligned
    // buffers), partial last words, N smaller than a warp.
    for (const shape sh : {shape{7, 3001, 0}, shape{7, 4192, 0}, shape{5, 1000, 0}, shape{6, 4096, 1}, shape{9, 64, 0}, shape{3, 5, 0},
                           shape{4, 131072, 0}}) {
        CAPTURE(sh.steps);
        CAPTURE(sh.neurons);
        CAPTURE(sh.offset);
        const std::size_t tn = static_cast<std::size_t>(sh.steps * sh.neurons);
        const std::vector<float> x = random_currents(tn, static_cast<std::uint32_t>(sh.neurons));
        std::vector<float> spike(tn), v_last(static_cast<std::size_t>(sh.neurons));
        forward_args<lif> a;
        a.steps = sh.steps;
        a.neurons = sh.neurons;
        a.x = x.data();
        a.spike = spike.data();
        a.v_last = v_last.data();
        neuron_params p;
        cpu::forward_inference(p, a, cpu::backend::scalar);
        const snn_cuda_test::spike_outputs g = snn_cuda_test::lif_spike_formats(x, sh.steps, sh.neurons, sh.offset);
        CHECK(g.spike == spike);
        CHECK(std::memcmp(g.v_last.data(), v_last.data(), v_last.size() * 4) == 0);
        const std::int64_t words = (sh.neurons + 31) / 32;
        std::int64_t byte_mismatch = 0, bit_mismatch = 0, padding_set = 0;
        for (std::int64_t t = 0; t < sh.steps; ++t) {
            for (std::int64_t w = 0; w < words; ++w) {
                const std::uint32_t word = g.bits[static_cast<std::size_t>(t * words + w)];
                for (int b = 0; b < 32; ++b) {
                    const std::int64_t n = w * 32 + b;
                    const bool bit = (word >> b) & 1u;
                    if (n >= sh.neurons) {
                        padding_set += bit;
                        continue;
                    }
                    const std::size_t i = static_cast<std::size_t>(t * sh.neurons + n);
                    const bool fired = spike[i] != 0.0f;
                    bit_mismatch += bit != fired;
                    byte_mismatch += g.bytes[i] != (fired ? 1 : 0);
                }
            }
        }
        CHECK(byte_mismatch == 0);
        CHECK(bit_mismatch == 0);
        CHECK(padding_set == 0);
    }
}

TEST_CASE("bfloat16 storage on CUDA equals the CPU scalar reference bit for bit") {
    for (const bool plif : {false, true}) {
        for (const std::int64_t N : {std::int64_t{2003}, std::int64_t{2048}}) {
            CAPTURE(plif);
            CAPTURE(N);
            const std::int64_t T = 9;
            const std::size_t tn = static_cast<std::size_t>(T * N);
            const std::vector<float> xf = random_currents(tn, 7u), gf = random_currents(tn, 11u);
            std::vector<bfloat16> x(tn), gs(tn), spike(tn), v_seq(tn), gx(tn);
            std::vector<std::uint16_t> xb(tn), gb(tn);
            for (std::size_t i = 0; i < tn; ++i) {
                x[i] = bfloat16(xf[i]);
                gs[i] = bfloat16(gf[i]);
                std::memcpy(&xb[i], &x[i], 2);
                std::memcpy(&gb[i], &gs[i], 2);
            }
            std::vector<float> h(tn);
            double grad_w = 0;
            neuron_params p;
            p.w = 0.3;
            const auto run_cpu = [&](auto config) {
                using cfg = decltype(config);
                forward_args<cfg> f;
                f.steps = T;
                f.neurons = N;
                f.x = x.data();
                f.spike = spike.data();
                f.v_seq = v_seq.data();
                f.h_seq = h.data();
                cpu::forward_training(p, f, cpu::backend::scalar);
                backward_args<cfg> b;
                b.steps = T;
                b.neurons = N;
                b.grad_spike = gs.data();
                b.h_seq = h.data();
                b.x = x.data();
                b.v_seq = v_seq.data();
                b.grad_x = gx.data();
                if constexpr (cfg::charge_policy::is_parametric) b.grad_w = &grad_w;
                cpu::backward(p, b, cpu::backend::scalar);
            };
            if (plif) run_cpu(plif_neuron<precision::bf16_storage>{});
            else run_cpu(lif_neuron<precision::bf16_storage>{});
            const snn_cuda_test::bf16_run g = snn_cuda_test::bf16_forward_backward(plif, xb, gb, T, N);
            CHECK(std::memcmp(g.spike.data(), spike.data(), tn * 2) == 0);
            CHECK(std::memcmp(g.v_seq.data(), v_seq.data(), tn * 2) == 0);
            CHECK(std::memcmp(g.h_seq.data(), h.data(), tn * 4) == 0);
            CHECK(std::memcmp(g.grad_x.data(), gx.data(), tn * 2) == 0);  // ATan: rational surrogate
            if (plif) CHECK(g.grad_w == doctest::Approx(grad_w).epsilon(1e-6));
        }
    }
}

TEST_CASE("recompute mode (membrane checkpoints) gives the stored mode's gradients") {
    for (const bool plif : {false, true}) {
        for (const bool half : {false, true}) {
            for (const std::int64_t T : {std::int64_t{1}, std::int64_t{8}, std::int64_t{13}}) {
                for (const std::int64_t N : {std::int64_t{3001}, std::int64_t{4096}}) {
                    CAPTURE(plif);
                    CAPTURE(half);
                    CAPTURE(T);
                    CAPTURE(N);
                    CHECK(snn_cuda_test::recompute_matches_stored(plif, half, T, N) == "");
                }
            }
        }
    }
}

TEST_CASE("PLIF grad_w has the same bits on every run") {
    const auto runs = snn_cuda_test::plif_grad_w_runs(5, 16, 1 << 20);
    for (double w : runs) CHECK(std::memcmp(&w, &runs[0], sizeof w) == 0);
    CHECK(std::isfinite(runs[0]));
}

TEST_CASE("forward and backward replay from a captured CUDA graph") {
    CHECK(snn_cuda_test::graph_capture_matches_direct(8, 100003) == "");
}

TEST_CASE("backward checks its workspace before launching") {
    try {
        snn_cuda_test::backward_with_small_workspace();
        FAIL("no exception");
    } catch (const snn::invalid_argument& e) {
        CHECK(e.argument() == "workspace");
    }
}

// Needs 16 GiB of device memory and 2^31 elements; run with -tc="*2^31*" (skipped by the
// compute-sanitizer runs, which would take hours on it).
TEST_CASE("64-bit indexing: T*N = 2^31 elements" * doctest::skip(std::getenv("SNN_CUDA_BIG") == nullptr)) {
    CHECK(snn_cuda_test::big_index_forward(128, std::int64_t{1} << 24) == "");
}
