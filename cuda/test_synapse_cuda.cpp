// CUDA synapse ops (snn/cuda/synapse.cuh) against the CPU ops (snn/synapse/cpu.hpp) on random
// inputs: GEMM paths to float32 rounding (TF32 to its own looser bound), pooling bit for bit,
// batch norm to double-then-float rounding; argument errors thrown before any launch.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "snn/synapse/cpu.hpp"
#include "synapse_staged.hpp"

namespace {

template <class T>
std::vector<T> random_values(std::size_t n, std::uint32_t seed, double lo = -1.0, double hi = 1.0) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<T> v(n);
    for (auto& e : v) e = static_cast<T>(dist(rng));
    return v;
}

/// Small integers: many exact ties, so max pooling's first-wins rule is exercised.
template <class T>
std::vector<T> random_integers(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(-3, 3);
    std::vector<T> v(n);
    for (auto& e : v) e = static_cast<T>(dist(rng));
    return v;
}

/// |got - want| <= rel * (|want| + scale) elementwise; scale is the typical magnitude, so
/// sums that cancel to near zero are judged against the size of their terms.
template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, double rel, double scale, const char* what) {
    REQUIRE(got.size() == want.size());
    std::size_t bad = 0, first = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
        if (!(std::fabs(g - w) <= rel * (std::fabs(w) + scale))) {
            if (bad++ == 0) first = i;
        }
    }
    INFO(what << ": " << bad << " of " << got.size() << " differ; first at " << first << ": " << (bad ? static_cast<double>(got[first]) : 0.0)
              << " vs " << (bad ? static_cast<double>(want[first]) : 0.0));
    CHECK(bad == 0);
}

template <class T>
void check_equal_bits(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
    REQUIRE(got.size() == want.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) ++bad;
    INFO(what << ": " << bad << " of " << got.size() << " differ");
    CHECK(bad == 0);
}

snn::cpu::execution one_thread() { return snn::cpu::execution{1}; }

}  // namespace

TEST_CASE("a CUDA device is present") { REQUIRE(snn_test::cuda_device_present()); }

TEST_CASE_TEMPLATE("dense forward and backward on CUDA equal the CPU op", T, float, double) {
    const double rel = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (const bool with_bias : {false, true})
        for (const bool accumulate : {false, true}) {
            CAPTURE(with_bias);
            CAPTURE(accumulate);
            const std::int64_t M = 67, K = 131, O = 45;  // odd extents: no tile-multiple luck
            const auto x = random_values<T>(M * K, 1), w = random_values<T>(O * K, 2), b = random_values<T>(O, 3);
            const auto gy = random_values<T>(M * O, 4);
            snn::synapse::dense_forward_args<T> f;
            f.rows = M;
            f.in_features = K;
            f.out_features = O;
            f.x = x.data();
            f.weight = w.data();
            f.bias = with_bias ? b.data() : nullptr;
            std::vector<T> y_cpu(M * O), y_gpu(M * O);
            f.y = y_cpu.data();
            snn::cpu::dense_forward(f, one_thread());
            f.y = y_gpu.data();
            snn_test::dense_forward_cuda(f);
            check_close(y_gpu, y_cpu, rel, 1.0, "y");

            std::vector<T> gx_cpu(M * K), gx_gpu(M * K);
            auto gw_cpu = random_values<T>(O * K, 5), gw_gpu = gw_cpu;  // accumulate adds into these
            auto gb_cpu = random_values<T>(O, 6), gb_gpu = gb_cpu;
            snn::synapse::dense_backward_args<T> bw;
            bw.rows = M;
            bw.in_features = K;
            bw.out_features = O;
            bw.grad_y = gy.data();
            bw.x = x.data();
            bw.weight = w.data();
            bw.accumulate = accumulate;
            bw.grad_x = gx_cpu.data();
            bw.grad_weight = gw_cpu.data();
            bw.grad_bias = gb_cpu.data();
            snn::cpu::dense_backward(bw, one_thread());
            bw.grad_x = gx_gpu.data();
            bw.grad_weight = gw_gpu.data();
            bw.grad_bias = gb_gpu.data();
            snn_test::dense_backward_cuda(bw);
            check_close(gx_gpu, gx_cpu, rel, 1.0, "grad_x");
            check_close(gw_gpu, gw_cpu, rel, 1.0, "grad_weight");
            check_close(gb_gpu, gb_cpu, rel, 1.0, "grad_bias");
        }
}

TEST_CASE("dense with TF32 math stays within TF32 rounding of float32") {
    const std::int64_t M = 64, K = 256, O = 96;
    const auto x = random_values<float>(M * K, 7), w = random_values<float>(O * K, 8);
    snn::synapse::dense_forward_args<float> f;
    f.rows = M;
    f.in_features = K;
    f.out_features = O;
    f.x = x.data();
    f.weight = w.data();
    std::vector<float> y_cpu(M * O), y_gpu(M * O);
    f.y = y_cpu.data();
    snn::cpu::dense_forward(f, one_thread());
    f.y = y_gpu.data();
    snn_test::dense_forward_cuda(f, true);
    // 10-bit mantissa inputs: ~2^-11 relative per product; the sum of K terms of size ~1/3
    // has size ~sqrt(K)/3, so 1e-2 relative to (|y| + sqrt(K)) is a safe bound.
    check_close(y_gpu, y_cpu, 1e-2, 16.0, "y (tf32)");
}

TEST_CASE_TEMPLATE("pool2d forward and backward on CUDA equal the CPU op bit for bit", T, float, double) {
    struct pool_case {
        std::int64_t h, w, kh, kw, sh, sw, ph, pw;
    };
    const pool_case cases[] = {
        {8, 8, 2, 2, 0, 0, 0, 0},  // SpikingJelly's MaxPool2d(2)
        {9, 7, 3, 3, 2, 2, 1, 1},  // overlapping windows with padding
        {6, 10, 3, 2, 1, 3, 1, 0},  // stride 1 rows (each input in 3 windows), gaps between columns
        {5, 5, 5, 5, 1, 1, 2, 2},
    };
    for (const auto& pc : cases)
        for (const auto kind : {snn::synapse::pool_kind::max, snn::synapse::pool_kind::avg, snn::synapse::pool_kind::sum})
            for (const bool include_pad : {true, false}) {
                if (kind != snn::synapse::pool_kind::avg && !include_pad) continue;
                CAPTURE(pc.h);
                CAPTURE(pc.kh);
                CAPTURE(pc.sh);
                CAPTURE(static_cast<int>(kind));
                CAPTURE(include_pad);
                snn::synapse::pool2d_shape s;
                s.batch = 6;
                s.channels = 5;
                s.in_height = pc.h;
                s.in_width = pc.w;
                s.kernel_h = pc.kh;
                s.kernel_w = pc.kw;
                s.stride_h = pc.sh;
                s.stride_w = pc.sw;
                s.pad_h = pc.ph;
                s.pad_w = pc.pw;
                const std::int64_t in_size = s.batch * s.channels * s.in_height * s.in_width;
                const std::int64_t out_size = s.batch * s.channels * s.out_height() * s.out_width();
                const auto x = kind == snn::synapse::pool_kind::max ? random_integers<T>(in_size, 11) : random_values<T>(in_size, 11);
                const bool max = kind == snn::synapse::pool_kind::max;
                snn::synapse::pool2d_forward_args<T> f;
                f.shape = s;
                f.kind = kind;
                f.count_include_pad = include_pad;
                f.x = x.data();
                std::vector<T> y_cpu(out_size), y_gpu(out_size);
                std::vector<std::int64_t> i_cpu(max ? out_size : 0), i_gpu(max ? out_size : 0);
                f.y = y_cpu.data();
                f.indices = max ? i_cpu.data() : nullptr;
                snn::cpu::pool2d_forward(f, one_thread());
                f.y = y_gpu.data();
                f.indices = max ? i_gpu.data() : nullptr;
                snn_test::pool2d_forward_cuda(f);
                check_equal_bits(y_gpu, y_cpu, "y");
                if (max) CHECK(i_gpu == i_cpu);

                const auto gy = random_values<T>(out_size, 12);
                snn::synapse::pool2d_backward_args<T> b;
                b.shape = s;
                b.kind = kind;
                b.count_include_pad = include_pad;
                b.grad_y = gy.data();
                b.indices = max ? i_cpu.data() : nullptr;
                std::vector<T> gx_cpu(in_size), gx_gpu(in_size);
                b.grad_x = gx_cpu.data();
                snn::cpu::pool2d_backward(b, one_thread());
                b.grad_x = gx_gpu.data();
                snn_test::pool2d_backward_cuda(b);
                check_equal_bits(gx_gpu, gx_cpu, "grad_x");
            }
}

TEST_CASE_TEMPLATE("batch norm forward and backward on CUDA equal the CPU op", T, float, double) {
    const double rel = std::is_same_v<T, float> ? 1e-6 : 1e-12;
    struct bn_case {
        std::int64_t batch, channels, spatial;
    };
    // BatchNorm2d (S = H*W), BatchNorm1d (S = 1) with a batch longer than a block, and C > 1 block.
    const bn_case cases[] = {{12, 7, 25}, {1000, 3, 1}, {4, 300, 9}};
    for (const auto& bc : cases)
        for (const bool training : {true, false})
            for (const bool affine : {true, false}) {
                CAPTURE(bc.batch);
                CAPTURE(bc.channels);
                CAPTURE(training);
                CAPTURE(affine);
                const std::int64_t C = bc.channels, total = bc.batch * bc.channels * bc.spatial;
                const auto x = random_values<T>(total, 21, -2.0, 3.0);
                const auto gamma = random_values<T>(C, 22, 0.5, 1.5), beta = random_values<T>(C, 23);
                const auto rm0 = random_values<T>(C, 24), rv0 = random_values<T>(C, 25, 0.5, 2.0);
                auto rm_cpu = rm0, rv_cpu = rv0, rm_gpu = rm0, rv_gpu = rv0;
                std::vector<T> y_cpu(total), y_gpu(total), mean_cpu(C), mean_gpu(C), invstd_cpu(C), invstd_gpu(C);
                snn::synapse::batch_norm_forward_args<T> f;
                f.batch = bc.batch;
                f.channels = C;
                f.spatial = bc.spatial;
                f.training = training;
                f.x = x.data();
                f.gamma = affine ? gamma.data() : nullptr;
                f.beta = affine ? beta.data() : nullptr;
                f.running_mean = rm_cpu.data();
                f.running_var = rv_cpu.data();
                f.y = y_cpu.data();
                f.saved_mean = training ? mean_cpu.data() : nullptr;
                f.saved_invstd = training ? invstd_cpu.data() : nullptr;
                snn::cpu::batch_norm_forward(f, one_thread());
                f.running_mean = rm_gpu.data();
                f.running_var = rv_gpu.data();
                f.y = y_gpu.data();
                f.saved_mean = training ? mean_gpu.data() : nullptr;
                f.saved_invstd = training ? invstd_gpu.data() : nullptr;
                snn_test::batch_norm_forward_cuda(f);
                check_close(y_gpu, y_cpu, rel, 1.0, "y");
                check_close(rm_gpu, rm_cpu, rel, 1.0, "running_mean");
                check_close(rv_gpu, rv_cpu, rel, 1.0, "running_var");
                if (training) {
                    check_close(mean_gpu, mean_cpu, rel, 1.0, "saved_mean");
                    check_close(invstd_gpu, invstd_cpu, rel, 1.0, "saved_invstd");
                }

                const auto gy = random_values<T>(total, 26);
                std::vector<T> gx_cpu(total), gx_gpu(total);
                auto gg_cpu = random_values<T>(C, 27), gg_gpu = gg_cpu, gb_cpu = random_values<T>(C, 28), gb_gpu = gb_cpu;
                snn::synapse::batch_norm_backward_args<T> b;
                b.batch = bc.batch;
                b.channels = C;
                b.spatial = bc.spatial;
                b.training = training;
                b.grad_y = gy.data();
                b.x = x.data();
                b.gamma = affine ? gamma.data() : nullptr;
                b.saved_mean = mean_cpu.data();
                b.saved_invstd = invstd_cpu.data();
                b.running_mean = rm0.data();
                b.running_var = rv0.data();
                b.accumulate = affine;  // both modes covered across the affine loop
                b.grad_x = gx_cpu.data();
                b.grad_gamma = gg_cpu.data();
                b.grad_beta = gb_cpu.data();
                snn::cpu::batch_norm_backward(b, one_thread());
                b.grad_x = gx_gpu.data();
                b.grad_gamma = gg_gpu.data();
                b.grad_beta = gb_gpu.data();
                snn_test::batch_norm_backward_cuda(b);
                // grad_x's training form cancels terms of size |g|: judged against that size.
                check_close(gx_gpu, gx_cpu, std::is_same_v<T, float> ? 1e-5 : 1e-11, 1.0, "grad_x");
                check_close(gg_gpu, gg_cpu, rel, 1.0, "grad_gamma");
                check_close(gb_gpu, gb_cpu, rel, 1.0, "grad_beta");
            }
}

TEST_CASE("CUDA synapse ops reject bad arguments before launching") {
    std::vector<float> buf(64);
    snn::synapse::dense_forward_args<float> f;
    f.rows = 2;
    f.in_features = 4;
    f.out_features = 3;
    f.weight = buf.data();
    f.y = buf.data();
    CHECK_THROWS_AS(snn_test::dense_forward_cuda(f), snn::invalid_argument);  // x null
    snn::synapse::pool2d_backward_args<float> p;
    p.shape.batch = 1;
    p.shape.channels = 1;
    p.shape.in_height = 4;
    p.shape.in_width = 4;
    p.shape.kernel_h = 2;
    p.shape.kernel_w = 2;
    p.grad_y = buf.data();
    p.grad_x = buf.data();
    CHECK_THROWS_AS(snn_test::pool2d_backward_cuda(p), snn::invalid_argument);  // max without indices
    snn::synapse::batch_norm_forward_args<float> bn;
    bn.batch = 1;
    bn.channels = 2;
    bn.spatial = 1;
    bn.x = buf.data();
    bn.y = buf.data();
    CHECK_THROWS_AS(snn_test::batch_norm_forward_cuda(bn), snn::invalid_argument);  // one value per channel in training
}
