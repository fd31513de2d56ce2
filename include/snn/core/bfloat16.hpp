#pragma once
/// \file
/// bfloat16 storage type (the upper 16 bits of a binary32) with round-to-nearest-even from
/// float, usable on host and device. Used as a storage format only: values are widened to
/// float exactly for arithmetic.

#include <cstdint>

#include "snn/config.hpp"
#include "snn/core/binary16.hpp"

namespace snn {

/// bfloat16 bit pattern nearest to `value` (ties to even); NaN stays a quiet NaN.
SNN_HOST_DEVICE std::uint16_t bfloat16_bits_from_float(float value) {
    const std::uint32_t f = detail::float_bits(value);
    if ((f & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((f >> 16) | 0x0040u);
    return static_cast<std::uint16_t>((f + 0x7FFFu + ((f >> 16) & 1u)) >> 16);
}

SNN_HOST_DEVICE float float_from_bfloat16_bits(std::uint16_t bits) {
    return detail::float_from_bits(static_cast<std::uint32_t>(bits) << 16);
}

struct alignas(2) bfloat16 {
    std::uint16_t bits = 0;

    bfloat16() = default;
    SNN_HOST_DEVICE explicit bfloat16(float value) : bits(bfloat16_bits_from_float(value)) {}
    SNN_HOST_DEVICE static bfloat16 from_bits(std::uint16_t pattern) {
        bfloat16 b;
        b.bits = pattern;
        return b;
    }
    SNN_HOST_DEVICE explicit operator float() const { return float_from_bfloat16_bits(bits); }
    SNN_HOST_DEVICE float to_float() const { return float_from_bfloat16_bits(bits); }
};

static_assert(sizeof(bfloat16) == 2, "bfloat16 must be two bytes");

}  // namespace snn
