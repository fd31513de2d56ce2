#pragma once
/// \file
/// Run-time values of a neuron (thresholds, time constant, surrogate shape) and the run-time
/// choices read by the `dynamic` policies. The compile-time policies (neuron/policies.hpp)
/// decide *how* a step is computed; these structs carry the numbers it is computed with.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "snn/core/error.hpp"

namespace snn {

/// The 14 surrogate gradients of SpikingJelly's torch path (forward is always a step function).
enum class surrogate_kind : std::uint8_t {
    atan,
    sigmoid,
    piecewise_quadratic,
    piecewise_exp,
    soft_sign,
    super_spike,
    erf,
    piecewise_leaky_relu,
    s2nn,
    q_pseudo_spike,
    leaky_k_relu,
    log_tailed_relu,
    rect,
    nonzero_sign_log_abs,
};

inline constexpr int surrogate_kind_count = 14;

/// Snake-case name as used by the golden manifests (`"atan"`, `"piecewise_leaky_relu"`...).
inline const char* surrogate_name(surrogate_kind kind) {
    switch (kind) {
        case surrogate_kind::atan: return "atan";
        case surrogate_kind::sigmoid: return "sigmoid";
        case surrogate_kind::piecewise_quadratic: return "piecewise_quadratic";
        case surrogate_kind::piecewise_exp: return "piecewise_exp";
        case surrogate_kind::soft_sign: return "soft_sign";
        case surrogate_kind::super_spike: return "super_spike";
        case surrogate_kind::erf: return "erf";
        case surrogate_kind::piecewise_leaky_relu: return "piecewise_leaky_relu";
        case surrogate_kind::s2nn: return "s2nn";
        case surrogate_kind::q_pseudo_spike: return "q_pseudo_spike";
        case surrogate_kind::leaky_k_relu: return "leaky_k_relu";
        case surrogate_kind::log_tailed_relu: return "log_tailed_relu";
        case surrogate_kind::rect: return "rect";
        case surrogate_kind::nonzero_sign_log_abs: return "nonzero_sign_log_abs";
    }
    return "unknown";
}

/// Parses a surrogate name; throws `invalid_argument("surrogate", ...)` for unknown names.
inline surrogate_kind surrogate_from_name(std::string_view name) {
    for (int i = 0; i < surrogate_kind_count; ++i) {
        const auto kind = static_cast<surrogate_kind>(i);
        if (name == surrogate_name(kind)) return kind;
    }
    throw invalid_argument("surrogate", "unknown surrogate name '" + std::string(name) +
                                            "' (expected one of atan, sigmoid, piecewise_quadratic, "
                                            "piecewise_exp, soft_sign, super_spike, erf, "
                                            "piecewise_leaky_relu, s2nn, q_pseudo_spike, leaky_k_relu, "
                                            "log_tailed_relu, rect, nonzero_sign_log_abs)");
}

/// Shape parameters of the surrogate; each surrogate reads the ones SpikingJelly gives it:
/// `alpha` (all but piecewise_leaky_relu and leaky_k_relu), `beta` (s2nn), `w`, `c`
/// (piecewise_leaky_relu), `leak`, `k` (leaky_k_relu).
struct surrogate_params {
    double alpha = 2.0;
    double beta = 1.0;
    double w = 1.0;
    double c = 0.01;
    double leak = 0.0;
    double k = 1.0;
};

/// SpikingJelly's default parameters for `kind` (e.g. sigmoid alpha 4, atan alpha 2).
inline surrogate_params default_surrogate_params(surrogate_kind kind) {
    surrogate_params p;
    switch (kind) {
        case surrogate_kind::atan: p.alpha = 2.0; break;
        case surrogate_kind::sigmoid: p.alpha = 4.0; break;
        case surrogate_kind::piecewise_quadratic: p.alpha = 1.0; break;
        case surrogate_kind::piecewise_exp: p.alpha = 1.0; break;
        case surrogate_kind::soft_sign: p.alpha = 2.0; break;
        case surrogate_kind::super_spike: p.alpha = 1.0; break;
        case surrogate_kind::erf: p.alpha = 2.0; break;
        case surrogate_kind::piecewise_leaky_relu: p.w = 1.0; p.c = 0.01; break;
        case surrogate_kind::s2nn: p.alpha = 4.0; p.beta = 1.0; break;
        case surrogate_kind::q_pseudo_spike: p.alpha = 2.0; break;
        case surrogate_kind::leaky_k_relu: p.leak = 0.0; p.k = 1.0; break;
        case surrogate_kind::log_tailed_relu: p.alpha = 0.0; break;
        case surrogate_kind::rect: p.alpha = 1.0; break;
        case surrogate_kind::nonzero_sign_log_abs: p.alpha = 1.0; break;
    }
    return p;
}

enum class reset_kind : std::uint8_t { hard, soft, none };
enum class fire_kind : std::uint8_t { greater_equal, greater };
/// How `/ tau` is evaluated: IEEE division (torch CPU), multiplication by float(1/tau)
/// (torch CUDA), or folded into a fused multiply-add (CuPy/Triton, fastest).
enum class division_kind : std::uint8_t { true_division, reciprocal, fused };

/// Choices read only by the `dynamic` policies (one compiled kernel serving every choice, used
/// by tools such as snn-golden). Compile-time policies ignore these fields.
struct dynamic_choice {
    reset_kind reset = reset_kind::hard;
    bool detach_reset = false;
    fire_kind fire = fire_kind::greater_equal;
    division_kind division = division_kind::true_division;
    surrogate_kind surrogate = surrogate_kind::atan;
};

/// Values every neuron step needs. Defaults are SpikingJelly's LIFNode defaults with ATan.
struct neuron_params {
    double v_threshold = 1.0;
    double v_reset = 0.0;  ///< hard reset target; soft and no reset ignore it (SpikingJelly's v_reset=None)
    double tau = 2.0;      ///< LIF membrane time constant (> 1)
    double w = 0.0;        ///< PLIF learnable parameter: 1/tau = sigmoid(w); w = -ln(init_tau - 1)
    surrogate_params surrogate{};
    dynamic_choice dynamic{};
};

/// PLIF's `w` for an initial time constant, as SpikingJelly computes it (`-ln(init_tau - 1)`).
inline double plif_w_from_tau(double init_tau) {
    require(std::isfinite(init_tau) && init_tau > 1.0, "tau", "PLIF initial tau must be finite and > 1");
    return -std::log(init_tau - 1.0);
}

namespace detail {

inline void require_finite(double value, const char* argument) {
    require(std::isfinite(value), argument, "must be finite, got " + std::to_string(value));
}

}  // namespace detail

/// Checks the surrogate parameters that `kind` reads; throws `invalid_argument` naming the
/// parameter (e.g. "surrogate.alpha").
inline void validate_surrogate(surrogate_kind kind, const surrogate_params& p) {
    using detail::require_finite;
    switch (kind) {
        case surrogate_kind::piecewise_leaky_relu:
            require_finite(p.w, "surrogate.w");
            require_finite(p.c, "surrogate.c");
            require(p.w > 0.0, "surrogate.w", "piecewise_leaky_relu needs w > 0");
            return;
        case surrogate_kind::leaky_k_relu:
            require_finite(p.leak, "surrogate.leak");
            require_finite(p.k, "surrogate.k");
            return;
        case surrogate_kind::s2nn:
            require_finite(p.alpha, "surrogate.alpha");
            require_finite(p.beta, "surrogate.beta");
            return;
        default: break;
    }
    require_finite(p.alpha, "surrogate.alpha");
    switch (kind) {
        case surrogate_kind::soft_sign:
        case surrogate_kind::piecewise_quadratic:
        case surrogate_kind::rect:
            require(p.alpha > 0.0, "surrogate.alpha", std::string(surrogate_name(kind)) + " needs alpha > 0");
            break;
        case surrogate_kind::nonzero_sign_log_abs:
            require(p.alpha != 0.0, "surrogate.alpha", "nonzero_sign_log_abs needs alpha != 0");
            break;
        case surrogate_kind::q_pseudo_spike:
            require(p.alpha > 1.0, "surrogate.alpha", "q_pseudo_spike needs alpha > 1");
            break;
        default: break;
    }
}

}  // namespace snn
