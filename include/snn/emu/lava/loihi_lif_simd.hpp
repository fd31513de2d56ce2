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
#include <type_traits>

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

namespace detail {
/// int32 -> double lanes and back (exact), with the widening instructions where available.
template <class Arch>
SNN_ALWAYS_INLINE xsimd::batch<double, Arch> load_int32s(const std::int32_t* p) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) return _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
#endif
#if XSIMD_WITH_AVX
    if constexpr (std::is_base_of_v<xsimd::avx, Arch> && xsimd::batch<double, Arch>::size == 4)
        return _mm256_cvtepi32_pd(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#endif
    return xsimd::batch<double, Arch>::load_unaligned(p);
}

/// Stores lanes holding int32 values (callers guarantee the range).
template <class Arch>
SNN_ALWAYS_INLINE void store_int32s(std::int32_t* p, const xsimd::batch<double, Arch>& x) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) return _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvttpd_epi32(x));
#endif
#if XSIMD_WITH_AVX
    if constexpr (std::is_base_of_v<xsimd::avx, Arch> && xsimd::batch<double, Arch>::size == 4)
        return _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvttpd_epi32(x));
#endif
    alignas(64) double lanes[xsimd::batch<double, Arch>::size];
    x.store_aligned(lanes);
    for (std::size_t i = 0; i < xsimd::batch<double, Arch>::size; ++i) p[i] = static_cast<std::int32_t>(lanes[i]);
}
}  // namespace detail

/// CPU SIMD forward on `Arch`; same results as loihi_lif_forward, bit for bit. Blocks of
/// cpu_block neurons (several registers) with the time loop inside.
template <class Arch = xsimd::default_arch>
void loihi_lif_forward_simd(const loihi_lif_params& p, const loihi_lif_args& a) {
    using L = lif_double_lanes<Arch>;
    using B = typename L::integer;
    constexpr std::int64_t W = static_cast<std::int64_t>(L::width);
    constexpr std::int64_t R = cpu_block / W > 0 ? cpu_block / W : 1;
    constexpr std::int64_t block = R * W;
    check_loihi_lif(p, a);
    const std::int64_t N = a.neurons;
    const std::int64_t bias_limit = std::int64_t{1} << 40;
    alignas(64) double lanes[5][L::width];
    B u_factor[R], v_factor[R], bias[R], u[R], v[R];
    const B vth_state(static_cast<double>(p.vth * 64));
    const B u_limit(1073741824.0), input_limit(536870912.0);  // 2^30, 2^29
    std::int64_t n0 = 0;
    for (; n0 + block <= N; n0 += block) {
        bool exact = true;
        for (std::int64_t r = 0; r < R; ++r) {
            for (std::int64_t i = 0; i < W; ++i) {
                const std::int64_t m = n0 + r * W + i;
                const std::int64_t b = fixed::shift_by_exponent(a.bias_mant ? a.bias_mant[m] : p.bias_mant, a.bias_exp ? a.bias_exp[m] : p.bias_exp);
                exact = exact && b > -bias_limit && b < bias_limit;
                lanes[0][i] = static_cast<double>(4096 - ((a.du ? a.du[m] : p.du) + 1));
                lanes[1][i] = static_cast<double>(4096 - (a.dv ? a.dv[m] : p.dv));
                lanes[2][i] = static_cast<double>(b);
                lanes[3][i] = static_cast<double>(a.u[m]);
                lanes[4][i] = static_cast<double>(a.v[m]);
            }
            u_factor[r] = B::load_aligned(lanes[0]);
            v_factor[r] = B::load_aligned(lanes[1]);
            bias[r] = B::load_aligned(lanes[2]);
            u[r] = B::load_aligned(lanes[3]);
            v[r] = B::load_aligned(lanes[4]);
        }
        typename L::mask in_range(exact);
        for (std::int64_t t = 0; t < a.steps && exact; ++t) {
            const std::int64_t row = t * N + n0;
            for (std::int64_t r = 0; r < R; ++r) {
                const std::int64_t idx = row + r * W;
                const B shifted = a.a_in ? detail::load_int32s<Arch>(a.a_in + idx) * B(64.0) : B(0.0);
                in_range = in_range & (xsimd::abs(u[r]) < u_limit) & (xsimd::abs(shifted) < input_limit);
                // Out-of-range lanes may hold values beyond int32 until the scalar redo below
                // overwrites them: clamp them for the stores (a conversion would be undefined).
                const auto fired = loihi_lif_step<L>(shifted, u_factor[r], v_factor[r], vth_state, bias[r], u[r], v[r]);
                if (a.u_seq) detail::store_int32s<Arch>(a.u_seq + idx, L::clamp(u[r], INT32_MIN, INT32_MAX));
                if (a.v_seq) detail::store_int32s<Arch>(a.v_seq + idx, v[r]);  // v is always clipped to 24 bits
                if (a.spike) {
                    alignas(64) double s[L::width];
                    xsimd::select(fired, B(1.0), B(0.0)).store_aligned(s);
                    for (std::int64_t i = 0; i < W; ++i) a.spike[idx + i] = static_cast<std::int8_t>(s[i]);
                }
            }
            if ((t & 7) == 7 || t + 1 == a.steps) exact = xsimd::all(in_range);
        }
        if (!exact) {  // out of the exact range somewhere: the scalar loop redoes the block
            for (std::int64_t i = 0; i < block; ++i) loihi_lif_neuron(p, a, n0 + i);
            continue;
        }
        for (std::int64_t r = 0; r < R; ++r) {
            detail::store_int32s<Arch>(a.u + n0 + r * W, u[r]);
            detail::store_int32s<Arch>(a.v + n0 + r * W, v[r]);
        }
    }
    for (; n0 < N; ++n0) loihi_lif_neuron(p, a, n0);
}

}  // namespace lava
}  // namespace snn
