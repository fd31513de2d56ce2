#pragma once
/// \file
/// CPU SIMD kernel of the CUBA neuron (emu/lava/cuba.hpp): the same `cuba_step` on a register
/// of neurons whose integer state is held in double lanes.
///
/// Why doubles: x86 before AVX-512DQ has no 64-bit integer multiply or arithmetic right shift,
/// while every integer below 2^53 is a double, a product below 2^53 is exact, and
/// rtz(p, 12) = trunc(p / 4096) exactly. The kernel keeps every lane's |in|, |u|, |v| below
/// 2^24 — there the float32 conversions of the slayer and SpikingJelly rules are the identity
/// and the products stay below 2^37. A block of lanes that leaves that range at any step
/// (a state beyond Loihi's 24 bits, a non-finite input) is recomputed from its saved initial
/// state by the scalar int64 loop, so the result is the scalar reference's, bit for bit, for
/// every input.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "snn/emu/lava/cuba.hpp"

namespace snn {
namespace lava {

namespace detail {
/// trunc() of every lane, exact for |x| < 2^51 (larger lanes are out of the kernels' exact
/// range and get recomputed anyway). Round to nearest with the 2^52 trick, then step back
/// where that rounded up: adds, compares and selects only, because GCC 12 warns
/// (maybe-uninitialized, a false positive inside avx512fintrin.h) on the AVX-512 roundscale
/// that xsimd::trunc compiles to.
template <class Arch>
SNN_ALWAYS_INLINE xsimd::batch<double, Arch> trunc_exact(const xsimd::batch<double, Arch>& x) {
    using B = xsimd::batch<double, Arch>;
    const B magnitude = xsimd::abs(x);
    const B two52(4503599627370496.0);
    B r = (magnitude + two52) - two52;
    r = xsimd::select(r > magnitude, r - B(1.0), r);
    return xsimd::select(x < B(0.0), -r, r);
}
/// float32 -> double lanes and back (exact both ways for the kernels' values), with the
/// widening instructions where the instruction set has them.
template <class Arch>
SNN_ALWAYS_INLINE xsimd::batch<double, Arch> load_floats(const float* p) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) return _mm512_cvtps_pd(_mm256_loadu_ps(p));
#endif
#if XSIMD_WITH_AVX
    if constexpr (std::is_base_of_v<xsimd::avx, Arch> && xsimd::batch<double, Arch>::size == 4) return _mm256_cvtps_pd(_mm_loadu_ps(p));
#endif
    return xsimd::batch<double, Arch>::load_unaligned(p);
}

template <class Arch>
SNN_ALWAYS_INLINE void store_floats(float* p, const xsimd::batch<double, Arch>& x) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) return _mm256_storeu_ps(p, _mm512_cvtpd_ps(x));
#endif
#if XSIMD_WITH_AVX
    if constexpr (std::is_base_of_v<xsimd::avx, Arch> && xsimd::batch<double, Arch>::size == 4) return _mm_storeu_ps(p, _mm256_cvtpd_ps(x));
#endif
    x.store_unaligned(p);
}
}  // namespace detail

template <class Arch>
struct double_lanes {
    using integer = xsimd::batch<double, Arch>;
    using mask = xsimd::batch_bool<double, Arch>;
    static constexpr std::size_t width = integer::size;
    /// Below this magnitude every value of the step is exact and float32 conversions are identities.
    static constexpr double exact_limit = 16777216.0;  // 2^24

    static integer input(const float* x) {
        // float32(4096 * x) is 4096 * x exactly (a power-of-two scale) unless it overflows;
        // overflowing or non-finite lanes leave the exact range and go to the scalar loop.
        return detail::trunc_exact(detail::load_floats<Arch>(x) * integer(4096.0));
    }
    static integer decay(const integer& s, const integer& factor) { return detail::trunc_exact(s * factor * integer(1.0 / 4096.0)); }
    static integer add(const integer& a, const integer& b) { return a + b; }
    static integer through_float32(const integer& a) { return a; }  // identity below 2^24
    static integer to_slayer(const integer& a) { return a * integer(1.0 / 4096.0); }
    // v / 4096 is a float32 value below 2^24, so comparing it as a double gives float32's answer.
    static mask scaled_at_least(const integer& v, float threshold) { return v * integer(1.0 / 4096.0) >= integer(static_cast<double>(threshold)); }
    static mask at_least(const integer& v, float threshold) { return v >= integer(static_cast<double>(threshold)); }
    static mask greater(const integer& v, std::int64_t threshold) { return v > integer(static_cast<double>(threshold)); }
    static mask greater_equal(const integer& v, std::int64_t threshold) { return v >= integer(static_cast<double>(threshold)); }
    static mask mask_from(bool b) { return mask(b); }
    static mask mask_and(const mask& a, const mask& b) { return a & b; }
    static integer zero_where(const mask& m, const integer& a) { return xsimd::select(m, integer(0.0), a); }
    static mask in_exact_range(const integer& a) { return xsimd::abs(a) < integer(exact_limit); }  // false for NaN
};

namespace detail {

/// Lane values of a per-channel (or shared) parameter for neurons n .. n + width - 1.
template <class Arch>
xsimd::batch<double, Arch> lane_factors(std::int32_t shared, const std::int32_t* per_channel, std::int64_t channels, std::int64_t n) {
    alignas(64) double lanes[xsimd::batch<double, Arch>::size];
    for (std::size_t i = 0; i < xsimd::batch<double, Arch>::size; ++i)
        lanes[i] = static_cast<double>(4096 - (per_channel ? per_channel[(n + static_cast<std::int64_t>(i)) % channels] : shared));
    return xsimd::batch<double, Arch>::load_aligned(lanes);
}

template <class Arch>
xsimd::batch<double, Arch> lane_values(const std::int64_t* per_channel, std::int64_t channels, std::int64_t n, bool* exact) {
    alignas(64) double lanes[xsimd::batch<double, Arch>::size];
    for (std::size_t i = 0; i < xsimd::batch<double, Arch>::size; ++i) {
        const std::int64_t value = per_channel ? per_channel[(n + static_cast<std::int64_t>(i)) % channels] : 0;
        if (value <= -(std::int64_t{1} << 24) || value >= (std::int64_t{1} << 24)) *exact = false;
        lanes[i] = static_cast<double>(value);
    }
    return xsimd::batch<double, Arch>::load_aligned(lanes);
}

}  // namespace detail

/// CPU SIMD forward on `Arch` (default: the best instruction set this translation unit is
/// compiled for). Same results as cuba_forward_scalar<Rule>, bit for bit. Blocks of
/// cpu_block neurons (several registers) with the time loop inside, as the scalar kernel.
template <class Rule, class Arch = xsimd::default_arch>
void cuba_forward_simd(const cuba_constants& k, const cuba_forward_args& a) {
    using L = double_lanes<Arch>;
    using B = typename L::integer;
    constexpr std::int64_t W = static_cast<std::int64_t>(L::width);
    constexpr std::int64_t R = cpu_block / W > 0 ? cpu_block / W : 1;  // registers per block
    constexpr std::int64_t block = R * W;
    check_cuba_forward(k, a);
    detail::check_decay_values(a.i_decay, a.channels, "i_decay");
    detail::check_decay_values(a.v_decay, a.channels, "v_decay");
    if (a.steps == 0) return;
    const std::int64_t N = a.neurons;
    alignas(64) double lanes[L::width];
    B i_factor[R], v_factor[R], bias[R], u[R], v[R];
    std::int64_t n0 = 0;
    for (; n0 + block <= N; n0 += block) {
        bool exact = true;
        for (std::int64_t r = 0; r < R; ++r) {
            const std::int64_t n = n0 + r * W;
            i_factor[r] = detail::lane_factors<Arch>(k.i_decay, a.i_decay, a.channels, n);
            v_factor[r] = detail::lane_factors<Arch>(k.v_decay, a.v_decay, a.channels, n);
            bias[r] = detail::lane_values<Arch>(a.bias, a.channels, n, &exact);
            u[r] = v[r] = B(0.0);
            if (a.u_state) {
                for (std::int64_t i = 0; i < W; ++i) {
                    const std::int64_t s = a.u_state[n + i];
                    exact = exact && s > -(std::int64_t{1} << 24) && s < (std::int64_t{1} << 24);
                    lanes[i] = static_cast<double>(s);
                }
                u[r] = B::load_aligned(lanes);
                for (std::int64_t i = 0; i < W; ++i) {
                    const std::int64_t s = a.v_state[n + i];
                    exact = exact && s > -(std::int64_t{1} << 24) && s < (std::int64_t{1} << 24);
                    lanes[i] = static_cast<double>(s);
                }
                v[r] = B::load_aligned(lanes);
            }
        }
        typename L::mask in_range(exact);
        for (std::int64_t t = 0; t < a.steps && exact; ++t) {
            const std::int64_t row = t * N + n0;
            for (std::int64_t r = 0; r < R; ++r) {
                const std::int64_t idx = row + r * W;
                const B in = L::input(a.x + idx);
                const auto res = cuba_step<Rule, L>(k, in, i_factor[r], v_factor[r], bias[r], u[r], v[r]);
                in_range = in_range & L::in_exact_range(in) & L::in_exact_range(res.current) & L::in_exact_range(res.voltage);
                const B voltage = L::to_slayer(res.voltage);
                detail::store_floats<Arch>(a.spike + idx, xsimd::select(res.fired, k.graded_spike ? voltage : B(1.0), B(0.0)));
                if (a.current) detail::store_floats<Arch>(a.current + idx, L::to_slayer(res.current));
                if (a.voltage) detail::store_floats<Arch>(a.voltage + idx, voltage);
            }
            // A lane that left the range stays flagged and the whole block is redone below, so
            // checking every 8 steps only costs the wasted steps.
            if ((t & 7) == 7 || t + 1 == a.steps) exact = xsimd::all(in_range);
        }
        if (!exact) {
            for (std::int64_t i = 0; i < block; ++i) cuba_forward_neuron<Rule>(k, a, n0 + i);
            continue;
        }
        if (a.u_state) {
            for (std::int64_t r = 0; r < R; ++r) {
                u[r].store_aligned(lanes);
                for (std::int64_t i = 0; i < W; ++i) a.u_state[n0 + r * W + i] = static_cast<std::int64_t>(lanes[i]);
                v[r].store_aligned(lanes);
                for (std::int64_t i = 0; i < W; ++i) a.v_state[n0 + r * W + i] = static_cast<std::int64_t>(lanes[i]);
            }
        }
    }
    for (; n0 < N; ++n0) cuba_forward_neuron<Rule>(k, a, n0);
}

}  // namespace lava
}  // namespace snn
