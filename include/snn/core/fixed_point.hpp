#pragma once
/// \file
/// Integer fixed-point helpers shared by the Loihi emulation (host and device): shifts that
/// round toward zero or toward minus infinity, round-half-to-even, float32 <-> integer
/// conversions with defined results for every input, and Lava's 24-bit wrap and saturation.
///
/// Right shifts of negative integers are arithmetic in C++20 and on every compiler snn
/// supports; C++17 only calls them implementation-defined, so `shift_right_floor` spells the
/// floor out with a division-free identity instead of relying on it.

#include <cmath>
#include <cstdint>
#include <limits>

#include "snn/config.hpp"

namespace snn {
namespace fixed {

/// x / 2^bits rounded toward zero: sign(x) * (|x| >> bits), lava-dl's `right_shift_to_zero`.
/// Needs x > INT64_MIN (|x| must be representable).
SNN_HOST_DEVICE std::int64_t shift_right_toward_zero(std::int64_t x, int bits) {
    // Branch-free (the sign of the state is data, so a branch would mispredict): negate through
    // an all-ones mask, shift the magnitude, negate back; unsigned arithmetic wraps by definition.
    const std::uint64_t negative = std::uint64_t{0} - static_cast<std::uint64_t>(x < 0);
    const std::uint64_t magnitude = (static_cast<std::uint64_t>(x) ^ negative) - negative;
    return static_cast<std::int64_t>(((magnitude >> bits) ^ negative) - negative);
}

/// x / 2^bits rounded toward minus infinity (numpy's `>>` on signed integers).
SNN_HOST_DEVICE std::int64_t shift_right_floor(std::int64_t x, int bits) {
    if (x >= 0) return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) >> bits);
    // floor(x / 2^b) = -ceil(-x / 2^b) = -((-x + 2^b - 1) >> b), all on magnitudes.
    const std::uint64_t magnitude = 0 - static_cast<std::uint64_t>(x);
    const std::uint64_t up = (magnitude + ((std::uint64_t{1} << bits) - 1)) >> bits;
    return -static_cast<std::int64_t>(up);
}

/// x * 2^bits with two's-complement wrap in 64 bits (numpy's `<<` never traps either).
SNN_HOST_DEVICE std::int64_t shift_left(std::int64_t x, int bits) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) << bits);
}

/// `x << bits` (bits >= 0) or `x >> -bits` (floor), as Lava applies weight and bias exponents.
SNN_HOST_DEVICE std::int64_t shift_by_exponent(std::int64_t x, int exponent) {
    return exponent >= 0 ? shift_left(x, exponent) : shift_right_floor(x, -exponent);
}

/// Two's-complement wrap of a 64-bit value to int32 (numpy int32 arithmetic).
SNN_HOST_DEVICE std::int32_t wrap_int32(std::int64_t x) {
    const auto low = static_cast<std::uint32_t>(static_cast<std::uint64_t>(x));
    return low >= 0x80000000u ? static_cast<std::int32_t>(static_cast<std::int64_t>(low) - (std::int64_t{1} << 32))
                              : static_cast<std::int32_t>(low);
}

/// `((x + 2^(bits-1)) mod 2^bits) - 2^(bits-1)`: Lava Conv's wrap of its output to `bits` bits.
SNN_HOST_DEVICE std::int64_t wrap_signed_bits(std::int64_t x, int bits) {
    const std::uint64_t modulus_mask = (std::uint64_t{1} << bits) - 1;
    const std::uint64_t half = std::uint64_t{1} << (bits - 1);
    const std::uint64_t r = (static_cast<std::uint64_t>(x) + half) & modulus_mask;
    return static_cast<std::int64_t>(r) - static_cast<std::int64_t>(half);
}

/// min(max(x, lo), hi).
SNN_HOST_DEVICE std::int64_t clamp(std::int64_t x, std::int64_t lo, std::int64_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/// Largest magnitude a float32 -> int64 conversion keeps: 2^62, far beyond any emulated state.
constexpr float float_to_int_limit = 4611686018427387904.0f;

/// float32 -> int64 toward zero (torch's `.to(int64)`), defined for every input: NaN gives 0
/// and magnitudes at or beyond 2^62 (infinities included) saturate to +-2^62, where torch's
/// own result is unspecified.
SNN_HOST_DEVICE std::int64_t float_to_int_toward_zero(float x) {
    if (!(x == x)) return 0;
    if (x >= float_to_int_limit) return std::int64_t{1} << 62;
    if (x <= -float_to_int_limit) return -(std::int64_t{1} << 62);
    return static_cast<std::int64_t>(x);  // C++ float -> integer conversion truncates
}

/// int64 -> float32 rounded to nearest even (exact below 2^24 in magnitude).
SNN_HOST_DEVICE float int_to_float(std::int64_t x) {
#if SNN_IS_DEVICE_CODE
    return __ll2float_rn(static_cast<long long>(x));
#else
    return static_cast<float>(x);  // IEEE round-to-nearest (the default environment)
#endif
}

/// The value float32 gives the integer x: int64 -> float32 -> int64 (exact below 2^24).
SNN_HOST_DEVICE std::int64_t round_through_float(std::int64_t x) {
    return float_to_int_toward_zero(int_to_float(x));
}

/// Round half to even of a double (torch.round, numpy.round), independent of the floating-point
/// environment's rounding mode. Finite inputs only.
SNN_HOST_DEVICE double round_half_even(double x) {
    const double lower = std::floor(x);
    const double fraction = x - lower;  // exact: x and floor(x) share the exponent range
    if (fraction > 0.5) return lower + 1.0;
    if (fraction < 0.5) return lower;
    return std::fmod(lower, 2.0) == 0.0 ? lower : lower + 1.0;
}

}  // namespace fixed
}  // namespace snn
