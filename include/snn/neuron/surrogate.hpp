#pragma once
/// \file
/// Surrogate gradients: d spike / d z for the step function spike = (z >= 0), z = h - v_th.
/// Each policy evaluates SpikingJelly's torch backward formula operation by operation, in the
/// same order and with the same scalar handling (see arith.hpp), so that rational surrogates
/// are bit-exact with torch and the exp/log/erf/pow ones differ only by the libm used.
/// CuPy's defects are not reproduced: piecewise_leaky_relu has slope 1/(2w) inside the strict
/// window |z| < w, s2nn and log_tailed_relu select their branch instead of blending (no NaN).
///
/// A policy has `prepare(params)` -> constants (done once per kernel call, in the arithmetic's
/// scalar type) and `grad(z, g, constants)` -> g * surrogate'(z).

#include "snn/config.hpp"
#include "snn/neuron/params.hpp"
#include "snn/neuron/vec_ops.hpp"

namespace snn {
namespace surrogate {

/// Prepared scalar constants (meaning depends on the surrogate).
template <class Scalar>
struct constants {
    Scalar c0{}, c1{}, c2{}, c3{};
    surrogate_kind kind = surrogate_kind::atan;  ///< read by `dynamic` only
};

namespace detail {
template <class A>
using scalar_t = typename A::scalar_type;
template <class A>
SNN_HOST_DEVICE scalar_t<A> sc(double v) { return static_cast<scalar_t<A>>(v); }
inline constexpr double pi = 3.141592653589793;  // == Python math.pi
}  // namespace detail

/// ATan(alpha): a = alpha/2; (a / (1 + (pi*a*z)^2)) * g.
struct atan {
    static constexpr surrogate_kind kind = surrogate_kind::atan;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        const double a = p.alpha / 2;
        return {detail::sc<A>(detail::pi * a), detail::sc<A>(a), {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        const V ax = A::mul_s(z, k.c0);
        const V t = A::add_s(A::mul(ax, ax), detail::scalar_t<A>(1));
        return A::mul(A::s_div(k.c1, t), g);
    }
};

/// Sigmoid(alpha): s = sigmoid(alpha*z); ((g*(1-s))*s)*alpha.
struct sigmoid {
    static constexpr surrogate_kind kind = surrogate_kind::sigmoid;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.alpha), {}, {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        const V s = A::sigmoid(A::mul_s(z, k.c0));
        return A::mul_s(A::mul(A::mul(g, A::rsub_s(detail::scalar_t<A>(1), s)), s), k.c0);
    }
};

/// PiecewiseQuadratic(alpha): g * (-(alpha^2)*|z| + alpha), 0 where |z| > 1/alpha.
struct piecewise_quadratic {
    static constexpr surrogate_kind kind = surrogate_kind::piecewise_quadratic;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(-(p.alpha * p.alpha)), detail::sc<A>(p.alpha), detail::sc<A>(1 / p.alpha), {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        const V za = A::abs(z);
        const V r = A::mul(g, A::add_s(A::mul_s(za, k.c0), k.c1));
        return vec_ops<V>::select(A::gt_s(za, k.c2), A::template constant<V>(0), r);
    }
};

/// PiecewiseExp(alpha): ((alpha/2) * exp(-alpha*|z|)) * g.
struct piecewise_exp {
    static constexpr surrogate_kind kind = surrogate_kind::piecewise_exp;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(-p.alpha), detail::sc<A>(p.alpha / 2), {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        return A::mul(A::mul_s(A::exp(A::mul_s(A::abs(z), k.c0)), k.c1), g);
    }
};

/// SoftSign(alpha): g / ((2*alpha) * (|z| + 1/alpha)^2).
struct soft_sign {
    static constexpr surrogate_kind kind = surrogate_kind::soft_sign;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(1 / p.alpha), detail::sc<A>(2 * p.alpha), {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        const V t = A::add_s(A::abs(z), k.c0);
        return A::div(g, A::mul_s(A::mul(t, t), k.c1));
    }
};

/// SuperSpike(alpha): (alpha*g) / (|z| + 1)^2.
struct super_spike {
    static constexpr surrogate_kind kind = surrogate_kind::super_spike;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.alpha), {}, {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        const V d = A::add_s(A::abs(z), detail::scalar_t<A>(1));
        return A::div(A::mul_s(g, k.c0), A::mul(d, d));
    }
};

/// Erf(alpha): (g * exp(-(alpha*z)^2)) * (alpha/sqrt(pi)).
struct erf {
    static constexpr surrogate_kind kind = surrogate_kind::erf;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.alpha), detail::sc<A>(p.alpha / 1.7724538509055159), {}, {}, kind};  // sqrt(pi)
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        const V t = A::mul_s(z, k.c0);
        return A::mul_s(A::mul(g, A::exp(A::neg(A::mul(t, t)))), k.c1);
    }
};

/// PiecewiseLeakyReLU(w, c): g * (1/(2w) where |z| < w, else c) (torch's slope, not CuPy's 1/w).
struct piecewise_leaky_relu {
    static constexpr surrogate_kind kind = surrogate_kind::piecewise_leaky_relu;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.w), detail::sc<A>(1 / (2 * p.w)), detail::sc<A>(p.c), {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        const V slope = vec_ops<V>::select(A::lt_s(A::abs(z), k.c0), A::template constant<V>(k.c1), A::template constant<V>(k.c2));
        return A::mul(g, slope);
    }
};

/// S2NN(alpha, beta): (z < 0 ? (alpha*s)*(1-s) : beta/(z+1)) * g, s = sigmoid(alpha*z).
struct s2nn {
    static constexpr surrogate_kind kind = surrogate_kind::s2nn;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.alpha), detail::sc<A>(p.beta), {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        using S = detail::scalar_t<A>;
        const V s = A::sigmoid(A::mul_s(z, k.c0));
        const V negative_side = A::mul(A::mul_s(s, k.c0), A::rsub_s(S(1), s));
        const V positive_side = A::s_div(k.c1, A::add_s(z, S(1)));
        return A::mul(vec_ops<V>::select(A::lt_s(z, S(0)), negative_side, positive_side), g);
    }
};

/// QPseudoSpike(alpha): (1 + (2/(alpha-1))*|z|)^(-alpha) * g.
struct q_pseudo_spike {
    static constexpr surrogate_kind kind = surrogate_kind::q_pseudo_spike;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(2 / (p.alpha - 1)), detail::sc<A>(-p.alpha), {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        using S = detail::scalar_t<A>;
        return A::mul(A::pow_s(A::add_s(A::mul_s(A::abs(z), k.c0), S(1)), k.c1), g);
    }
};

/// LeakyKReLU(leak, k): g * (m*k + (1-m)*leak), m = (z >= 0).
struct leaky_k_relu {
    static constexpr surrogate_kind kind = surrogate_kind::leaky_k_relu;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.k), detail::sc<A>(p.leak), {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        using S = detail::scalar_t<A>;
        const V m = vec_ops<V>::select(A::ge_s(z, S(0)), A::template constant<V>(S(1)), A::template constant<V>(S(0)));
        return A::mul(g, A::add(A::mul_s(m, k.c0), A::mul_s(A::rsub_s(S(1), m), k.c1)));
    }
};

/// LogTailedReLU(alpha): g * (alpha where z <= 0, 1 where 0 < z <= 1, 1/z where z > 1).
struct log_tailed_relu {
    static constexpr surrogate_kind kind = surrogate_kind::log_tailed_relu;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.alpha), {}, {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        using S = detail::scalar_t<A>;
        V slope = vec_ops<V>::select(A::gt_s(z, S(1)), A::recip(z), A::template constant<V>(S(1)));
        slope = vec_ops<V>::select(A::le_s(z, S(0)), A::template constant<V>(k.c0), slope);
        return A::mul(g, slope);
    }
};

/// Rect(alpha): (alpha * (|z| < 0.5/alpha)) * g.
struct rect {
    static constexpr surrogate_kind kind = surrogate_kind::rect;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(p.alpha), detail::sc<A>(0.5 / p.alpha), {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        using S = detail::scalar_t<A>;
        const V inside = vec_ops<V>::select(A::lt_s(A::abs(z), k.c1), A::template constant<V>(S(1)), A::template constant<V>(S(0)));
        return A::mul(A::mul_s(inside, k.c0), g);
    }
};

/// NonzeroSignLogAbs(alpha): g / (1/alpha + |z|).
struct nonzero_sign_log_abs {
    static constexpr surrogate_kind kind = surrogate_kind::nonzero_sign_log_abs;
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p) {
        return {detail::sc<A>(1 / p.alpha), {}, {}, {}, kind};
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        return A::div(g, A::add_s(A::abs(z), k.c0));
    }
};

/// Surrogate chosen at run time from `neuron_params::dynamic.surrogate` (one compiled kernel for
/// all 14; the selection is a uniform branch, the math is the static policies').
struct dynamic {
    template <class A> static constants<detail::scalar_t<A>> prepare(const surrogate_params& p, surrogate_kind kind) {
        constants<detail::scalar_t<A>> k{};
        switch (kind) {
            case surrogate_kind::atan: k = atan::prepare<A>(p); break;
            case surrogate_kind::sigmoid: k = sigmoid::prepare<A>(p); break;
            case surrogate_kind::piecewise_quadratic: k = piecewise_quadratic::prepare<A>(p); break;
            case surrogate_kind::piecewise_exp: k = piecewise_exp::prepare<A>(p); break;
            case surrogate_kind::soft_sign: k = soft_sign::prepare<A>(p); break;
            case surrogate_kind::super_spike: k = super_spike::prepare<A>(p); break;
            case surrogate_kind::erf: k = erf::prepare<A>(p); break;
            case surrogate_kind::piecewise_leaky_relu: k = piecewise_leaky_relu::prepare<A>(p); break;
            case surrogate_kind::s2nn: k = s2nn::prepare<A>(p); break;
            case surrogate_kind::q_pseudo_spike: k = q_pseudo_spike::prepare<A>(p); break;
            case surrogate_kind::leaky_k_relu: k = leaky_k_relu::prepare<A>(p); break;
            case surrogate_kind::log_tailed_relu: k = log_tailed_relu::prepare<A>(p); break;
            case surrogate_kind::rect: k = rect::prepare<A>(p); break;
            case surrogate_kind::nonzero_sign_log_abs: k = nonzero_sign_log_abs::prepare<A>(p); break;
        }
        k.kind = kind;
        return k;
    }
    template <class A, class V> SNN_HOST_DEVICE static V grad(V z, V g, const constants<detail::scalar_t<A>>& k) {
        switch (k.kind) {
            case surrogate_kind::atan: return atan::grad<A>(z, g, k);
            case surrogate_kind::sigmoid: return sigmoid::grad<A>(z, g, k);
            case surrogate_kind::piecewise_quadratic: return piecewise_quadratic::grad<A>(z, g, k);
            case surrogate_kind::piecewise_exp: return piecewise_exp::grad<A>(z, g, k);
            case surrogate_kind::soft_sign: return soft_sign::grad<A>(z, g, k);
            case surrogate_kind::super_spike: return super_spike::grad<A>(z, g, k);
            case surrogate_kind::erf: return erf::grad<A>(z, g, k);
            case surrogate_kind::piecewise_leaky_relu: return piecewise_leaky_relu::grad<A>(z, g, k);
            case surrogate_kind::s2nn: return s2nn::grad<A>(z, g, k);
            case surrogate_kind::q_pseudo_spike: return q_pseudo_spike::grad<A>(z, g, k);
            case surrogate_kind::leaky_k_relu: return leaky_k_relu::grad<A>(z, g, k);
            case surrogate_kind::log_tailed_relu: return log_tailed_relu::grad<A>(z, g, k);
            case surrogate_kind::rect: return rect::grad<A>(z, g, k);
            case surrogate_kind::nonzero_sign_log_abs: return nonzero_sign_log_abs::grad<A>(z, g, k);
        }
        return g;
    }
};

}  // namespace surrogate
}  // namespace snn
