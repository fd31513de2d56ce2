#pragma once
/// \file
/// vec_ops for xsimd batches: lets the neuron step code (neuron/neuron.hpp) run on a SIMD
/// register of neurons. Every operation used by rational math (+ - * /, select, abs, fma,
/// binary16 rounding) gives the same bits as the scalar path; exp/log/erf/pow come from xsimd
/// and may differ from the C library by an ulp or two.

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "snn/core/bfloat16.hpp"
#include "snn/core/binary16.hpp"
#include "snn/neuron/vec_ops.hpp"

namespace snn {

template <class T, class Arch>
struct vec_ops<xsimd::batch<T, Arch>> {
    using batch = xsimd::batch<T, Arch>;
    using value_type = T;
    using mask_type = xsimd::batch_bool<T, Arch>;
    static constexpr int width = static_cast<int>(batch::size);
#if XSIMD_WITH_FMA3_SSE || XSIMD_WITH_FMA3_AVX || XSIMD_WITH_FMA3_AVX2
    static constexpr bool has_hardware_fma = std::is_base_of_v<xsimd::fma3<xsimd::sse4_2>, Arch> ||
                                             std::is_base_of_v<xsimd::fma3<xsimd::avx>, Arch> ||
                                             std::is_base_of_v<xsimd::fma3<xsimd::avx2>, Arch>;
#else
    static constexpr bool has_hardware_fma = false;
#endif

    SNN_ALWAYS_INLINE static batch broadcast(T c) { return batch(c); }
    SNN_ALWAYS_INLINE static batch select(const mask_type& m, const batch& a, const batch& b) { return xsimd::select(m, a, b); }
    SNN_ALWAYS_INLINE static batch abs(const batch& a) { return xsimd::abs(a); }
    SNN_ALWAYS_INLINE static batch exp(const batch& a) { return xsimd::exp(a); }
    SNN_ALWAYS_INLINE static batch log(const batch& a) { return xsimd::log(a); }
    SNN_ALWAYS_INLINE static batch erf(const batch& a) { return xsimd::erf(a); }
    SNN_ALWAYS_INLINE static batch pow(const batch& a, const batch& b) { return xsimd::pow(a, b); }
    /// Always a true fused multiply-add (one rounding), like std::fma on the scalar path.
    /// xsimd 8.1 only fuses on its fma3<...> architectures (elsewhere, AVX-512 included, it
    /// computes a*b + c with two roundings), so the others use the AVX-512 intrinsic or
    /// std::fma lane by lane.
    SNN_ALWAYS_INLINE static batch fma(const batch& a, const batch& b, const batch& c) {
#if XSIMD_WITH_AVX512F
        if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
            if constexpr (std::is_same_v<T, float>) return batch(_mm512_fmadd_ps(a, b, c));
            else if constexpr (std::is_same_v<T, double>) return batch(_mm512_fmadd_pd(a, b, c));
        }
#endif
        if constexpr (has_hardware_fma) {
            return xsimd::fma(a, b, c);
        } else {
            alignas(64) T la[batch::size], lb[batch::size], lc[batch::size];
            a.store_aligned(la);
            b.store_aligned(lb);
            c.store_aligned(lc);
            for (std::size_t i = 0; i < batch::size; ++i) la[i] = std::fma(la[i], lb[i], lc[i]);
            return batch::load_aligned(la);
        }
    }

    SNN_ALWAYS_INLINE static batch load(const T* p) { return batch::load_unaligned(p); }
    SNN_ALWAYS_INLINE static void store(T* p, const batch& v) { v.store_unaligned(p); }

    /// Non-temporal store of a whole register to `p`, which must be aligned to sizeof(batch).
    /// Large outputs bypass the caches this way: no read-for-ownership of lines that are only
    /// written, so writing costs one memory transfer instead of two.
    SNN_ALWAYS_INLINE static void store_stream(T* p, const batch& v) {
#if XSIMD_WITH_AVX512F
        if constexpr (sizeof(batch) == 64) {
            if constexpr (std::is_same_v<T, float>) return _mm512_stream_ps(p, v);
            else return _mm512_stream_pd(p, v);
        }
#endif
#if XSIMD_WITH_AVX
        if constexpr (sizeof(batch) == 32) {
            if constexpr (std::is_same_v<T, float>) return _mm256_stream_ps(p, v);
            else return _mm256_stream_pd(p, v);
        }
#endif
#if XSIMD_WITH_SSE2
        if constexpr (sizeof(batch) == 16) {
            if constexpr (std::is_same_v<T, float>) return _mm_stream_ps(p, v);
            else return _mm_stream_pd(p, v);
        }
#endif
        v.store_aligned(p);
    }
    static constexpr bool can_stream = XSIMD_WITH_SSE2 != 0;
    /// Orders this thread's non-temporal stores before anything that follows.
    SNN_ALWAYS_INLINE static void stream_fence() {
#if XSIMD_WITH_SSE2
        _mm_sfence();
#endif
    }

    /// binary16 -> float per lane (exact); the neuron kernels' binary16 paths are bound by
    /// rounding work, not by this widening.
    template <class U = T, class = std::enable_if_t<std::is_same_v<U, float>>>
    SNN_ALWAYS_INLINE static batch load(const binary16* p) {
        alignas(64) float lanes[batch::size];
        for (std::size_t i = 0; i < batch::size; ++i) lanes[i] = p[i].to_float();
        return batch::load_aligned(lanes);
    }
    template <class U = T, class = std::enable_if_t<std::is_same_v<U, float>>>
    SNN_ALWAYS_INLINE static void store(binary16* p, const batch& v) {
        alignas(64) float lanes[batch::size];
        v.store_aligned(lanes);
        for (std::size_t i = 0; i < batch::size; ++i) p[i] = binary16(lanes[i]);
    }

    template <class U = T, class = std::enable_if_t<std::is_same_v<U, float>>>
    SNN_ALWAYS_INLINE static batch load(const bfloat16* p) {
        alignas(64) float lanes[batch::size];
        for (std::size_t i = 0; i < batch::size; ++i) lanes[i] = p[i].to_float();
        return batch::load_aligned(lanes);
    }
    template <class U = T, class = std::enable_if_t<std::is_same_v<U, float>>>
    SNN_ALWAYS_INLINE static void store(bfloat16* p, const batch& v) {
        alignas(64) float lanes[batch::size];
        v.store_aligned(lanes);
        for (std::size_t i = 0; i < batch::size; ++i) p[i] = bfloat16(lanes[i]);
    }

    /// Nearest binary16 value (ties to even) of every lane, as floats; same bits as the scalar
    /// round_to_binary16, NaN included (canonical quiet NaN, sign kept).
    template <class U = T, class = std::enable_if_t<std::is_same_v<U, float>>>
    SNN_ALWAYS_INLINE static batch round_binary16(const batch& x) {
        using ibatch = xsimd::batch<std::int32_t, Arch>;
        const ibatch sign = xsimd::bitwise_cast<ibatch>(x) & ibatch(static_cast<std::int32_t>(0x80000000u));
        const batch magnitude = xsimd::abs(x);
        const ibatch m = xsimd::bitwise_cast<ibatch>(magnitude);
        // Normal binary16 range: round the float mantissa to 10 bits, ties to even.
        const batch normal = xsimd::bitwise_cast<batch>((m + ibatch(0x0FFF) + ((m >> 13) & ibatch(1))) & ibatch(static_cast<std::int32_t>(0xFFFFE000u)));
        // Subnormal range: 0.5 + |x| rounds to a multiple of 2^-24, the binary16 quantum.
        const batch tiny = (magnitude + batch(0.5f)) - batch(0.5f);
        // The selects compare floats (not integers): xsimd 8.1's AVX-512 integer select does not
        // compile without optimisation under GCC 12.
        batch result = xsimd::select(magnitude >= batch(6.103515625e-05f), normal, tiny);  // 2^-14
        result = xsimd::select(magnitude >= batch(65520.0f), batch(std::numeric_limits<float>::infinity()), result);
        result = xsimd::select(xsimd::isnan(x), xsimd::bitwise_cast<batch>(ibatch(0x7FC00000)), result);
        return xsimd::bitwise_cast<batch>(xsimd::bitwise_cast<ibatch>(result) | sign);
    }
};

}  // namespace snn
