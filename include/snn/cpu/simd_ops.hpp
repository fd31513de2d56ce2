#pragma once
/// \file
/// vec_ops for xsimd batches: lets the neuron step code (neuron/neuron.hpp) run on a SIMD
/// register of neurons. Every operation used by rational math (+ - * /, select, abs, fma,
/// binary16 rounding) gives the same bits as the scalar path; exp/log/erf/pow come from xsimd
/// and may differ from the C library by an ulp or two.

#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "snn/core/binary16.hpp"
#include "snn/neuron/vec_ops.hpp"

namespace snn {

template <class T, class Arch>
struct vec_ops<xsimd::batch<T, Arch>> {
    using batch = xsimd::batch<T, Arch>;
    using value_type = T;
    using mask_type = xsimd::batch_bool<T, Arch>;
    static constexpr int width = static_cast<int>(batch::size);

    SNN_ALWAYS_INLINE static batch broadcast(T c) { return batch(c); }
    SNN_ALWAYS_INLINE static batch select(const mask_type& m, const batch& a, const batch& b) { return xsimd::select(m, a, b); }
    SNN_ALWAYS_INLINE static batch abs(const batch& a) { return xsimd::abs(a); }
    SNN_ALWAYS_INLINE static batch exp(const batch& a) { return xsimd::exp(a); }
    SNN_ALWAYS_INLINE static batch log(const batch& a) { return xsimd::log(a); }
    SNN_ALWAYS_INLINE static batch erf(const batch& a) { return xsimd::erf(a); }
    SNN_ALWAYS_INLINE static batch pow(const batch& a, const batch& b) { return xsimd::pow(a, b); }
    SNN_ALWAYS_INLINE static batch fma(const batch& a, const batch& b, const batch& c) { return xsimd::fma(a, b, c); }

    SNN_ALWAYS_INLINE static batch load(const T* p) { return batch::load_unaligned(p); }
    SNN_ALWAYS_INLINE static void store(T* p, const batch& v) { v.store_unaligned(p); }

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

    /// Nearest binary16 value (ties to even) of every lane, as floats; same bits as the scalar
    /// round_to_binary16, NaN included (canonical quiet NaN, sign kept).
    template <class U = T, class = std::enable_if_t<std::is_same_v<U, float>>>
    SNN_ALWAYS_INLINE static batch round_binary16(const batch& x) {
        using ibatch = xsimd::batch<std::int32_t, Arch>;
        const ibatch bits = xsimd::bitwise_cast<ibatch>(x);
        const ibatch sign = bits & ibatch(static_cast<std::int32_t>(0x80000000u));
        const ibatch magnitude = bits & ibatch(0x7FFFFFFF);
        // Normal binary16 range: round the float mantissa to 10 bits, ties to even.
        const ibatch rounded = (magnitude + ibatch(0x0FFF) + ((magnitude >> 13) & ibatch(1))) & ibatch(static_cast<std::int32_t>(0xFFFFE000u));
        // Subnormal range: 0.5 + |x| rounds to a multiple of 2^-24, the binary16 quantum.
        const batch tiny = (xsimd::bitwise_cast<batch>(magnitude) + batch(0.5f)) - batch(0.5f);
        ibatch result = xsimd::select(magnitude >= ibatch(0x38800000), rounded, xsimd::bitwise_cast<ibatch>(tiny));
        result = xsimd::select(magnitude >= ibatch(0x477FF000), ibatch(0x7F800000), result);
        result = xsimd::select(magnitude > ibatch(0x7F800000), ibatch(0x7FC00000), result);
        return xsimd::bitwise_cast<batch>(result | sign);
    }
};

}  // namespace snn
