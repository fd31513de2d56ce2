// Neuron kernels: hand-checked steps, chunked sequences, scalar == SIMD on every compiled
// instruction set, deterministic PLIF reduction, and bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "snn/cpu/dispatch.hpp"
#include "snn/cpu/multistep.hpp"

using namespace snn;

#include "support/table_runs.hpp"

using snn_test::rational;
using snn_test::random_input;
using snn_test::run_result;
using snn_test::run_table;
using snn_test::same_bits;

TEST_CASE("LIF step matches hand-computed values") {
    using cfg = lif_neuron<precision::f32>;
    neuron_params p;  // tau 2, v_th 1, v_reset 0, ATan(2)
    const std::vector<float> x = {1.0f, 1.5f, 2.0f};  // [T=3, N=1]
    std::vector<float> spike(3), v_seq(3), h_seq(3);
    cpu::forward_args<cfg> a;
    a.steps = 3;
    a.neurons = 1;
    a.x = x.data();
    a.spike = spike.data();
    a.v_seq = v_seq.data();
    a.h_seq = h_seq.data();
    cpu::forward_training(p, a, cpu::backend::scalar);
    // h0 = 0 + (1 - 0)/2 = 0.5; h1 = 0.5 + (1.5 - 0.5)/2 = 1.0 -> fires (tie), reset to 0;
    // h2 = 0 + 2/2 = 1.0 -> fires.
    CHECK(h_seq == std::vector<float>{0.5f, 1.0f, 1.0f});
    CHECK(spike == std::vector<float>{0.0f, 1.0f, 1.0f});
    CHECK(v_seq == std::vector<float>{0.5f, 0.0f, 0.0f});

    // The strict fire policy does not fire on the tie.
    using strict = neuron_config<charge::lif<true>, fire::greater, reset::hard<false>, surrogate::atan, division::true_division, precision::f32>;
    cpu::forward_args<strict> b;
    b.steps = 3;
    b.neurons = 1;
    b.x = x.data();
    b.spike = spike.data();
    b.v_seq = v_seq.data();
    cpu::forward_inference(p, b, cpu::backend::scalar);
    CHECK(spike == std::vector<float>{0.0f, 0.0f, 1.0f});

    // Soft reset subtracts the threshold: h = 0.5, 1.0 -> v 0, then 0 + 2/2 = 1 -> fires -> 0.
    using soft = neuron_config<charge::lif<true>, fire::greater_equal, reset::soft<false>, surrogate::atan, division::true_division, precision::f32>;
    cpu::forward_args<soft> c;
    c.steps = 3;
    c.neurons = 1;
    c.x = x.data();
    c.spike = spike.data();
    c.v_seq = v_seq.data();
    cpu::forward_inference(p, c, cpu::backend::scalar);
    CHECK(spike == std::vector<float>{0.0f, 1.0f, 1.0f});
    CHECK(v_seq == std::vector<float>{0.5f, 0.0f, 0.0f});
}

TEST_CASE("IF backward with ATan matches the torch autograd formula") {
    using cfg = if_neuron<precision::f64>;
    neuron_params p;
    p.v_threshold = 1.0;
    const std::vector<double> x = {0.75, 0.5};  // h0 = 0.75 (no spike), h1 = 1.25 (spike)
    std::vector<double> spike(2), v_seq(2), h_seq(2), gx(2), gv0(1);
    const std::vector<double> gs = {1.0, 1.0}, gv = {0.0, 0.0};
    cpu::forward_args<cfg> a;
    a.steps = 2;
    a.neurons = 1;
    a.x = x.data();
    a.spike = spike.data();
    a.v_seq = v_seq.data();
    a.h_seq = h_seq.data();
    cpu::forward_training(p, a, cpu::backend::scalar);
    cpu::backward_args<cfg> b;
    b.steps = 2;
    b.neurons = 1;
    b.grad_spike = gs.data();
    b.grad_v_seq = gv.data();
    b.h_seq = h_seq.data();
    b.grad_x = gx.data();
    b.grad_v_init = gv0.data();
    cpu::backward(p, b, cpu::backend::scalar);
    auto atan_grad = [](double z) { const double u = 3.141592653589793 * z; return 1.0 / (1.0 + u * u); };
    // t=1: gv=0, s=1, hard reset to 0: gs = 1 + (-(0*h)) + 0*0 = 1; gh1 = 0*(1-s) + sg(0.25)*1
    const double gh1 = atan_grad(0.25);
    // t=0: gv = gh1 (IF passes the membrane gradient on), s=0: gs = 1 - gv*h0; gh0 = gv + sg(-0.25)*gs
    const double gv0_expected = gh1;
    const double gh0 = gv0_expected + atan_grad(-0.25) * (1.0 - gv0_expected * 0.75);
    CHECK(gx[1] == doctest::Approx(gh1).epsilon(1e-14));
    CHECK(gx[0] == doctest::Approx(gh0).epsilon(1e-14));
    CHECK(gv0[0] == doctest::Approx(gh0).epsilon(1e-14));
}

TEST_CASE_TEMPLATE("a sequence split into chunks gives the bits of one call", Precision, precision::f32, precision::f16_storage,
                   precision::b16_torch_cpu, precision::b16_torch_cuda) {
    using cfg = neuron_config<charge::lif<true>, fire::greater_equal, reset::hard<false>, surrogate::atan, division::true_division, Precision>;
    using S = typename cfg::storage_type;
    using St = typename cfg::state_type;
    const std::int64_t T = 10, T1 = 4, N = 2053;
    const auto xf = random_input(T * N, 3);
    std::vector<S> x(xf.size());
    for (std::size_t i = 0; i < xf.size(); ++i) x[i] = S(xf[i]);
    neuron_params p;
    p.tau = 3.0;
    p.v_reset = -0.3;
    for (auto be : {cpu::backend::scalar, cpu::backend::simd}) {
        std::vector<S> spike(x.size()), v_seq(x.size()), spike2(x.size()), v_seq2(x.size());
        std::vector<St> v_last(N), v_mid(N), v_last2(N);
        cpu::forward_args<cfg> a;
        a.steps = T;
        a.neurons = N;
        a.x = x.data();
        a.spike = spike.data();
        a.v_seq = v_seq.data();
        a.v_last = v_last.data();
        cpu::forward_inference(p, a, be);

        cpu::forward_args<cfg> first = a;
        first.steps = T1;
        first.spike = spike2.data();
        first.v_seq = v_seq2.data();
        first.v_last = v_mid.data();
        cpu::forward_inference(p, first, be);
        cpu::forward_args<cfg> second = a;
        second.steps = T - T1;
        second.x = x.data() + T1 * N;
        second.v_init = v_mid.data();
        second.spike = spike2.data() + T1 * N;
        second.v_seq = v_seq2.data() + T1 * N;
        second.v_last = v_last2.data();
        cpu::forward_inference(p, second, be);
        CHECK(same_bits(spike, spike2));
        CHECK(same_bits(v_seq, v_seq2));
        CHECK(same_bits(v_last, v_last2));
    }
}


TEST_CASE("scalar and every compiled SIMD instruction set give the same bits") {
    std::size_t count = 0;
    const cpu::isa_entry* isas = cpu::registered_isas(count);
    const cpu::kernel_table& scalar = cpu::select_isa("scalar");
    int simd_tested = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (std::string(isas[i].name) == "scalar" || !isas[i].available()) continue;
        ++simd_tested;
        const cpu::kernel_table& simd = isas[i].table();
        for (int pi = 0; pi < cpu::precision_id_count; ++pi) {
            for (int ci = 0; ci < cpu::charge_id_count; ++ci) {
                for (int si = 0; si < surrogate_kind_count; ++si) {
                    for (auto reset : {reset_kind::hard, reset_kind::soft}) {
                        const auto kind = static_cast<surrogate_kind>(si);
                        const neuron_params p = snn_test::varied_params(si, ci, reset);
                        const auto prec = static_cast<cpu::precision_id>(pi);
                        const auto ch = static_cast<cpu::charge_id>(ci);
                        const std::string isa_name = isas[i].name;
                        CAPTURE(isa_name);
                        CAPTURE(pi);
                        CAPTURE(ci);
                        const std::string sg_name = surrogate_name(kind);
                        const int division_index = static_cast<int>(p.dynamic.division);
                        CAPTURE(sg_name);
                        CAPTURE(division_index);
                        const std::int64_t T = 5, N = 1031;  // N odd: exercises the scalar tail
                        const run_result a = run_table(scalar, prec, ch, p, T, N);
                        const run_result b = run_table(simd, prec, ch, p, T, N);
                        CHECK(a.spike == b.spike);
                        CHECK(a.v_seq == b.v_seq);
                        if (rational(kind)) {
                            CHECK(a.grad_x == b.grad_x);
                            CHECK(a.grad_v0 == b.grad_v0);
                        }
                        if (ci >= static_cast<int>(cpu::charge_id::plif_decay_input)) {
                            CHECK(std::isfinite(a.grad_w));
                            CHECK(b.grad_w == doctest::Approx(a.grad_w).epsilon(1e-6));
                        }
                    }
                }
            }
        }
    }
    CHECK(simd_tested >= 1);
    MESSAGE("SIMD instruction sets compared with scalar: " << simd_tested << " (" << cpu::available_isas() << ")");
}

TEST_CASE("PLIF grad_w does not depend on the thread count") {
    const auto& table = cpu::select_isa("simd");
    neuron_params p;
    p.w = 0.3;
    const std::int64_t T = 4, N = 200000;
    const run_result one = run_table(table, cpu::precision_id::f32, cpu::charge_id::plif_decay_input, p, T, N, 1);
    const run_result two = run_table(table, cpu::precision_id::f32, cpu::charge_id::plif_decay_input, p, T, N, 2);
    const run_result five = run_table(table, cpu::precision_id::f32, cpu::charge_id::plif_decay_input, p, T, N, 5);
    CHECK(std::memcmp(&one.grad_w, &two.grad_w, sizeof(double)) == 0);
    CHECK(std::memcmp(&one.grad_w, &five.grad_w, sizeof(double)) == 0);
    CHECK(one.grad_x == five.grad_x);
}

TEST_CASE("bad input raises invalid_argument naming the argument") {
    using cfg = lif_neuron<precision::f32>;
    std::vector<float> x(8, 0.5f), s(8);
    neuron_params p;
    auto args = [&] {
        cpu::forward_args<cfg> a;
        a.steps = 2;
        a.neurons = 4;
        a.x = x.data();
        a.spike = s.data();
        return a;
    };
    auto expect = [](auto&& call, const std::string& argument) {
        try {
            call();
            FAIL("no exception for " << argument);
        } catch (const snn::invalid_argument& e) {
            CHECK(e.argument() == argument);
            CHECK(std::string(e.what()).find(argument) != std::string::npos);
        }
    };
    expect([&] { auto a = args(); a.steps = 0; cpu::forward_inference(p, a); }, "steps");
    expect([&] { auto a = args(); a.neurons = 0; cpu::forward_inference(p, a); }, "neurons");
    expect([&] { auto a = args(); a.steps = -3; cpu::forward_inference(p, a); }, "steps");
    expect([&] { auto a = args(); a.x = nullptr; cpu::forward_inference(p, a); }, "x");
    expect([&] { auto a = args(); a.spike = nullptr; cpu::forward_inference(p, a); }, "spike");
    expect([&] { auto a = args(); cpu::forward_training(p, a); }, "h_seq");
    expect([&] { auto a = args(); a.neurons = std::int64_t{1} << 62; cpu::forward_inference(p, a); }, "neurons");
    expect([&] { auto q = p; q.tau = 1.0; auto a = args(); cpu::forward_inference(q, a); }, "tau");
    expect([&] { auto q = p; q.tau = 0.5; auto a = args(); cpu::forward_inference(q, a, cpu::backend::scalar); }, "tau");
    expect([&] { auto q = p; q.v_threshold = NAN; auto a = args(); cpu::forward_inference(q, a); }, "v_threshold");
    expect([&] { auto q = p; q.v_reset = INFINITY; auto a = args(); cpu::forward_inference(q, a); }, "v_reset");
    expect([&] { auto q = p; q.surrogate.alpha = NAN; auto a = args(); cpu::forward_inference(q, a); }, "surrogate.alpha");
    expect([] { (void)surrogate_from_name("arctan"); }, "surrogate");
    expect([] { (void)plif_w_from_tau(1.0); }, "tau");
    {
        using plif = plif_neuron<precision::f32>;
        cpu::forward_args<plif> a;
        a.steps = 2;
        a.neurons = 4;
        a.x = x.data();
        a.spike = s.data();
        auto q = p;
        q.w = NAN;
        expect([&] { cpu::forward_inference(q, a); }, "w");
    }
    {
        cpu::backward_args<cfg> b;
        b.steps = 2;
        b.neurons = 4;
        std::vector<float> g(8);
        b.grad_spike = g.data();
        b.grad_x = g.data();
        expect([&] { cpu::backward(p, b); }, "h_seq");
        b.h_seq = g.data();
        b.grad_spike = nullptr;
        expect([&] { cpu::backward(p, b); }, "grad_spike");
    }
    expect([] { (void)cpu::select_isa("avx9000"); }, "isa");
}
