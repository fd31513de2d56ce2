#pragma once
/// \file
/// Parameter quantisation of lava-dl (slayer) and of SpikingJelly's `lava_exchange`, and the
/// weight-bit optimisation NetX applies before Lava's Dense (reference/lava.md §2, §6, §8).
///
/// All functions are exact: where the reference computes in float32 (weights, decays) the
/// float32 value is formed first and then rounded with round-half-to-even on doubles, which
/// represent every float32 exactly. Gradients: every quantiser here is straight-through in
/// the references (forward rounds, backward passes the gradient unchanged inside the clamp
/// range), so training code applies `quantize_*` in the forward pass only.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "snn/core/error.hpp"
#include "snn/core/fixed_point.hpp"

namespace snn {
namespace lava {

/// Decay scale (`p_scale`), state scale (`s_scale`) and weight/threshold scale (`w_scale`) of
/// lava-dl's default `scale = 64`: integer state = slayer float state * 4096.
constexpr std::int64_t decay_scale = 4096;
constexpr std::int64_t state_scale = 4096;
constexpr std::int64_t weight_scale = 64;
/// lava-dl's `threshold_eps` = 0.01 / s_scale (added so that `>=` mimics Loihi's `>`).
constexpr double threshold_eps = 0.01 / 4096.0;

/// slayer decay quantisation: float32(4096 * decay), clamped to [0, 4096], rounded half to even
/// (0.1 -> 410, 0.03 -> 123, 2.5/4096 -> 2, 3.5/4096 -> 4, 1.5 -> 4096, -0.2 -> 0).
inline std::int32_t quantize_decay(double decay, const char* argument = "decay") {
    require(std::isfinite(decay), argument, "must be finite, got " + std::to_string(decay));
    double stored = static_cast<double>(static_cast<float>(4096.0 * decay));
    stored = stored < 0.0 ? 0.0 : (stored > 4096.0 ? 4096.0 : stored);
    return static_cast<std::int32_t>(fixed::round_half_even(stored));
}

/// The threshold mantissa vThMant = int(threshold * 64) (truncation toward zero; 0.3 -> 19,
/// 1.25 -> 80, -0.3 -> -19). The slayer threshold is vThMant / 64.
inline std::int64_t quantize_threshold(double threshold) {
    require(std::isfinite(threshold) && std::fabs(threshold) < 1e15, "threshold",
            "must be finite and below 1e15 in magnitude, got " + std::to_string(threshold));
    return static_cast<std::int64_t>(std::trunc(threshold * 64.0));
}

/// vThMant lava-dl's Affine block exports (its threshold is -1: no spike, no reset).
constexpr std::int64_t affine_threshold_mantissa = (std::int64_t{1} << 18) - 1;

/// Which clamp of the 8-bit weight quantiser.
enum class weight_clamp {
    slayer,       ///< lava-dl `quantize_8bit`: even mantissas in [-256, 254]
    spikingjelly  ///< SpikingJelly `quantize_8b`: [-256, 255] (255 reachable from w >= 3.984375)
};

/// The weight mantissa of float weight w (units of 1/64): 2 * round_half_even(float32(w) * 32),
/// clamped per `clamp` (4.0 -> 254, 255/64 -> 254, -4.03 -> -256, 1/64 -> 0, 3/64 -> 4,
/// 5/64 -> 4, 0.3 -> 20; spikingjelly: 4.0 -> 255). NaN is rejected.
inline std::int32_t quantize_weight(float w, weight_clamp clamp = weight_clamp::slayer) {
    require(w == w, "weight", "is NaN");
    const double steps = fixed::round_half_even(static_cast<double>(w * 32.0f));  // w / (2/64), exact
    const double mantissa = 2.0 * steps;
    const double hi = clamp == weight_clamp::slayer ? 254.0 : 255.0;
    return static_cast<std::int32_t>(mantissa < -256.0 ? -256.0 : (mantissa > hi ? hi : mantissa));
}

/// lava-dl `quantize_hook_fx(x, scale, num_bits)`: step 2/scale, clamp
/// [-2 * 2^num_bits, 2 * (2^num_bits - 1)] (descaled). quantize_weight(slayer) is num_bits = 7
/// with scale 64.
inline std::int64_t quantize_weight_hook(float w, int scale = 64, int num_bits = 8) {
    require(w == w, "weight", "is NaN");
    require(scale > 0 && (scale & (scale - 1)) == 0, "scale", "must be a positive power of two");
    require(num_bits >= 1 && num_bits <= 30, "num_bits", "must be in [1, 30]");
    const double steps = fixed::round_half_even(static_cast<double>(w * static_cast<float>(scale / 2.0)));
    const double mantissa = 2.0 * steps;
    const double lo = -2.0 * std::ldexp(1.0, num_bits), hi = 2.0 * (std::ldexp(1.0, num_bits) - 1.0);
    return static_cast<std::int64_t>(mantissa < lo ? lo : (mantissa > hi ? hi : mantissa));
}

/// Lava's synapse sign modes (lava.utils.weightutils.SignMode).
enum class sign_mode { mixed = 1, excitatory = 2, inhibitory = 3 };

inline const char* sign_mode_name(sign_mode m) {
    switch (m) {
        case sign_mode::mixed: return "MIXED";
        case sign_mode::excitatory: return "EXCITATORY";
        case sign_mode::inhibitory: return "INHIBITORY";
    }
    return "?";
}

/// Lava Dense's `determine_sign_mode`: min >= 0 excitatory (an all-zero matrix too), else
/// max <= 0 inhibitory, else mixed.
inline sign_mode determine_sign_mode(const std::int32_t* w, std::int64_t count) {
    require(w != nullptr || count == 0, "weights", "null pointer");
    std::int32_t lo = 0, hi = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        if (i == 0 || w[i] < lo) lo = w[i];
        if (i == 0 || w[i] > hi) hi = w[i];
    }
    if (lo >= 0) return sign_mode::excitatory;
    if (hi <= 0) return sign_mode::inhibitory;
    return sign_mode::mixed;
}

/// Lava Dense's effective weight (`clip_weights` then `truncate_weights`, done once at the
/// first step): mixed clips to [-256, 255], excitatory to [0, 255], inhibitory to [-255, 0];
/// then the low k = 8 - num_weight_bits (+1 for mixed) bits are cleared, toward minus infinity
/// for mixed/excitatory and on the magnitude for inhibitory (255 -> 254 and -3 -> -4 in mixed
/// mode with 8 bits; -256 -> -255 in inhibitory mode).
inline std::int32_t lava_effective_weight(std::int32_t w, sign_mode mode, int num_weight_bits) {
    const int k = 8 - num_weight_bits + (mode == sign_mode::mixed ? 1 : 0);
    switch (mode) {
        case sign_mode::mixed: {
            const std::int64_t c = fixed::clamp(w, -256, 255);
            return static_cast<std::int32_t>(fixed::shift_left(fixed::shift_right_floor(c, k), k));
        }
        case sign_mode::excitatory: {
            const std::int64_t c = fixed::clamp(w, 0, 255);
            return static_cast<std::int32_t>(fixed::shift_left(fixed::shift_right_floor(c, k), k));
        }
        case sign_mode::inhibitory: {
            const std::int64_t magnitude = fixed::clamp(-static_cast<std::int64_t>(w), 0, 255);
            return static_cast<std::int32_t>(-fixed::shift_left(fixed::shift_right_floor(magnitude, k), k));
        }
    }
    return 0;
}

/// What NetX's `optimize_weight_bits` hands to Lava's Dense.
struct optimized_weights {
    std::vector<std::int32_t> weights;  ///< W << scale_bits, same layout as the input
    int num_weight_bits = 8;
    int weight_exponent = 0;
    sign_mode mode = sign_mode::mixed;
    bool clipped = false;  ///< mixed-sign weights beyond [-256, 254] were clipped (NetX warns)
};

namespace detail {
/// floor(log2(num / den)) for positive integers, exactly (numpy computes it in float64, which
/// agrees for every ratio of 9-bit integers).
inline int floor_log2_ratio(std::int64_t num, std::int64_t den) {
    int k = 0;
    while (num >= 2 * den) { den *= 2; ++k; }
    while (num < den) { num *= 2; --k; }
    return k;
}
}  // namespace detail

/// NetX's `optimize_weight_bits` (reference/lava.md §6). An all-zero matrix is rejected: NetX
/// itself crashes on it (255 / 0), so no Lava network can be built from it.
inline optimized_weights optimize_weight_bits(const std::int32_t* w, std::int64_t count) {
    require(w != nullptr && count > 0, "weights", "need at least one weight");
    std::int32_t lo = w[0], hi = w[0];
    for (std::int64_t i = 1; i < count; ++i) {
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
    }
    optimized_weights r;
    r.weights.assign(w, w + count);
    if ((hi > 254 && lo < 0) || (lo < -256 && hi > 0)) {
        r.clipped = true;
        for (auto& x : r.weights) x = static_cast<std::int32_t>(fixed::clamp(x, -256, 254));
        lo = lo < -256 ? -256 : lo;
        hi = hi > 254 ? 254 : hi;
    }
    require(!(lo == 0 && hi == 0), "weights", "all zero: NetX's optimize_weight_bits cannot scale them (it divides by the maximum)");
    int is_signed = 0, scale_bits = 0;
    if (hi < 0) {
        r.mode = sign_mode::inhibitory;
        scale_bits = detail::floor_log2_ratio(256, -static_cast<std::int64_t>(lo));
    } else if (lo >= 0) {
        r.mode = sign_mode::excitatory;
        scale_bits = detail::floor_log2_ratio(255, hi);
    } else {
        r.mode = sign_mode::mixed;
        is_signed = 1;
        // floor(log2(min(127/hi, 128/-lo))) = min of the two floors (log2 is monotonic).
        const int pos = detail::floor_log2_ratio(127, hi), neg = detail::floor_log2_ratio(128, -static_cast<std::int64_t>(lo));
        scale_bits = pos < neg ? pos : neg;
    }
    scale_bits += is_signed;
    int n = 8;
    for (; n > 0; --n) {
        bool integral = true;
        for (const auto x : r.weights)
            if (x % (std::int32_t{1} << n) != 0) { integral = false; break; }
        if (integral) break;
    }
    n -= is_signed;
    r.num_weight_bits = 8 - scale_bits - n;
    r.weight_exponent = -scale_bits;
    for (auto& x : r.weights) x = fixed::wrap_int32(scale_bits >= 0 ? fixed::shift_left(x, scale_bits) : fixed::shift_right_floor(x, -scale_bits));
    return r;
}

/// slayer's exported threshold units back to float: threshold = vThMant / 64.
inline double threshold_from_mantissa(std::int64_t v_th_mant) { return static_cast<double>(v_th_mant) / 64.0; }

}  // namespace lava
}  // namespace snn
