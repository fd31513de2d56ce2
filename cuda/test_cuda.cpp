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

#include "cuda_test_helpers.hpp"
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
                    const std::int64_t T = 6, N = 3001;
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
    MESSAGE("configurations compared: " << compared);
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
