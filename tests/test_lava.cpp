// Tests for the Loihi emulation (snn/emu/lava): the parity vectors of reference/lava.md §10
// (quantisation tables, rtz on negatives, decay extremes, exact threshold hits, graded spikes,
// Lava LIF known answers, 24-bit wrap and saturation, bias, Dense sign modes, NetX weight
// optimisation), scalar == SIMD bit for bit, and bad-input errors.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "snn/core/fixed_point.hpp"
#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/cuba_simd.hpp"
#include "snn/emu/lava/loihi_lif.hpp"
#include "snn/emu/lava/loihi_lif_simd.hpp"
#include "snn/emu/lava/network.hpp"
#include "snn/emu/lava/quantize.hpp"
#include "snn/emu/lava/synapse.hpp"

namespace lava = snn::lava;
using i64 = std::int64_t;
using i32 = std::int32_t;

namespace {

/// A CUBA forward over [T, N] with the chosen rule on the scalar kernel; integer voltage and
/// current traces (x 4096) and spikes.
struct cuba_trace {
    std::vector<float> spike, current, voltage;
    std::vector<i64> u_int() const {
        std::vector<i64> r;
        for (const float c : current) r.push_back(static_cast<i64>(static_cast<double>(c) * 4096.0));
        return r;
    }
    std::vector<i64> v_int() const {
        std::vector<i64> r;
        for (const float v : voltage) r.push_back(static_cast<i64>(static_cast<double>(v) * 4096.0));
        return r;
    }
};

template <class Rule>
cuba_trace run_cuba(const lava::cuba_constants& k, const std::vector<float>& x, i64 neurons = 1, bool simd = false,
                    std::vector<i64>* u = nullptr, std::vector<i64>* v = nullptr) {
    const i64 steps = static_cast<i64>(x.size()) / neurons;
    cuba_trace t;
    t.spike.resize(x.size());
    t.current.resize(x.size());
    t.voltage.resize(x.size());
    lava::cuba_forward_args a;
    a.steps = steps;
    a.neurons = neurons;
    a.x = x.data();
    a.spike = t.spike.data();
    a.current = t.current.data();
    a.voltage = t.voltage.data();
    if (u) {
        a.u_state = u->data();
        a.v_state = v->data();
    }
    if (simd) lava::cuba_forward_simd<Rule>(k, a);
    else lava::cuba_forward_scalar<Rule>(k, a);
    return t;
}

std::vector<float> impulse(float first, int steps) {
    std::vector<float> x(static_cast<std::size_t>(steps), 0.0f);
    x[0] = first;
    return x;
}

struct lif_trace {
    std::vector<i32> u, v;
    std::vector<std::int8_t> s;
};

lif_trace run_lif(const lava::loihi_lif_params& p, const std::vector<i32>& a, i32 u0 = 0, i32 v0 = 0) {
    lif_trace t;
    const auto n = a.size();
    t.u.resize(n);
    t.v.resize(n);
    t.s.resize(n);
    i32 u = u0, v = v0;
    lava::loihi_lif_args args;
    args.steps = static_cast<i64>(n);
    args.neurons = 1;
    args.a_in = a.data();
    args.u = &u;
    args.v = &v;
    args.u_seq = t.u.data();
    args.v_seq = t.v.data();
    args.spike = t.s.data();
    lava::loihi_lif_forward(p, args);
    return t;
}

lava::loihi_lif_params lif(i32 du, i32 dv, i64 vth, i32 bias_mant = 0, i32 bias_exp = 0) {
    lava::loihi_lif_params p;
    p.du = du;
    p.dv = dv;
    p.vth = vth;
    p.bias_mant = bias_mant;
    p.bias_exp = bias_exp;
    return p;
}

}  // namespace

TEST_CASE("fixed point: shifts toward zero and floor, wraps, round half even") {
    CHECK(snn::fixed::shift_right_toward_zero(-1, 12) == 0);
    CHECK(snn::fixed::shift_right_toward_zero(-4097, 12) == -1);
    CHECK(snn::fixed::shift_right_toward_zero(4097, 12) == 1);
    CHECK(snn::fixed::shift_right_floor(-1, 1) == -1);
    CHECK(snn::fixed::shift_right_floor(-3, 1) == -2);
    CHECK(snn::fixed::shift_right_floor(3, 1) == 1);
    CHECK(snn::fixed::shift_by_exponent(-3, -1) == -2);
    CHECK(snn::fixed::shift_by_exponent(3, 6) == 192);
    CHECK(snn::fixed::wrap_signed_bits(8388608, 24) == -8388608);
    CHECK(snn::fixed::wrap_signed_bits(-8388609, 24) == 8388607);
    CHECK(snn::fixed::wrap_int32(i64{1} << 31) == INT32_MIN);
    CHECK(snn::fixed::round_half_even(2.5) == 2.0);
    CHECK(snn::fixed::round_half_even(3.5) == 4.0);
    CHECK(snn::fixed::round_half_even(-2.5) == -2.0);
    CHECK(snn::fixed::round_half_even(-0.5) == 0.0);
    CHECK(snn::fixed::float_to_int_toward_zero(-1228.8f) == -1228);
    CHECK(snn::fixed::float_to_int_toward_zero(std::numeric_limits<float>::quiet_NaN()) == 0);
    CHECK(snn::fixed::round_through_float((i64{1} << 24) + 1) == (i64{1} << 24));
}

TEST_CASE("lava quantisation: decays, thresholds, weights (§10 items 1-3)") {
    CHECK(lava::quantize_decay(0.1) == 410);
    CHECK(lava::quantize_decay(0.03) == 123);
    CHECK(lava::quantize_decay(1.0 / 3.0) == 1365);
    CHECK(lava::quantize_decay(2.5 / 4096) == 2);
    CHECK(lava::quantize_decay(3.5 / 4096) == 4);
    CHECK(lava::quantize_decay(1.5) == 4096);
    CHECK(lava::quantize_decay(-0.2) == 0);
    CHECK(lava::quantize_decay(0.25) == 1024);

    CHECK(lava::quantize_threshold(0.3) == 19);
    CHECK(lava::quantize_threshold(1.25) == 80);
    CHECK(lava::quantize_threshold(-0.3) == -19);
    CHECK(lava::affine_threshold_mantissa == 262143);

    using lava::quantize_weight;
    CHECK(quantize_weight(4.0f) == 254);
    CHECK(quantize_weight(255.0f / 64) == 254);
    CHECK(quantize_weight(3.96f) == 254);
    CHECK(quantize_weight(-4.0f) == -256);
    CHECK(quantize_weight(-4.03f) == -256);
    CHECK(quantize_weight(1.0f / 64) == 0);
    CHECK(quantize_weight(3.0f / 64) == 4);
    CHECK(quantize_weight(5.0f / 64) == 4);
    CHECK(quantize_weight(-1.0f / 64) == 0);
    CHECK(quantize_weight(-3.0f / 64) == -4);
    CHECK(quantize_weight(0.3f) == 20);
    CHECK(quantize_weight(4.0f, lava::weight_clamp::spikingjelly) == 255);
    CHECK(quantize_weight(3.984375f, lava::weight_clamp::spikingjelly) == 255);
    CHECK(quantize_weight(3.97f, lava::weight_clamp::spikingjelly) == 254);
    // quantize_hook_fx: num_bits 7 equals quantize_8bit; 8 bits reach 510.
    CHECK(lava::quantize_weight_hook(4.0f, 64, 7) == 254);
    CHECK(lava::quantize_weight_hook(10.0f, 64, 8) == 510);
    CHECK(lava::quantize_weight_hook(-10.0f, 64, 8) == -512);

    const auto k = lava::slayer_constants(1.25, 0.25, 0.03);
    CHECK(k.threshold_mantissa == 80);
    CHECK(k.spike_threshold == 1.250002384185791f);
    CHECK(k.reset_threshold == 5120.009765625f);
    CHECK(lava::slayer_constants(64.0, 1, 1).spike_threshold == 64.0f);  // eps lost in float32 (§2.4)
    CHECK_FALSE(lava::slayer_constants(-0.3, 1, 1).reset_enabled);
}

TEST_CASE("slayer CUBA: negative currents under shifts round toward zero (§10 item 4)") {
    const auto k = lava::slayer_constants(1.25, 0.5, 0.5);
    {
        const cuba_trace t = run_cuba<lava::slayer_rule>(k, impulse(-3.0f / 64, 10));
        CHECK(t.u_int() == std::vector<i64>{-192, -96, -48, -24, -12, -6, -3, -1, 0, 0});
        CHECK(t.v_int() == std::vector<i64>{-192, -192, -144, -96, -60, -36, -21, -11, -5, -2});
    }
    {
        const cuba_trace t = run_cuba<lava::slayer_rule>(k, impulse(-5.0f / 4096, 5));
        CHECK(t.u_int() == std::vector<i64>{-5, -2, -1, 0, 0});
        CHECK(t.v_int() == std::vector<i64>{-5, -4, -3, -1, 0});
    }
}

TEST_CASE("slayer CUBA: decays 0 (perfect integrator) and 4096 (no memory) (§10 item 5)") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> grid(-40, 40);
    std::vector<float> x(48);
    for (auto& e : x) e = static_cast<float>(grid(rng)) / 32.0f;
    {
        const auto k = lava::slayer_constants(1000.0, 0.0, 1.0);  // iDecay 0, vDecay 4096
        const cuba_trace t = run_cuba<lava::slayer_rule>(k, x);
        i64 sum = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            sum += static_cast<i64>(x[i] * 4096.0f);
            CHECK(t.u_int()[i] == sum);
            CHECK(t.v_int()[i] == sum);  // vDecay 4096: v = u
        }
    }
    {
        const auto k = lava::slayer_constants(1000.0, 1.0, 0.0);  // u = input, v integrates
        const cuba_trace t = run_cuba<lava::slayer_rule>(k, x);
        i64 sum = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            sum += static_cast<i64>(x[i] * 4096.0f);
            CHECK(t.u_int()[i] == static_cast<i64>(x[i] * 4096.0f));
            CHECK(t.v_int()[i] == sum);
        }
    }
}

TEST_CASE("slayer CUBA: exact threshold hits, vThMant below and from 4096 (§10 item 6)") {
    for (const i64 mant : {80, 2047, 2048, 4095, 4096, 8192, 131071}) {
        CAPTURE(mant);
        const double th = static_cast<double>(mant) / 64.0;
        const auto k = lava::slayer_constants(th, 1.0, 1.0);
        const std::vector<float> hit{static_cast<float>(th)};
        const std::vector<float> above{static_cast<float>(th + 1.0 / 4096)};
        CHECK(run_cuba<lava::slayer_rule>(k, hit).spike[0] == (mant >= 4096 ? 1.0f : 0.0f));
        CHECK(run_cuba<lava::slayer_rule>(k, above).spike[0] == 1.0f);
        // Loihi is strict whatever the mantissa.
        CHECK(run_cuba<lava::loihi_rule>(k, hit).spike[0] == 0.0f);
        CHECK(run_cuba<lava::loihi_rule>(k, above).spike[0] == 1.0f);
    }
}

TEST_CASE("slayer CUBA: parking on the threshold (§10 item 7)") {
    {
        const auto k = lava::slayer_constants(1.25, 1.0, 0.0);
        const cuba_trace t = run_cuba<lava::slayer_rule>(k, {1.25f, 0, 0, 1.0f / 64, 0, 0});
        CHECK(t.v_int() == std::vector<i64>{5120, 5120, 5120, 5184, 0, 0});
        CHECK(t.spike == std::vector<float>{0, 0, 0, 1, 0, 0});
    }
    {
        const auto k = lava::slayer_constants(64.0, 1.0, 0.0);
        const cuba_trace t = run_cuba<lava::slayer_rule>(k, {64.0f, 0, 0, 1.0f / 64, 0, 0});
        CHECK(t.v_int() == std::vector<i64>{262144, 0, 0, 64, 64, 64});
        CHECK(t.spike == std::vector<float>{1, 0, 0, 0, 0, 0});
    }
}

TEST_CASE("lava-dl CUDA kernel rule: an exact hit resets without spiking (§10 item 7, CUDA variant)") {
    const auto k = lava::slayer_constants(1.25, 1.0, 0.0);
    const std::vector<float> x{1.25f, 0, 0, 1.0f / 64, 0, 0};
    const cuba_trace t = run_cuba<lava::slayer_cuda_rule>(k, x);
    CHECK(t.v_int() == std::vector<i64>{5120, 0, 0, 64, 64, 64});
    CHECK(t.spike == std::vector<float>(6, 0.0f));
    CHECK(run_cuba<lava::slayer_cuda_rule>(k, x, 1, true).voltage == t.voltage);
}

TEST_CASE("slayer CUBA: graded spikes carry the pre-reset voltage (§10 item 9)") {
    const auto k = lava::slayer_constants(1.25, 0.0, 0.0, /*graded_spike=*/true);
    const cuba_trace t = run_cuba<lava::slayer_rule>(k, {0.7f, 0.7f, 0.7f, 0.7f});
    CHECK(t.v_int() == std::vector<i64>{2867, 8601, 8601, 11468});
    CHECK(t.spike == std::vector<float>{0.0f, 2.099853515625f, 2.099853515625f, 2.7998046875f});
}

TEST_CASE("slayer CUBA: large magnitudes, float32 outputs vs exact integers (§10 item 10)") {
    const auto k = lava::slayer_constants(1e9, 0.0, 0.0);
    for (const float step : {200.0f, -200.0f, 8000.0f, -8000.0f}) {
        CAPTURE(step);
        const std::vector<float> x(12, step);
        const cuba_trace slayer = run_cuba<lava::slayer_rule>(k, x);
        const cuba_trace loihi = run_cuba<lava::loihi_rule>(k, x);
        i64 u = 0, v = 0;
        for (std::size_t t = 0; t < x.size(); ++t) {
            u += static_cast<i64>(step * 4096.0f);
            v += u;  // exact integers (loihi_rule has no float32 rounding of the voltage input)
            CHECK(loihi.u_int()[t] == snn::fixed::round_through_float(u));  // outputs are float32
            CHECK(loihi.v_int()[t] == snn::fixed::round_through_float(v));
        }
        CHECK(slayer.u_int() == loihi.u_int());
        CHECK(slayer.v_int() == loihi.v_int());  // these u are float32 values: no rounding yet
    }
    // u = 2^24 + 1 is not a float32: slayer feeds float32(u) = 2^24 to the voltage every step,
    // the exact rule feeds 2^24 + 1; after 24 steps the float32 outputs differ too.
    std::vector<float> x(24, 0.0f);
    x[0] = 4096.0f;
    x[1] = 1.0f / 4096;
    const cuba_trace slayer = run_cuba<lava::slayer_rule>(k, x);
    const cuba_trace loihi = run_cuba<lava::loihi_rule>(k, x);
    CHECK(slayer.u_int() == loihi.u_int());
    CHECK(slayer.v_int().back() == 24 * (i64{1} << 24));
    CHECK(loihi.v_int().back() == snn::fixed::round_through_float(24 * (i64{1} << 24) + 23));
    CHECK(slayer.v_int().back() != loihi.v_int().back());
}

TEST_CASE("slayer CUBA: persistent state, two calls equal one (§10 item 11)") {
    const auto k = lava::slayer_constants(1.25, 0.25, 0.03);
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> grid(-10, 30);
    const i64 N = 5, T = 40;
    std::vector<float> x(static_cast<std::size_t>(N * T));
    for (auto& e : x) e = static_cast<float>(grid(rng)) / 32.0f;
    const cuba_trace whole = run_cuba<lava::slayer_rule>(k, x, N);
    std::vector<i64> u(N, 0), v(N, 0);
    const std::vector<float> first(x.begin(), x.begin() + 20 * N), second(x.begin() + 20 * N, x.end());
    const cuba_trace a = run_cuba<lava::slayer_rule>(k, first, N, false, &u, &v);
    const cuba_trace b = run_cuba<lava::slayer_rule>(k, second, N, true, &u, &v);
    std::vector<float> joined = a.spike;
    joined.insert(joined.end(), b.spike.begin(), b.spike.end());
    CHECK(joined == whole.spike);
    std::vector<float> volts = a.voltage;
    volts.insert(volts.end(), b.voltage.begin(), b.voltage.end());
    CHECK(volts == whole.voltage);
}

TEST_CASE("slayer CUBA: per-channel decays and bias (§10 item 12)") {
    const i64 C = 3, T = 6;
    const std::vector<i32> i_decay{0, 2048, 4096}, v_decay{4096, 0, 2048};
    const std::vector<i64> bias{64, 0, -128};
    std::vector<float> x(static_cast<std::size_t>(C * T), 0.0f);
    for (i64 c = 0; c < C; ++c) x[static_cast<std::size_t>(c)] = 1.0f / 64;  // 64 in state units at t = 0
    std::vector<float> spike(x.size()), voltage(x.size()), current(x.size());
    lava::cuba_forward_args a;
    a.steps = T;
    a.neurons = C;
    a.x = x.data();
    a.spike = spike.data();
    a.voltage = voltage.data();
    a.current = current.data();
    a.i_decay = i_decay.data();
    a.v_decay = v_decay.data();
    a.bias = bias.data();
    a.channels = C;
    const auto k = lava::slayer_constants(100.0, 0.5, 0.5);
    lava::cuba_forward_scalar<lava::slayer_rule>(k, a);
    // channel 0: u = 64 forever, v = u + 64 (no voltage memory)
    CHECK(current[0 * C + 0] * 4096 == 64.0f);
    CHECK(current[5 * C + 0] * 4096 == 64.0f);
    CHECK(voltage[5 * C + 0] * 4096 == 128.0f);
    // channel 1: u halves (64, 32, 16, 8, 4, 2), v integrates: 64, 96, 112, 120, 124, 126
    CHECK(voltage[5 * C + 1] * 4096 == 126.0f);
    // channel 2: u = 64 then 0; v = 64 - 128 = -64, then rtz(-64 / 2) - 128 = -160, ...
    CHECK(voltage[0 * C + 2] * 4096 == -64.0f);
    CHECK(voltage[1 * C + 2] * 4096 == -160.0f);
    // SIMD with the same per-channel arrays gives the same bits.
    std::vector<float> spike2(x.size()), voltage2(x.size()), current2(x.size());
    a.spike = spike2.data();
    a.voltage = voltage2.data();
    a.current = current2.data();
    lava::cuba_forward_simd<lava::slayer_rule>(k, a);
    CHECK(voltage2 == voltage);
    CHECK(current2 == current);
}

TEST_CASE("CUBA: scalar and SIMD kernels agree bit for bit, in and beyond the 24-bit range") {
    std::mt19937 rng(11);
    std::normal_distribution<float> gauss(0.0f, 0.7f);
    for (const bool large : {false, true}) {
        for (const auto rule : {lava::cuba_rule_id::slayer, lava::cuba_rule_id::spikingjelly, lava::cuba_rule_id::loihi, lava::cuba_rule_id::slayer_cuda}) {
            for (const bool graded : {false, true}) {
                CAPTURE(large);
                CAPTURE(static_cast<int>(rule));
                const i64 N = 37, T = 29;  // not a multiple of any SIMD width: the tail runs too
                std::vector<float> x(static_cast<std::size_t>(N * T));
                for (std::size_t i = 0; i < x.size(); ++i) x[i] = gauss(rng) * (large && i % 97 == 5 ? 5000.0f : 1.0f);
                const auto k = lava::slayer_constants(0.5, 0.1, 0.03, graded);
                std::vector<i64> u1(N), v1(N), u2, v2;
                for (i64 n = 0; n < N; ++n) u1[static_cast<std::size_t>(n)] = n * 97 - 1000, v1[static_cast<std::size_t>(n)] = 50 - n;
                u2 = u1;
                v2 = v1;
                lava::with_cuba_rule(rule, [&](auto r) {
                    using R = decltype(r);
                    const cuba_trace a = run_cuba<R>(k, x, N, false, &u1, &v1);
                    const cuba_trace b = run_cuba<R>(k, x, N, true, &u2, &v2);
                    CHECK(std::memcmp(a.spike.data(), b.spike.data(), a.spike.size() * sizeof(float)) == 0);
                    CHECK(std::memcmp(a.current.data(), b.current.data(), a.current.size() * sizeof(float)) == 0);
                    CHECK(std::memcmp(a.voltage.data(), b.voltage.data(), a.voltage.size() * sizeof(float)) == 0);
                    CHECK(u1 == u2);
                    CHECK(v1 == v2);
                });
            }
        }
    }
}

TEST_CASE("SpikingJelly CubaLIFNode rule: unquantised threshold, reset on spike") {
    // v_threshold 0.3: slayer uses 19/64 = 0.296875, SJ 0.3 (§8 difference 2).
    const auto sj = lava::spikingjelly_constants(0.3, 1.0, 1.0);
    const auto sl = lava::slayer_constants(0.3, 1.0, 1.0);
    const std::vector<float> x{0.298f, 0.3f, 0.3001f};
    CHECK(run_cuba<lava::spikingjelly_rule>(sj, x).spike == std::vector<float>{0, 0, 1});
    CHECK(run_cuba<lava::slayer_rule>(sl, x).spike == std::vector<float>{1, 1, 1});
}

TEST_CASE("CUBA backward: surrogate and leaky-integrator recurrences") {
    const auto k = lava::slayer_constants(1.0, 0.25, 0.5);
    const i64 T = 3;
    const std::vector<float> voltage{0.5f, 1.0f, 2.0f}, current{0.1f, 0.2f, 0.3f}, grad_spike{1.0f, 0.0f, 2.0f};
    std::vector<float> grad_x(T), grad_iD(1), grad_vD(1);
    lava::cuba_backward_args a;
    a.steps = T;
    a.neurons = 1;
    a.voltage = voltage.data();
    a.current = current.data();
    a.grad_spike = grad_spike.data();
    a.grad_x = grad_x.data();
    a.grad_i_decay = grad_iD.data();
    a.grad_v_decay = grad_vD.data();
    lava::cuba_backward(k, a);
    const double tau = 100.0, peak = 0.1 / (2 * tau);
    const double theta = static_cast<double>(k.spike_threshold);
    const auto surrogate = [&](double V) { return peak * std::exp(-std::fabs(V - theta) / tau); };
    const double gv2 = 2.0 * surrogate(2.0), gv1 = 0.5 * gv2, gv0 = surrogate(0.5) + 0.5 * gv1;
    const double gi2 = gv2, gi1 = gv1 + 0.75 * gi2, gi0 = gv0 + 0.75 * gi1;
    CHECK(grad_x[2] == doctest::Approx(gi2).epsilon(1e-6));
    CHECK(grad_x[1] == doctest::Approx(gi1).epsilon(1e-6));
    CHECK(grad_x[0] == doctest::Approx(gi0).epsilon(1e-6));
    CHECK(grad_vD[0] == doctest::Approx(gv1 * 0.5 + gv2 * 1.0).epsilon(1e-6));
    CHECK(grad_iD[0] == doctest::Approx(gi1 * 0.1 + gi2 * 0.2).epsilon(1e-6));
}

TEST_CASE("Lava LIF: known answers of Lava's tests (§10 items 13-16)") {
    {
        const lif_trace t = run_lif(lif(2047, 0, 256), {128, 0, 0, 0});
        CHECK(t.u == std::vector<i32>{8192, 4096, 2048, 1024});
    }
    {
        const lif_trace t = run_lif(lif(0, 2048, 256), {128, 0, 0, 0, 0, 0, 0, 0});
        CHECK(t.u == std::vector<i32>{8192, 8190, 8188, 8186, 8184, 8182, 8180, 8178});
        CHECK(t.v == std::vector<i32>{8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295});
    }
    CHECK(run_lif(lif(0, 0, 1 << 17, 4095, 5), {0}).v[0] == 131040);
    {
        const lif_trace t = run_lif(lif(2047, 2048, 1000), {-1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        CHECK(t.u == std::vector<i32>{-64, -32, -16, -8, -4, -2, -1, 0, 0, 0});
        CHECK(t.v == std::vector<i32>{-64, -64, -48, -32, -20, -12, -7, -3, -1, 0});
    }
    {
        const lif_trace t = run_lif(lif(4095, 0, 10), {10, 0, 1});
        CHECK(t.u == std::vector<i32>{640, 0, 64});
        CHECK(t.v == std::vector<i32>{640, 640, 0});
        CHECK(t.s == std::vector<std::int8_t>{0, 0, 1});
        const lif_trace park = run_lif(lif(4095, 0, 10), {5, 5, 0, 0});
        CHECK(park.v == std::vector<i32>{320, 640, 640, 640});
        CHECK(park.s == std::vector<std::int8_t>{0, 0, 0, 0});
    }
    {
        const lif_trace t = run_lif(lif(-1, 4096, 100000), {3, 3, 3, 3});
        CHECK(t.u == std::vector<i32>{192, 384, 576, 768});
        CHECK(t.v == t.u);
    }
}

TEST_CASE("Lava LIF: 24-bit current wrap and voltage saturation (§10 items 17-18)") {
    {
        const lif_trace t = run_lif(lif(-1, 4096, 200000), std::vector<i32>(6, 32768));
        CHECK(t.u == std::vector<i32>{2097152, 4194304, 6291456, 8388608, -6291456, -4194304});
        CHECK(t.v[3] == 8388607);
    }
    {
        const lif_trace t = run_lif(lif(-1, 4096, 200000), std::vector<i32>(6, -32768));
        CHECK(t.u == std::vector<i32>{-2097152, -4194304, -6291456, 8388608, 6291456, 4194304});
    }
    {
        const lif_trace t = run_lif(lif(-1, 4096, 200000), std::vector<i32>(5, 32767));
        CHECK(t.u[3] == 8388352);
        CHECK(t.u[4] == -6291776);
    }
    for (const i32 sign : {1, -1}) {
        const lif_trace t = run_lif(lif(4095, 0, 200000), std::vector<i32>(6, sign * 32767));
        CHECK(t.v == std::vector<i32>{sign * 2097088, sign * 4194176, sign * 6291264, sign * 8388352, sign * 8388607, sign * 8388607});
    }
    {
        const lif_trace t = run_lif(lif(4095, 0, 131071), std::vector<i32>(6, 32767));
        CHECK(t.s == std::vector<std::int8_t>{0, 0, 0, 0, 1, 0});
    }
}

TEST_CASE("Lava LIF: bias mantissa and exponent (§10 item 19)") {
    const lif_trace t = run_lif(lif(4095, 0, 10, 3, 6), std::vector<i32>(8, 0));
    CHECK(t.v == std::vector<i32>{192, 384, 576, 0, 192, 384, 576, 0});
    CHECK(t.s == std::vector<std::int8_t>{0, 0, 0, 1, 0, 0, 0, 1});
    const lif_trace floor = run_lif(lif(4095, 0, 10, -3, -1), std::vector<i32>(3, 0));
    CHECK(floor.v == std::vector<i32>{-2, -4, -6});
}

TEST_CASE("Lava LIF: scalar and SIMD kernels agree bit for bit, wraps and saturation included") {
    std::mt19937 rng(13);
    std::uniform_int_distribution<i32> small(-400, 400), big(-40000, 40000), huge(-(1 << 26), 1 << 26);
    const i64 N = 43, T = 30;
    for (int variant = 0; variant < 3; ++variant) {
        for (const auto& [du, dv] : std::vector<std::pair<i32, i32>>{{0, 0}, {4095, 4095}, {409, 123}, {-1, 4096}, {2047, 0}}) {
            CAPTURE(variant);
            CAPTURE(du);
            std::vector<i32> a_in(static_cast<std::size_t>(N * T)), bias_mant(N), bias_exp(N), u1(N), v1(N);
            for (auto& e : a_in) e = variant == 0 ? small(rng) : variant == 1 ? big(rng) : (rng() % 50 == 0 ? huge(rng) : big(rng));
            for (i64 n = 0; n < N; ++n) {
                bias_mant[static_cast<std::size_t>(n)] = static_cast<i32>(n % 9) - 4;
                bias_exp[static_cast<std::size_t>(n)] = static_cast<i32>(n % 13) - 6;
                u1[static_cast<std::size_t>(n)] = variant == 2 && n == 3 ? 2000000000 : static_cast<i32>(n * 1000 - 20000);
                v1[static_cast<std::size_t>(n)] = static_cast<i32>(n % 7) * 100;
            }
            std::vector<i32> u2 = u1, v2 = v1, us1(a_in.size()), vs1(a_in.size()), us2(a_in.size()), vs2(a_in.size());
            std::vector<std::int8_t> s1(a_in.size()), s2(a_in.size());
            lava::loihi_lif_args a;
            a.steps = T;
            a.neurons = N;
            a.a_in = a_in.data();
            a.bias_mant = bias_mant.data();
            a.bias_exp = bias_exp.data();
            a.u = u1.data(), a.v = v1.data(), a.u_seq = us1.data(), a.v_seq = vs1.data(), a.spike = s1.data();
            lava::loihi_lif_forward(lif(du, dv, 3000), a);
            a.u = u2.data(), a.v = v2.data(), a.u_seq = us2.data(), a.v_seq = vs2.data(), a.spike = s2.data();
            lava::loihi_lif_forward_simd(lif(du, dv, 3000), a);
            CHECK(us1 == us2);
            CHECK(vs1 == vs2);
            CHECK(s1 == s2);
            CHECK(u1 == u2);
            CHECK(v1 == v2);
        }
    }
}

TEST_CASE("Lava Dense: sign modes, LSB truncation, the -256 inhibitory weight (§10 item 21)") {
    const std::vector<i32> s{1, 1, 1, 1, 0, 1, 0, 0, 0};  // [T = 3, in = 3]: inputs at t0 = all, t1 = {0, 2}
    const auto run = [&](const std::vector<i32>& w, int bits, int exp) {
        const auto d = lava::make_lava_dense(w.data(), 2, 3, bits, exp, false);
        std::vector<i32> a(6);
        lava::lava_dense_sequence(d, 3, s.data(), a.data());
        return std::make_pair(d, a);
    };
    {
        const auto [d, a] = run({3, -3, 255, -256, 2, 7}, 8, 0);
        CHECK(d.mode == lava::sign_mode::mixed);
        CHECK(d.weights_effective == std::vector<i32>{2, -4, 254, -256, 2, 6});
        CHECK(a == std::vector<i32>{0, 0, 252, -248, 256, -250});
    }
    {
        const auto [d, a] = run({3, 5, 255, 1, 2, 7}, 8, 0);
        CHECK(d.mode == lava::sign_mode::excitatory);
        CHECK(a == std::vector<i32>{0, 0, 263, 10, 258, 8});
    }
    {
        const auto [d, a] = run(std::vector<i32>(6, -256), 8, 0);
        CHECK(d.mode == lava::sign_mode::inhibitory);
        CHECK(d.weights_effective == std::vector<i32>(6, -255));
    }
    {
        const auto [d, a] = run({3, -3, 255, -256, 2, 7}, 8, -1);
        CHECK(a[3] == -124);  // -248 >> 1
        CHECK(a[5] == -125);  // -250 >> 1
    }
    {
        const auto [d, a] = run({30, -20, 2, 7, -9, 100}, 6, 2);  // mixed, 6 bits: k = 3
        CHECK(d.weights_effective == std::vector<i32>{24, -24, 0, 0, -16, 96});
    }
    {
        const std::vector<i32> all_zero(6, 0);
        const auto [d, a] = run(all_zero, 8, 0);
        CHECK(a == std::vector<i32>(6, 0));
    }
}

TEST_CASE("NetX optimize_weight_bits (§10 item 22)") {
    {
        const std::vector<i32> w{30, -20, 2};
        const auto r = lava::optimize_weight_bits(w.data(), 3);
        CHECK(r.weights == std::vector<i32>{240, -160, 16});
        CHECK(r.num_weight_bits == 5);
        CHECK(r.weight_exponent == -3);
        CHECK(r.mode == lava::sign_mode::mixed);
        // Through Lava's Dense the sums are exact again.
        const auto d = lava::make_lava_dense(r.weights.data(), 1, 3, r.num_weight_bits, r.weight_exponent, false);
        const std::vector<i32> s{1, 1, 1};
        std::vector<i32> a(1);
        std::vector<i64> scratch;
        lava::lava_dense_output(d, s.data(), a.data(), scratch);
        CHECK(a[0] == 12);
    }
    {
        const std::vector<i32> w{255, -256, 2};
        const auto r = lava::optimize_weight_bits(w.data(), 3);
        CHECK(r.clipped);
        CHECK(r.weights[0] == 254);
    }
    {
        const std::vector<i32> w{255, 3};
        const auto r = lava::optimize_weight_bits(w.data(), 2);
        CHECK_FALSE(r.clipped);
        CHECK(r.mode == lava::sign_mode::excitatory);
        CHECK(r.weights == w);
    }
    {
        const std::vector<i32> w{-256, -2, -4};
        const auto r = lava::optimize_weight_bits(w.data(), 3);
        const auto d = lava::make_lava_dense(r.weights.data(), 1, 3, r.num_weight_bits, r.weight_exponent, false);
        CHECK(d.weights_effective == std::vector<i32>{-254, -2, -4});  // the INHIBITORY -256 loss
    }
    {
        const std::vector<i32> w{-256, -256};
        const auto r = lava::optimize_weight_bits(w.data(), 2);
        CHECK(r.num_weight_bits == 0);
        const auto d = lava::make_lava_dense(r.weights.data(), 1, 2, r.num_weight_bits, r.weight_exponent, false);
        CHECK(d.weights_effective == std::vector<i32>{0, 0});
    }
    const std::vector<i32> zeros(4, 0);
    CHECK_THROWS_AS(lava::optimize_weight_bits(zeros.data(), 4), snn::invalid_argument);
}

TEST_CASE("NetX chain: slayer blocks and the Lava network agree on a dense layer") {
    lava::network_desc net;
    net.input_shape = {8};
    lava::layer_desc L;
    L.kind = lava::layer_kind::dense;
    L.in_shape = {8};
    L.out_shape = {4};
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> w(-60, 60);
    for (int i = 0; i < 32; ++i) L.weight.push_back(2 * w(rng));
    L.neuron.i_decay = {1024};
    L.neuron.v_decay = {123};
    L.neuron.v_th_mant = 80;
    net.layers.push_back(L);
    const i64 T = 50;
    std::vector<i32> s(static_cast<std::size_t>(T * 8));
    std::bernoulli_distribution spike(0.4);
    for (auto& e : s) e = spike(rng) ? 1 : 0;
    const auto slayer = lava::run_slayer(net, T, s.data());
    const auto lava_s = lava::run_lava(net, T, s.data());
    CHECK(slayer[0] == lava_s[0]);
    i64 spikes = 0;
    for (const auto e : slayer[0]) spikes += e;
    CHECK(spikes > 0);
}

TEST_CASE("NetX chain: conv (per-channel decays) -> flatten -> dense agrees between slayer and Lava (§10 items 24-25)") {
    std::mt19937 rng(17);
    std::uniform_int_distribution<int> w(-40, 40);
    lava::network_desc net;
    net.input_shape = {2, 5, 6};
    lava::layer_desc conv;
    conv.kind = lava::layer_kind::conv;
    conv.in_shape = {2, 5, 6};
    conv.out_shape = {3, 3, 3};
    conv.conv.in_channels = 2, conv.conv.out_channels = 3, conv.conv.in_h = 5, conv.conv.in_w = 6;
    conv.conv.kernel_h = 3, conv.conv.kernel_w = 2, conv.conv.stride_h = 2, conv.conv.stride_w = 2, conv.conv.pad_h = 1;
    for (i64 i = 0; i < conv.conv.weight_count(); ++i) conv.weight.push_back(2 * w(rng));
    conv.neuron.i_decay = {0, 1024, 4096};
    conv.neuron.v_decay = {2048, 123, 0};
    conv.neuron.v_th_mant = 64;
    lava::layer_desc flat;
    flat.kind = lava::layer_kind::flatten;
    flat.has_neuron = false;
    flat.in_shape = {3, 3, 3};
    flat.out_shape = {27};
    lava::layer_desc dense;
    dense.in_shape = {27};
    dense.out_shape = {5};
    for (int i = 0; i < 27 * 5; ++i) dense.weight.push_back(2 * w(rng));
    dense.delay = {0, 2, 0, 5, 1};
    dense.neuron.i_decay = {410};
    dense.neuron.v_decay = {819};
    dense.neuron.v_th_mant = 48;
    net.layers = {conv, flat, dense};
    const i64 T = 60;
    std::vector<i32> s(static_cast<std::size_t>(T * 60));
    std::bernoulli_distribution spike(0.5);
    for (auto& e : s) e = spike(rng) ? 1 : 0;
    const auto slayer = lava::run_slayer(net, T, s.data());
    const auto lava_s = lava::run_lava(net, T, s.data());
    CHECK(slayer[0] == lava_s[0]);
    CHECK(slayer[2] == lava_s[2]);
    i64 spikes0 = 0, spikes2 = 0;
    for (const auto e : slayer[0]) spikes0 += e;
    for (const auto e : slayer[2]) spikes2 += e;
    CHECK(spikes0 > 0);
    CHECK(spikes2 > 0);
}

TEST_CASE("Loihi emulation: bad input is rejected with the argument named") {
    const auto k = lava::slayer_constants(1.0, 0.1, 0.1);
    std::vector<float> x(4), out(4);
    lava::cuba_forward_args a;
    a.steps = 2;
    a.neurons = 2;
    a.x = nullptr;
    a.spike = out.data();
    CHECK_THROWS_WITH_AS(lava::cuba_forward_scalar<lava::slayer_rule>(k, a), doctest::Contains("x"), snn::invalid_argument);
    a.x = x.data();
    a.spike = nullptr;
    CHECK_THROWS_WITH_AS(lava::cuba_forward_simd<lava::slayer_rule>(k, a), doctest::Contains("spike"), snn::invalid_argument);
    a.spike = out.data();
    const std::vector<i32> bad_decay{5000, 0, 0};
    a.i_decay = bad_decay.data();
    a.channels = 3;
    CHECK_THROWS_WITH_AS(lava::cuba_forward_scalar<lava::slayer_rule>(k, a), doctest::Contains("channels"), snn::invalid_argument);
    a.channels = 2;
    CHECK_THROWS_WITH_AS(lava::cuba_forward_scalar<lava::slayer_rule>(k, a), doctest::Contains("i_decay"), snn::invalid_argument);
    a.i_decay = nullptr;
    a.steps = -1;
    CHECK_THROWS_WITH_AS(lava::cuba_forward_scalar<lava::slayer_rule>(k, a), doctest::Contains("steps"), snn::invalid_argument);

    CHECK_THROWS_AS(lava::quantize_decay(std::nan("")), snn::invalid_argument);
    CHECK_THROWS_AS(lava::quantize_weight(std::numeric_limits<float>::quiet_NaN()), snn::invalid_argument);
    CHECK_THROWS_AS(lava::loihi_constants(10, 4097, 0), snn::invalid_argument);

    i32 u = 0, v = 0;
    const std::vector<i32> a_in{1};
    lava::loihi_lif_args la;
    la.steps = 1;
    la.neurons = 1;
    la.a_in = a_in.data();
    la.u = &u;
    la.v = &v;
    CHECK_THROWS_WITH_AS(lava::loihi_lif_forward(lif(-2, 0, 10), la), doctest::Contains("du"), snn::invalid_argument);
    CHECK_THROWS_WITH_AS(lava::loihi_lif_forward(lif(0, 4097, 10), la), doctest::Contains("dv"), snn::invalid_argument);
    la.u = nullptr;
    CHECK_THROWS_WITH_AS(lava::loihi_lif_forward(lif(0, 0, 10), la), doctest::Contains("u"), snn::invalid_argument);

    const std::vector<i32> w{1, 2};
    CHECK_THROWS_WITH_AS(lava::make_lava_dense(w.data(), 1, 2, 9, 0, false), doctest::Contains("num_weight_bits"), snn::invalid_argument);

    lava::network_desc net;
    net.input_shape = {3};
    lava::layer_desc L;
    L.in_shape = {3};
    L.out_shape = {2};
    L.weight = {1, 2, 3};  // needs 6
    net.layers.push_back(L);
    CHECK_THROWS_WITH_AS(lava::check_network(net), doctest::Contains("layer 0"), snn::invalid_argument);
}
