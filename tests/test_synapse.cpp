// Synapse ops (dense, spike-input dense, conv2d, pool2d, batch norm, folding): hand-computed
// forwards, torch semantics (pool padding, BN statistics and running update), gradients
// against central finite differences in double, bad input, and a tiny training run
// (dense -> LIF -> dense) whose loss must fall.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "snn/cpu/multistep.hpp"
#include "snn/synapse/cpu.hpp"

using namespace snn;

namespace {

std::vector<double> random_vector(std::size_t n, std::uint32_t seed, double lo = -1.0, double hi = 1.0) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(n);
    for (auto& e : v) e = dist(gen);
    return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

/// Checks `analytic` = d(sum(forward() * weights))/d(param) by central differences, perturbing
/// `param` in place (restored afterwards).
void check_gradient(const char* what, std::vector<double>& param, const std::vector<double>& analytic,
                    const std::function<std::vector<double>()>& forward, const std::vector<double>& weights) {
    REQUIRE(param.size() == analytic.size());
    const double h = 1e-6;
    for (std::size_t i = 0; i < param.size(); ++i) {
        const double saved = param[i];
        param[i] = saved + h;
        const double up = dot(forward(), weights);
        param[i] = saved - h;
        const double down = dot(forward(), weights);
        param[i] = saved;
        const double numeric = (up - down) / (2 * h);
        INFO(what << "[" << i << "] analytic " << analytic[i] << " numeric " << numeric);
        CHECK(std::abs(analytic[i] - numeric) <= 1e-6 * std::max(1.0, std::abs(numeric)));
    }
}

template <class F>
void expect_invalid(F&& f, const std::string& argument) {
    try {
        f();
        FAIL("expected snn::invalid_argument naming " << argument);
    } catch (const snn::invalid_argument& e) {
        CHECK(e.argument() == argument);
    }
}

}  // namespace

// ------------------------------------------------------------------------------------------
// dense
// ------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("dense forward matches a hand-computed case", T, float, double) {
    const std::vector<T> x = {1, 2, 3, -1, 0, 2};  // [M=2, K=3]
    const std::vector<T> w = {1, 0, -1, 2, 1, 0.5};  // [O=2, K=3]
    const std::vector<T> b = {0.5, -1};
    std::vector<T> y(4);
    synapse::dense_forward_args<T> a;
    a.rows = 2;
    a.in_features = 3;
    a.out_features = 2;
    a.x = x.data();
    a.weight = w.data();
    a.bias = b.data();
    a.y = y.data();
    cpu::dense_forward(a);
    // row 0: 1-3+0.5 = -1.5, 2+2+1.5-1 = 4.5; row 1: -1-2+0.5 = -2.5, -2+0+1-1 = -2
    CHECK(y == std::vector<T>{-1.5, 4.5, -2.5, -2});
    a.bias = nullptr;
    cpu::dense_forward(a);
    CHECK(y == std::vector<T>{-2, 5.5, -3, -1});
}

TEST_CASE("dense gradients match finite differences") {
    const std::int64_t M = 5, K = 4, O = 3;
    auto x = random_vector(M * K, 1), w = random_vector(O * K, 2), b = random_vector(O, 3), r = random_vector(M * O, 4);
    auto forward = [&] {
        std::vector<double> y(M * O);
        synapse::dense_forward_args<double> a;
        a.rows = M, a.in_features = K, a.out_features = O;
        a.x = x.data(), a.weight = w.data(), a.bias = b.data(), a.y = y.data();
        cpu::dense_forward(a);
        return y;
    };
    std::vector<double> gx(M * K), gw(O * K), gb(O);
    synapse::dense_backward_args<double> g;
    g.rows = M, g.in_features = K, g.out_features = O;
    g.grad_y = r.data(), g.x = x.data(), g.weight = w.data();
    g.grad_x = gx.data(), g.grad_weight = gw.data(), g.grad_bias = gb.data();
    cpu::dense_backward(g);
    check_gradient("x", x, gx, forward, r);
    check_gradient("weight", w, gw, forward, r);
    check_gradient("bias", b, gb, forward, r);

    // accumulate adds into the existing gradients.
    const auto gw1 = gw, gb1 = gb;
    g.accumulate = true;
    g.grad_x = nullptr;
    cpu::dense_backward(g);
    for (std::size_t i = 0; i < gw.size(); ++i) CHECK(gw[i] == doctest::Approx(2 * gw1[i]));
    for (std::size_t i = 0; i < gb.size(); ++i) CHECK(gb[i] == doctest::Approx(2 * gb1[i]));
}

TEST_CASE_TEMPLATE("dense with the in_out weight layout equals out_in on the transposed weight", T, float, double) {
    const std::int64_t M = 37, K = 70, O = 23;
    const auto xd = random_vector(M * K, 11), wd = random_vector(O * K, 12), bd = random_vector(O, 13), gd = random_vector(M * O, 14);
    const std::vector<T> x(xd.begin(), xd.end()), w(wd.begin(), wd.end()), b(bd.begin(), bd.end()), gy(gd.begin(), gd.end());
    const auto wt = synapse::transpose_weight(w.data(), O, K);  // [K, O]
    // Same products, possibly another summation order inside Eigen: equal to rounding.
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    auto check_near = [&](const char* what, const std::vector<T>& got, const std::vector<T>& want) {
        REQUIRE(got.size() == want.size());
        std::size_t bad = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
            if (!(std::abs(double(got[i]) - double(want[i])) <= tol * (1.0 + std::abs(double(want[i]))))) ++bad;
        INFO(what << ": " << bad << " of " << got.size() << " differ");
        CHECK(bad == 0);
    };
    for (const int threads : {1, 3}) {
        CAPTURE(threads);
        const cpu::execution exec{threads};
        std::vector<T> y_ref(M * O), y(M * O);
        synapse::dense_forward_args<T> f;
        f.rows = M, f.in_features = K, f.out_features = O;
        f.x = x.data(), f.weight = w.data(), f.bias = b.data(), f.y = y_ref.data();
        cpu::dense_forward(f, exec);
        f.layout = synapse::weight_layout::in_out;
        f.weight = wt.data();
        f.y = y.data();
        cpu::dense_forward(f, exec);
        check_near("y", y, y_ref);

        for (const bool accumulate : {false, true}) {
            CAPTURE(accumulate);
            // Accumulating starts from the same (transposed) gradients in both layouts.
            const auto gw0d = random_vector(O * K, 15), gb0d = random_vector(O, 16);
            std::vector<T> gw_ref(gw0d.begin(), gw0d.end()), gb_ref(gb0d.begin(), gb0d.end()), gb(gb_ref);
            std::vector<T> gw = synapse::transpose_weight(gw_ref.data(), O, K);
            std::vector<T> gx_ref(M * K), gx(M * K);
            synapse::dense_backward_args<T> g;
            g.rows = M, g.in_features = K, g.out_features = O;
            g.grad_y = gy.data(), g.x = x.data(), g.weight = w.data(), g.accumulate = accumulate;
            g.grad_x = gx_ref.data(), g.grad_weight = gw_ref.data(), g.grad_bias = gb_ref.data();
            cpu::dense_backward(g, exec);
            g.layout = synapse::weight_layout::in_out;
            g.weight = wt.data();
            g.grad_x = gx.data(), g.grad_weight = gw.data(), g.grad_bias = gb.data();
            cpu::dense_backward(g, exec);
            check_near("grad_x", gx, gx_ref);
            check_near("grad_weight [K, O]", gw, synapse::transpose_weight(gw_ref.data(), O, K));
            check_near("grad_bias", gb, gb_ref);

            // Each gradient alone: the in_out weight gradient and the bias run in separate loops.
            std::vector<T> gw_alone(gw0d.begin(), gw0d.end()), gb_alone(gb0d.begin(), gb0d.end());
            gw_alone = synapse::transpose_weight(gw_alone.data(), O, K);
            g.grad_x = nullptr, g.grad_bias = nullptr, g.grad_weight = gw_alone.data();
            cpu::dense_backward(g, exec);
            CHECK(gw_alone == gw);
            g.grad_weight = nullptr, g.grad_bias = gb_alone.data();
            cpu::dense_backward(g, exec);
            CHECK(gb_alone == gb);
        }
    }
}

TEST_CASE_TEMPLATE("dense spike input (bytes and bit-packed) equals the dense GEMM on 0/1 input", T, float, double) {
    const std::int64_t M = 7, K = 70, O = 9;  // K not a multiple of 32: a partial last word
    const std::int64_t words = (K + 31) / 32;
    std::mt19937 gen(5);
    std::bernoulli_distribution fire(0.3);
    std::vector<std::uint8_t> spikes(M * K);
    std::vector<std::uint32_t> bits(M * words, 0);
    std::vector<T> x01(M * K);
    for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t k = 0; k < K; ++k) {
            const bool s = fire(gen);
            spikes[m * K + k] = s ? 1 : 0;
            x01[m * K + k] = s ? T(1) : T(0);
            if (s) bits[m * words + k / 32] |= std::uint32_t{1} << (k % 32);
        }
    for (std::int64_t m = 0; m < M; ++m) bits[m * words + words - 1] |= 0xFFFFFFC0u;  // garbage past K is ignored
    const auto wd = random_vector(O * K, 6), bd = random_vector(O, 7);
    const std::vector<T> w(wd.begin(), wd.end()), b(bd.begin(), bd.end());

    std::vector<T> y_dense(M * O), y_bytes(M * O), y_bits(M * O);
    synapse::dense_forward_args<T> d;
    d.rows = M, d.in_features = K, d.out_features = O;
    d.x = x01.data(), d.weight = w.data(), d.bias = b.data(), d.y = y_dense.data();
    cpu::dense_forward(d);

    const auto wt = synapse::transpose_weight(w.data(), O, K);
    synapse::dense_spike_forward_args<T> s;
    s.rows = M, s.in_features = K, s.out_features = O;
    s.spikes = spikes.data(), s.weight_t = wt.data(), s.bias = b.data(), s.y = y_bytes.data();
    cpu::dense_spike_forward(s);
    s.spikes = nullptr;
    s.spike_bits = bits.data();
    s.y = y_bits.data();
    cpu::dense_spike_forward(s, cpu::execution{2});
    // Same terms, different summation order than the GEMM: equal to rounding.
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t i = 0; i < y_dense.size(); ++i) {
        CHECK(std::abs(double(y_bytes[i]) - double(y_dense[i])) <= tol * 10);
        CHECK(y_bits[i] == y_bytes[i]);  // same accumulation order: bit-identical
    }
}

// ------------------------------------------------------------------------------------------
// conv2d
// ------------------------------------------------------------------------------------------

namespace {

/// Direct 6-loop convolution, the reference for the im2col path.
std::vector<double> naive_conv(const synapse::conv2d_shape& s, const std::vector<double>& x, const std::vector<double>& w,
                               const double* bias) {
    const std::int64_t Ho = s.out_height(), Wo = s.out_width(), Cg = s.in_channels / s.groups, Fg = s.out_channels / s.groups;
    std::vector<double> y(s.batch * s.out_channels * Ho * Wo, 0.0);
    for (std::int64_t b = 0; b < s.batch; ++b)
        for (std::int64_t f = 0; f < s.out_channels; ++f)
            for (std::int64_t oh = 0; oh < Ho; ++oh)
                for (std::int64_t ow = 0; ow < Wo; ++ow) {
                    double acc = bias != nullptr ? bias[f] : 0.0;
                    const std::int64_t grp = f / Fg;
                    for (std::int64_t c = 0; c < Cg; ++c)
                        for (std::int64_t i = 0; i < s.kernel_h; ++i)
                            for (std::int64_t j = 0; j < s.kernel_w; ++j) {
                                const std::int64_t ih = oh * s.stride_h - s.pad_h + i * s.dilation_h;
                                const std::int64_t iw = ow * s.stride_w - s.pad_w + j * s.dilation_w;
                                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                                acc += w[((f * Cg + c) * s.kernel_h + i) * s.kernel_w + j] *
                                       x[((b * s.in_channels + grp * Cg + c) * s.in_height + ih) * s.in_width + iw];
                            }
                    y[((b * s.out_channels + f) * Ho + oh) * Wo + ow] = acc;
                }
    return y;
}

synapse::conv2d_shape mixed_conv_shape() {
    synapse::conv2d_shape s;
    s.batch = 3, s.in_channels = 4, s.in_height = 5, s.in_width = 6, s.out_channels = 6;
    s.kernel_h = 3, s.kernel_w = 2;
    s.stride_h = 2, s.stride_w = 1;
    s.pad_h = 1, s.pad_w = 1;
    s.dilation_h = 1, s.dilation_w = 2;
    s.groups = 2;
    return s;
}

}  // namespace

TEST_CASE_TEMPLATE("conv2d forward matches hand-computed cases", T, float, double) {
    // 1x1x3x3 input 1..9, 2x2 kernel of ones: window sums.
    synapse::conv2d_shape s;
    s.batch = 1, s.in_channels = 1, s.in_height = 3, s.in_width = 3, s.out_channels = 1, s.kernel_h = 2, s.kernel_w = 2;
    std::vector<T> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 1, 1, 1}, y(4);
    T bias = 10;
    synapse::conv2d_forward_args<T> a;
    a.shape = s, a.x = x.data(), a.weight = w.data(), a.bias = &bias, a.y = y.data();
    cpu::conv2d_forward(a);
    CHECK(y == std::vector<T>{22, 26, 34, 38});

    // Padding 1, stride 2 (output 2x2): corners of the zero-padded input.
    a.shape.pad_h = a.shape.pad_w = 1;
    a.shape.stride_h = a.shape.stride_w = 2;
    a.bias = nullptr;
    REQUIRE(a.shape.out_height() == 2);
    cpu::conv2d_forward(a);
    CHECK(y == std::vector<T>{1, 5, 11, 28});  // {1}, {2,3}, {4,7}, {5,6,8,9}

    // groups = channels with a 1x1 kernel: per-channel scaling.
    synapse::conv2d_shape g;
    g.batch = 1, g.in_channels = 2, g.in_height = 1, g.in_width = 2, g.out_channels = 2, g.kernel_h = 1, g.kernel_w = 1, g.groups = 2;
    std::vector<T> gx = {1, 2, 3, 4}, gw = {2, -1}, gy(4);
    synapse::conv2d_forward_args<T> ga;
    ga.shape = g, ga.x = gx.data(), ga.weight = gw.data(), ga.y = gy.data();
    cpu::conv2d_forward(ga);
    CHECK(gy == std::vector<T>{2, 4, -3, -4});
}

TEST_CASE("conv2d with stride, padding, dilation and groups equals a direct convolution") {
    const auto s = mixed_conv_shape();
    const auto x = random_vector(s.batch * s.in_channels * s.in_height * s.in_width, 11);
    const auto w = random_vector(s.weight_size(), 12), b = random_vector(s.out_channels, 13);
    std::vector<double> y(s.batch * s.out_channels * s.out_height() * s.out_width());
    synapse::conv2d_forward_args<double> a;
    a.shape = s, a.x = x.data(), a.weight = w.data(), a.bias = b.data(), a.y = y.data();
    cpu::conv2d_forward(a, cpu::execution{2});
    const auto ref = naive_conv(s, x, w, b.data());
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(ref[i]).epsilon(1e-12));
}

TEST_CASE("conv2d gradients match finite differences (stride, padding, dilation, groups)") {
    const auto s = mixed_conv_shape();
    auto x = random_vector(s.batch * s.in_channels * s.in_height * s.in_width, 21);
    auto w = random_vector(s.weight_size(), 22), b = random_vector(s.out_channels, 23);
    const std::int64_t ysize = s.batch * s.out_channels * s.out_height() * s.out_width();
    const auto r = random_vector(ysize, 24);
    auto forward = [&] {
        std::vector<double> y(ysize);
        synapse::conv2d_forward_args<double> a;
        a.shape = s, a.x = x.data(), a.weight = w.data(), a.bias = b.data(), a.y = y.data();
        cpu::conv2d_forward(a);
        return y;
    };
    std::vector<double> gx(x.size()), gw(w.size()), gb(b.size());
    synapse::conv2d_backward_args<double> g;
    g.shape = s, g.grad_y = r.data(), g.x = x.data(), g.weight = w.data();
    g.grad_x = gx.data(), g.grad_weight = gw.data(), g.grad_bias = gb.data();
    cpu::conv2d_backward(g);
    check_gradient("x", x, gx, forward, r);
    check_gradient("weight", w, gw, forward, r);
    check_gradient("bias", b, gb, forward, r);

    // The dW / db reduction order is fixed: any thread count gives identical bits.
    std::vector<double> gx2(x.size()), gw2(w.size()), gb2(b.size());
    g.grad_x = gx2.data(), g.grad_weight = gw2.data(), g.grad_bias = gb2.data();
    cpu::conv2d_backward(g, cpu::execution{2});
    CHECK(gx2 == gx);
    CHECK(gw2 == gw);
    CHECK(gb2 == gb);
}

// ------------------------------------------------------------------------------------------
// pool2d
// ------------------------------------------------------------------------------------------

namespace {

synapse::pool2d_shape pool_shape_4x4() {
    synapse::pool2d_shape s;
    s.batch = 1, s.channels = 1, s.in_height = 4, s.in_width = 4;
    s.kernel_h = s.kernel_w = 3;
    s.stride_h = s.stride_w = 2;
    s.pad_h = s.pad_w = 1;
    return s;
}

template <class T>
std::vector<T> run_pool(const synapse::pool2d_shape& s, synapse::pool_kind kind, const std::vector<T>& x, bool count_include_pad = true,
                        std::vector<std::int64_t>* indices = nullptr) {
    std::vector<T> y(s.batch * s.channels * s.out_height() * s.out_width());
    synapse::pool2d_forward_args<T> a;
    a.shape = s, a.kind = kind, a.count_include_pad = count_include_pad, a.x = x.data(), a.y = y.data();
    if (indices != nullptr) {
        indices->assign(y.size(), -1);
        a.indices = indices->data();
    }
    cpu::pool2d_forward(a);
    return y;
}

}  // namespace

TEST_CASE_TEMPLATE("pool2d padding follows torch (-inf for max, zeros and divisor rules for avg)", T, float, double) {
    const auto s = pool_shape_4x4();  // kernel 3, stride 2, padding 1: output 2x2
    REQUIRE(s.out_height() == 2);
    std::vector<T> x(16);
    for (int i = 0; i < 16; ++i) x[i] = T(i);  // x[h][w] = 4h + w
    std::vector<std::int64_t> idx;
    // Windows: rows {0,1} / {1,2,3}, cols {0,1} / {1,2,3} of the real input.
    CHECK(run_pool<T>(s, synapse::pool_kind::max, x, true, &idx) == std::vector<T>{5, 7, 13, 15});
    CHECK(idx == std::vector<std::int64_t>{5, 7, 13, 15});
    CHECK(run_pool<T>(s, synapse::pool_kind::sum, x) == std::vector<T>{10, 24, 51, 90});
    // count_include_pad=True (torch's default): divide by 9 even at the border.
    const auto avg = run_pool<T>(s, synapse::pool_kind::avg, x);
    CHECK(avg[0] == doctest::Approx(10.0 / 9));
    CHECK(avg[3] == doctest::Approx(90.0 / 9));
    const auto avg_valid = run_pool<T>(s, synapse::pool_kind::avg, x, false);
    CHECK(avg_valid == std::vector<T>{T(10.0 / 4), T(24.0 / 6), T(51.0 / 6), T(90.0 / 9)});

    // All-negative input: padding must not win the max (torch pads max with -inf).
    for (auto& v : x) v = -v - 1;
    CHECK(run_pool<T>(s, synapse::pool_kind::max, x, true, &idx) == std::vector<T>{-1, -2, -5, -6});
    CHECK(idx == std::vector<std::int64_t>{0, 1, 4, 5});

    // Ties: the first element in scan order wins; NaN propagates.
    std::fill(x.begin(), x.end(), T(3));
    run_pool<T>(s, synapse::pool_kind::max, x, true, &idx);
    CHECK(idx == std::vector<std::int64_t>{0, 1, 4, 5});
    x[6] = std::numeric_limits<T>::quiet_NaN();
    const auto with_nan = run_pool<T>(s, synapse::pool_kind::max, x, true, &idx);
    CHECK(std::isnan(with_nan[1]));
    CHECK(idx[1] == 6);

    // stride 0 means the kernel size (torch's stride=None).
    synapse::pool2d_shape d;
    d.batch = 1, d.channels = 1, d.in_height = 4, d.in_width = 4, d.kernel_h = d.kernel_w = 2;
    for (int i = 0; i < 16; ++i) x[i] = T(i);
    CHECK(run_pool<T>(d, synapse::pool_kind::max, x) == std::vector<T>{5, 7, 13, 15});
}

TEST_CASE("pool2d gradients match finite differences") {
    synapse::pool2d_shape s;
    s.batch = 2, s.channels = 3, s.in_height = 5, s.in_width = 6;
    s.kernel_h = 3, s.kernel_w = 2, s.stride_h = 2, s.stride_w = 2, s.pad_h = 1, s.pad_w = 1;
    auto x = random_vector(s.batch * s.channels * s.in_height * s.in_width, 31);
    const auto r = random_vector(s.batch * s.channels * s.out_height() * s.out_width(), 32);
    for (auto kind : {synapse::pool_kind::max, synapse::pool_kind::avg, synapse::pool_kind::sum})
        for (bool include_pad : {true, false}) {
            std::vector<std::int64_t> idx;
            run_pool<double>(s, kind, x, include_pad, kind == synapse::pool_kind::max ? &idx : nullptr);
            std::vector<double> gx(x.size());
            synapse::pool2d_backward_args<double> g;
            g.shape = s, g.kind = kind, g.count_include_pad = include_pad, g.grad_y = r.data(), g.grad_x = gx.data();
            if (kind == synapse::pool_kind::max) g.indices = idx.data();
            cpu::pool2d_backward(g);
            auto forward = [&] { return run_pool<double>(s, kind, x, include_pad); };
            check_gradient("x", x, gx, forward, r);
        }
}

// ------------------------------------------------------------------------------------------
// batch norm
// ------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("batch norm training statistics and running update follow torch", T, float, double) {
    // [B=2, C=1, S=2]: x = 1, 2 | 3, 4: mean 2.5, biased var 1.25, unbiased 5/3.
    const std::vector<T> x = {1, 2, 3, 4};
    std::vector<T> y(4), rm = {0}, rv = {1}, mean(1), invstd(1);
    const T gamma = 2, beta = 0.5;
    synapse::batch_norm_forward_args<T> a;
    a.batch = 2, a.channels = 1, a.spatial = 2;
    a.x = x.data(), a.gamma = &gamma, a.beta = &beta, a.running_mean = rm.data(), a.running_var = rv.data();
    a.y = y.data(), a.saved_mean = mean.data(), a.saved_invstd = invstd.data();
    cpu::batch_norm_forward(a);
    const double is = 1.0 / std::sqrt(1.25 + 1e-5);
    CHECK(mean[0] == doctest::Approx(2.5));
    CHECK(invstd[0] == doctest::Approx(is));
    for (int i = 0; i < 4; ++i) CHECK(y[i] == doctest::Approx((x[i] - 2.5) * is * 2 + 0.5));
    CHECK(rm[0] == doctest::Approx(0.25));                 // 0.9 * 0 + 0.1 * 2.5
    CHECK(rv[0] == doctest::Approx(0.9 + 0.1 * 5.0 / 3));  // unbiased variance in the running update

    // Inference uses the running statistics and leaves them alone.
    a.training = false;
    cpu::batch_norm_forward(a);
    const double is_run = 1.0 / std::sqrt(double(rv[0]) + 1e-5);
    for (int i = 0; i < 4; ++i) CHECK(y[i] == doctest::Approx((x[i] - double(rm[0])) * is_run * 2 + 0.5));
    CHECK(rm[0] == doctest::Approx(0.25));

    // BatchNorm1d on [B, C] (S = 1), no affine: per-column standardisation.
    const std::vector<T> x1 = {1, 10, 3, 30};  // [B=2, C=2]
    std::vector<T> y1(4);
    synapse::batch_norm_forward_args<T> b;
    b.batch = 2, b.channels = 2, b.spatial = 1, b.x = x1.data(), b.y = y1.data();
    cpu::batch_norm_forward(b);
    const double e = 1.0 / std::sqrt(1.0 + 1e-5);  // channel 0: mean 2, var 1; channel 1: mean 20, var 100
    CHECK(y1[0] == doctest::Approx(-e));
    CHECK(y1[2] == doctest::Approx(e));
    CHECK(y1[1] == doctest::Approx(-10.0 / std::sqrt(100.0 + 1e-5)));
}

TEST_CASE("batch norm gradients match finite differences (training and inference)") {
    const std::int64_t B = 3, C = 2, S = 4;
    auto x = random_vector(B * C * S, 41, -2, 2), gamma = random_vector(C, 42, 0.5, 1.5), beta = random_vector(C, 43);
    auto rm = random_vector(C, 44), rv = random_vector(C, 45, 0.5, 2.0);
    const auto r = random_vector(B * C * S, 46);
    for (bool training : {true, false}) {
        auto forward = [&] {
            std::vector<double> y(B * C * S);
            synapse::batch_norm_forward_args<double> a;
            a.batch = B, a.channels = C, a.spatial = S, a.training = training;
            a.x = x.data(), a.gamma = gamma.data(), a.beta = beta.data(), a.y = y.data();
            if (!training) a.running_mean = rm.data(), a.running_var = rv.data();
            cpu::batch_norm_forward(a);
            return y;
        };
        std::vector<double> y(B * C * S), mean(C), invstd(C);
        synapse::batch_norm_forward_args<double> a;
        a.batch = B, a.channels = C, a.spatial = S, a.training = training;
        a.x = x.data(), a.gamma = gamma.data(), a.beta = beta.data(), a.y = y.data();
        if (training) a.saved_mean = mean.data(), a.saved_invstd = invstd.data();
        else a.running_mean = rm.data(), a.running_var = rv.data();
        cpu::batch_norm_forward(a);

        std::vector<double> gx(x.size()), gg(C), gb(C);
        synapse::batch_norm_backward_args<double> g;
        g.batch = B, g.channels = C, g.spatial = S, g.training = training;
        g.grad_y = r.data(), g.x = x.data(), g.gamma = gamma.data();
        g.saved_mean = mean.data(), g.saved_invstd = invstd.data(), g.running_mean = rm.data(), g.running_var = rv.data();
        g.grad_x = gx.data(), g.grad_gamma = gg.data(), g.grad_beta = gb.data();
        cpu::batch_norm_backward(g, cpu::execution{2});
        INFO("training " << training);
        check_gradient("x", x, gx, forward, r);
        check_gradient("gamma", gamma, gg, forward, r);
        check_gradient("beta", beta, gb, forward, r);
    }
}

TEST_CASE("folding an inference batch norm into conv2d and dense equals the unfolded pair") {
    auto s = mixed_conv_shape();
    const auto x = random_vector(s.batch * s.in_channels * s.in_height * s.in_width, 51);
    const auto w = random_vector(s.weight_size(), 52), b = random_vector(s.out_channels, 53);
    const auto gamma = random_vector(s.out_channels, 54, 0.5, 1.5), beta = random_vector(s.out_channels, 55);
    const auto rm = random_vector(s.out_channels, 56), rv = random_vector(s.out_channels, 57, 0.3, 2.0);
    const std::int64_t pixels = s.out_height() * s.out_width();
    const std::int64_t ysize = s.batch * s.out_channels * pixels;

    for (bool with_bias : {true, false}) {
        std::vector<double> conv_y(ysize), bn_y(ysize), folded_y(ysize);
        synapse::conv2d_forward_args<double> c;
        c.shape = s, c.x = x.data(), c.weight = w.data(), c.bias = with_bias ? b.data() : nullptr, c.y = conv_y.data();
        cpu::conv2d_forward(c);
        synapse::batch_norm_forward_args<double> n;
        n.batch = s.batch, n.channels = s.out_channels, n.spatial = pixels, n.training = false;
        n.x = conv_y.data(), n.gamma = gamma.data(), n.beta = beta.data();
        n.running_mean = const_cast<double*>(rm.data()), n.running_var = const_cast<double*>(rv.data()), n.y = bn_y.data();
        cpu::batch_norm_forward(n);

        const auto folded = synapse::fold_batch_norm(w.data(), c.bias, s.out_channels, s.weight_size() / s.out_channels, gamma.data(),
                                                     beta.data(), rm.data(), rv.data());
        c.weight = folded.weight.data(), c.bias = folded.bias.data(), c.y = folded_y.data();
        cpu::conv2d_forward(c);
        for (std::int64_t i = 0; i < ysize; ++i) CHECK(folded_y[i] == doctest::Approx(bn_y[i]).epsilon(1e-12));
    }

    // Dense + BatchNorm1d.
    const std::int64_t M = 4, K = 5, O = 3;
    const auto dx = random_vector(M * K, 61), dw = random_vector(O * K, 62), db = random_vector(O, 63);
    std::vector<double> lin(M * O), bn(M * O), fold_y(M * O);
    synapse::dense_forward_args<double> d;
    d.rows = M, d.in_features = K, d.out_features = O, d.x = dx.data(), d.weight = dw.data(), d.bias = db.data(), d.y = lin.data();
    cpu::dense_forward(d);
    synapse::batch_norm_forward_args<double> n;
    n.batch = M, n.channels = O, n.spatial = 1, n.training = false, n.x = lin.data(), n.y = bn.data();
    n.gamma = gamma.data(), n.beta = beta.data();
    n.running_mean = const_cast<double*>(rm.data()), n.running_var = const_cast<double*>(rv.data());
    cpu::batch_norm_forward(n);
    const auto folded = synapse::fold_batch_norm(dw.data(), db.data(), O, K, gamma.data(), beta.data(), rm.data(), rv.data());
    d.weight = folded.weight.data(), d.bias = folded.bias.data(), d.y = fold_y.data();
    cpu::dense_forward(d);
    for (std::int64_t i = 0; i < M * O; ++i) CHECK(fold_y[i] == doctest::Approx(bn[i]).epsilon(1e-12));
}

// ------------------------------------------------------------------------------------------
// float32: every op's forward and backward agree with float64 to float rounding
// ------------------------------------------------------------------------------------------

namespace {

void check_close(const char* what, const std::vector<float>& f, const std::vector<double>& d) {
    REQUIRE(f.size() == d.size());
    for (std::size_t i = 0; i < f.size(); ++i) {
        INFO(what << "[" << i << "] float " << f[i] << " double " << d[i]);
        CHECK(std::abs(double(f[i]) - d[i]) <= 1e-4 * std::max(1.0, std::abs(d[i])));
    }
}

}  // namespace

TEST_CASE("float32 forward and backward of conv2d, pool2d and batch norm agree with float64") {
    const auto s = mixed_conv_shape();
    const auto x = random_vector(s.batch * s.in_channels * s.in_height * s.in_width, 81);
    const auto w = random_vector(s.weight_size(), 82), b = random_vector(s.out_channels, 83);
    const std::int64_t ysize = s.batch * s.out_channels * s.out_height() * s.out_width();
    const auto r = random_vector(ysize, 84);
    auto conv = [&](auto zero) {
        using T = decltype(zero);
        const std::vector<T> xt(x.begin(), x.end()), wt(w.begin(), w.end()), bt(b.begin(), b.end()), rt(r.begin(), r.end());
        std::vector<T> y(ysize), gx(x.size()), gw(w.size()), gb(b.size());
        synapse::conv2d_forward_args<T> a;
        a.shape = s, a.x = xt.data(), a.weight = wt.data(), a.bias = bt.data(), a.y = y.data();
        cpu::conv2d_forward(a);
        synapse::conv2d_backward_args<T> g;
        g.shape = s, g.grad_y = rt.data(), g.x = xt.data(), g.weight = wt.data(), g.grad_x = gx.data(), g.grad_weight = gw.data(), g.grad_bias = gb.data();
        cpu::conv2d_backward(g);
        return std::vector<std::vector<T>>{y, gx, gw, gb};
    };
    const auto cf = conv(0.0f);
    const auto cd = conv(0.0);
    for (std::size_t k = 0; k < cf.size(); ++k) check_close("conv2d", cf[k], cd[k]);

    synapse::pool2d_shape ps;
    ps.batch = 2, ps.channels = 3, ps.in_height = 5, ps.in_width = 6, ps.kernel_h = ps.kernel_w = 3, ps.stride_h = ps.stride_w = 2, ps.pad_h = ps.pad_w = 1;
    const auto px = random_vector(ps.batch * ps.channels * ps.in_height * ps.in_width, 85);
    const auto pr = random_vector(ps.batch * ps.channels * ps.out_height() * ps.out_width(), 86);
    for (auto kind : {synapse::pool_kind::max, synapse::pool_kind::avg, synapse::pool_kind::sum}) {
        auto pool = [&](auto zero) {
            using T = decltype(zero);
            const std::vector<T> xt(px.begin(), px.end()), rt(pr.begin(), pr.end());
            std::vector<std::int64_t> idx;
            const auto y = run_pool<T>(ps, kind, xt, true, kind == synapse::pool_kind::max ? &idx : nullptr);
            std::vector<T> gx(xt.size());
            synapse::pool2d_backward_args<T> g;
            g.shape = ps, g.kind = kind, g.grad_y = rt.data(), g.grad_x = gx.data(), g.indices = kind == synapse::pool_kind::max ? idx.data() : nullptr;
            cpu::pool2d_backward(g);
            return std::vector<std::vector<T>>{y, gx};
        };
        const auto pf = pool(0.0f);
        const auto pd = pool(0.0);
        for (std::size_t k = 0; k < pf.size(); ++k) check_close("pool2d", pf[k], pd[k]);
    }

    const std::int64_t B = 4, C = 3, S = 5;
    const auto bx = random_vector(B * C * S, 87, -2, 2), gamma = random_vector(C, 88, 0.5, 1.5), beta = random_vector(C, 89);
    const auto br = random_vector(B * C * S, 90);
    auto bn = [&](auto zero) {
        using T = decltype(zero);
        const std::vector<T> xt(bx.begin(), bx.end()), gt(gamma.begin(), gamma.end()), bt(beta.begin(), beta.end()), rt(br.begin(), br.end());
        std::vector<T> y(xt.size()), rm(C, T(0)), rv(C, T(1)), mean(C), invstd(C), gx(xt.size()), gg(C), gb(C);
        synapse::batch_norm_forward_args<T> a;
        a.batch = B, a.channels = C, a.spatial = S, a.x = xt.data(), a.gamma = gt.data(), a.beta = bt.data();
        a.running_mean = rm.data(), a.running_var = rv.data(), a.y = y.data(), a.saved_mean = mean.data(), a.saved_invstd = invstd.data();
        cpu::batch_norm_forward(a);
        synapse::batch_norm_backward_args<T> g;
        g.batch = B, g.channels = C, g.spatial = S, g.grad_y = rt.data(), g.x = xt.data(), g.gamma = gt.data();
        g.saved_mean = mean.data(), g.saved_invstd = invstd.data(), g.grad_x = gx.data(), g.grad_gamma = gg.data(), g.grad_beta = gb.data();
        cpu::batch_norm_backward(g);
        return std::vector<std::vector<T>>{y, rm, rv, gx, gg, gb};
    };
    const auto bf = bn(0.0f);
    const auto bd = bn(0.0);
    for (std::size_t k = 0; k < bf.size(); ++k) check_close("batch_norm", bf[k], bd[k]);
}

// ------------------------------------------------------------------------------------------
// bad input
// ------------------------------------------------------------------------------------------

TEST_CASE("synapse ops reject bad input naming the argument") {
    std::vector<float> buf(256, 0.0f);
    float* p = buf.data();
    synapse::dense_forward_args<float> d;
    d.rows = 2, d.in_features = 3, d.out_features = 2, d.x = p, d.weight = p, d.y = p;
    expect_invalid([&] { auto a = d; a.x = nullptr; cpu::dense_forward(a); }, "x");
    expect_invalid([&] { auto a = d; a.rows = 0; cpu::dense_forward(a); }, "rows");
    expect_invalid([&] { auto a = d; a.out_features = -1; cpu::dense_forward(a); }, "out_features");
    synapse::dense_backward_args<float> db;
    db.rows = 2, db.in_features = 3, db.out_features = 2, db.grad_y = p;
    expect_invalid([&] { cpu::dense_backward(db); }, "grad_x");
    expect_invalid([&] { auto a = db; a.grad_x = p; cpu::dense_backward(a); }, "weight");
    expect_invalid([&] { auto a = db; a.grad_weight = p; cpu::dense_backward(a); }, "x");
    expect_invalid([&] { auto a = d; a.layout = static_cast<synapse::weight_layout>(7); cpu::dense_forward(a); }, "layout");
    expect_invalid([&] { auto a = db; a.grad_x = p; a.weight = p; a.layout = static_cast<synapse::weight_layout>(-1); cpu::dense_backward(a); }, "layout");
    synapse::dense_spike_forward_args<float> ds;
    ds.rows = 1, ds.in_features = 3, ds.out_features = 2, ds.weight_t = p, ds.y = p;
    expect_invalid([&] { cpu::dense_spike_forward(ds); }, "spikes");
    expect_invalid([&] { std::uint8_t s[3] = {}; std::uint32_t w = 0; auto a = ds; a.spikes = s; a.spike_bits = &w; cpu::dense_spike_forward(a); }, "spikes");

    synapse::conv2d_forward_args<float> c;
    c.shape.batch = 1, c.shape.in_channels = 3, c.shape.in_height = 4, c.shape.in_width = 4, c.shape.out_channels = 2;
    c.shape.kernel_h = c.shape.kernel_w = 3, c.x = p, c.weight = p, c.y = p;
    expect_invalid([&] { auto a = c; a.shape.groups = 2; cpu::conv2d_forward(a); }, "groups");
    expect_invalid([&] { auto a = c; a.shape.kernel_h = 5; cpu::conv2d_forward(a); }, "kernel_h");
    expect_invalid([&] { auto a = c; a.shape.pad_w = -1; cpu::conv2d_forward(a); }, "pad_w");
    expect_invalid([&] { auto a = c; a.shape.dilation_h = 0; cpu::conv2d_forward(a); }, "dilation_h");
    expect_invalid([&] { auto a = c; a.weight = nullptr; cpu::conv2d_forward(a); }, "weight");

    synapse::pool2d_forward_args<float> pf;
    pf.shape = pool_shape_4x4(), pf.x = p, pf.y = p;
    expect_invalid([&] { auto a = pf; a.shape.pad_h = 2; cpu::pool2d_forward(a); }, "pad_h");
    std::int64_t idx[4] = {};
    expect_invalid([&] { auto a = pf; a.kind = synapse::pool_kind::avg; a.indices = idx; cpu::pool2d_forward(a); }, "indices");
    synapse::pool2d_backward_args<float> pb;
    pb.shape = pool_shape_4x4(), pb.grad_y = p, pb.grad_x = p;
    expect_invalid([&] { cpu::pool2d_backward(pb); }, "indices");
    expect_invalid([&] { auto a = pb; std::int64_t bad[4] = {0, 99, 0, 0}; a.indices = bad; cpu::pool2d_backward(a); }, "indices");

    synapse::batch_norm_forward_args<float> bn;
    bn.batch = 1, bn.channels = 2, bn.spatial = 1, bn.x = p, bn.y = p;
    expect_invalid([&] { cpu::batch_norm_forward(bn); }, "batch");  // one value per channel in training
    expect_invalid([&] { auto a = bn; a.batch = 2; a.momentum = 2; cpu::batch_norm_forward(a); }, "momentum");
    expect_invalid([&] { auto a = bn; a.batch = 2; a.gamma = p; cpu::batch_norm_forward(a); }, "gamma");
    expect_invalid([&] { auto a = bn; a.training = false; cpu::batch_norm_forward(a); }, "running_mean");
    expect_invalid([&] { auto a = bn; a.batch = 2; a.eps = 0; cpu::batch_norm_forward(a); }, "eps");
    synapse::batch_norm_backward_args<float> bb;
    bb.batch = 2, bb.channels = 2, bb.grad_y = p, bb.x = p, bb.grad_x = p;
    expect_invalid([&] { cpu::batch_norm_backward(bb); }, "saved_mean");
    const float neg = -1, one = 1;
    expect_invalid([&] { synapse::fold_batch_norm(p, p, 1, 2, p, p, &one, &neg); }, "running_var");
    expect_invalid([&] { synapse::flatten_features(4, 0, 4); }, "height");
    CHECK(synapse::flatten_features(4, 3, 2) == 24);
}

// ------------------------------------------------------------------------------------------
// end to end: dense -> LIF -> dense, BPTT through the fused kernels, plain SGD
// ------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("a dense-LIF-dense network trained with SGD on a fixed batch lowers its loss", T, float, double) {
    using precision_t = std::conditional_t<std::is_same_v<T, double>, precision::f64, precision::f32>;
    using lif = lif_neuron<precision_t>;
    const std::int64_t steps = 4, batch = 8, in = 6, hidden = 16, out = 2;
    const std::int64_t rows = steps * batch;  // time-folded [T*N, features]

    // Fixed inputs (the same current at each step) and labels from a random linear rule.
    const auto xd = random_vector(batch * in, 71);
    std::vector<T> x(rows * in);
    for (std::int64_t t = 0; t < steps; ++t)
        for (std::int64_t i = 0; i < batch * in; ++i) x[t * batch * in + i] = T(xd[i]);
    std::vector<int> label(batch);
    const auto rule = random_vector(in, 72);
    for (std::int64_t n = 0; n < batch; ++n) {
        double s = 0;
        for (std::int64_t k = 0; k < in; ++k) s += rule[k] * xd[n * in + k];
        label[n] = s > 0 ? 1 : 0;
    }
    auto to_t = [](const std::vector<double>& v, double scale) {
        std::vector<T> r(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) r[i] = T(v[i] * scale);
        return r;
    };
    auto w1 = to_t(random_vector(hidden * in, 73), 1.5), b1 = to_t(random_vector(hidden, 74), 0.5);
    auto w2 = to_t(random_vector(out * hidden, 75), 0.5), b2 = std::vector<T>(out, T(0));

    neuron_params params;  // tau 2, v_th 1, hard reset to 0, ATan(2)
    std::vector<T> h1(rows * hidden), spikes(rows * hidden), h_seq(rows * hidden), y(rows * out);
    std::vector<T> gy(rows * out), gs(rows * hidden), gh(rows * hidden);
    std::vector<T> gw1(w1.size()), gb1(b1.size()), gw2(w2.size()), gb2(b2.size());

    auto step = [&](bool update, T lr) {
        synapse::dense_forward_args<T> d1;
        d1.rows = rows, d1.in_features = in, d1.out_features = hidden, d1.x = x.data(), d1.weight = w1.data(), d1.bias = b1.data(), d1.y = h1.data();
        cpu::dense_forward(d1);
        forward_args<lif> f;
        f.steps = steps, f.neurons = batch * hidden, f.x = h1.data(), f.spike = spikes.data(), f.h_seq = h_seq.data();
        cpu::forward_training(params, f);
        synapse::dense_forward_args<T> d2;
        d2.rows = rows, d2.in_features = hidden, d2.out_features = out, d2.x = spikes.data(), d2.weight = w2.data(), d2.bias = b2.data(), d2.y = y.data();
        cpu::dense_forward(d2);
        // Loss: mean over the batch of the squared error of the time-averaged output vs one-hot.
        double loss = 0;
        for (std::int64_t n = 0; n < batch; ++n)
            for (std::int64_t o = 0; o < out; ++o) {
                double mean = 0;
                for (std::int64_t t = 0; t < steps; ++t) mean += double(y[(t * batch + n) * out + o]) / steps;
                const double err = mean - (label[n] == o ? 1.0 : 0.0);
                loss += err * err / batch;
                for (std::int64_t t = 0; t < steps; ++t) gy[(t * batch + n) * out + o] = T(2 * err / batch / steps);
            }
        if (!update) return loss;
        synapse::dense_backward_args<T> g2;
        g2.rows = rows, g2.in_features = hidden, g2.out_features = out, g2.grad_y = gy.data(), g2.x = spikes.data(), g2.weight = w2.data();
        g2.grad_x = gs.data(), g2.grad_weight = gw2.data(), g2.grad_bias = gb2.data();
        cpu::dense_backward(g2);
        backward_args<lif> bw;
        bw.steps = steps, bw.neurons = batch * hidden, bw.grad_spike = gs.data(), bw.h_seq = h_seq.data(), bw.grad_x = gh.data();
        cpu::backward(params, bw);
        synapse::dense_backward_args<T> g1;
        g1.rows = rows, g1.in_features = in, g1.out_features = hidden, g1.grad_y = gh.data(), g1.x = x.data();
        g1.grad_weight = gw1.data(), g1.grad_bias = gb1.data();
        cpu::dense_backward(g1);
        auto sgd = [lr](std::vector<T>& p, const std::vector<T>& g) {
            for (std::size_t i = 0; i < p.size(); ++i) p[i] -= lr * g[i];
        };
        sgd(w1, gw1), sgd(b1, gb1), sgd(w2, gw2), sgd(b2, gb2);
        return loss;
    };

    const double initial = step(false, T(0));
    for (int it = 0; it < 200; ++it) step(true, T(0.2));
    const double final_loss = step(false, T(0));
    MESSAGE("dense-LIF-dense SGD: loss " << initial << " -> " << final_loss);
    CHECK(final_loss < 0.1 * initial);
}
