#pragma once
/// \file
/// `neuron_config` composes the policies; `neuron_step` is the per-neuron math of one time
/// step, forward and backward, written once for every backend (scalar CPU, xsimd batches,
/// CUDA threads): `V` is one lane value (float/double) or a SIMD batch of lanes.

#include <cmath>
#include <type_traits>

#include "snn/config.hpp"
#include "snn/core/error.hpp"
#include "snn/neuron/params.hpp"
#include "snn/neuron/policies.hpp"
#include "snn/neuron/precision.hpp"
#include "snn/neuron/surrogate.hpp"

namespace snn {

/// A neuron type: charge, fire, reset, surrogate, division and precision policies.
/// Example: SpikingJelly's `LIFNode(tau, decay_input=True, v_reset=0.0, ATan())` on the CPU in
/// float32 is `neuron_config<charge::lif<true>, fire::greater_equal, reset::hard<false>,
/// surrogate::atan, division::true_division, precision::f32>`.
template <class Charge, class Fire = fire::greater_equal, class Reset = reset::hard<false>,
          class Surrogate = surrogate::atan, class Division = division::true_division,
          class Precision = precision::f32>
struct neuron_config {
    using charge_policy = Charge;
    using fire_policy = Fire;
    using reset_policy = Reset;
    using surrogate_policy = Surrogate;
    using division_policy = Division;
    using precision_policy = Precision;
    using arith = typename Precision::arith;
    using storage_type = typename Precision::storage_type;
    using state_type = typename Precision::state_type;
    using saved_type = typename Precision::saved_type;
    using compute_type = typename Precision::compute_type;
    using constants_type = prepared_constants<arith>;
};

/// Convenience aliases for the common SpikingJelly neurons (hard reset to v_reset, ATan).
template <class Precision = precision::f32, class Surrogate = surrogate::atan>
using if_neuron = neuron_config<charge::if_, fire::greater_equal, reset::hard<false>, Surrogate, division::true_division, Precision>;
template <class Precision = precision::f32, class Surrogate = surrogate::atan, bool DecayInput = true>
using lif_neuron = neuron_config<charge::lif<DecayInput>, fire::greater_equal, reset::hard<false>, Surrogate, division::true_division, Precision>;
template <class Precision = precision::f32, class Surrogate = surrogate::atan, bool DecayInput = true>
using plif_neuron = neuron_config<charge::plif<DecayInput>, fire::greater_equal, reset::hard<false>, Surrogate, division::true_division, Precision>;

namespace detail {

template <class Reset>
constexpr bool reset_is_dynamic = std::is_same_v<Reset, reset::dynamic>;
template <class Surrogate>
constexpr bool surrogate_is_dynamic = std::is_same_v<Surrogate, surrogate::dynamic>;

}  // namespace detail

/// Validates `params` for `Config` and converts them once to the arithmetic's scalar type.
/// Throws `invalid_argument` naming the parameter (v_threshold, v_reset, tau, w, surrogate.*).
template <class Config>
prepared_constants<typename Config::arith> prepare_constants(const neuron_params& params) {
    using A = typename Config::arith;
    using S = typename A::scalar_type;
    using C = typename Config::compute_type;
    using Charge = typename Config::charge_policy;

    detail::require_finite(params.v_threshold, "v_threshold");
    detail::require_finite(params.v_reset, "v_reset");
    prepared_constants<A> k;
    k.dynamic = params.dynamic;
    k.v_threshold = static_cast<S>(params.v_threshold);
    k.v_reset = static_cast<S>(params.v_reset);

    reset_kind reset = reset_kind::hard;
    if constexpr (detail::reset_is_dynamic<typename Config::reset_policy>) reset = params.dynamic.reset;
    else reset = Config::reset_policy::kind;
    k.v_rest = reset == reset_kind::soft ? S(0) : k.v_reset;

    if constexpr (Charge::divides_by_tau) {
        require(std::isfinite(params.tau) && params.tau > 1.0, "tau",
                "LIF needs a finite tau > 1, got " + std::to_string(params.tau));
        k.tau = static_cast<S>(params.tau);
        k.inv_tau = S(1) / k.tau;
    } else {
        k.tau = S(1);
        k.inv_tau = S(1);
    }
    if constexpr (Charge::is_parametric) {
        detail::require_finite(params.w, "w");
        // w is a parameter tensor of the neuron's dtype: round it like one, then sigmoid.
        const C w = A::template constant<C>(static_cast<S>(params.w));
        k.k = static_cast<S>(A::sigmoid(w));
    }

    surrogate_kind kind{};
    if constexpr (detail::surrogate_is_dynamic<typename Config::surrogate_policy>) kind = params.dynamic.surrogate;
    else kind = Config::surrogate_policy::kind;
    validate_surrogate(kind, params.surrogate);
    if constexpr (detail::surrogate_is_dynamic<typename Config::surrogate_policy>) {
        k.surrogate = surrogate::dynamic::template prepare<A>(params.surrogate, kind);
    } else {
        k.surrogate = Config::surrogate_policy::template prepare<A>(params.surrogate);
    }
    return k;
}

/// One time step of one neuron (or one SIMD batch of neurons).
template <class Config>
struct neuron_step {
    using A = typename Config::arith;
    using S = typename A::scalar_type;
    using Charge = typename Config::charge_policy;
    using Fire = typename Config::fire_policy;
    using Reset = typename Config::reset_policy;
    using Surrogate = typename Config::surrogate_policy;
    using Division = typename Config::division_policy;
    using constants = prepared_constants<A>;

    /// Charge, fire, reset. `v` holds V[t-1] on entry and V[t] on exit; returns the spike
    /// (0 or 1) and writes the pre-spike membrane H[t] to `h` (what backward needs).
    template <class V>
    SNN_HOST_DEVICE static V forward(V x, V& v, V& h, const constants& k) {
        h = Charge::template charge<A, Division>(x, v, k);
        const V z = A::sub_s(h, k.v_threshold);
        const V spike = vec_ops<V>::select(Fire::template fires<A>(z, k), A::template constant<V>(S(1)), A::template constant<V>(S(0)));
        v = Reset::template apply<A>(h, spike, k);
        return spike;
    }

    /// dL/dH[t] from the saved H[t], the total dL/dV[t] (`grad_v`) and dL/dS[t] (`grad_spike`).
    template <class V>
    SNN_HOST_DEVICE static V grad_h(V h, V grad_v, V grad_spike, const constants& k) {
        const V z = A::sub_s(h, k.v_threshold);
        const V spike = vec_ops<V>::select(Fire::template fires<A>(z, k), A::template constant<V>(S(1)), A::template constant<V>(S(0)));
        return Reset::template backward<A, Surrogate>(h, spike, z, grad_v, grad_spike, k);
    }

    /// dL/dV[t] as torch accumulates it: (dL/dv_seq[t] + P1) + P2, where P1, P2 are the two
    /// paths from step t+1's charge (computed from dL/dH[t+1] = `grad_h_next`).
    template <class V>
    SNN_HOST_DEVICE static V grad_v_total(V grad_v_seq, V grad_h_next, const constants& k) {
        const charge::membrane_grads<V> p = Charge::template grad_v<A, Division>(grad_h_next, k);
        const V with_first = A::add(grad_v_seq, p.first);
        if constexpr (Charge::has_second_path) return A::add(with_first, p.second);
        else return with_first;
    }

    /// As grad_v_total when nothing reads v_seq[t] (no direct gradient term).
    template <class V>
    SNN_HOST_DEVICE static V grad_v_from_next(V grad_h_next, const constants& k) {
        const charge::membrane_grads<V> p = Charge::template grad_v<A, Division>(grad_h_next, k);
        if constexpr (Charge::has_second_path) return A::add(p.first, p.second);
        else return p.first;
    }

    template <class V>
    SNN_HOST_DEVICE static V grad_x(V gh, const constants& k) {
        return Charge::template grad_x<A, Division>(gh, k);
    }
};

}  // namespace snn
