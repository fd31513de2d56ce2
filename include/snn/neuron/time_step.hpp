#pragma once
/// \file
/// One time step of the multi-step kernels as every backend runs it: what is read from the
/// `[T, N]` buffers and how the per-step math (neuron.hpp) combines it. The CPU (scalar and
/// SIMD) and CUDA time loops differ only in how they walk the neurons and write the results.

#include <cstdint>

#include "snn/config.hpp"
#include "snn/neuron/multistep_args.hpp"
#include "snn/neuron/neuron.hpp"

namespace snn {

template <class Config>
struct time_step {
    using C = typename Config::compute_type;
    using A = typename Config::arith;
    using Charge = typename Config::charge_policy;
    using step = neuron_step<Config>;
    using constants = typename Config::constants_type;

    /// Membrane before step 0 when the caller gives none: SpikingJelly's v_reset (0 for soft
    /// reset), as a value of the neuron's dtype.
    SNN_HOST_DEVICE static C initial_membrane(const constants& k) { return A::template constant<C>(k.v_rest); }

    template <class V>
    struct backward_result {
        V grad_h;       ///< dL/dH[t], carried to step t-1
        V grad_x;       ///< dL/dx[t]
        V grad_k_term;  ///< PLIF: this step's term of dL/dk (zero otherwise)
    };

    /// Total dL/dV[t] (after reset) from what step t's buffers hold and dL/dH[t+1]: at the last
    /// step only the direct terms (grad_v_seq[T-1], grad_v_last), elsewhere the direct term
    /// plus the paths through step t+1's charge.
    template <class V>
    SNN_HOST_DEVICE static V grad_v(const constants& k, bool last_step, bool has_grad_v_seq, V grad_v_seq, bool has_grad_v_last,
                                                      V grad_v_last, V grad_h_next) {
        if (last_step) {
            if (has_grad_v_seq && has_grad_v_last) return A::add(grad_v_seq, grad_v_last);
            if (has_grad_v_seq) return grad_v_seq;
            if (has_grad_v_last) return grad_v_last;
            return vec_ops<V>::broadcast(C(0));
        }
        return has_grad_v_seq ? step::grad_v_total(grad_v_seq, grad_h_next, k) : step::grad_v_from_next(grad_h_next, k);
    }

    /// Backward through one step from loaded values: h = H[t], grad_spike = dL/dS[t],
    /// grad_v_total = grad_v(...); x and v_prev (V[t-1]) are read by PLIF only.
    template <class V>
    SNN_HOST_DEVICE static backward_result<V> backward_values(const constants& k, V h, V grad_spike, V grad_v_total, V x,
                                                                                 V v_prev) {
        backward_result<V> r;
        r.grad_h = step::grad_h(h, grad_v_total, grad_spike, k);
        r.grad_x = step::grad_x(r.grad_h, k);
        r.grad_k_term = vec_ops<V>::broadcast(C(0));
        if constexpr (Charge::is_parametric) {
            r.grad_k_term = Charge::template grad_k_term<A>(r.grad_h, Charge::decay_input ? x : vec_ops<V>::broadcast(C(0)), v_prev, k);
        } else {
            (void)x;
            (void)v_prev;
        }
        return r;
    }

    /// Backward through step t for the neuron(s) starting at n (one lane or a SIMD batch),
    /// reading the `[T, N]` buffers. `grad_h_next` is dL/dH[t+1] (ignored at the last step).
    template <class V>
    SNN_HOST_DEVICE static backward_result<V> backward(const constants& k, const backward_args<Config>& a, std::int64_t t, std::int64_t n,
                                                       V grad_h_next) {
        const std::int64_t idx = t * a.neurons + n;  // [T, N], 64-bit
        const bool last = t + 1 == a.steps;
        const V zero = vec_ops<V>::broadcast(C(0));
        const V gv_seq = a.grad_v_seq ? vec_ops<V>::load(a.grad_v_seq + idx) : zero;
        const V gv_last = (last && a.grad_v_last) ? vec_ops<V>::load(a.grad_v_last + n) : zero;
        const V gv = grad_v(k, last, a.grad_v_seq != nullptr, gv_seq, a.grad_v_last != nullptr, gv_last, grad_h_next);
        V x = zero, v_prev = zero;
        if constexpr (Charge::is_parametric) {
            if constexpr (Charge::decay_input) x = vec_ops<V>::load(a.x + idx);
            if (t > 0) v_prev = vec_ops<V>::load(a.v_seq + idx - a.neurons);
            else if (a.v_init) v_prev = vec_ops<V>::load(a.v_init + n);
            else v_prev = vec_ops<V>::broadcast(initial_membrane(k));
        }
        return backward_values(k, vec_ops<V>::load(a.h_seq + idx), vec_ops<V>::load(a.grad_spike + idx), gv, x, v_prev);
    }
};

}  // namespace snn
