#pragma once
/// \file
/// Compile-time neuron policies and the prepared constants they read.
///
///   charge    how the membrane integrates input:      charge::if_, charge::lif<DecayInput>,
///             charge::plif<DecayInput>                  (SpikingJelly's exact op order)
///   fire      spike = (h - v_th >= 0) or (> 0):        fire::greater_equal, fire::greater
///   reset     after a spike:                           reset::hard<Detach>, reset::soft<Detach>,
///                                                      reset::none
///   division  how `/ tau` rounds:                      division::true_division, ::reciprocal, ::fused
///   surrogate d spike / dz in backward:                surrogate::atan, ... (surrogate.hpp)
///   precision element types and rounding:              precision::f32, ... (precision.hpp)
///
/// Every axis also has a `dynamic` policy that reads its choice from
/// `neuron_params::dynamic` at run time: a single compiled kernel then covers every choice,
/// which is how the tools reach all combinations without compiling each one.

#include <cmath>
#include <type_traits>

#include "snn/config.hpp"
#include "snn/core/error.hpp"
#include "snn/neuron/params.hpp"
#include "snn/neuron/precision.hpp"
#include "snn/neuron/surrogate.hpp"
#include "snn/neuron/vec_ops.hpp"

namespace snn {

/// Constants of one kernel call, converted once to the arithmetic's scalar type.
template <class Arith>
struct prepared_constants {
    using scalar_type = typename Arith::scalar_type;
    scalar_type v_threshold{};
    scalar_type v_reset{};  ///< hard-reset target
    scalar_type v_rest{};   ///< subtracted in the LIF charge: v_reset for hard/no reset, 0 for soft
    scalar_type tau{};
    scalar_type inv_tau{};  ///< 1/tau rounded once to the scalar type (torch CUDA's reciprocal)
    scalar_type k{};        ///< PLIF: sigmoid(w) in compute precision
    surrogate::constants<scalar_type> surrogate{};
    dynamic_choice dynamic{};
};

namespace division {

/// `e / tau` as an IEEE division (torch on the CPU).
struct true_division {
    static constexpr division_kind kind = division_kind::true_division;
    template <class A, class V, class P> SNN_HOST_DEVICE static V divide(V e, const P& p) { return A::div_s(e, p.tau); }
    template <class A, class V, class P> SNN_HOST_DEVICE static V add_divided(V base, V e, const P& p) { return A::add(base, A::div_s(e, p.tau)); }
    template <class A, class V> SNN_HOST_DEVICE static V add_scaled(V base, V e, V k) { return A::add(base, A::mul(e, k)); }
};

/// `e * float(1/tau)` (torch on CUDA rewrites division by a scalar this way).
struct reciprocal {
    static constexpr division_kind kind = division_kind::reciprocal;
    template <class A, class V, class P> SNN_HOST_DEVICE static V divide(V e, const P& p) { return A::mul_s(e, p.inv_tau); }
    template <class A, class V, class P> SNN_HOST_DEVICE static V add_divided(V base, V e, const P& p) { return A::add(base, A::mul_s(e, p.inv_tau)); }
    template <class A, class V> SNN_HOST_DEVICE static V add_scaled(V base, V e, V k) { return A::add(base, A::mul(e, k)); }
};

/// `base + e * (1/tau)` as one fused multiply-add (CuPy/Triton; one rounding instead of two).
struct fused {
    static constexpr division_kind kind = division_kind::fused;
    template <class A, class V, class P> SNN_HOST_DEVICE static V divide(V e, const P& p) { return A::mul_s(e, p.inv_tau); }
    template <class A, class V, class P> SNN_HOST_DEVICE static V add_divided(V base, V e, const P& p) {
        return A::fma(e, vec_ops<V>::broadcast(p.inv_tau), base);
    }
    template <class A, class V> SNN_HOST_DEVICE static V add_scaled(V base, V e, V k) { return A::fma(e, k, base); }
};

/// Division chosen at run time (`neuron_params::dynamic.division`).
struct dynamic {
    template <class A, class V, class P> SNN_HOST_DEVICE static V divide(V e, const P& p) {
        return p.dynamic.division == division_kind::true_division ? true_division::divide<A>(e, p) : reciprocal::divide<A>(e, p);
    }
    template <class A, class V, class P> SNN_HOST_DEVICE static V add_divided(V base, V e, const P& p) {
        switch (p.dynamic.division) {
            case division_kind::true_division: return true_division::add_divided<A>(base, e, p);
            case division_kind::reciprocal: return reciprocal::add_divided<A>(base, e, p);
            case division_kind::fused: break;
        }
        return fused::add_divided<A>(base, e, p);
    }
    template <class A, class V, class P> SNN_HOST_DEVICE static V add_scaled_k(V base, V e, V k, const P& p) {
        return p.dynamic.division == division_kind::fused ? fused::add_scaled<A>(base, e, k) : true_division::add_scaled<A>(base, e, k);
    }
};

namespace detail {
/// add_scaled for static policies and dynamic alike.
template <class Division, class A, class V, class P>
SNN_HOST_DEVICE V add_scaled(V base, V e, V k, const P& p) {
    if constexpr (std::is_same_v<Division, dynamic>) {
        return Division::template add_scaled_k<A>(base, e, k, p);
    } else {
        (void)p;
        return Division::template add_scaled<A>(base, e, k);
    }
}
}  // namespace detail

}  // namespace division

namespace charge {

/// Gradient contributions a step's charge sends back to the previous membrane value: the
/// torch autograd engine adds them in this order (P1 then P2), so they are kept apart.
template <class V>
struct membrane_grads {
    V first;   ///< P1
    V second;  ///< P2 (unused when has_second_path is false)
};

/// Integrate-and-fire: h = v + x.
struct if_ {
    static constexpr bool has_second_path = false;
    static constexpr bool is_parametric = false;
    static constexpr bool divides_by_tau = false;
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static V charge(V x, V v, const P&) { return A::add(v, x); }
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static V grad_x(V gh, const P&) { return gh; }
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static membrane_grads<V> grad_v(V gh, const P&) { return {gh, gh}; }
};

/// Leaky integrate-and-fire, SpikingJelly's order: decay_input h = v + (x - (v - vr)) / tau,
/// otherwise h = (v - (v - vr) / tau) + x.
template <bool DecayInput = true>
struct lif {
    static constexpr bool decay_input = DecayInput;
    static constexpr bool has_second_path = true;
    static constexpr bool is_parametric = false;
    static constexpr bool divides_by_tau = true;
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static V charge(V x, V v, const P& p) {
        const V d = A::sub_s(v, p.v_rest);
        if constexpr (DecayInput) {
            return Div::template add_divided<A>(v, A::sub(x, d), p);
        } else {
            // v - d/tau == v + (-d)/tau exactly, and the fused form needs the latter.
            return A::add(Div::template add_divided<A>(v, A::neg(d), p), x);
        }
    }
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static V grad_x(V gh, const P& p) {
        if constexpr (DecayInput) return Div::template divide<A>(gh, p);
        else { (void)p; return gh; }
    }
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static membrane_grads<V> grad_v(V gh, const P& p) {
        if constexpr (DecayInput) return {gh, A::neg(Div::template divide<A>(gh, p))};
        else return {gh, Div::template divide<A>(A::neg(gh), p)};
    }
};

/// Parametric LIF: as lif with `/ tau` replaced by `* k`, k = sigmoid(w) learnable.
template <bool DecayInput = true>
struct plif {
    static constexpr bool decay_input = DecayInput;
    static constexpr bool has_second_path = true;
    static constexpr bool is_parametric = true;
    static constexpr bool divides_by_tau = false;
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static V charge(V x, V v, const P& p) {
        const V k = vec_ops<V>::broadcast(p.k);
        const V d = A::sub_s(v, p.v_rest);
        if constexpr (DecayInput) return division::detail::add_scaled<Div, A>(v, A::sub(x, d), k, p);
        else return A::add(division::detail::add_scaled<Div, A>(v, A::neg(d), k, p), x);
    }
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static V grad_x(V gh, const P& p) {
        if constexpr (DecayInput) return A::mul(gh, vec_ops<V>::broadcast(p.k));
        else { (void)p; return gh; }
    }
    template <class A, class Div, class V, class P> SNN_HOST_DEVICE static membrane_grads<V> grad_v(V gh, const P& p) {
        const V k = vec_ops<V>::broadcast(p.k);
        if constexpr (DecayInput) return {gh, A::neg(A::mul(gh, k))};
        else return {gh, A::mul(A::neg(gh), k)};
    }
    /// This step's term of dL/dk (summed over steps and neurons by the caller).
    template <class A, class V, class P> SNN_HOST_DEVICE static V grad_k_term(V gh, V x, V v_prev, const P& p) {
        const V d = A::sub_s(v_prev, p.v_rest);
        if constexpr (DecayInput) return A::mul(gh, A::sub(x, d));
        else return A::mul(A::neg(gh), d);
    }
};

}  // namespace charge

namespace fire {

/// SpikingJelly: spike where h - v_th >= 0 (a tie fires).
struct greater_equal {
    static constexpr fire_kind kind = fire_kind::greater_equal;
    template <class A, class V, class P> SNN_HOST_DEVICE static auto fires(V z, const P&) { return A::ge_s(z, typename A::scalar_type(0)); }
};
/// BIDL and Loihi: spike where h - v_th > 0 (a tie does not fire).
struct greater {
    static constexpr fire_kind kind = fire_kind::greater;
    template <class A, class V, class P> SNN_HOST_DEVICE static auto fires(V z, const P&) { return A::gt_s(z, typename A::scalar_type(0)); }
};
struct dynamic {
    template <class A, class V, class P> SNN_HOST_DEVICE static auto fires(V z, const P& p) {
        return p.dynamic.fire == fire_kind::greater ? A::gt_s(z, typename A::scalar_type(0)) : A::ge_s(z, typename A::scalar_type(0));
    }
};

}  // namespace fire

namespace reset {

namespace detail {
template <class A, class V> SNN_HOST_DEVICE V hard_forward(V h, V s, typename A::scalar_type v_reset) {
    return A::add(A::mul_s(s, v_reset), A::mul(A::rsub_s(typename A::scalar_type(1), s), h));
}
template <class A, class Sg, class V, class P>
SNN_HOST_DEVICE V hard_backward(V h, V s, V z, V gv, V gs, bool detach, const P& p) {
    if (!detach) gs = A::add(A::add(gs, A::neg(A::mul(gv, h))), A::mul_s(gv, p.v_reset));
    return A::add(A::mul(gv, A::rsub_s(typename A::scalar_type(1), s)), Sg::template grad<A>(z, gs, p.surrogate));
}
template <class A, class V> SNN_HOST_DEVICE V soft_forward(V h, V s, typename A::scalar_type v_threshold) {
    return A::sub(h, A::mul_s(s, v_threshold));
}
template <class A, class Sg, class V, class P>
SNN_HOST_DEVICE V soft_backward(V gv, V z, V gs, bool detach, const P& p) {
    if (!detach) gs = A::add(gs, A::mul_s(A::neg(gv), p.v_threshold));
    return A::add(gv, Sg::template grad<A>(z, gs, p.surrogate));
}
}  // namespace detail

/// v = s*v_reset + (1 - s)*h; `Detach` stops the gradient through s in the reset (detach_reset).
template <bool Detach = false>
struct hard {
    static constexpr reset_kind kind = reset_kind::hard;
    static constexpr bool detach = Detach;
    template <class A, class V, class P> SNN_HOST_DEVICE static V apply(V h, V s, const P& p) { return detail::hard_forward<A>(h, s, p.v_reset); }
    template <class A, class Sg, class V, class P> SNN_HOST_DEVICE static V backward(V h, V s, V z, V gv, V gs, const P& p) {
        return detail::hard_backward<A, Sg>(h, s, z, gv, gs, Detach, p);
    }
};

/// v = h - s*v_th (reset by subtraction; SpikingJelly's v_reset=None).
template <bool Detach = false>
struct soft {
    static constexpr reset_kind kind = reset_kind::soft;
    static constexpr bool detach = Detach;
    template <class A, class V, class P> SNN_HOST_DEVICE static V apply(V h, V s, const P& p) { return detail::soft_forward<A>(h, s, p.v_threshold); }
    template <class A, class Sg, class V, class P> SNN_HOST_DEVICE static V backward(V, V, V z, V gv, V gs, const P& p) {
        return detail::soft_backward<A, Sg>(gv, z, gs, Detach, p);
    }
};

/// No reset: v = h.
struct none {
    static constexpr reset_kind kind = reset_kind::none;
    static constexpr bool detach = true;
    template <class A, class V, class P> SNN_HOST_DEVICE static V apply(V h, V, const P&) { return h; }
    template <class A, class Sg, class V, class P> SNN_HOST_DEVICE static V backward(V, V, V z, V gv, V gs, const P& p) {
        return A::add(gv, Sg::template grad<A>(z, gs, p.surrogate));
    }
};

/// Reset chosen at run time (`neuron_params::dynamic.reset` and `.detach_reset`).
struct dynamic {
    template <class A, class V, class P> SNN_HOST_DEVICE static V apply(V h, V s, const P& p) {
        switch (p.dynamic.reset) {
            case reset_kind::hard: return detail::hard_forward<A>(h, s, p.v_reset);
            case reset_kind::soft: return detail::soft_forward<A>(h, s, p.v_threshold);
            case reset_kind::none: break;
        }
        return h;
    }
    template <class A, class Sg, class V, class P> SNN_HOST_DEVICE static V backward(V h, V s, V z, V gv, V gs, const P& p) {
        switch (p.dynamic.reset) {
            case reset_kind::hard: return detail::hard_backward<A, Sg>(h, s, z, gv, gs, p.dynamic.detach_reset, p);
            case reset_kind::soft: return detail::soft_backward<A, Sg>(gv, z, gs, p.dynamic.detach_reset, p);
            case reset_kind::none: break;
        }
        return none::backward<A, Sg>(h, s, z, gv, gs, p);
    }
};

}  // namespace reset

}  // namespace snn
