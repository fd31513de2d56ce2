// CUDA tests of the Loihi kernels (run on a GPU machine, part of snn_cuda_tests): CUDA equals
// the CPU scalar reference bit for bit for the CUBA forward under every rule (in and beyond
// the 24-bit range, per-channel decays, bias, initial state) and for Lava's LIF (wraps,
// saturation, per-neuron bias), the backward within float32 rounding of exp, and bad
// arguments are thrown before anything is launched.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "snn/cuda/lava_staged.hpp"
#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/loihi_lif.hpp"

namespace lava = snn::lava;

namespace {

struct cuba_out {
    std::vector<float> spike, current, voltage;
    std::vector<std::int64_t> u, v;
};

cuba_out run_forward(bool gpu, lava::cuba_rule_id rule, const lava::cuba_constants& k, const std::vector<float>& x, std::int64_t N,
                     const std::vector<std::int32_t>& i_decay, const std::vector<std::int64_t>& bias) {
    const std::int64_t T = static_cast<std::int64_t>(x.size()) / N;
    cuba_out o;
    o.spike.resize(x.size());
    o.current.resize(x.size());
    o.voltage.resize(x.size());
    o.u.resize(static_cast<std::size_t>(N));
    o.v.resize(static_cast<std::size_t>(N));
    for (std::int64_t n = 0; n < N; ++n) o.u[static_cast<std::size_t>(n)] = (n % 7) * 1000 - 3000, o.v[static_cast<std::size_t>(n)] = n % 5;
    lava::cuba_forward_args a;
    a.steps = T;
    a.neurons = N;
    a.x = x.data();
    a.spike = o.spike.data();
    a.current = o.current.data();
    a.voltage = o.voltage.data();
    a.u_state = o.u.data();
    a.v_state = o.v.data();
    a.i_decay = i_decay.data();
    a.bias = bias.data();
    a.channels = static_cast<std::int64_t>(i_decay.size());
    if (gpu) snn::cuda::lava_cuba_forward_staged(rule, k, a);
    else lava::with_cuba_rule(rule, [&](auto r) { lava::cuba_forward_scalar<decltype(r)>(k, a); });
    return o;
}

}  // namespace

TEST_CASE("Loihi CUBA on CUDA equals the CPU scalar kernel bit for bit") {
    std::mt19937 rng(21);
    std::normal_distribution<float> gauss(0.0f, 0.8f);
    const std::int64_t N = 3003, T = 24;  // 429 neurons in each of the 7 channels
    std::vector<float> x(static_cast<std::size_t>(N * T));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = gauss(rng) * (i % 211 == 3 ? 20000.0f : 1.0f);
    const std::vector<std::int32_t> i_decay{0, 1, 410, 2048, 4095, 4096, 1024};
    const std::vector<std::int64_t> bias{0, 64, -128, 0, 6400, 0, -64};
    for (const auto rule : {lava::cuba_rule_id::slayer, lava::cuba_rule_id::spikingjelly, lava::cuba_rule_id::loihi}) {
        for (const bool graded : {false, true}) {
            CAPTURE(static_cast<int>(rule));
            CAPTURE(graded);
            const auto k = lava::slayer_constants(0.75, 0.1, 0.03, graded);
            const cuba_out c = run_forward(false, rule, k, x, N, i_decay, bias);
            const cuba_out g = run_forward(true, rule, k, x, N, i_decay, bias);
            CHECK(std::memcmp(c.spike.data(), g.spike.data(), c.spike.size() * sizeof(float)) == 0);
            CHECK(std::memcmp(c.current.data(), g.current.data(), c.current.size() * sizeof(float)) == 0);
            CHECK(std::memcmp(c.voltage.data(), g.voltage.data(), c.voltage.size() * sizeof(float)) == 0);
            CHECK(c.u == g.u);
            CHECK(c.v == g.v);
        }
    }
}

TEST_CASE("Loihi CUBA backward on CUDA matches the CPU within float32 rounding") {
    std::mt19937 rng(5);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    const std::int64_t N = 1027, T = 16;
    std::vector<float> voltage(static_cast<std::size_t>(N * T)), current(voltage.size()), gs(voltage.size()), gv(voltage.size());
    for (auto* v : {&voltage, &current, &gs, &gv})
        for (auto& e : *v) e = gauss(rng);
    const auto k = lava::slayer_constants(1.0, 0.25, 0.1);
    std::vector<float> gx_c(voltage.size()), gx_g(voltage.size()), gi_c(N), gi_g(N), gvd_c(N), gvd_g(N);
    lava::cuba_backward_args a;
    a.steps = T;
    a.neurons = N;
    a.voltage = voltage.data();
    a.current = current.data();
    a.grad_spike = gs.data();
    a.grad_voltage = gv.data();
    a.grad_x = gx_c.data();
    a.grad_i_decay = gi_c.data();
    a.grad_v_decay = gvd_c.data();
    lava::cuba_backward(k, a);
    a.grad_x = gx_g.data();
    a.grad_i_decay = gi_g.data();
    a.grad_v_decay = gvd_g.data();
    snn::cuda::lava_cuba_backward_staged(k, a);
    for (std::size_t i = 0; i < gx_c.size(); ++i) CHECK(gx_g[i] == doctest::Approx(gx_c[i]).epsilon(1e-5));
    for (std::int64_t n = 0; n < N; ++n) {
        CHECK(gi_g[static_cast<std::size_t>(n)] == doctest::Approx(gi_c[static_cast<std::size_t>(n)]).epsilon(1e-4));
        CHECK(gvd_g[static_cast<std::size_t>(n)] == doctest::Approx(gvd_c[static_cast<std::size_t>(n)]).epsilon(1e-4));
    }
}

TEST_CASE("Lava LIF on CUDA equals the CPU bit for bit (wrap, saturation, bias)") {
    std::mt19937 rng(9);
    std::uniform_int_distribution<std::int32_t> a_dist(-40000, 40000);
    const std::int64_t N = 2049, T = 20;
    std::vector<std::int32_t> a_in(static_cast<std::size_t>(N * T)), bias_mant(N), bias_exp(N);
    for (auto& e : a_in) e = a_dist(rng);
    for (std::int64_t n = 0; n < N; ++n) bias_mant[static_cast<std::size_t>(n)] = static_cast<std::int32_t>(n % 9) - 4, bias_exp[static_cast<std::size_t>(n)] = static_cast<std::int32_t>(n % 13) - 6;
    for (const auto& [du, dv] : std::vector<std::pair<int, int>>{{0, 0}, {4095, 4095}, {409, 123}, {-1, 4096}, {2047, 0}}) {
        CAPTURE(du);
        lava::loihi_lif_params p;
        p.du = du;
        p.dv = dv;
        p.vth = 5000;
        std::vector<std::int32_t> u_c(N, 0), v_c(N, 0), u_g(N, 0), v_g(N, 0), us_c(a_in.size()), vs_c(a_in.size()), us_g(a_in.size()), vs_g(a_in.size());
        std::vector<std::int8_t> s_c(a_in.size()), s_g(a_in.size());
        lava::loihi_lif_args a;
        a.steps = T;
        a.neurons = N;
        a.a_in = a_in.data();
        a.bias_mant = bias_mant.data();
        a.bias_exp = bias_exp.data();
        a.u = u_c.data(), a.v = v_c.data(), a.u_seq = us_c.data(), a.v_seq = vs_c.data(), a.spike = s_c.data();
        lava::loihi_lif_forward(p, a);
        a.u = u_g.data(), a.v = v_g.data(), a.u_seq = us_g.data(), a.v_seq = vs_g.data(), a.spike = s_g.data();
        snn::cuda::lava_loihi_lif_staged(p, a);
        CHECK(us_c == us_g);
        CHECK(vs_c == vs_g);
        CHECK(s_c == s_g);
        CHECK(u_c == u_g);
    }
}

TEST_CASE("Loihi CUDA kernels reject bad arguments before launching") {
    const auto k = lava::slayer_constants(1.0, 0.1, 0.1);
    std::vector<float> x(4), s(4);
    lava::cuba_forward_args a;
    a.steps = 2;
    a.neurons = 2;
    a.x = x.data();
    a.spike = nullptr;
    CHECK_THROWS_AS(snn::cuda::lava_cuba_forward_staged(lava::cuba_rule_id::slayer, k, a), snn::invalid_argument);
    a.spike = s.data();
    const std::vector<std::int32_t> bad{5000, 0};
    a.v_decay = bad.data();
    a.channels = 2;
    CHECK_THROWS_WITH_AS(snn::cuda::lava_cuba_forward_staged(lava::cuba_rule_id::slayer, k, a), doctest::Contains("v_decay"), snn::invalid_argument);
    lava::loihi_lif_params p;
    p.du = 5000;
    lava::loihi_lif_args la;
    std::int32_t u = 0, v = 0;
    la.steps = 1;
    la.neurons = 1;
    la.u = &u;
    la.v = &v;
    CHECK_THROWS_WITH_AS(snn::cuda::lava_loihi_lif_staged(p, la), doctest::Contains("du"), snn::invalid_argument);
}
