// Lynxi float16 emulation (snn/emu/lynxi): scalar == SIMD on every instruction set, edge cases
// (threshold ties, overflow, subnormals, signed zeros), every LIFPlus option against values
// worked out by hand from the reference's op order, the chip hypothesis, and bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "snn/emu/lynxi/cpu.hpp"
#include "snn/emu/lynxi/dispatch.hpp"
#include "support/lynxi_sweep.hpp"

namespace ly = snn::emu::lynxi;
using snn::binary16;

namespace {

std::vector<binary16> halves(std::initializer_list<float> values) {
    std::vector<binary16> v;
    for (float f : values) v.push_back(binary16(f));
    return v;
}

/// One BIDL Lif neuron over the steps in `x`.
struct lif_trace {
    std::vector<binary16> spike, out, v_pre, v;
};

lif_trace run_lif(const ly::bidl_lif_params& p, const std::vector<binary16>& x, float v_init) {
    const auto T = static_cast<std::int64_t>(x.size());
    lif_trace r{std::vector<binary16>(x.size()), std::vector<binary16>(x.size()), std::vector<binary16>(x.size()),
                std::vector<binary16>(x.size())};
    const binary16 v0(v_init);
    ly::bidl_lif_args<binary16> a;
    a.steps = T;
    a.neurons = 1;
    a.x = x.data();
    a.v_init = &v0;
    a.spike = r.spike.data();
    a.out = r.out.data();
    a.v_pre = r.v_pre.data();
    a.v = r.v.data();
    ly::bidl_lif_forward(p, a);
    return r;
}

/// One LIFPlus neuron; the states not given start as BIDL's reset() sets them.
struct lifplus_trace {
    std::vector<binary16> spike, v_pre, v, g;
    binary16 r_last{}, w_last{};
    float cnt_last = -1.0f;
};

lifplus_trace run_lifplus(const ly::lifplus_params& p, const std::vector<binary16>& x, float v_init, float w_init = 0.0f) {
    const auto T = static_cast<std::int64_t>(x.size());
    lifplus_trace r{std::vector<binary16>(x.size()), std::vector<binary16>(x.size()), std::vector<binary16>(x.size()),
                    std::vector<binary16>(x.size())};
    const binary16 v0(v_init), w0(w_init);
    ly::lifplus_args<binary16> a;
    a.steps = T;
    a.neurons = 1;
    a.x = x.data();
    a.v_init = &v0;
    a.w_init = &w0;
    a.spike = r.spike.data();
    a.v_pre = r.v_pre.data();
    a.v = r.v.data();
    if (p.options.input != ly::input_accumulation::cub) a.g = r.g.data();
    a.r_last = &r.r_last;
    a.w_last = &r.w_last;
    a.cnt_last = &r.cnt_last;
    ly::lifplus_forward(p, a);
    return r;
}

void check_values(const std::vector<binary16>& got, std::initializer_list<double> expected, const std::string& what) {
    REQUIRE(got.size() == expected.size());
    std::size_t i = 0;
    for (double e : expected) {
        INFO(what << "[" << i << "] expected " << e << " got " << got[i].to_float());
        CHECK(static_cast<double>(got[i].to_float()) == e);
        ++i;
    }
}

/// LIFPlus with simple parameters (exact in binary16) and the given options.
ly::lifplus_params lifplus_with(ly::lifplus_options o) {
    ly::lifplus_params p;
    p.options = o;
    p.epsilon = ly::soma_param(0.5);
    p.tau_recip = ly::soma_param(0.5);
    p.v0 = ly::soma_param(0.0);
    p.theta = ly::soma_param(0.5);
    p.alpha = ly::soma_param(1.0);
    p.beta = ly::soma_param(0.0);
    return p;
}

ly::lifplus_options options(ly::input_accumulation input, ly::refractoriness refr = ly::refractoriness::none,
                            ly::spike_initiation init = ly::spike_initiation::naive,
                            ly::trigger_current trig = ly::trigger_current::naive, ly::membrane_decay decay = ly::membrane_decay::naive,
                            bool reversal = false) {
    return {input, reversal, refr, init, trig, decay};
}

}  // namespace

TEST_CASE("lynxi: SIMD equals scalar bit for bit on every instruction set this CPU runs") {
    const auto reference = snn_test::lynxi::sweep(ly::select_isa("scalar"));
    REQUIRE(reference.size() > 400);
    std::size_t count = 0;
    const ly::isa_entry* entries = ly::registered_isas(count);
    int compared = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (std::string(entries[i].name) == "scalar" || !entries[i].available()) continue;
        const auto runs = snn_test::lynxi::sweep(entries[i].table());
        REQUIRE(runs.size() == reference.size());
        for (std::size_t k = 0; k < runs.size(); ++k) {
            INFO(entries[i].name << ": " << runs[k].label);
            CHECK(snn_test::lynxi::first_difference(runs[k], reference[k]) == -1);
        }
        ++compared;
    }
    MESSAGE("instruction sets compared with scalar: " << compared << " (" << ly::available_isas() << ")");
}

TEST_CASE("lynxi: threshold ties: BIDL fires strictly above theta, SpikingJelly at v >= v_threshold") {
    ly::bidl_lif_params p;  // alpha .3, beta 0, theta .5, v0 0
    const lif_trace at = run_lif(p, halves({0.5f}), 0.0f);
    CHECK(at.spike[0].to_float() == 0.0f);                          // v - theta = 0: no spike
    CHECK(at.v[0].bits == binary16(0.300048828125f * 0.5f).bits);  // not reset: alpha * 0.5
    const lif_trace above = run_lif(p, {binary16::from_bits(0x3801)}, 0.0f);  // next binary16 after 0.5
    CHECK(above.spike[0].to_float() == 1.0f);
    CHECK(above.v[0].to_float() == 0.0f);

    ly::sj_lynxi_params sj;  // IF, v_threshold 1, hard reset to 0
    const std::vector<binary16> x = halves({0.5f, 0.5f});
    std::vector<binary16> spike(2), v(2);
    ly::sj_lynxi_args<binary16> a;
    a.steps = 2;
    a.neurons = 1;
    a.x = x.data();
    a.spike = spike.data();
    a.v = v.data();
    ly::sj_lynxi_forward(sj, a);
    CHECK(spike[0].to_float() == 0.0f);
    CHECK(spike[1].to_float() == 1.0f);  // 0.5 + 0.5 == 1: fires
    CHECK(v[1].to_float() == 0.0f);
}

TEST_CASE("lynxi: overflow to inf and the NaN of the reset blend (torch semantics)") {
    ly::bidl_lif_params p;
    const lif_trace up = run_lif(p, halves({60000.0f}), 60000.0f);
    CHECK(std::isinf(up.v_pre[0].to_float()));
    CHECK(up.v_pre[0].to_float() > 0.0f);
    CHECK(up.spike[0].to_float() == 1.0f);
    CHECK(up.v[0].is_nan());  // fire_inv * inf = 0 * inf = NaN
    const lif_trace down = run_lif(p, halves({-60000.0f}), -60000.0f);
    CHECK(down.spike[0].to_float() == 0.0f);
    CHECK(down.v[0].bits == 0xFC00);  // -inf stays -inf through reset and decay

    ly::sj_lynxi_params sj;
    const std::vector<binary16> x = halves({65504.0f});
    const binary16 v_init(65504.0f);
    binary16 spike{}, v{};
    ly::sj_lynxi_args<binary16> a;
    a.steps = 1;
    a.neurons = 1;
    a.x = x.data();
    a.v_init = &v_init;
    a.spike = &spike;
    a.v = &v;
    ly::sj_lynxi_forward(sj, a);
    CHECK(spike.to_float() == 1.0f);
    CHECK(v.is_nan());  // (1 - 1) * inf + 1 * v_reset
}

TEST_CASE("lynxi: subnormal results round to the binary16 quantum") {
    ly::bidl_lif_params p;  // alpha = binary16(0.3) = 0.300048828125
    const float quantum = 5.9604644775390625e-08f;  // 2^-24
    const lif_trace three = run_lif(p, {binary16::from_bits(3)}, 0.0f);
    CHECK(three.v_pre[0].bits == 3);
    CHECK(three.v[0].bits == 1);  // 0.30005 * 3 q = 0.9001 q -> 1 q
    CHECK(three.v[0].to_float() == quantum);
    const lif_trace one = run_lif(p, {binary16::from_bits(1)}, 0.0f);
    CHECK(one.v[0].bits == 0);  // 0.30005 q -> +0

    ly::aggregate_params agg;  // running y / T with T = 8 on the CPU
    agg.divisor = 8.0;
    const std::vector<binary16> y = {binary16::from_bits(12), binary16::from_bits(4)};  // 12 q / 8 = 1.5 q -> 2 q (tie, even)
    std::vector<binary16> running(2);
    binary16 result{};
    ly::aggregate_args<binary16> a;
    a.steps = 2;
    a.neurons = 1;
    a.y = y.data();
    a.running = running.data();
    a.result = &result;
    ly::aggregate(agg, a);
    CHECK(running[0].bits == 2);
    CHECK(running[1].bits == 2);  // 4 q / 8 = 0.5 q -> 0 (tie, even); 2 q + 0
}

TEST_CASE("lynxi: signed zeros follow torch: relu(-0) is -0 on CPU, +0 on CUDA; soft reset keeps -0") {
    ly::bidl_lif_params p;
    p.mode = ly::output_mode::analog;  // relu(o1)
    const lif_trace cpu = run_lif(p, halves({-0.0f}), -0.0f);
    CHECK(cpu.v_pre[0].bits == 0x8000);
    CHECK(cpu.out[0].bits == 0x8000);
    p.device = ly::torch_device::cuda;
    const lif_trace gpu = run_lif(p, halves({-0.0f}), -0.0f);
    CHECK(gpu.out[0].bits == 0x0000);

    ly::sj_lynxi_params sj;
    sj.hard_reset = false;
    const std::vector<binary16> x = halves({-0.0f});
    const binary16 v_init(-0.0f);
    binary16 v{};
    ly::sj_lynxi_args<binary16> a;
    a.steps = 1;
    a.neurons = 1;
    a.x = x.data();
    a.v_init = &v_init;
    a.v = &v;
    ly::sj_lynxi_forward(sj, a);
    CHECK(v.bits == 0x8000);  // -0 - 0 * v_threshold = -0

    ly::aggregate_params agg;  // acc = 0 + y/T: the Python int 0 turns -0 into +0
    std::vector<binary16> y = halves({-0.0f});
    binary16 result = binary16::from_bits(0x1234);
    ly::aggregate_args<binary16> g;
    g.steps = 1;
    g.neurons = 1;
    g.y = y.data();
    g.result = &result;
    ly::aggregate(agg, g);
    CHECK(result.bits == 0x0000);
}

// LIFPlus options, one neuron, each expected value worked out by hand in the reference op order
// (bidl.md §1.6); all intermediate values are exact in binary16 unless a rounding is noted.

TEST_CASE("lynxi LIFPlus CUB: v = x + tau*(x + (v0 - v)); fire; decay") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub));
    p.alpha = ly::soma_param(0.5);
    p.beta = ly::soma_param(0.25);
    // t0: 0.25 + .5*(.25 + 0) = .375, no spike, v = .5*.375 + .25 = .4375
    // t1: .5 + .5*(.5 + (0 - .4375)) = .53125, spike, v = .5*0 + .25
    const lifplus_trace r = run_lifplus(p, halves({0.25f, 0.5f}), 0.0f);
    check_values(r.v_pre, {0.375, 0.53125}, "v_pre");
    check_values(r.spike, {0, 1}, "spike");
    check_values(r.v, {0.4375, 0.25}, "v");
}

TEST_CASE("lynxi LIFPlus COBA: y and g with e*eps rounded from float32 e") {
    const ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::coba));
    // y = .5*1 + .5 = 1; e*eps = binary16(2.7182817 * .5) = 1.359375; g = .5*1 + 1.359375*1 = 1.859375
    // v = .5 + .5*(1.859375 + 0) = 1.4296875: spike, reset to 0
    const lifplus_trace r = run_lifplus(p, halves({0.5f}), 0.0f);
    check_values(r.g, {1.859375}, "g");
    check_values(r.v_pre, {1.4296875}, "v_pre");
    check_values(r.spike, {1}, "spike");
    check_values(r.v, {0.0}, "v");
}

TEST_CASE("lynxi LIFPlus COBE with reversal voltage: fact2 = (v_g - v) * g") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cobe, ly::refractoriness::none, ly::spike_initiation::naive,
                                                ly::trigger_current::naive, ly::membrane_decay::naive, true));
    p.v_g = ly::soma_param(2.0);
    p.theta = ly::soma_param(2.0);
    // g = .5*1 + .5 = 1; fact2 = (2 - .5)*1 = 1.5; fact3 = 0 - .5; v = .5 + .5*(1.5 - .5) = 1; no spike; v = 1*1 + 0
    const lifplus_trace r = run_lifplus(p, halves({0.5f}), 0.5f);
    check_values(r.g, {1.0}, "g");
    check_values(r.v_pre, {1.0}, "v_pre");
    check_values(r.spike, {0}, "spike");
    check_values(r.v, {1.0}, "v");
}

TEST_CASE("lynxi LIFPlus AR: the input term is cut while the float32 counter runs") {
    const ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub, ly::refractoriness::absolute));
    // t0: 2 + .5*2 = 3, spike, cnt = 10; t1: fact2 cut, cnt 9, v = .25 + .5*(0 + 0) = .25;
    // t2: cnt 8, v = .25 + .5*(0 + (0 - .25)) = .125
    const lifplus_trace r = run_lifplus(p, halves({2.0f, 0.25f, 0.25f}), 0.0f);
    check_values(r.v_pre, {3.0, 0.25, 0.125}, "v_pre");
    check_values(r.spike, {1, 0, 0}, "spike");
    check_values(r.v, {0.0, 0.25, 0.125}, "v");
    CHECK(r.cnt_last == 8.0f);
}

TEST_CASE("lynxi LIFPlus RR: relative refractoriness through r and w") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub, ly::refractoriness::relative));
    p.epsilon_r = ly::soma_param(0.5);
    p.epsilon_w = ly::soma_param(0.5);
    p.v_rr = ly::soma_param(-1.0);
    p.v_ar = ly::soma_param(-2.0);
    p.q_r = ly::soma_param(0.25);
    p.b = ly::soma_param(0.5);
    // t0: r = .5, w = 0, fact4 = 0. + .5*(-1 - 0) + 0*(-2 - 0) = -.5; v = 1 + .5*(1 + 0) - .5 = 1: spike;
    //     r = .5 - .25 = .25, w = 0 - .5 = -.5, v = 0
    // t1: r = .125, w = -.25, fact4 = .125*(-1) + (-.25)*(-2) = .375; v = 0 + .5*0 + .375: no spike
    const lifplus_trace r = run_lifplus(p, halves({1.0f, 0.0f}), 0.0f);
    check_values(r.v_pre, {1.0, 0.375}, "v_pre");
    check_values(r.spike, {1, 0}, "spike");
    check_values(r.v, {0.0, 0.375}, "v");
    CHECK(r.r_last.to_float() == 0.125f);
    CHECK(r.w_last.to_float() == -0.25f);
}

TEST_CASE("lynxi LIFPlus EXI: exp rounded once, final sum is a binary16 tie") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub, ly::refractoriness::none, ly::spike_initiation::exponential));
    p.theta = ly::soma_param(0.0);  // used inside exp
    p.v_theta = ly::soma_param(1.0);
    p.delta_t = ly::soma_param(0.5);
    // exp((0 - 0) - .5) = .60653 -> .6064453125; fact3 = 0 + .5*.6064453125 = .30322265625;
    // .5*(.5 + .30322265625) = .401611328125; .5 + .401611328125 = .901611328125 = 1846.5 * 2^-11
    // -> ties to even: .9013671875. Threshold v_theta = 1: no spike.
    const lifplus_trace r = run_lifplus(p, halves({0.5f}), 0.0f);
    check_values(r.v_pre, {0.9013671875}, "v_pre");
    check_values(r.spike, {0}, "spike");
}

TEST_CASE("lynxi LIFPlus QDI: fact3 = (v0 - v) * (v_c - v), threshold v_theta") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub, ly::refractoriness::none, ly::spike_initiation::quadratic));
    p.v_theta = ly::soma_param(0.5);
    p.v_c = ly::soma_param(2.0);
    // fact3 = (0 - .5)*(2 - .5) = -.75; v = 1 + .5*(1 - .75) = 1.125: spike
    const lifplus_trace r = run_lifplus(p, halves({1.0f}), 0.5f);
    check_values(r.v_pre, {1.125}, "v_pre");
    check_values(r.spike, {1}, "spike");
    check_values(r.v, {0.0}, "v");
}

TEST_CASE("lynxi LIFPlus ADT: adaptive current w, jump b after a spike") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub, ly::refractoriness::none, ly::spike_initiation::naive,
                                                ly::trigger_current::adaptive));
    p.epsilon_w = ly::soma_param(0.5);
    p.b = ly::soma_param(0.25);
    // t0: w = .5*1 = .5; v = .5 + .5*.5 + .5 = 1.25: spike; w = .5 - .25 = .25; v = 0
    // t1: w = .125; v = 0 + .5*0 + .125 = .125: no spike
    const lifplus_trace r = run_lifplus(p, halves({0.5f, 0.0f}), 0.0f, 1.0f);
    check_values(r.v_pre, {1.25, 0.125}, "v_pre");
    check_values(r.spike, {1, 0}, "spike");
    check_values(r.v, {0.0, 0.125}, "v");
    CHECK(r.w_last.to_float() == 0.125f);
}

TEST_CASE("lynxi LIFPlus SBT: subthreshold coupling tau*a*(v - v_w)") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub, ly::refractoriness::none, ly::spike_initiation::naive,
                                                ly::trigger_current::subthreshold));
    p.epsilon_w = ly::soma_param(0.5);
    p.a = ly::soma_param(0.5);
    p.v_w = ly::soma_param(-1.0);
    p.b = ly::soma_param(0.25);
    // w = .5*0 + (.5*.5)*(0 + 1) = .25; v = .25 + .5*.25 + .25 = .625: spike; w = .25 - .25 = 0
    const lifplus_trace r = run_lifplus(p, halves({0.25f}), 0.0f);
    check_values(r.v_pre, {0.625}, "v_pre");
    check_values(r.spike, {1}, "spike");
    CHECK(r.w_last.to_float() == 0.0f);
}

TEST_CASE("lynxi LIFPlus EXD and LID overwrite the reset result (BIDL as is)") {
    ly::lifplus_params p = lifplus_with(options(ly::input_accumulation::cub, ly::refractoriness::none, ly::spike_initiation::naive,
                                                ly::trigger_current::naive, ly::membrane_decay::exponential));
    p.theta = ly::soma_param(1.0);
    // v = 1 + .5*(1 + (0 - .5)) = 1.25: spike, reset to 0, then EXD: v = .5*(1 - .5) + 0. = .25
    const lifplus_trace exd = run_lifplus(p, halves({1.0f}), 0.5f);
    check_values(exd.v_pre, {1.25}, "v_pre");
    check_values(exd.spike, {1}, "spike");
    check_values(exd.v, {0.25}, "v");

    p.options.decay = ly::membrane_decay::linear;
    p.v_leak = ly::soma_param(0.125);
    // LID: v = last_v + fact2 - v_leak + 0. = .5 + 1 - .125 = 1.375
    const lifplus_trace lid = run_lifplus(p, halves({1.0f}), 0.5f);
    check_values(lid.spike, {1}, "spike");
    check_values(lid.v, {1.375}, "v");
}

TEST_CASE("lynxi chip hypothesis (inferred): one rounding of alpha*v + beta, -100 floor, folded constant") {
    ly::bidl_lif_params p;
    p.beta = ly::soma_param(0.1);
    p.v0 = ly::soma_param(0.2);
    const std::vector<binary16> x = {binary16::from_bits(0x3001)};  // 0.1251220703125
    // torch: rn(rn(.30005 * .12512) + .09998) = .137451171875; one rounding: .1375732421875
    CHECK(run_lif(p, x, 0.0f).v[0].to_float() == 0.137451171875f);
    ly::bidl_lif_params chip = p;
    chip.fidelity = ly::level::chip_hypothesis;
    CHECK(run_lif(chip, x, 0.0f).v[0].to_float() == 0.1375732421875f);

    // v = -150 < -100: torch keeps decaying it (rn(rn(.30005 * -150) + .09998) = -44.90625); the chip
    // hypothesis resets it to the folded binary16(v0*alpha + beta) = .159912109375.
    CHECK(run_lif(p, halves({-150.0f}), 0.0f).v[0].to_float() == -44.90625f);
    const lif_trace floor = run_lif(chip, halves({-150.0f}), 0.0f);
    CHECK(floor.v[0].to_float() == 0.159912109375f);
    CHECK(floor.spike[0].to_float() == 0.0f);
    // A spike gives the same folded constant.
    const lif_trace fired = run_lif(chip, halves({1.0f}), 0.0f);
    CHECK(fired.spike[0].to_float() == 1.0f);
    CHECK(fired.v[0].to_float() == 0.159912109375f);
}

TEST_CASE("lynxi: per-channel (channel_share) parameters pick the neuron's channel") {
    // [N=1, C=2, inner=2]: neurons 0,1 in channel 0 (theta .5), neurons 2,3 in channel 1 (theta 2)
    const std::vector<binary16> theta = halves({0.5f, 2.0f});
    ly::bidl_lif_params p;
    p.theta = ly::soma_param::channels(theta.data());
    p.geometry = {2, 2};
    const std::vector<binary16> x = halves({1.0f, 1.0f, 1.0f, 1.0f});
    std::vector<binary16> spike(4);
    ly::bidl_lif_args<binary16> a;
    a.steps = 1;
    a.neurons = 4;
    a.x = x.data();
    a.spike = spike.data();
    ly::bidl_lif_forward(p, a);
    check_values(spike, {1, 1, 0, 0}, "spike");
}

TEST_CASE("lynxi: batch norm on the membrane rounds float32 v*scale + shift once") {
    const std::vector<float> scale = {0.5f}, shift = {0.125f};
    ly::bidl_lif_params p;
    p.norm = {scale.data(), shift.data()};
    // o1 = BN(1 + 0) = .5*1 + .125 = .625: spike (.625 > .5)
    const lif_trace r = run_lif(p, halves({1.0f}), 0.0f);
    check_values(r.v_pre, {0.625}, "v_pre");
    check_values(r.spike, {1}, "spike");
    float s = 0, t = 0;
    ly::fold_batch_norm(2.0f, 1.0f, 0.5f, 3.0f, 1.0f, s, t);  // 2/sqrt(4) = 1, 1 - .5*1 = .5
    CHECK(s == 1.0f);
    CHECK(t == 0.5f);
    CHECK_THROWS_AS(ly::fold_batch_norm(1.0f, 0.0f, 0.0f, -1.0f, 0.0f, s, t), snn::invalid_argument);
}

TEST_CASE("lynxi: bad input raises invalid_argument naming the argument") {
    const std::vector<binary16> x = halves({1.0f, 1.0f});
    std::vector<binary16> out(2);
    const auto argument_of = [](auto&& call) -> std::string {
        try {
            call();
        } catch (const snn::invalid_argument& e) {
            return e.argument();
        }
        return "(nothing thrown)";
    };
    ly::bidl_lif_args<binary16> a;
    a.steps = 2;
    a.neurons = 1;
    a.x = x.data();
    a.v = out.data();
    ly::bidl_lif_params p;
    CHECK(argument_of([&] { ly::bidl_lif_forward(p, a); }) == "(nothing thrown)");
    ly::bidl_lif_args<binary16> no_x = a;
    no_x.x = nullptr;
    CHECK(argument_of([&] { ly::bidl_lif_forward(p, no_x); }) == "x");
    ly::bidl_lif_args<binary16> negative = a;
    negative.steps = -1;
    CHECK(argument_of([&] { ly::bidl_lif_forward(p, negative); }) == "steps");
    ly::bidl_lif_args<binary16> nothing = a;
    nothing.v = nullptr;
    CHECK(argument_of([&] { ly::bidl_lif_forward(p, nothing); }) == "outputs");
    ly::bidl_lif_params bad_geometry = p;
    bad_geometry.geometry.channels = 0;
    CHECK(argument_of([&] { ly::bidl_lif_forward(bad_geometry, a); }) == "geometry.channels");
    ly::bidl_lif_params bad_point = p;
    bad_point.analog_point = static_cast<ly::membrane_point>(7);
    CHECK(argument_of([&] { ly::bidl_lif_forward(bad_point, a); }) == "analog_point");
    ly::bidl_lif_params half_norm = p;
    const float scale = 1.0f;
    half_norm.norm.scale = &scale;
    CHECK(argument_of([&] { ly::bidl_lif_forward(half_norm, a); }) == "norm");

    ly::lifplus_params lp;
    lp.options.input = ly::input_accumulation::cub;
    lp.options.reversal_voltage = true;
    ly::lifplus_args<binary16> la;
    la.steps = 2;
    la.neurons = 1;
    la.x = x.data();
    la.v = out.data();
    CHECK(argument_of([&] { ly::lifplus_forward(lp, la); }) == "options.reversal_voltage");
    lp.options.reversal_voltage = false;
    lp.options.trigger = static_cast<ly::trigger_current>(3);
    CHECK(argument_of([&] { ly::lifplus_forward(lp, la); }) == "options.trigger");

    ly::sj_lynxi_params sp;
    sp.leaky = true;
    sp.tau = 0.0;
    ly::sj_lynxi_args<binary16> sa;
    sa.steps = 2;
    sa.neurons = 1;
    sa.x = x.data();
    sa.v = out.data();
    CHECK(argument_of([&] { ly::sj_lynxi_forward(sp, sa); }) == "tau");

    ly::aggregate_params ap;
    ap.divisor = -1.0;
    ly::aggregate_args<binary16> aa;
    aa.steps = 2;
    aa.neurons = 1;
    aa.y = x.data();
    aa.result = out.data();
    CHECK(argument_of([&] { ly::aggregate(ap, aa); }) == "divisor");
    ap.divisor = 0.0;
    ap.kind = ly::aggregation::torch_mean;
    aa.running = out.data();
    CHECK(argument_of([&] { ly::aggregate(ap, aa); }) == "running");

    CHECK(argument_of([] { ly::select_isa("no-such-isa"); }) == "isa");
}

TEST_CASE("lynxi: many blocks over several threads give the bits of one thread") {
    constexpr std::int64_t T = 3, N = 9001;  // three blocks of 4096 neurons, the last one ragged
    const std::vector<binary16> x = snn_test::lynxi::sweep_inputs(5, T * N);
    const auto run = [&](const ly::kernel_table& t, int threads) {
        std::vector<binary16> out(static_cast<std::size_t>(3 * T * N + 2 * N));
        ly::bidl_lif_params p;
        p.mode = ly::output_mode::analog;
        p.analog_activation = ly::activation::tanh;
        ly::bidl_lif_args<binary16> a;
        a.steps = T;
        a.neurons = N;
        a.x = x.data();
        a.out = out.data();
        a.v = out.data() + T * N;
        t.bidl_lif(p, a, {threads});
        ly::lifplus_params lp;
        lp.options.refractory = ly::refractoriness::relative;
        lp.options.trigger = ly::trigger_current::subthreshold;
        ly::lifplus_args<binary16> la;
        la.steps = T;
        la.neurons = N;
        la.x = x.data();
        la.v = out.data() + 2 * T * N;
        la.w_last = out.data() + 3 * T * N;
        t.lifplus(lp, la, {threads});
        ly::aggregate_params ap;
        ap.kind = ly::aggregation::torch_mean;
        ly::aggregate_args<binary16> aa;
        aa.steps = T;
        aa.neurons = N;
        aa.y = x.data();
        aa.result = out.data() + 3 * T * N + N;
        t.aggregate(ap, aa, {threads});
        snn_test::lynxi::sweep_run r{t.isa, {}};
        snn_test::lynxi::append(r.bits, out);
        return r;
    };
    const auto reference = run(ly::select_isa("scalar"), 1);
    CHECK(snn_test::lynxi::first_difference(run(ly::select_isa("scalar"), 3), reference) == -1);
    CHECK(snn_test::lynxi::first_difference(run(ly::select_isa("simd"), 3), reference) == -1);
    CHECK(snn_test::lynxi::first_difference(run(ly::select_isa("simd"), 1), reference) == -1);
}
