#pragma once
// A sweep over the Lynxi kernels' configurations (every LIFPlus option combination, Lif modes,
// levels, per-channel parameters and batch norm, SJ IF/LIF variants, aggregations, both torch
// devices) on inputs full of edge cases (threshold ties, +-inf, NaN, subnormals, signed zeros,
// values that overflow when added). Used to check that two backends give the same bits: CPU
// scalar vs every SIMD instruction set (tests/test_lynxi.cpp) and vs CUDA (cuda/test_lynxi_cuda.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include "snn/core/binary16.hpp"
#include "snn/emu/lynxi/dispatch.hpp"

namespace snn_test {
namespace lynxi {

namespace ly = snn::emu::lynxi;

/// One configuration's outputs, concatenated as binary16 bit patterns (cnt as float bits).
struct sweep_run {
    std::string label;
    std::vector<std::uint32_t> bits;
};

inline constexpr std::int64_t sweep_steps = 13;
inline constexpr std::int64_t sweep_neurons = 37;  // odd: SIMD registers plus a scalar tail

/// Deterministic inputs [T, N]: random values around the thresholds, a grid of quarters (exact
/// ties), and edge values.
inline std::vector<snn::binary16> sweep_inputs(std::uint32_t seed, std::int64_t count) {
    static const float edges[] = {0.0f, -0.0f, 5.9604645e-08f, -5.9604645e-08f, 6.0975552e-05f, 60000.0f, -60000.0f,
                                  65504.0f, 1.0f / 0.0f, -1.0f / 0.0f, 0.5f, 1.0f, -100.0f, -150.0f};
    std::vector<snn::binary16> v(static_cast<std::size_t>(count));
    std::uint32_t state = seed * 2654435761u + 12345u;
    for (auto& e : v) {
        state = state * 1664525u + 1013904223u;
        const std::uint32_t r = state >> 8;
        float value;
        if (r % 23 == 0) value = edges[(r / 23) % (sizeof edges / sizeof edges[0])];
        else if (r % 3 == 0) value = 0.25f * static_cast<float>(static_cast<int>((r / 3) % 13) - 4);
        else value = (static_cast<float>(r % 20000) / 10000.0f - 0.7f) * 1.7f;
        e = snn::binary16(value);
    }
    // One NaN, away from the first steps, so that the rest of that neuron's train is NaN-checked.
    v[static_cast<std::size_t>(count / 2)] = snn::binary16::from_bits(0x7E00);
    return v;
}

inline void append(std::vector<std::uint32_t>& out, const std::vector<snn::binary16>& v) {
    for (const auto& h : v) out.push_back(h.bits);
}

inline std::vector<sweep_run> sweep(const ly::kernel_table& table) {
    constexpr std::int64_t T = sweep_steps, N = sweep_neurons, TN = T * N;
    const std::vector<snn::binary16> x = sweep_inputs(1, TN), v_init = sweep_inputs(2, N), g_init = sweep_inputs(3, N);
    const std::vector<snn::binary16> channel_values = {snn::binary16(0.3f), snn::binary16(0.9f), snn::binary16(1.0f)};
    const std::vector<float> norm_scale = {1.5f, 0.75f, -2.0f}, norm_shift = {0.1f, -0.2f, 0.0f};
    std::vector<sweep_run> runs;

    // BIDL Lif
    for (int device = 0; device < 2; ++device)
        for (int fidelity = 0; fidelity < 2; ++fidelity)
            for (int variant = 0; variant < 9; ++variant) {
                ly::bidl_lif_params p;
                p.device = static_cast<ly::torch_device>(device);
                p.fidelity = static_cast<ly::level>(fidelity);
                if (variant % 3 == 1) {
                    p.alpha = ly::soma_param(0.9);
                    p.beta = ly::soma_param(-0.05);
                    p.theta = ly::soma_param(1.0);
                    p.v0 = ly::soma_param(-0.3);
                } else if (variant % 3 == 2) {
                    p.alpha = ly::soma_param::channels(channel_values.data());
                    p.theta = ly::soma_param::channels(channel_values.data());
                    p.beta = ly::soma_param(0.1);
                    p.v0 = ly::soma_param(0.2);
                    p.geometry = {3, 4};
                    p.norm = {norm_scale.data(), norm_shift.data()};
                }
                if (variant >= 1) {
                    p.mode = ly::output_mode::analog;
                    p.analog_point = static_cast<ly::membrane_point>(variant % 4);
                    p.analog_activation = static_cast<ly::activation>(variant % 4);
                }
                std::vector<snn::binary16> spike(TN), out(TN), v_pre(TN), v(TN), v_last(N);
                ly::bidl_lif_args<snn::binary16> a;
                a.steps = T;
                a.neurons = N;
                a.x = x.data();
                a.v_init = variant % 2 ? v_init.data() : nullptr;
                a.spike = spike.data();
                a.out = out.data();
                a.v_pre = v_pre.data();
                a.v = v.data();
                a.v_last = v_last.data();
                table.bidl_lif(p, a, {});
                sweep_run r{"bidl_lif device " + std::to_string(device) + " level " + std::to_string(fidelity) + " variant " +
                                std::to_string(variant),
                            {}};
                for (const auto* o : {&spike, &out, &v_pre, &v, &v_last}) append(r.bits, *o);
                runs.push_back(std::move(r));
            }

    // LIFPlus: every option combination the reference accepts.
    int combination = 0;
    for (int input = 0; input < 3; ++input)
        for (int rev = 0; rev < 2; ++rev)
            for (int refr = 0; refr < 3; ++refr)
                for (int init = 0; init < 3; ++init)
                    for (int trig = 0; trig < 3; ++trig)
                        for (int decay = 0; decay < 3; ++decay) {
                            if (rev && input == 0) continue;
                            ++combination;
                            ly::lifplus_params p;
                            p.options = {static_cast<ly::input_accumulation>(input), rev != 0, static_cast<ly::refractoriness>(refr),
                                         static_cast<ly::spike_initiation>(init), static_cast<ly::trigger_current>(trig),
                                         static_cast<ly::membrane_decay>(decay)};
                            p.device = static_cast<ly::torch_device>(combination % 2);
                            p.fidelity = static_cast<ly::level>((combination / 2) % 2);
                            p.epsilon = ly::soma_param(0.3);
                            p.v_g = ly::soma_param(1.2);
                            p.tau_recip = ly::soma_param(0.45);
                            p.v0 = ly::soma_param(combination % 3 == 0 ? -0.1 : 0.0);
                            p.epsilon_r = ly::soma_param(0.2);
                            p.v_rr = ly::soma_param(-0.5);
                            p.v_ar = ly::soma_param(-0.7);
                            p.q_r = ly::soma_param(0.25);
                            p.epsilon_w = ly::soma_param(0.1);
                            p.b = ly::soma_param(0.15);
                            p.v_theta = ly::soma_param(0.6);
                            p.delta_t = ly::soma_param(0.5);
                            p.v_c = ly::soma_param(0.8);
                            p.a = ly::soma_param(0.35);
                            p.v_w = ly::soma_param(-0.2);
                            p.v_leak = ly::soma_param(0.05);
                            if (combination % 5 == 0) {
                                p.tau_recip = ly::soma_param::channels(channel_values.data());
                                p.geometry = {3, 2};
                                p.norm = {norm_scale.data(), norm_shift.data()};
                            }
                            if (combination % 4 == 1) {
                                p.mode = ly::output_mode::analog;
                                p.analog_point = static_cast<ly::membrane_point>(combination % 4);
                                p.analog_activation = static_cast<ly::activation>((combination / 4) % 4);
                            }
                            std::vector<snn::binary16> spike(TN), out(TN), v_pre(TN), v(TN), g(TN), last(5 * N);
                            std::vector<float> cnt_last(N);
                            ly::lifplus_args<snn::binary16> a;
                            a.steps = T;
                            a.neurons = N;
                            a.x = x.data();
                            a.v_init = v_init.data();
                            a.g_init = combination % 2 ? g_init.data() : nullptr;
                            a.spike = spike.data();
                            a.out = out.data();
                            a.v_pre = v_pre.data();
                            a.v = v.data();
                            if (input != 0) a.g = g.data();
                            a.v_last = last.data();
                            a.g_last = last.data() + N;
                            a.y_last = last.data() + 2 * N;
                            a.r_last = last.data() + 3 * N;
                            a.w_last = last.data() + 4 * N;
                            a.cnt_last = cnt_last.data();
                            table.lifplus(p, a, {});
                            sweep_run r{"lifplus options " + std::to_string(input) + std::to_string(rev) + std::to_string(refr) +
                                            std::to_string(init) + std::to_string(trig) + std::to_string(decay),
                                        {}};
                            for (const auto* o : {&spike, &out, &v_pre, &v, &g, &last}) append(r.bits, *o);
                            for (float c : cnt_last) r.bits.push_back(snn::detail::float_bits(c));
                            runs.push_back(std::move(r));
                        }

    // SpikingJelly lynxi_exchange
    for (int device = 0; device < 2; ++device)
        for (int variant = 0; variant < 12; ++variant) {
            ly::sj_lynxi_params p;
            p.device = static_cast<ly::torch_device>(device);
            p.leaky = variant >= 4;
            p.tau = variant % 2 ? 3.0 : 2.0;
            p.decay_input = (variant / 2) % 2 == 0;
            p.hard_reset = variant % 3 != 0;
            p.v_reset = variant % 4 == 1 ? -0.3 : 0.0;
            p.v_threshold = variant % 5 == 0 ? 0.8 : 1.0;
            std::vector<snn::binary16> spike(TN), v_pre(TN), v(TN), v_last(N);
            ly::sj_lynxi_args<snn::binary16> a;
            a.steps = T;
            a.neurons = N;
            a.x = x.data();
            a.v_init = variant % 2 ? v_init.data() : nullptr;
            a.spike = spike.data();
            a.v_pre = v_pre.data();
            a.v = v.data();
            a.v_last = v_last.data();
            table.sj_lynxi(p, a, {});
            sweep_run r{"sj_lynxi device " + std::to_string(device) + " variant " + std::to_string(variant), {}};
            for (const auto* o : {&spike, &v_pre, &v, &v_last}) append(r.bits, *o);
            runs.push_back(std::move(r));
        }

    // Time aggregation
    for (int device = 0; device < 2; ++device)
        for (int kind = 0; kind < 3; ++kind)
            for (double divisor : {0.0, 60.0, 7.0}) {
                ly::aggregate_params p;
                p.device = static_cast<ly::torch_device>(device);
                p.kind = static_cast<ly::aggregation>(kind);
                p.divisor = divisor;
                std::vector<snn::binary16> running(TN), result(N);
                ly::aggregate_args<snn::binary16> a;
                a.steps = T;
                a.neurons = N;
                a.y = x.data();
                a.running = p.kind == ly::aggregation::running ? running.data() : nullptr;
                a.result = result.data();
                table.aggregate(p, a, {});
                sweep_run r{"aggregate device " + std::to_string(device) + " kind " + std::to_string(kind) + " T " +
                                std::to_string(divisor),
                            {}};
                append(r.bits, running);
                append(r.bits, result);
                runs.push_back(std::move(r));
            }
    return runs;
}

/// Index of the first element whose bits differ (binary16 NaNs all equal), or -1.
inline std::int64_t first_difference(const sweep_run& a, const sweep_run& b) {
    if (a.bits.size() != b.bits.size()) return 0;
    for (std::size_t i = 0; i < a.bits.size(); ++i) {
        const std::uint32_t p = a.bits[i], q = b.bits[i];
        const bool nan_p = p <= 0xFFFFu && (p & 0x7FFFu) > 0x7C00u, nan_q = q <= 0xFFFFu && (q & 0x7FFFu) > 0x7C00u;
        if (p != q && !(nan_p && nan_q)) return static_cast<std::int64_t>(i);
    }
    return -1;
}

}  // namespace lynxi
}  // namespace snn_test
