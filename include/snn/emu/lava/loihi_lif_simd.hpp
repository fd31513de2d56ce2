#pragma once
/// \file
/// CPU SIMD kernel of Lava's bit-accurate LIF (emu/lava/loihi_lif.hpp): the same
/// `loihi_lif_step` on a register of neurons held in double lanes, as the CUBA SIMD kernel does
/// (emu/lava/cuba_simd.hpp explains why doubles).
///
/// Exactness: u and v are int32 values, so every product u * (4096 - d) stays below 2^43 and is
/// exact. While |u| < 2^30 before a step and |a << 6| < 2^29, the int32 sums of Lava's model
/// cannot wrap, so its int32 wraps are identities. A block that leaves that range at any step
/// (or whose bias is 2^40 or more) is recomputed by the scalar loop from its initial state: the
/// result equals loihi_lif_forward bit for bit for every input.

#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "snn/emu/lava/cuba_simd.hpp"
#include "snn/emu/lava/loihi_lif.hpp"

namespace snn {
namespace lava {

template <class Arch>
struct lif_double_lanes {
    using integer = xsimd::batch<double, Arch>;
    using mask = xsimd::batch_bool<double, Arch>;
    static constexpr std::size_t width = integer::size;
    static integer decay(const integer& s, const integer& factor) { return detail::trunc_exact(s * factor * integer(1.0 / 4096.0)); }
    static integer wrap32(const integer& x) { return x; }  // no int32 wrap can happen in the checked range
    static integer clamp(const integer& x, std::int64_t lo, std::int64_t hi) {
        return xsimd::min(xsimd::max(x, integer(static_cast<double>(lo))), integer(static_cast<double>(hi)));
    }
    static integer constant(std::int64_t c) { return integer(static_cast<double>(c)); }
    static mask greater(const integer& a, const integer& b) { return a > b; }
    static mask less_equal(const integer& a, const integer& b) { return a <= b; }
    static integer select(const mask& m, const integer& a, const integer& b) { return xsimd::select(m, a, b); }
};

/// CPU SIMD forward on `Arch`; same results as loihi_lif_forward.
template <class Arch = xsimd::default_arch>
void loihi_lif_forward_simd(const loihi_lif_params& p, const loihi_lif_args& a) {
    using L = lif_double_lanes<Arch>;
    using B = typename L::integer;
    constexpr std::int64_t W = static_cast<std::int64_t>(L::width);
    check_loihi_lif(p, a);
    const std::int64_t N = a.neurons;
    const std::int64_t bias_limit = std::int64_t{1} << 40;
    alignas(64) double lanes[6][L::width];
    std::int64_t n = 0;
    for (; n + W <= N; n += W) {
        bool exact = true;
        for (std::int64_t i = 0; i < W; ++i) {
            const std::int64_t m = n + i;
            const std::int64_t bias = fixed::shift_by_exponent(a.bias_mant ? a.bias_mant[m] : p.bias_mant, a.bias_exp ? a.bias_exp[m] : p.bias_exp);
            exact = exact && bias > -bias_limit && bias < bias_limit;
            lanes[0][i] = static_cast<double>(4096 - ((a.du ? a.du[m] : p.du) + 1));
            lanes[1][i] = static_cast<double>(4096 - (a.dv ? a.dv[m] : p.dv));
            lanes[2][i] = static_cast<double>(bias);
            lanes[3][i] = static_cast<double>(a.u[m]);
            lanes[4][i] = static_cast<double>(a.v[m]);
        }
        const B u_factor = B::load_aligned(lanes[0]), v_factor = B::load_aligned(lanes[1]), bias = B::load_aligned(lanes[2]);
        const B vth_state(static_cast<double>(p.vth * 64));
        const B u_limit(1073741824.0), input_limit(536870912.0);  // 2^30, 2^29
        B u = B::load_aligned(lanes[3]), v = B::load_aligned(lanes[4]);
        typename L::mask in_range(exact);
        std::int64_t idx = n;
        for (std::int64_t t = 0; t < a.steps && exact; ++t, idx += N) {
            const B shifted = a.a_in ? B::load_unaligned(a.a_in + idx) * B(64.0) : B(0.0);
            in_range = in_range & (xsimd::abs(u) < u_limit) & (xsimd::abs(shifted) < input_limit);
            const auto fired = loihi_lif_step<L>(shifted, u_factor, v_factor, vth_state, bias, u, v);
            if (a.u_seq || a.v_seq) {
                u.store_aligned(lanes[3]);
                v.store_aligned(lanes[4]);
                for (std::int64_t i = 0; i < W; ++i) {
                    // Out-of-range lanes hold values beyond int32 until the scalar redo below
                    // overwrites them: wrap rather than cast (a cast would be undefined).
                    if (a.u_seq) a.u_seq[idx + i] = fixed::wrap_int32(static_cast<std::int64_t>(lanes[3][i]));
                    if (a.v_seq) a.v_seq[idx + i] = fixed::wrap_int32(static_cast<std::int64_t>(lanes[4][i]));
                }
            }
            if (a.spike) {
                xsimd::select(fired, B(1.0), B(0.0)).store_aligned(lanes[5]);
                for (std::int64_t i = 0; i < W; ++i) a.spike[idx + i] = static_cast<std::int8_t>(lanes[5][i]);
            }
            if ((t & 7) == 7 || t + 1 == a.steps) exact = xsimd::all(in_range);
        }
        if (!exact) {  // out of the exact range somewhere: the scalar loop redoes the block
            for (std::int64_t i = 0; i < W; ++i) loihi_lif_neuron(p, a, n + i);
            continue;
        }
        u.store_aligned(lanes[3]);
        v.store_aligned(lanes[4]);
        for (std::int64_t i = 0; i < W; ++i) {
            a.u[n + i] = static_cast<std::int32_t>(lanes[3][i]);
            a.v[n + i] = static_cast<std::int32_t>(lanes[4][i]);
        }
    }
    for (; n < N; ++n) loihi_lif_neuron(p, a, n);
}

}  // namespace lava
}  // namespace snn
