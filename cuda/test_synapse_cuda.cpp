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

TEST_CASE_TEMPLATE("dense forward and backward on CUDA equal the CPU op, both weight layouts", T, float, double) {
    const double rel = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (const auto layout : {snn::synapse::weight_layout::out_in, snn::synapse::weight_layout::in_out})
    for (const bool with_bias : {false, true})
        for (const bool accumulate : {false, true}) {
            CAPTURE(static_cast<int>(layout));  // 0 out_in [O, K], 1 in_out [K, O]
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
            f.layout = layout;  // w is random either way: [O, K] or [K, O]
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
            bw.layout = layout;
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

TEST_CASE_TEMPLATE("spike-input dense on CUDA equals the CPU op bit for bit (bytes and bit-packed)", T, float, double) {
    struct spike_case {
        std::int64_t rows, in, out;
    };
    // Partial row blocks (128 rows), column tiles (128 float / 64 double columns) and 32-input
    // chunks; a single input; several chunks and tiles.
    const spike_case cases[] = {{300, 70, 200}, {5, 64, 3}, {129, 1, 129}, {257, 100, 300}, {64, 160, 64}};
    for (const auto& sc : cases)
        for (const double density : {0.0, 0.05, 0.3, 1.0})
            for (const bool with_bias : {false, true}) {
                CAPTURE(sc.rows);
                CAPTURE(sc.in);
                CAPTURE(sc.out);
                CAPTURE(density);
                CAPTURE(with_bias);
                const std::int64_t M = sc.rows, K = sc.in, O = sc.out, W = (K + 31) / 32;
                std::mt19937 rng(static_cast<std::uint32_t>(M * 7 + K * 3 + O));
                std::bernoulli_distribution fire(density);
                std::uniform_int_distribution<int> nonzero(1, 255);  // any nonzero byte is a spike
                std::vector<std::uint8_t> spikes(M * K);
                std::vector<std::uint32_t> bits(M * W, 0u);
                for (std::int64_t m = 0; m < M; ++m) {
                    for (std::int64_t k = 0; k < K; ++k)
                        if (fire(rng)) {
                            spikes[m * K + k] = static_cast<std::uint8_t>(nonzero(rng));
                            bits[m * W + k / 32] |= std::uint32_t{1} << (k % 32);
                        }
                    if (K % 32 != 0) bits[m * W + W - 1] |= ~((std::uint32_t{1} << (K % 32)) - 1u);  // garbage past K is ignored
                }
                const auto wt = random_values<T>(K * O, 21), b = random_values<T>(O, 22);
                snn::synapse::dense_spike_forward_args<T> a;
                a.rows = M;
                a.in_features = K;
                a.out_features = O;
                a.weight_t = wt.data();
                a.bias = with_bias ? b.data() : nullptr;
                for (const bool packed : {false, true}) {
                    CAPTURE(packed);
                    a.spikes = packed ? nullptr : spikes.data();
                    a.spike_bits = packed ? bits.data() : nullptr;
                    std::vector<T> y_cpu(M * O), y_gpu(M * O);
                    a.y = y_cpu.data();
                    snn::cpu::dense_spike_forward(a, one_thread());
                    a.y = y_gpu.data();
                    snn_test::dense_spike_forward_cuda(a);
                    check_equal_bits(y_gpu, y_cpu, "y");
                }
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
    f.x = buf.data();
    f.layout = static_cast<snn::synapse::weight_layout>(2);
    CHECK_THROWS_AS(snn_test::dense_forward_cuda(f), snn::invalid_argument);  // not a layout
    std::vector<std::uint8_t> bytes(8);
    std::vector<std::uint32_t> words(2);
    snn::synapse::dense_spike_forward_args<float> sf;
    sf.rows = 2;
    sf.in_features = 4;
    sf.out_features = 3;
    sf.weight_t = buf.data();
    sf.y = buf.data();
    CHECK_THROWS_AS(snn_test::dense_spike_forward_cuda(sf), snn::invalid_argument);  // no spikes
    sf.spikes = bytes.data();
    sf.spike_bits = words.data();
    CHECK_THROWS_AS(snn_test::dense_spike_forward_cuda(sf), snn::invalid_argument);  // both kinds
    sf.spike_bits = nullptr;
    sf.weight_t = nullptr;
    CHECK_THROWS_AS(snn_test::dense_spike_forward_cuda(sf), snn::invalid_argument);  // weight_t null
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

namespace {

struct conv_case {
    std::int64_t batch, in_channels, h, w, out_channels, kh, kw, sh, sw, ph, pw, dh, dw, groups;
};

snn::synapse::conv2d_shape conv_shape_of(const conv_case& c) {
    snn::synapse::conv2d_shape s;
    s.batch = c.batch;
    s.in_channels = c.in_channels;
    s.in_height = c.h;
    s.in_width = c.w;
    s.out_channels = c.out_channels;
    s.kernel_h = c.kh;
    s.kernel_w = c.kw;
    s.stride_h = c.sh;
    s.stride_w = c.sw;
    s.pad_h = c.ph;
    s.pad_w = c.pw;
    s.dilation_h = c.dh;
    s.dilation_w = c.dw;
    s.groups = c.groups;
    return s;
}

/// Outputs of one conv2d forward + backward (every gradient) run.
template <class T>
struct conv_outputs {
    std::vector<T> y, grad_x, grad_weight, grad_bias;
};

/// Runs forward and backward on the CPU (workspace_bytes unused) or CUDA (with that workspace)
/// on seeded inputs; grad_weight / grad_bias start from seeded values when `accumulate`.
template <class T>
conv_outputs<T> run_conv(const snn::synapse::conv2d_shape& s, bool with_bias, bool accumulate, bool cuda, std::size_t workspace_bytes,
                         bool tf32 = false) {
    const std::int64_t x_size = s.batch * s.in_channels * s.in_height * s.in_width;
    const std::int64_t y_size = s.batch * s.out_channels * s.out_height() * s.out_width();
    const auto x = random_values<T>(x_size, 31), w = random_values<T>(s.weight_size(), 32), b = random_values<T>(s.out_channels, 33);
    const auto gy = random_values<T>(y_size, 34);
    conv_outputs<T> out;
    out.y.resize(y_size);
    out.grad_x.resize(x_size);
    out.grad_weight = accumulate ? random_values<T>(s.weight_size(), 35) : std::vector<T>(s.weight_size());
    out.grad_bias = accumulate ? random_values<T>(s.out_channels, 36) : std::vector<T>(s.out_channels);
    snn::synapse::conv2d_forward_args<T> f;
    f.shape = s;
    f.x = x.data();
    f.weight = w.data();
    f.bias = with_bias ? b.data() : nullptr;
    f.y = out.y.data();
    snn::synapse::conv2d_backward_args<T> bw;
    bw.shape = s;
    bw.grad_y = gy.data();
    bw.x = x.data();
    bw.weight = w.data();
    bw.grad_x = out.grad_x.data();
    bw.grad_weight = out.grad_weight.data();
    bw.grad_bias = out.grad_bias.data();
    bw.accumulate = accumulate;
    if (cuda) {
        snn_test::conv2d_forward_cuda(f, workspace_bytes, tf32);
        snn_test::conv2d_backward_cuda(bw, workspace_bytes, tf32);
    } else {
        snn::cpu::conv2d_forward(f, one_thread());
        snn::cpu::conv2d_backward(bw, one_thread());
    }
    return out;
}

/// Tolerances against the CPU op: |got - want| <= rel * (|want| + sqrt(terms)), sqrt(terms)
/// being the typical size of a sum of `terms` products of values in [-1, 1).
template <class T>
void check_conv_close(const conv_outputs<T>& got, const conv_outputs<T>& want, const snn::synapse::conv2d_shape& s, double rel) {
    const double patch = static_cast<double>(s.in_channels / s.groups * s.kernel_h * s.kernel_w);
    const double taps = static_cast<double>(s.out_channels / s.groups * s.kernel_h * s.kernel_w);
    const double pixels = static_cast<double>(s.batch * s.out_height() * s.out_width());
    check_close(got.y, want.y, rel, std::sqrt(patch), "y");
    check_close(got.grad_x, want.grad_x, rel, std::sqrt(taps), "grad_x");
    check_close(got.grad_weight, want.grad_weight, rel, std::sqrt(pixels), "grad_weight");
    check_close(got.grad_bias, want.grad_bias, rel, std::sqrt(pixels), "grad_bias");
}

// Stride, padding, dilation, groups, odd and non-square extents, a 1x1 output, a strided 1x1
// kernel that skips inputs (grad_x 0 there), depthwise, and the demo's two layer kinds scaled down.
const conv_case conv_cases[] = {
    {5, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {4, 4, 11, 10, 6, 3, 2, 2, 1, 1, 0, 1, 1, 2},
    {3, 6, 8, 9, 6, 3, 3, 2, 2, 2, 2, 2, 2, 3},
    {6, 2, 5, 5, 3, 5, 5, 1, 1, 0, 0, 1, 1, 1},
    {3, 3, 7, 6, 5, 1, 1, 3, 2, 0, 0, 1, 1, 1},
    {3, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4},
    {2, 5, 7, 8, 3, 2, 3, 3, 2, 1, 2, 2, 1, 1},
    {8, 16, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {6, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
};

}  // namespace

TEST_CASE_TEMPLATE("conv2d forward and backward on CUDA equal the CPU op, for any workspace size", T, float, double) {
    const double rel = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (const auto& cc : conv_cases) {
        const auto s = conv_shape_of(cc);
        CAPTURE(cc.batch);
        CAPTURE(cc.in_channels);
        CAPTURE(cc.h);
        CAPTURE(cc.kh);
        CAPTURE(cc.sh);
        CAPTURE(cc.dh);
        CAPTURE(cc.groups);
        const std::size_t full = snn_test::conv2d_workspace_bytes_cuda<T>(s, 0);
        // Whole batch; two images per chunk (a shorter last chunk when the batch is odd); one
        // image per chunk (the minimum); one byte short of the whole batch (batch - 1 images).
        const std::size_t workspaces[] = {full, snn_test::conv2d_workspace_bytes_cuda<T>(s, 2), snn_test::conv2d_workspace_bytes_cuda<T>(s, 1), full - 1};
        for (const std::size_t workspace : workspaces)
            for (const bool with_bias : {false, true}) {
                const bool accumulate = with_bias;  // both modes, each with and without bias across the cases' workspaces
                CAPTURE(workspace);
                CAPTURE(with_bias);
                const auto want = run_conv<T>(s, with_bias, accumulate, false, 0);
                const auto got = run_conv<T>(s, with_bias, accumulate, true, workspace);
                check_conv_close(got, want, s, rel);
            }
    }
}

TEST_CASE("conv2d with TF32 math stays within TF32 rounding of float32") {
    const auto s = conv_shape_of({8, 16, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1});
    const auto want = run_conv<float>(s, true, false, false, 0);
    const auto got = run_conv<float>(s, true, false, true, snn_test::conv2d_workspace_bytes_cuda<float>(s, 3), true);
    // 10-bit mantissa inputs: ~5e-4 relative per product, a random walk over the terms.
    check_conv_close(got, want, s, 5e-3);
}

TEST_CASE_TEMPLATE("conv2d on CUDA is deterministic: two runs give the same bits", T, float, double) {
    const auto s = conv_shape_of({7, 16, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2});
    for (const std::int64_t images : {0, 3}) {
        CAPTURE(images);
        const std::size_t workspace = snn_test::conv2d_workspace_bytes_cuda<T>(s, images);
        const auto first = run_conv<T>(s, true, true, true, workspace);
        const auto second = run_conv<T>(s, true, true, true, workspace);
        check_equal_bits(second.y, first.y, "y");
        check_equal_bits(second.grad_x, first.grad_x, "grad_x");
        check_equal_bits(second.grad_weight, first.grad_weight, "grad_weight");
        check_equal_bits(second.grad_bias, first.grad_bias, "grad_bias");
    }
}

TEST_CASE("conv2d on CUDA gives each gradient alone as in the full backward") {
    // Only the requested outputs are written and their workspace is smaller: grad_bias alone
    // needs no column matrix, grad_x alone no permuted grad_y.
    const auto s = conv_shape_of({5, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1});
    const auto full = run_conv<double>(s, true, false, false, 0);
    const auto x = random_values<double>(s.batch * s.in_channels * s.in_height * s.in_width, 31);
    const auto w = random_values<double>(s.weight_size(), 32);
    const auto gy = random_values<double>(s.batch * s.out_channels * s.out_height() * s.out_width(), 34);
    const std::size_t min_bytes = snn_test::conv2d_workspace_bytes_cuda<double>(s, 1);
    for (int which = 0; which < 3; ++which) {
        CAPTURE(which);
        std::vector<double> out(which == 0 ? full.grad_x.size() : which == 1 ? full.grad_weight.size() : full.grad_bias.size());
        snn::synapse::conv2d_backward_args<double> bw;
        bw.shape = s;
        bw.grad_y = gy.data();
        bw.x = which == 1 ? x.data() : nullptr;
        bw.weight = which == 0 ? w.data() : nullptr;
        (which == 0 ? bw.grad_x : which == 1 ? bw.grad_weight : bw.grad_bias) = out.data();
        snn_test::conv2d_backward_cuda(bw, min_bytes);
        check_close(out, which == 0 ? full.grad_x : which == 1 ? full.grad_weight : full.grad_bias, 1e-12, 8.0, "gradient alone");
    }
}

TEST_CASE("CUDA conv2d rejects bad arguments before launching") {
    auto thrown_argument = [](auto&& call) -> std::string {
        try {
            call();
        } catch (const snn::invalid_argument& e) {
            return e.argument();
        }
        return "(nothing thrown)";
    };
    const auto s = conv_shape_of({2, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2});
    std::vector<float> buf(4096);
    snn::synapse::conv2d_forward_args<float> f;
    f.shape = s;
    f.x = buf.data();
    f.weight = buf.data();
    f.y = buf.data();
    const std::size_t min_bytes = snn_test::conv2d_workspace_bytes_cuda<float>(s, 1);
    // Forward needs only the column region: less than that for one image is too little.
    CHECK(thrown_argument([&] { snn_test::conv2d_forward_cuda(f, 0); }) == "workspace_bytes");
    CHECK(thrown_argument([&] { snn_test::conv2d_forward_cuda(f, 100); }) == "workspace_bytes");
    snn::synapse::conv2d_backward_args<float> b;
    b.shape = s;
    b.grad_y = buf.data();
    b.x = buf.data();
    b.weight = buf.data();
    b.grad_x = buf.data();
    b.grad_weight = buf.data();
    b.grad_bias = buf.data();
    CHECK(thrown_argument([&] { snn_test::conv2d_backward_cuda(b, min_bytes - 1); }) == "workspace_bytes");
    auto no_x = f;
    no_x.x = nullptr;
    CHECK(thrown_argument([&] { snn_test::conv2d_forward_cuda(no_x, min_bytes); }) == "x");
    auto bad_groups = f;
    bad_groups.shape.groups = 3;
    CHECK(thrown_argument([&] { snn_test::conv2d_forward_cuda(bad_groups, min_bytes); }) == "groups");
    auto nothing = b;
    nothing.grad_x = nullptr;
    nothing.grad_weight = nullptr;
    nothing.grad_bias = nullptr;
    CHECK(thrown_argument([&] { snn_test::conv2d_backward_cuda(nothing, min_bytes); }) == "grad_x");
    auto no_weight = b;
    no_weight.weight = nullptr;
    CHECK(thrown_argument([&] { snn_test::conv2d_backward_cuda(no_weight, min_bytes); }) == "weight");
    CHECK(thrown_argument([&] { snn_test::conv2d_workspace_bytes_cuda<float>(s, -1); }) == "images_per_chunk");
    auto too_big_kernel = s;
    too_big_kernel.kernel_h = 9;
    CHECK(thrown_argument([&] { snn_test::conv2d_workspace_bytes_cuda<float>(too_big_kernel, 0); }) == "kernel_h");
}
