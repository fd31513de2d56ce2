#pragma once
/// \file
/// IEEE 754 binary16 ("half") in software: exact round-to-nearest-even conversions and a
/// storage type usable on host and device. Arithmetic is not defined on the type itself: the
/// neuron math works in float and rounds every result to binary16 (`round_to_binary16`), which
/// is exactly what torch's `.half()` tensors do (each op computed in float32, rounded once) and
/// is correctly rounded for +, -, *, / because binary32 carries more than 2*11+2 bits.

#include <cstdint>
#include <cstring>

#include "snn/config.hpp"

namespace snn {

namespace detail {

SNN_HOST_DEVICE std::uint32_t float_bits(float value) {
#if SNN_IS_DEVICE_CODE
    return __float_as_uint(value);
#else
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
#endif
}

SNN_HOST_DEVICE float float_from_bits(std::uint32_t bits) {
#if SNN_IS_DEVICE_CODE
    return __uint_as_float(bits);
#else
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
#endif
}

}  // namespace detail

/// binary16 bit pattern nearest to `value` (ties to even); overflow gives +-inf, NaN stays NaN
/// (quiet, canonical payload 0x7E00 with the sign kept).
SNN_HOST_DEVICE std::uint16_t binary16_bits_from_float(float value) {
#if SNN_IS_DEVICE_CODE
    // The hardware conversion rounds to nearest even like the code below; only its NaN
    // (0x7FFF) differs, so NaN is mapped to the host's pattern to keep host == device bits.
    std::uint16_t bits;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(bits) : "f"(value));
    if ((bits & 0x7FFFu) > 0x7C00u) bits = static_cast<std::uint16_t>(((detail::float_bits(value) >> 16) & 0x8000u) | 0x7E00u);
    return bits;
#else
    const std::uint32_t f = detail::float_bits(value);
    const std::uint32_t sign = (f >> 16) & 0x8000u;
    const std::uint32_t magnitude = f & 0x7FFFFFFFu;
    if (magnitude > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);  // NaN
    if (magnitude >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u); // >= 65520: inf
    if (magnitude >= 0x38800000u) {                                                  // normal
        const std::uint32_t rounded = magnitude + 0x0FFFu + ((magnitude >> 13) & 1u);
        return static_cast<std::uint16_t>(sign | ((rounded >> 13) - (112u << 10)));
    }
    // Subnormal or zero: adding 0.5 leaves a float whose last bit weighs 2^-24, the binary16
    // subnormal quantum, so the float adder performs the round-to-nearest-even for us.
    const float shifted = detail::float_from_bits(magnitude) + 0.5f;
    return static_cast<std::uint16_t>(sign | (detail::float_bits(shifted) - 0x3F000000u));
#endif
}

/// The float with the value of binary16 pattern `bits` (exact).
SNN_HOST_DEVICE float float_from_binary16_bits(std::uint16_t bits) {
#if SNN_IS_DEVICE_CODE
    // The hardware conversion is exact as well (a signalling NaN comes back quiet).
    float result;
    asm("cvt.f32.f16 %0, %1;" : "=f"(result) : "h"(bits));
    return result;
#else
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
    const std::uint32_t exponent = (bits >> 10) & 0x1Fu;
    const std::uint32_t mantissa = bits & 0x3FFu;
    if (exponent == 0x1Fu) return detail::float_from_bits(sign | 0x7F800000u | (mantissa << 13));
    if (exponent == 0) {
        const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // * 2^-24
        return sign ? -magnitude : magnitude;
    }
    return detail::float_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
#endif
}

/// `value` rounded to the nearest binary16 value (ties to even), returned as a float.
SNN_HOST_DEVICE float round_to_binary16(float value) {
    return float_from_binary16_bits(binary16_bits_from_float(value));
}

/// binary16 storage type. Layout-compatible with `__half`, `_Float16` and numpy's float16.
struct alignas(2) binary16 {
    std::uint16_t bits = 0;

    binary16() = default;
    SNN_HOST_DEVICE explicit binary16(float value) : bits(binary16_bits_from_float(value)) {}
    /// Exact double -> binary16 (one rounding): the double is first narrowed to float with
    /// round-to-odd, which makes the following float -> binary16 rounding correct.
    SNN_HOST_DEVICE explicit binary16(double value) {
        float f = static_cast<float>(value);
        if (value == value && static_cast<double>(f) != value) {
            std::uint32_t fb = detail::float_bits(f);
            const bool rounded_away = (static_cast<double>(f) > value) == ((fb & 0x80000000u) == 0);
            if (rounded_away) fb -= 1;  // truncate towards zero
            f = detail::float_from_bits(fb | 1u);
        }
        bits = binary16_bits_from_float(f);
    }

    SNN_HOST_DEVICE static binary16 from_bits(std::uint16_t pattern) {
        binary16 h;
        h.bits = pattern;
        return h;
    }

    SNN_HOST_DEVICE explicit operator float() const { return float_from_binary16_bits(bits); }
    SNN_HOST_DEVICE float to_float() const { return float_from_binary16_bits(bits); }

    SNN_HOST_DEVICE bool is_nan() const { return (bits & 0x7FFFu) > 0x7C00u; }
};

static_assert(sizeof(binary16) == 2, "binary16 must be two bytes");

/// Bitwise equality of two binary16 values (what "bit-exact" means in tests).
SNN_HOST_DEVICE bool same_bits(binary16 a, binary16 b) { return a.bits == b.bits; }

}  // namespace snn
