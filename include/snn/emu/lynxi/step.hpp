#pragma once
/// \file
/// The Lynxi float16 step math, written once for every backend: each kernel struct below has a
/// `column<V>(n)` that runs the whole time loop for the neurons n .. n + width(V) - 1, where V
/// is `float` (CPU scalar, one CUDA thread) or an xsimd batch of floats (CPU SIMD, see
/// emu/lynxi/cpu.hpp). Arithmetic goes through an arith policy (neuron/arith.hpp):
/// `binary16_emulated<torch_cpu_scalars | torch_cuda_scalars>` rounds every op to binary16 the
/// way torch's `.half()` tensors do, with torch's Python-scalar rules of that device;
/// `native<float>` gives the float32 kernels the benchmark compares against.
///
/// The op order of each kernel is the reference's (bidl.md §1.1, §1.6, §5, §6.2, §10); comments
/// quote the reference expression a group of ops reproduces.

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "snn/config.hpp"
#include "snn/core/binary16.hpp"
#include "snn/emu/lynxi/params.hpp"
#include "snn/neuron/arith.hpp"
#include "snn/neuron/vec_ops.hpp"

namespace snn {
namespace emu {
namespace lynxi {

/// Lane helpers beyond vec_ops: build a value lane by lane, map a scalar function over lanes,
/// combine masks. Specialised for xsimd batches in emu/lynxi/cpu.hpp.
template <class V>
struct lanes;

template <>
struct lanes<float> {
    static constexpr int width = 1;
    /// Lane i holds f(n + i).
    template <class F> SNN_HOST_DEVICE static float generate(std::int64_t n, F&& f) { return f(n); }
    template <class F> SNN_HOST_DEVICE static float map(float a, F&& f) { return f(a); }
    template <class F> SNN_HOST_DEVICE static float map3(float a, float b, float c, F&& f) { return f(a, b, c); }
    SNN_HOST_DEVICE static bool both(bool a, bool b) { return a && b; }
    SNN_HOST_DEVICE static bool either(bool a, bool b) { return a || b; }
};

/// The arith policy of torch `.half()` on `device`.
template <torch_device Device>
using torch_half = arith::binary16_emulated<std::conditional_t<Device == torch_device::cpu, arith::torch_cpu_scalars,
                                                               arith::torch_cuda_scalars>>;

namespace detail {

using exact_op = arith::detail::ieee<false>;

/// A float32 result brought to the arith policy's precision (binary16 for the emulation).
template <class A, class V>
SNN_HOST_DEVICE V finish(V a) {
    if constexpr (A::emulates_binary16) return vec_ops<V>::round_binary16(a);
    else return a;
}

/// A double result (transcendental functions, folded constants) rounded once to the policy's
/// precision: binary16(double) rounds once, so this is the correctly rounded binary16 value.
template <class A>
SNN_HOST_DEVICE float finish_double(double a) {
    if constexpr (A::emulates_binary16) return binary16(a).to_float();
    else return static_cast<float>(a);
}

template <class V>
SNN_HOST_DEVICE V load_param(const soma_param& p, std::int64_t n, const channel_geometry& g) {
    if (p.per_channel == nullptr) return vec_ops<V>::broadcast(p.shared.to_float());
    return lanes<V>::generate(n, [&](std::int64_t i) { return p.per_channel[g.channel_of(i)].to_float(); });
}

template <class V>
SNN_HOST_DEVICE V load_channel_float(const float* values, std::int64_t n, const channel_geometry& g) {
    return lanes<V>::generate(n, [&](std::int64_t i) { return values[g.channel_of(i)]; });
}

/// binary16(a*x + b) with one rounding (a, x, b binary16 values): the product is exact in
/// float32, the sum is formed exactly with TwoSum and rounded to odd in float32, which makes the
/// final float32 -> binary16 rounding correct (24 >= 11 + 2 bits).
SNN_HOST_DEVICE float fused_affine_binary16(float a, float x, float b) {
    const float p = exact_op::mul(a, x);
    const float s = exact_op::add(p, b);
    if (!(std::fabs(s) <= FLT_MAX)) return round_to_binary16(s);  // inf or NaN: nothing to refine
    const float b_virtual = exact_op::sub(s, p);
    const float p_virtual = exact_op::sub(s, b_virtual);
    const float error = exact_op::add(exact_op::sub(p, p_virtual), exact_op::sub(b, b_virtual));
    std::uint32_t bits = snn::detail::float_bits(s);
    if (error != 0.0f && (bits & 1u) == 0u) bits = ((error > 0.0f) == (s > 0.0f)) ? bits + 1u : bits - 1u;
    return round_to_binary16(snn::detail::float_from_bits(bits));
}

/// BN in inference form on the membrane: binary16(float32(v * scale) + shift), see membrane_norm.
template <class A, class V>
SNN_HOST_DEVICE V apply_norm(V v, V scale, V shift) {
    return finish<A>(exact_op::add(exact_op::mul(v, scale), shift));
}

/// `act(o)` of BIDL's analog output. relu keeps -0 on torch CPU and gives +0 on CUDA
/// (bidl.md §10); tanh/sigmoid are computed in double and rounded once (torch's binary16 tanh is
/// correctly rounded on both devices; sigmoid is assumed to be).
template <class A, class V>
SNN_HOST_DEVICE V activate(activation act, torch_device device, V o) {
    const V zero = vec_ops<V>::broadcast(0.0f);
    switch (act) {
        case activation::identity: return o;
        case activation::relu:
            return device == torch_device::cpu ? vec_ops<V>::select(A::lt_s(o, 0.0f), zero, o)
                                               : vec_ops<V>::select(A::le_s(o, 0.0f), zero, o);
        case activation::tanh:
            return lanes<V>::map(o, [](float a) { return finish_double<A>(std::tanh(static_cast<double>(a))); });
        case activation::sigmoid:
            return lanes<V>::map(o, [](float a) { return finish_double<A>(1.0 / (1.0 + std::exp(-static_cast<double>(a)))); });
    }
    return o;
}

template <class V>
SNN_HOST_DEVICE V pick_point(membrane_point point, V o1, V o2, V o3, V o4) {
    switch (point) {
        case membrane_point::integrated: return o1;
        case membrane_point::shifted: return o2;
        case membrane_point::reset: return o3;
        case membrane_point::decayed: return o4;
    }
    return o1;
}

template <class V, class S>
SNN_HOST_DEVICE void store_if(S* base, std::int64_t idx, V value) {
    if (base) vec_ops<V>::store(base + idx, value);
}

/// The chip's pfit reset window (theta_low, theta]: inside it the op applies its affine map,
/// outside (fired, or at/below the -100 floor, or NaN) it outputs its folded constant.
/// INFERRED from BIDL's custom-op lowering; closedness of both ends is unverified.
inline constexpr float pfit_floor = -100.0f;

template <class A, class V>
SNN_HOST_DEVICE auto pfit_inside(V v, V theta) {
    return lanes<V>::both(A::gt_s(v, pfit_floor), v <= theta);
}

}  // namespace detail

/// Every kernel below has the same shape: `state<V>` (what one register of neurons carries from
/// step to step), `begin<V>(n)` (initial state), `step<V>(state, t, n)` (one time step of the
/// reference) and `end<V>(state, n)` (final states). `column<V>(n)` runs them over the whole
/// sequence (one CUDA thread per neuron); the CPU driver runs a block of registers step by step
/// instead, so that each step streams contiguous row segments (emu/lynxi/cpu.hpp).

// ---------------------------------------------------------------------------------------------
// BIDL Lif
// ---------------------------------------------------------------------------------------------

template <class A, class S = binary16>
struct bidl_lif_kernel {
    bidl_lif_params p;
    bidl_lif_args<S> a;

    template <class V>
    struct state {
        V v;       // membrane carried to the next step (o4)
        V folded;  // chip hypothesis: the out-of-window constant of resetwithdecay
    };

    SNN_HOST_DEVICE bool chip() const { return p.fidelity == level::chip_hypothesis; }
    /// Chip, spike mode: resetwithdecay fuses reset and decay; in analog mode it only resets
    /// (alpha 1, beta 0) and the decay stays two torch ops.
    SNN_HOST_DEVICE bool fused_decay() const { return chip() && p.mode == output_mode::spike; }

    template <class V>
    SNN_HOST_DEVICE state<V> begin(std::int64_t n) const {
        const V v0 = detail::load_param<V>(p.v0, n, p.geometry);
        state<V> s{a.v_init ? vec_ops<V>::load(a.v_init + n) : vec_ops<V>::broadcast(0.0f), v0};
        if (fused_decay()) {
            // v0*alpha + beta folded at compile time from Python doubles: one rounding.
            const V alpha = detail::load_param<V>(p.alpha, n, p.geometry);
            const V beta = detail::load_param<V>(p.beta, n, p.geometry);
            s.folded = lanes<V>::map3(v0, alpha, beta, [](float r, float k, float c) {
                return detail::finish_double<A>(static_cast<double>(r) * k + c);
            });
        }
        return s;
    }

    template <class V>
    SNN_HOST_DEVICE void step(state<V>& s, std::int64_t t, std::int64_t n) const {
        using ops = vec_ops<V>;
        const V alpha = detail::load_param<V>(p.alpha, n, p.geometry);
        const V beta = detail::load_param<V>(p.beta, n, p.geometry);
        const V theta = detail::load_param<V>(p.theta, n, p.geometry);
        const V v0 = detail::load_param<V>(p.v0, n, p.geometry);
        const V one = ops::broadcast(1.0f), zero = ops::broadcast(0.0f);
        const std::int64_t idx = t * a.neurons + n;

        const V x = ops::load(a.x + idx);
        V o1 = A::add(x, s.v);  // v = x + v
        if (p.norm.enabled())
            o1 = detail::apply_norm<A>(o1, detail::load_channel_float<V>(p.norm.scale, n, p.geometry),
                                       detail::load_channel_float<V>(p.norm.shift, n, p.geometry));
        const V o2 = A::sub(o1, theta);  // v - theta
        V fire, o3, o4;
        if (!chip()) {
            fire = ops::select(A::gt_s(o2, 0.0f), one, zero);  // spike_fn(o2): o2 > 0
            const V fire_inv = A::rsub_s(1.0f, fire);
            o3 = A::add(A::mul(fire, v0), A::mul(fire_inv, o1));  // fire*v0 + fire_inv*v (inf*0 = NaN kept)
            o4 = A::add(A::mul(alpha, o3), beta);                 // alpha*v + beta: two roundings
        } else {
            // cmpandfire: fire above theta; resetwithdecay: one op for reset (and decay).
            fire = ops::select(o1 > theta, one, zero);
            const auto inside = detail::pfit_inside<A>(o1, theta);
            if (fused_decay()) {
                const V decayed = lanes<V>::map3(alpha, o1, beta, [](float k, float u, float c) {
                    return A::emulates_binary16 ? detail::fused_affine_binary16(k, u, c) : std::fma(k, u, c);
                });
                o3 = ops::select(inside, o1, v0);
                o4 = ops::select(inside, decayed, s.folded);
            } else {
                o3 = ops::select(inside, o1, v0);
                o4 = A::add(A::mul(alpha, o3), beta);
            }
        }
        s.v = o4;
        detail::store_if(a.spike, idx, fire);
        detail::store_if(a.v_pre, idx, o1);
        detail::store_if(a.v, idx, o4);
        if (a.out) {
            const V out = p.mode == output_mode::spike
                              ? fire
                              : detail::activate<A>(p.analog_activation, p.device, detail::pick_point(p.analog_point, o1, o2, o3, o4));
            ops::store(a.out + idx, out);
        }
    }

    template <class V>
    SNN_HOST_DEVICE void end(const state<V>& s, std::int64_t n) const {
        detail::store_if(a.v_last, n, s.v);
    }

    template <class V>
    SNN_HOST_DEVICE void column(std::int64_t n) const {
        state<V> s = begin<V>(n);
        for (std::int64_t t = 0; t < a.steps; ++t) step<V>(s, t, n);
        end<V>(s, n);
    }
};

// ---------------------------------------------------------------------------------------------
// BIDL LIFPlus
// ---------------------------------------------------------------------------------------------

template <class A, class S = binary16>
struct lifplus_kernel {
    lifplus_params p;
    lifplus_args<S> a;

    template <class V>
    struct state {
        V g, y, r, w, v;
        V cnt;  // float32 in the reference
    };

    template <class V>
    SNN_HOST_DEVICE state<V> begin(std::int64_t n) const {
        using ops = vec_ops<V>;
        const V one = ops::broadcast(1.0f), zero = ops::broadcast(0.0f);
        return {a.g_init ? ops::load(a.g_init + n) : one,  // reset(): g, y, r ones; v, w, cnt zeros
                a.y_init ? ops::load(a.y_init + n) : one,
                a.r_init ? ops::load(a.r_init + n) : one,
                a.w_init ? ops::load(a.w_init + n) : zero,
                a.v_init ? ops::load(a.v_init + n) : zero,
                a.cnt_init ? ops::load(a.cnt_init + n) : zero};
    }

    template <class V>
    SNN_HOST_DEVICE void step(state<V>& st, std::int64_t t, std::int64_t n) const {
        using ops = vec_ops<V>;
        const lifplus_options& o = p.options;
        const channel_geometry& geo = p.geometry;
        const V one = ops::broadcast(1.0f), zero = ops::broadcast(0.0f);
        const auto param = [&](const soma_param& q) { return detail::load_param<V>(q, n, geo); };
        const V tau = param(p.tau_recip), v0 = param(p.v0);
        const bool conductance = o.input != input_accumulation::cub;
        const std::int64_t idx = t * a.neurons + n;
        V& g = st.g;
        V& y = st.y;
        V& r = st.r;
        V& w = st.w;
        V& cnt = st.cnt;
        const V v = st.v;  // last_v

        const V x = ops::load(a.x + idx);
        // fact4 starts as the Python float 0.; it becomes a tensor once a term is added.
        V fact4 = zero;
        bool fact4_tensor = false;

        if (o.input == input_accumulation::cobe) {
            g = A::add(A::mul(A::rsub_s(1.0f, param(p.epsilon)), g), x);  // (1. - eps)*g + inpt
        } else if (o.input == input_accumulation::coba) {
            const V eps = param(p.epsilon);
            y = A::add(A::mul(A::rsub_s(1.0f, eps), y), x);     // (1. - eps)*y + inpt
            const V e_eps = A::mul_s(eps, 2.718281828459045f);  // math.e * eps
            g = A::add(A::mul(A::rsub_s(1.0f, eps), g), A::mul(e_eps, y));
        }
        V fact2;
        if (!o.reversal_voltage) {
            fact2 = A::mul_s(conductance ? g : x, 1.0f);  // v_rev = 1. (Python float) * ...
        } else {
            fact2 = A::mul(A::sub(param(p.v_g), v), g);  // (v_g - v) * g
        }

        if (o.refractory == refractoriness::absolute) {
            fact2 = ops::select(cnt > zero, zero, fact2);                 // where(cnt > 0, zeros_like, fact2)
            cnt = ops::select(cnt - one > zero, cnt - one, zero);         // max(cnt - 1., 0), float32
        } else if (o.refractory == refractoriness::relative) {
            r = A::mul(A::rsub_s(1.0f, param(p.epsilon_r)), r);
            w = A::mul(A::rsub_s(1.0f, param(p.epsilon_w)), w);
            // fact4 + r*(v_rr - v) + w*(v_ar - v), fact4 the Python float 0.
            fact4 = A::add_s(A::mul(r, A::sub(param(p.v_rr), v)), 0.0f);
            fact4 = A::add(fact4, A::mul(w, A::sub(param(p.v_ar), v)));
            fact4_tensor = true;
        }

        V thresh, fact3;
        if (o.initiation == spike_initiation::naive) {
            thresh = param(p.theta);
            fact3 = A::sub(v0, v);
        } else if (o.initiation == spike_initiation::exponential) {
            thresh = param(p.v_theta);
            // v0 - v + delta_t * exp((v - theta) - delta_t)   (sic: minus, as in BIDL)
            const V delta_t = param(p.delta_t);
            const V arg = A::sub(A::sub(v, param(p.theta)), delta_t);
            const V ex = lanes<V>::map(arg, [](float q) { return detail::finish_double<A>(std::exp(static_cast<double>(q))); });
            fact3 = A::add(A::sub(v0, v), A::mul(delta_t, ex));
        } else {
            thresh = param(p.v_theta);
            fact3 = A::mul(A::sub(v0, v), A::sub(param(p.v_c), v));  // (v0 - v) * (v_c - v)
        }

        if (o.trigger == trigger_current::naive) {
            if (fact4_tensor) fact4 = A::add_s(fact4, 0.0f);  // fact4 + 0.
        } else {
            const V keep_w = A::rsub_s(1.0f, param(p.epsilon_w));
            if (o.trigger == trigger_current::adaptive) {
                w = A::mul(keep_w, w);
            } else {  // (1. - eps_w)*w + tau_recip*a*(v - v_w)
                w = A::add(A::mul(keep_w, w), A::mul(A::mul(tau, param(p.a)), A::sub(v, param(p.v_w))));
            }
            fact4 = fact4_tensor ? A::add(fact4, w) : A::add_s(w, 0.0f);
            fact4_tensor = true;
        }

        // inpt + tau_recip*(fact2 + fact3) + fact4: no `v_prev +` term (BIDL source as is)
        const auto plus_fact4 = [&](V u) { return fact4_tensor ? A::add(u, fact4) : A::add_s(u, 0.0f); };
        V o1 = plus_fact4(A::add(x, A::mul(tau, A::add(fact2, fact3))));
        if (p.norm.enabled())
            o1 = detail::apply_norm<A>(o1, detail::load_channel_float<V>(p.norm.scale, n, geo),
                                       detail::load_channel_float<V>(p.norm.shift, n, geo));
        const V o2 = A::sub(o1, thresh);
        V fire, o3;
        if (p.fidelity == level::reference) {
            fire = ops::select(A::gt_s(o2, 0.0f), one, zero);
            o3 = A::add(A::mul(fire, v0), A::mul(A::rsub_s(1.0f, fire), o1));
        } else {
            // cmpandfire + resetwithdecay(v, thresh, v0, 1.0, 0.0): reset only, -100 floor.
            fire = ops::select(o1 > thresh, one, zero);
            o3 = ops::select(detail::pfit_inside<A>(o1, thresh), o1, v0);
        }
        const V fire_inv = A::rsub_s(1.0f, fire);

        if (o.refractory == refractoriness::absolute) {
            // fire_inv*cnt + fire*cntmax: float32 (cnt is float32), exact small integers
            cnt = detail::exact_op::add(detail::exact_op::mul(fire_inv, cnt), A::mul_s(fire, lifplus_refractory_steps));
        } else if (o.refractory == refractoriness::relative) {
            r = A::add(A::mul(fire_inv, r), A::mul(fire, A::sub(r, param(p.q_r))));
            w = A::add(A::mul(fire_inv, w), A::mul(fire, A::sub(w, param(p.b))));
        }
        if (o.trigger != trigger_current::naive && o.refractory != refractoriness::relative)
            w = A::add(A::mul(fire_inv, w), A::mul(fire, A::sub(w, param(p.b))));

        V o4;
        if (o.decay == membrane_decay::naive) {
            o4 = A::add(A::mul(param(p.alpha), o3), param(p.beta));
        } else if (o.decay == membrane_decay::exponential) {
            o4 = plus_fact4(A::mul(tau, A::add(fact2, fact3)));  // overwrites the reset result
        } else {
            o4 = plus_fact4(A::sub(A::add(v, fact2), param(p.v_leak)));  // last_v + fact2 - v_leak + fact4
        }
        st.v = o4;

        detail::store_if(a.spike, idx, fire);
        detail::store_if(a.v_pre, idx, o1);
        detail::store_if(a.v, idx, o4);
        detail::store_if(a.g, idx, g);
        if (a.out) {
            const V out = p.mode == output_mode::spike
                              ? fire
                              : detail::activate<A>(p.analog_activation, p.device, detail::pick_point(p.analog_point, o1, o2, o3, o4));
            ops::store(a.out + idx, out);
        }
    }

    template <class V>
    SNN_HOST_DEVICE void end(const state<V>& st, std::int64_t n) const {
        const lifplus_options& o = p.options;
        detail::store_if(a.v_last, n, st.v);
        if (o.input != input_accumulation::cub) detail::store_if(a.g_last, n, st.g);
        if (o.input == input_accumulation::coba) detail::store_if(a.y_last, n, st.y);
        if (o.refractory == refractoriness::relative) detail::store_if(a.r_last, n, st.r);
        if (o.refractory == refractoriness::relative || o.trigger != trigger_current::naive) detail::store_if(a.w_last, n, st.w);
        if (o.refractory == refractoriness::absolute && a.cnt_last) vec_ops<V>::store(a.cnt_last + n, st.cnt);
    }

    template <class V>
    SNN_HOST_DEVICE void column(std::int64_t n) const {
        state<V> s = begin<V>(n);
        for (std::int64_t t = 0; t < a.steps; ++t) step<V>(s, t, n);
        end<V>(s, n);
    }
};

// ---------------------------------------------------------------------------------------------
// SpikingJelly lynxi_exchange IFNode / LIFNode
// ---------------------------------------------------------------------------------------------

/// The Python-float constants as torch's kernels see them (float32; see arith.hpp for how each
/// operation then uses them).
struct sj_lynxi_constants {
    float v_threshold = 1.0f, v_reset = 0.0f, decay = 0.5f, keep = 0.5f;
};

inline sj_lynxi_constants make_constants(const sj_lynxi_params& p) {
    sj_lynxi_constants k;
    k.v_threshold = static_cast<float>(p.v_threshold);
    k.v_reset = static_cast<float>(p.v_reset);
    const double decay = 1.0 / p.tau;  // self.decay = 1. / tau (Python double)
    k.decay = static_cast<float>(decay);
    k.keep = static_cast<float>(1.0 - decay);  // (1. - self.decay), a Python double
    return k;
}

template <class A, class S = binary16>
struct sj_lynxi_kernel {
    sj_lynxi_params p;
    sj_lynxi_constants k;
    sj_lynxi_args<S> a;

    template <class V>
    struct state {
        V v;
    };

    template <class V>
    SNN_HOST_DEVICE state<V> begin(std::int64_t n) const {
        return {a.v_init ? vec_ops<V>::load(a.v_init + n) : vec_ops<V>::broadcast(0.0f)};
    }

    template <class V>
    SNN_HOST_DEVICE void step(state<V>& s, std::int64_t t, std::int64_t n) const {
        using ops = vec_ops<V>;
        const V one = ops::broadcast(1.0f), zero = ops::broadcast(0.0f);
        const std::int64_t idx = t * a.neurons + n;
        const V x = ops::load(a.x + idx);
        V h;
        if (!p.leaky) {
            h = A::add(x, s.v);  // x + v
        } else {
            const V base = p.hard_reset ? A::sub_s(s.v, k.v_reset) : s.v;  // (v - v_reset) or v
            const V kept = A::mul_s(base, k.keep);                        // (1. - decay) * ...
            const V input = p.decay_input ? A::mul_s(x, k.decay) : x;     // x * decay
            h = A::add(kept, input);                                       // v + x
        }
        const V spike = ops::select(A::ge_s(h, k.v_threshold), one, zero);  // v >= v_threshold
        if (p.hard_reset) {
            s.v = A::add(A::mul(A::rsub_s(1.0f, spike), h), A::mul_s(spike, k.v_reset));  // (1. - s)*v + s*v_reset
        } else {
            s.v = A::sub(h, A::mul_s(spike, k.v_threshold));  // v - s*v_threshold
        }
        detail::store_if(a.spike, idx, spike);
        detail::store_if(a.v_pre, idx, h);
        detail::store_if(a.v, idx, s.v);
    }

    template <class V>
    SNN_HOST_DEVICE void end(const state<V>& s, std::int64_t n) const {
        detail::store_if(a.v_last, n, s.v);
    }

    template <class V>
    SNN_HOST_DEVICE void column(std::int64_t n) const {
        state<V> s = begin<V>(n);
        for (std::int64_t t = 0; t < a.steps; ++t) step<V>(s, t, n);
        end<V>(s, n);
    }
};

// ---------------------------------------------------------------------------------------------
// Time aggregation
// ---------------------------------------------------------------------------------------------

template <class A, class S = binary16>
struct aggregate_kernel {
    aggregate_params p;
    float divisor = 1.0f;  // T as the Python int torch sees (exact as a float for T < 2^24)
    aggregate_args<S> a;

    template <class V>
    struct state {
        V acc;
        /// torch_mean: the float32 accumulation, kept exact in double per lane (binary16 values
        /// of fewer than 2^13 steps sum exactly in 53 bits), so its order does not matter.
        double sum[lanes<V>::width];
    };

    template <class V>
    SNN_HOST_DEVICE state<V> begin(std::int64_t) const {
        state<V> s;
        s.acc = vec_ops<V>::broadcast(0.0f);
        for (double& d : s.sum) d = 0.0;
        return s;
    }

    template <class V>
    SNN_HOST_DEVICE void step(state<V>& s, std::int64_t t, std::int64_t n) const {
        const std::int64_t idx = t * a.neurons + n;
        const V y = vec_ops<V>::load(a.y + idx);
        if (p.kind == aggregation::torch_mean) {
            int lane = 0;
            lanes<V>::map(y, [&](float value) {
                s.sum[lane++] += static_cast<double>(value);
                return value;
            });
        } else if (p.kind == aggregation::running) {
            const V term = A::div_s(y, divisor);                           // y / T
            s.acc = t == 0 ? A::add_s(term, 0.0f) : A::add(s.acc, term);  // xo = 0; xo = xo + y/T
            detail::store_if(a.running, idx, s.acc);
        } else {
            s.acc = t == 0 ? A::add_s(y, 0.0f) : A::add(s.acc, y);  // sum(list) starts at int 0
        }
    }

    template <class V>
    SNN_HOST_DEVICE void end(const state<V>& s, std::int64_t n) const {
        V result = s.acc;
        if (p.kind == aggregation::sum_div) result = A::div_s(s.acc, divisor);
        if (p.kind == aggregation::torch_mean)
            result = lanes<V>::generate(n, [&](std::int64_t i) { return mean_of(s.sum[i - n]); });
        detail::store_if(a.result, n, result);
    }

    template <class V>
    SNN_HOST_DEVICE void column(std::int64_t n) const {
        state<V> s = begin<V>(n);
        for (std::int64_t t = 0; t < a.steps; ++t) step<V>(s, t, n);
        end<V>(s, n);
    }

private:
    /// torch.mean's last step from the exact sum: CPU rounds the exact mean once; CUDA computes
    /// binary16(float32 sum * float32(1/T)) (bidl.md §10).
    SNN_HOST_DEVICE float mean_of(double sum) const {
        if (p.device == torch_device::cpu) return detail::finish_double<A>(sum / static_cast<double>(divisor));
        const float reciprocal = detail::exact_op::div(1.0f, divisor);
        return detail::finish<A>(detail::exact_op::mul(static_cast<float>(sum), reciprocal));
    }
};

}  // namespace lynxi
}  // namespace emu
}  // namespace snn
