#pragma once
/// \file
/// Comparison rules of the golden vectors (format `snn-golden/1`, see shared/golden/README.md):
/// `exact`, `ulp`, `scaled`, `spike_flips`, `skip`, optionally restricted to the neurons whose
/// spike train agrees with the reference (`agreeing_only`). Tool-local: used by snn-golden and
/// by tests that want the same rules; it knows nothing of JSON or of the neuron kernels.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "snn/core/error.hpp"
#include "snn/io/npy.hpp"

namespace snn_golden {

enum class rule_kind { exact, ulp, scaled, spike_flips, skip };

/// One output's rule, as the manifest's `compare` field states it.
struct compare_rule {
    rule_kind kind = rule_kind::exact;
    double tolerance = 0.0;      ///< ulp: max distance; scaled: r; spike_flips: max fraction
    bool agreeing_only = false;  ///< only elements of neurons whose spike train agrees
    std::string skip_reason;     ///< kind == skip
};

/// The elements of one array as the rules need them: the value (for `scaled` and messages) and
/// a key that orders the bit patterns monotonically (for `exact` and `ulp`).
struct element_values {
    snn::io::dtype type = snn::io::dtype::float64;
    std::vector<double> value;
    std::vector<std::int64_t> ordered;  ///< floats: +-magnitude of the bits; integers: the value
    std::vector<std::uint64_t> bits;    ///< raw bit pattern (for messages)
    std::vector<bool> nan;
};

namespace detail {

inline bool is_float_type(snn::io::dtype t) {
    return t == snn::io::dtype::float16 || t == snn::io::dtype::float32 || t == snn::io::dtype::float64;
}

/// Sign-magnitude bits -> an integer whose order is the order of the values. +0 and -0 both
/// map to 0, and neighbouring floats differ by exactly 1, so the difference of two keys is the
/// distance in units in the last place.
inline std::int64_t ordered_key(std::uint64_t bits, int width) {
    const std::uint64_t sign_bit = std::uint64_t{1} << (width - 1);
    const auto magnitude = static_cast<std::int64_t>(bits & (sign_bit - 1));
    return (bits & sign_bit) ? -magnitude : magnitude;
}

template <class Bits>
void read_float_bits(const snn::io::npy_array& a, int width, element_values& out) {
    const Bits* raw = reinterpret_cast<const Bits*>(a.bytes());
    for (std::int64_t i = 0; i < a.size(); ++i) {
        out.bits[static_cast<std::size_t>(i)] = raw[i];
        out.ordered[static_cast<std::size_t>(i)] = ordered_key(raw[i], width);
    }
}

}  // namespace detail

/// Reads `a` (any dtype npy.hpp supports) into element_values.
inline element_values read_elements(const snn::io::npy_array& a) {
    const auto n = static_cast<std::size_t>(a.size());
    element_values out;
    out.type = a.type();
    out.value = a.to_vector_as<double>();
    out.ordered.resize(n);
    out.bits.resize(n);
    out.nan.resize(n);
    switch (a.type()) {
        case snn::io::dtype::float16: detail::read_float_bits<std::uint16_t>(a, 16, out); break;
        case snn::io::dtype::float32: detail::read_float_bits<std::uint32_t>(a, 32, out); break;
        case snn::io::dtype::float64: detail::read_float_bits<std::uint64_t>(a, 64, out); break;
        default: {
            // Integers and bool: the value itself orders them (uint64 beyond int64 saturates,
            // which only blurs the ulp distance of values no golden array holds).
            for (std::size_t i = 0; i < n; ++i) {
                const double v = out.value[i];
                out.ordered[i] = v >= 9.2e18 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(v);
                out.bits[i] = static_cast<std::uint64_t>(out.ordered[i]);
            }
        }
    }
    for (std::size_t i = 0; i < n; ++i) out.nan[i] = std::isnan(out.value[i]);
    return out;
}

/// |a - b| in units in the last place (keys from ordered_key). Unsigned arithmetic: the true
/// difference of two keys is below 2^64, so the wrap-around subtraction is exact.
inline std::uint64_t ulp_distance(std::int64_t a, std::int64_t b) {
    return a >= b ? static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b)
                  : static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
}

/// The outcome of one output's comparison.
struct compare_result {
    bool compared = true;           ///< false: skipped by its rule, or no element to compare
    bool passed = true;
    std::int64_t checked = 0;       ///< elements the rule was applied to
    std::int64_t failed = 0;        ///< elements that broke it (spike_flips: elements that differ)
    std::int64_t worst_index = -1;  ///< flat index of the worst failing element (-1: none)
    double worst_score = 0.0;       ///< ulp distance, or |diff| / max(1, |expected|) for scaled
    double max_score = 0.0;         ///< the same measure over every checked element (for --verbose)
    std::string note;               ///< why it was not compared, or the spike_flips summary
};

namespace detail {

/// How far one element is from the expected one, in the rule's own unit (ulp distance for
/// exact/ulp, scaled error for scaled); +inf when exactly one of the two is NaN.
inline double element_score(const compare_rule& rule, const element_values& got, const element_values& exp, std::size_t i) {
    const bool got_nan = got.nan[i], exp_nan = exp.nan[i];
    if (got_nan && exp_nan) return 0.0;  // any NaN equals any NaN (payloads differ CPU vs CUDA)
    if (got_nan != exp_nan) return std::numeric_limits<double>::infinity();
    if (rule.kind == rule_kind::scaled) {
        const double g = got.value[i], e = exp.value[i];
        if (g == e) return 0.0;  // also equal infinities, whose difference would be NaN
        const double diff = std::fabs(g - e);
        return std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff / std::max(1.0, std::fabs(e));
    }
    return static_cast<double>(ulp_distance(got.ordered[i], exp.ordered[i]));
}

inline bool element_passes(const compare_rule& rule, double score) {
    switch (rule.kind) {
        case rule_kind::exact: return score == 0.0;
        case rule_kind::ulp:
        case rule_kind::scaled: return score <= rule.tolerance;
        default: return true;
    }
}

inline compare_result compare_spike_flips(const compare_rule& rule, const element_values& got, const element_values& exp) {
    compare_result r;
    r.checked = static_cast<std::int64_t>(got.value.size());
    for (std::size_t i = 0; i < got.value.size(); ++i) {
        const bool same = (got.nan[i] && exp.nan[i]) || got.value[i] == exp.value[i];
        if (same) continue;
        if (r.failed == 0) r.worst_index = static_cast<std::int64_t>(i);  // report the first flip
        ++r.failed;
    }
    const double fraction = r.checked ? static_cast<double>(r.failed) / static_cast<double>(r.checked) : 0.0;
    r.worst_score = fraction;
    r.passed = fraction <= rule.tolerance;
    char text[96];
    std::snprintf(text, sizeof text, "%lld of %lld spikes differ (fraction %.4g)", static_cast<long long>(r.failed),
                  static_cast<long long>(r.checked), fraction);
    r.note = text;
    return r;
}

}  // namespace detail

/// Compares `got` with `expected` under `rule`. `mask`, when not null, holds one flag per
/// element: only flagged elements are compared (the agreeing_only restriction; the caller builds
/// it). The arrays must have the same dtype and shape (invalid_argument otherwise).
inline compare_result compare_arrays(const compare_rule& rule, const snn::io::npy_array& got,
                                     const snn::io::npy_array& expected, const std::vector<bool>* mask = nullptr) {
    compare_result r;
    if (rule.kind == rule_kind::skip) {
        r.compared = false;
        r.note = "skipped: " + rule.skip_reason;
        return r;
    }
    snn::require(got.type() == expected.type(), "dtype",
                 std::string("computed ") + snn::io::dtype_name(got.type()) + ", expected " +
                     snn::io::dtype_name(expected.type()));
    snn::require(got.shape() == expected.shape(), "shape",
                 "computed " + snn::io::shape_to_string(got.shape()) + ", expected " +
                     snn::io::shape_to_string(expected.shape()));
    const element_values g = read_elements(got), e = read_elements(expected);
    if (rule.kind == rule_kind::spike_flips) return detail::compare_spike_flips(rule, g, e);

    for (std::size_t i = 0; i < g.value.size(); ++i) {
        if (mask && !(*mask)[i]) continue;
        ++r.checked;
        const double score = detail::element_score(rule, g, e, i);
        r.max_score = std::max(r.max_score, score);
        if (detail::element_passes(rule, score)) continue;
        ++r.failed;
        if (r.worst_index < 0 || score > r.worst_score) {
            r.worst_index = static_cast<std::int64_t>(i);
            r.worst_score = score;
        }
    }
    r.passed = r.failed == 0;
    if (r.checked == 0 && !g.value.empty()) {
        r.compared = false;
        r.note = "no element to compare (no neuron's spike train agrees)";
    }
    return r;
}

/// Per element of an output, whether its neuron's spike train agrees, from the per-neuron flags
/// `neuron_agrees` (N of them). Time-major outputs ([T, N...], T*N elements) and per-neuron
/// outputs ([N...], N elements) map element to neuron; any other output (a reduction such as
/// PLIF's grad_w) depends on every neuron, so it is compared only when all of them agree.
inline std::vector<bool> agreeing_elements(const std::vector<bool>& neuron_agrees, std::int64_t elements) {
    const auto neurons = static_cast<std::int64_t>(neuron_agrees.size());
    std::vector<bool> mask(static_cast<std::size_t>(elements));
    if (neurons > 0 && elements % neurons == 0 && elements >= neurons) {
        for (std::int64_t i = 0; i < elements; ++i) mask[static_cast<std::size_t>(i)] = neuron_agrees[static_cast<std::size_t>(i % neurons)];
    } else {
        bool all = true;
        for (bool a : neuron_agrees) all = all && a;
        mask.assign(mask.size(), all);
    }
    return mask;
}

/// Per neuron (index over the non-time dims of a [T, N...] spike array), whether its spikes at
/// every step are equal in `got` and `expected`.
inline std::vector<bool> agreeing_neurons(const snn::io::npy_array& got, const snn::io::npy_array& expected) {
    snn::require(got.shape() == expected.shape() && !got.shape().empty(), "spike",
                 "computed " + snn::io::shape_to_string(got.shape()) + ", expected " +
                     snn::io::shape_to_string(expected.shape()) + ": cannot tell which neurons agree");
    const std::int64_t steps = got.shape()[0];
    const std::int64_t neurons = steps > 0 ? got.size() / steps : 0;
    const std::vector<double> g = got.to_vector_as<double>(), e = expected.to_vector_as<double>();
    std::vector<bool> agrees(static_cast<std::size_t>(neurons), true);
    for (std::int64_t i = 0; i < got.size(); ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (g[k] != e[k]) agrees[static_cast<std::size_t>(i % neurons)] = false;
    }
    return agrees;
}

}  // namespace snn_golden
