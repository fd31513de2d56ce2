#pragma once
// Shared by the CPU and CUDA kernel tests: random inputs with exact threshold ties, and one
// forward_training + backward run through a type-erased kernel table.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "snn/core/binary16.hpp"
#include "snn/cpu/dispatch.hpp"

namespace snn_test {

using namespace snn;


template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

inline std::vector<float> random_input(std::int64_t n, std::uint32_t seed, float lo = -0.5f, float hi = 1.5f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& e : v) e = (rng() % 4 == 0) ? std::round(d(rng) * 4) / 4 : d(rng);  // quarter grid: exact threshold ties
    return v;
}

inline bool rational(surrogate_kind k) {
    switch (k) {
        case surrogate_kind::sigmoid:
        case surrogate_kind::piecewise_exp:
        case surrogate_kind::erf:
        case surrogate_kind::s2nn:
        case surrogate_kind::q_pseudo_spike: return false;
        default: return true;
    }
}


struct run_result {
    std::vector<std::uint8_t> spike, v_seq, grad_x, grad_v0;
    double grad_w = 0;
};

inline run_result run_table(const cpu::kernel_table& table, cpu::precision_id prec, cpu::charge_id ch, const neuron_params& p,
                     std::int64_t T, std::int64_t N, int threads = 1) {
    const auto sz = cpu::sizes_of(prec);
    const std::size_t TN = static_cast<std::size_t>(T * N);
    auto fill = [&](std::uint32_t seed, float lo, float hi) {
        const auto f = random_input(T * N, seed, lo, hi);
        std::vector<std::uint8_t> out(TN * sz.storage);
        for (std::size_t i = 0; i < TN; ++i) {
            if (sz.storage == 8) { const double d = f[i]; std::memcpy(&out[i * 8], &d, 8); }
            else if (sz.storage == 4) std::memcpy(&out[i * 4], &f[i], 4);
            else { const binary16 h(f[i]); std::memcpy(&out[i * 2], &h, 2); }
        }
        return out;
    };
    const auto x = fill(1, -0.5f, 1.5f), gs = fill(2, -1.0f, 1.0f), gv = fill(3, -1.0f, 1.0f);
    run_result r;
    r.spike.resize(TN * sz.storage);
    r.v_seq.resize(TN * sz.storage);
    r.grad_x.resize(TN * sz.storage);
    r.grad_v0.resize(static_cast<std::size_t>(N) * sz.state);
    std::vector<std::uint8_t> h(TN * sz.saved);
    const auto& e = table.at(prec, ch);
    cpu::erased_forward_args f;
    f.steps = T;
    f.neurons = N;
    f.x = x.data();
    f.spike = r.spike.data();
    f.v_seq = r.v_seq.data();
    f.h_seq = h.data();
    cpu::execution exec;
    exec.threads = threads;
    e.forward_training(p, f, exec);
    cpu::erased_backward_args b;
    b.steps = T;
    b.neurons = N;
    b.grad_spike = gs.data();
    b.grad_v_seq = gv.data();
    b.h_seq = h.data();
    b.x = x.data();
    b.v_seq = r.v_seq.data();
    b.grad_x = r.grad_x.data();
    b.grad_v_init = r.grad_v0.data();
    b.grad_w = &r.grad_w;
    e.backward(p, b, exec);
    return r;
}


/// Parameters the backend-equality tests sweep: every surrogate with its defaults (log_tailed_relu
/// with a nonzero slope), the reset under test, detach and division varied with the indices.
inline neuron_params varied_params(int surrogate_index, int charge_index, reset_kind reset) {
    const auto kind = static_cast<surrogate_kind>(surrogate_index);
    neuron_params p;
    p.tau = 2.5;
    p.w = -0.4;
    p.v_reset = -0.25;
    p.surrogate = default_surrogate_params(kind);
    if (kind == surrogate_kind::log_tailed_relu) p.surrogate.alpha = 0.125;
    p.dynamic.surrogate = kind;
    p.dynamic.reset = reset;
    p.dynamic.detach_reset = (surrogate_index % 2) == 1;
    p.dynamic.division = static_cast<division_kind>((surrogate_index + charge_index) % 3);
    return p;
}

}  // namespace snn_test
