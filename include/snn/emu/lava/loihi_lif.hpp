#pragma once
/// \file
/// Lava's bit-accurate LIF (`PyLifModelBitAcc`, reference/lava.md §7.1): int32 state holding
/// Loihi's 24-bit current and voltage, stepped exactly as Lava's fixed-point model does.
///
///     bias = bias_mant << bias_exp  (>> -bias_exp, floor, for negative exponents)
///     c = int32(rtz(u * (4096 - (du + 1)), 12)) + int32(a << 6)     int32 arithmetic
///     u = c - 2^24 if c > 2^23, else c + 2^24 if c <= -2^23, else c   one asymmetric wrap
///     v = clip(rtz(v * (4096 - dv), 12) + u + bias, -(2^23 - 1), 2^23 - 1)
///     s = v > vth << 6;  v = 0 where s
///
/// `du` carries Lava's hidden +1 (du = 0 still decays u by 1/4096; NetX writes du = iDecay - 1,
/// so du = -1 means no decay); `dv` is used as given. Both are taken as Lava stores them, not
/// range-checked beyond what keeps the arithmetic defined: du in [-1, 4095], dv in [0, 4096].

#include <cstdint>
#include <string>

#include "snn/config.hpp"
#include "snn/core/error.hpp"
#include "snn/core/fixed_point.hpp"

namespace snn {
namespace lava {

/// Lava LIF parameters shared by all neurons of a process (per-neuron arrays override them).
struct loihi_lif_params {
    std::int32_t du = 0;
    std::int32_t dv = 0;
    std::int64_t vth = 0;  ///< threshold mantissa (compared as vth << 6)
    std::int32_t bias_mant = 0;
    std::int32_t bias_exp = 0;
};

/// T steps of N neurons, time-major [T, N].
struct loihi_lif_args {
    std::int64_t steps = 0;
    std::int64_t neurons = 0;
    const std::int32_t* a_in = nullptr;       ///< [T, N] what the LIF receives at step t (null: no input)
    std::int32_t* u = nullptr;                ///< [N] state in (initial values) and out (required)
    std::int32_t* v = nullptr;                ///< [N] state in and out, post-reset (required)
    std::int32_t* u_seq = nullptr;            ///< [T, N] u after every step (optional)
    std::int32_t* v_seq = nullptr;            ///< [T, N] v after every step, post-reset (optional)
    std::int8_t* spike = nullptr;             ///< [T, N] 0/1 (optional)
    const std::int32_t* bias_mant = nullptr;  ///< [N] per-neuron bias mantissa (optional)
    const std::int32_t* bias_exp = nullptr;   ///< [N] per-neuron bias exponent (optional)
    const std::int32_t* du = nullptr;         ///< [N] per-neuron du (optional)
    const std::int32_t* dv = nullptr;         ///< [N] per-neuron dv (optional)
};

constexpr std::int64_t loihi_state_max = std::int64_t{1} << 23;  // Lava's MAX

/// The integer arithmetic of the LIF on one neuron: int64 values, numpy's int32 wrap where
/// Lava's arrays are int32. emu/lava/loihi_lif_simd.hpp has the register-wide counterpart.
struct lif_scalar_lanes {
    using integer = std::int64_t;
    using mask = bool;
    SNN_HOST_DEVICE static integer decay(integer s, integer factor) { return fixed::shift_right_toward_zero(s * factor, 12); }
    SNN_HOST_DEVICE static integer wrap32(integer x) { return fixed::wrap_int32(x); }
    SNN_HOST_DEVICE static integer clamp(integer x, std::int64_t lo, std::int64_t hi) { return fixed::clamp(x, lo, hi); }
    SNN_HOST_DEVICE static integer constant(std::int64_t c) { return c; }
    SNN_HOST_DEVICE static mask greater(integer a, integer b) { return a > b; }
    SNN_HOST_DEVICE static mask less_equal(integer a, integer b) { return a <= b; }
    SNN_HOST_DEVICE static integer select(mask m, integer a, integer b) { return m ? a : b; }
};

/// One step of one neuron (or one register of neurons): `a_shifted` = int32(a << 6), `u_factor`
/// = 4096 - (du + 1), `v_factor` = 4096 - dv, `vth_state` = vth << 6. u and v hold int32
/// values. Returns whether it spiked.
template <class L>
SNN_HOST_DEVICE typename L::mask loihi_lif_step(const typename L::integer& a_shifted, const typename L::integer& u_factor,
                                                const typename L::integer& v_factor, const typename L::integer& vth_state,
                                                const typename L::integer& bias, typename L::integer& u, typename L::integer& v) {
    using I = typename L::integer;
    const I max = L::constant(loihi_state_max), range = L::constant(2 * loihi_state_max);
    const I c = L::wrap32(L::wrap32(L::decay(u, u_factor)) + a_shifted);
    I w = L::select(L::greater(c, max), c - range, c);  // +2^23 itself is not wrapped
    w = L::select(L::less_equal(w, L::constant(-loihi_state_max)), c + range, w);  // -2^23 becomes +2^23
    u = L::wrap32(w);
    const I v_new = L::clamp(L::decay(v, v_factor) + u + bias, -(loihi_state_max - 1), loihi_state_max - 1);
    const typename L::mask fired = L::greater(v_new, vth_state);
    v = L::select(fired, L::constant(0), v_new);
    return fired;
}

inline void check_loihi_lif_value(std::int32_t du, std::int32_t dv, std::int32_t bias_exp, const std::string& where) {
    require(du >= -1 && du <= 4095, "du", where + "must be in [-1, 4095], got " + std::to_string(du));
    require(dv >= 0 && dv <= 4096, "dv", where + "must be in [0, 4096], got " + std::to_string(dv));
    require(bias_exp > -63 && bias_exp < 63, "bias_exp", where + "must be in (-63, 63), got " + std::to_string(bias_exp));
}

inline void check_loihi_lif(const loihi_lif_params& p, const loihi_lif_args& a) {
    require(a.steps >= 0, "steps", "must be >= 0");
    require(a.neurons >= 0, "neurons", "must be >= 0");
    check_loihi_lif_value(p.du, p.dv, p.bias_exp, "");
    require(p.vth > -(std::int64_t{1} << 40) && p.vth < (std::int64_t{1} << 40), "vth", "must be in (-2^40, 2^40), got " + std::to_string(p.vth));
    if (a.neurons == 0) return;
    require(a.u != nullptr && a.v != nullptr, "u", "u and v state arrays are required");
    if (!a.du && !a.dv && !a.bias_exp) return;
    for (std::int64_t n = 0; n < a.neurons; ++n) {
        const std::int32_t du = a.du ? a.du[n] : p.du, dv = a.dv ? a.dv[n] : p.dv, bias_exp = a.bias_exp ? a.bias_exp[n] : p.bias_exp;
        const bool ok = du >= -1 && du <= 4095 && dv >= 0 && dv <= 4096 && bias_exp > -63 && bias_exp < 63;
        if (!ok) check_loihi_lif_value(du, dv, bias_exp, "neuron " + std::to_string(n) + ": ");  // throws, naming the neuron
    }
}

/// Whole time loop of neuron n (host and device).
SNN_HOST_DEVICE void loihi_lif_neuron(const loihi_lif_params& p, const loihi_lif_args& a, std::int64_t n) {
    const std::int32_t du = a.du ? a.du[n] : p.du;
    const std::int32_t dv = a.dv ? a.dv[n] : p.dv;
    const std::int64_t vth_state = p.vth * 64;  // vth << 6, computed once as Lava does
    const std::int32_t bias_mant = a.bias_mant ? a.bias_mant[n] : p.bias_mant;
    const std::int32_t bias_exp = a.bias_exp ? a.bias_exp[n] : p.bias_exp;
    const std::int64_t bias = fixed::shift_by_exponent(bias_mant, bias_exp);
    const std::int64_t u_factor = 4096 - (du + 1), v_factor = 4096 - dv;
    std::int64_t u = a.u[n], v = a.v[n];
    std::int64_t idx = n;
    for (std::int64_t t = 0; t < a.steps; ++t, idx += a.neurons) {
        const std::int64_t a_shifted = fixed::wrap_int32(fixed::shift_left(a.a_in ? a.a_in[idx] : 0, 6));
        const bool fired = loihi_lif_step<lif_scalar_lanes>(a_shifted, u_factor, v_factor, vth_state, bias, u, v);
        if (a.u_seq) a.u_seq[idx] = static_cast<std::int32_t>(u);
        if (a.v_seq) a.v_seq[idx] = static_cast<std::int32_t>(v);
        if (a.spike) a.spike[idx] = fired ? 1 : 0;
    }
    a.u[n] = static_cast<std::int32_t>(u);
    a.v[n] = static_cast<std::int32_t>(v);
}

/// CPU kernel: blocks of 64 neurons with the time loop inside (whole cache lines of the
/// [T, N] arrays per step), the same loihi_lif_step as CUDA and SIMD.
inline void loihi_lif_forward(const loihi_lif_params& p, const loihi_lif_args& a) {
    using L = lif_scalar_lanes;
    check_loihi_lif(p, a);
    constexpr std::int64_t block = 64;
    const std::int64_t N = a.neurons;
    const std::int64_t vth_state = p.vth * 64;  // vth << 6, computed once as Lava does
    std::int64_t u_factor[block], v_factor[block], bias[block], u[block], v[block];
    for (std::int64_t n0 = 0; n0 < N; n0 += block) {
        const std::int64_t nb = N - n0 < block ? N - n0 : block;
        for (std::int64_t i = 0; i < nb; ++i) {
            const std::int64_t n = n0 + i;
            u_factor[i] = 4096 - ((a.du ? a.du[n] : p.du) + 1);
            v_factor[i] = 4096 - (a.dv ? a.dv[n] : p.dv);
            bias[i] = fixed::shift_by_exponent(a.bias_mant ? a.bias_mant[n] : p.bias_mant, a.bias_exp ? a.bias_exp[n] : p.bias_exp);
            u[i] = a.u[n];
            v[i] = a.v[n];
        }
        for (std::int64_t t = 0; t < a.steps; ++t) {
            const std::int64_t row = t * N + n0;
            for (std::int64_t i = 0; i < nb; ++i) {
                const std::int64_t a_shifted = fixed::wrap_int32(fixed::shift_left(a.a_in ? a.a_in[row + i] : 0, 6));
                const bool fired = loihi_lif_step<L>(a_shifted, u_factor[i], v_factor[i], vth_state, bias[i], u[i], v[i]);
                if (a.u_seq) a.u_seq[row + i] = static_cast<std::int32_t>(u[i]);
                if (a.v_seq) a.v_seq[row + i] = static_cast<std::int32_t>(v[i]);
                if (a.spike) a.spike[row + i] = fired ? 1 : 0;
            }
        }
        for (std::int64_t i = 0; i < nb; ++i) {
            a.u[n0 + i] = static_cast<std::int32_t>(u[i]);
            a.v[n0 + i] = static_cast<std::int32_t>(v[i]);
        }
    }
}

}  // namespace lava
}  // namespace snn
