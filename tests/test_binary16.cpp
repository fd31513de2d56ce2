// binary16: conversions against an independent reference (exact rational rounding in double),
// and the SIMD rounding path against the scalar one.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include <xsimd/xsimd.hpp>

#include "snn/core/binary16.hpp"
#include "snn/cpu/simd_ops.hpp"

namespace {

float from_bits(std::uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}
std::uint32_t to_bits(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// Reference: nearest binary16 value of a finite double by search over the 2^15 magnitudes.
// Slow but obviously correct; ties go to the even pattern.
std::uint16_t reference_bits(double value) {
    if (std::isnan(value)) return 0x7E00;
    const std::uint16_t sign = std::signbit(value) ? 0x8000 : 0;
    const double magnitude = std::fabs(value);
    if (magnitude >= 65520.0) return sign | 0x7C00;
    // binary search on the monotone magnitudes 0..0x7BFF
    std::uint16_t lo = 0, hi = 0x7BFF;
    while (hi - lo > 1) {
        const std::uint16_t mid = static_cast<std::uint16_t>((lo + hi) / 2);
        if (static_cast<double>(snn::float_from_binary16_bits(mid)) <= magnitude) lo = mid;
        else hi = mid;
    }
    const double dlo = magnitude - snn::float_from_binary16_bits(lo);
    const double dhi = static_cast<double>(snn::float_from_binary16_bits(hi)) - magnitude;
    std::uint16_t best;
    if (dlo < dhi) best = lo;
    else if (dhi < dlo) best = hi;
    else best = (lo & 1) ? hi : lo;
    return sign | best;
}

}  // namespace

TEST_CASE("binary16: every pattern converts to float and back unchanged") {
    for (std::uint32_t b = 0; b < 0x10000; ++b) {
        const auto bits = static_cast<std::uint16_t>(b);
        const float f = snn::float_from_binary16_bits(bits);
        const bool is_nan = (bits & 0x7FFF) > 0x7C00;
        if (is_nan) {
            CHECK(std::isnan(f));
            CHECK(snn::binary16(f).is_nan());
        } else {
            REQUIRE(snn::binary16_bits_from_float(f) == bits);
        }
    }
}

TEST_CASE("binary16: float rounding equals the reference around every binary16 value") {
    // Midpoints, neighbours of midpoints, subnormals, overflow threshold.
    for (std::uint32_t b = 0; b < 0x7C00; ++b) {
        const double lo = snn::float_from_binary16_bits(static_cast<std::uint16_t>(b));
        const double hi = b + 1 < 0x7C00 ? static_cast<double>(snn::float_from_binary16_bits(static_cast<std::uint16_t>(b + 1))) : 65536.0;
        const float mid = static_cast<float>((lo + hi) / 2);  // exact in float
        for (float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f), -mid}) {
            REQUIRE(snn::binary16_bits_from_float(f) == reference_bits(f));
        }
    }
    CHECK(snn::binary16_bits_from_float(65519.996f) == 0x7BFF);
    CHECK(snn::binary16_bits_from_float(65520.0f) == 0x7C00);
    CHECK(snn::binary16_bits_from_float(-std::numeric_limits<float>::infinity()) == 0xFC00);
    CHECK(snn::binary16_bits_from_float(-0.0f) == 0x8000);
    CHECK(snn::binary16_bits_from_float(1e-10f) == 0x0000);
    CHECK(snn::binary16_bits_from_float(2.9802322387695312e-08f) == 0x0000);  // 2^-25: tie to even 0
    CHECK(snn::binary16_bits_from_float(2.98023259e-08f) == 0x0001);          // just above the tie
}

TEST_CASE("binary16: double conversion rounds once") {
    // 1 + 2^-11 + 2^-40: a float would round it to the tie 1 + 2^-11 and then to even (1.0).
    const double value = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
    CHECK(snn::binary16(value).bits == 0x3C01);
    CHECK(snn::binary16(1.0 + std::ldexp(1.0, -11)).bits == 0x3C00);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> d(-70000.0, 70000.0);
    for (int i = 0; i < 20000; ++i) {
        const double v = d(rng) * std::ldexp(1.0, -static_cast<int>(rng() % 30));
        REQUIRE(snn::binary16(v).bits == reference_bits(v));
    }
}

TEST_CASE_TEMPLATE("binary16: SIMD rounding equals scalar rounding", Arch, xsimd::default_arch) {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t W = batch::size;
    std::mt19937 rng(11);
    alignas(64) float in[W];
    alignas(64) float out[W];
    auto check = [&] {
        snn::vec_ops<batch>::round_binary16(batch::load_aligned(in)).store_aligned(out);
        for (std::size_t i = 0; i < W; ++i) REQUIRE(to_bits(out[i]) == to_bits(snn::round_to_binary16(in[i])));
    };
    // Random bit patterns cover NaN, inf, subnormal floats and every exponent.
    for (int r = 0; r < 1 << 18; ++r) {
        for (std::size_t i = 0; i < W; ++i) in[i] = from_bits(rng());
        check();
    }
    // Dense sweep of the binary16 range.
    for (std::uint32_t b = 0x33000000u; b < 0x47800000u; b += 0x1F3u) {
        for (std::size_t i = 0; i < W; ++i) in[i] = from_bits(b + static_cast<std::uint32_t>(i)) * ((i & 1) ? -1.0f : 1.0f);
        check();
    }
}
