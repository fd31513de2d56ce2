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

    /// Backward through step t for the neuron(s) starting at n (one lane or a SIMD batch).
    /// `grad_h_next` is dL/dH[t+1] (ignored at the last step).
    template <class V>
    SNN_HOST_DEVICE static backward_result<V> backward(const constants& k, const backward_args<Config>& a, std::int64_t t, std::int64_t n,
                                                       V grad_h_next) {
        const std::int64_t idx = t * a.neurons + n;  // [T, N], 64-bit
        const V h = vec_ops<V>::load(a.h_seq + idx);
        const V gs = vec_ops<V>::load(a.grad_spike + idx);
        V gv;
        if (t + 1 == a.steps) {
            if (a.grad_v_seq && a.grad_v_last) gv = A::add(vec_ops<V>::load(a.grad_v_seq + idx), vec_ops<V>::load(a.grad_v_last + n));
            else if (a.grad_v_seq) gv = vec_ops<V>::load(a.grad_v_seq + idx);
            else if (a.grad_v_last) gv = vec_ops<V>::load(a.grad_v_last + n);
            else gv = vec_ops<V>::broadcast(C(0));
        } else {
            gv = a.grad_v_seq ? step::grad_v_total(vec_ops<V>::load(a.grad_v_seq + idx), grad_h_next, k) : step::grad_v_from_next(grad_h_next, k);
        }
        backward_result<V> r;
        r.grad_h = step::grad_h(h, gv, gs, k);
        r.grad_x = step::grad_x(r.grad_h, k);
        r.grad_k_term = vec_ops<V>::broadcast(C(0));
        if constexpr (Charge::is_parametric) {
            V x = vec_ops<V>::broadcast(C(0));
            if constexpr (Charge::decay_input) x = vec_ops<V>::load(a.x + idx);
            V v_prev;
            if (t > 0) v_prev = vec_ops<V>::load(a.v_seq + idx - a.neurons);
            else if (a.v_init) v_prev = vec_ops<V>::load(a.v_init + n);
            else v_prev = vec_ops<V>::broadcast(initial_membrane(k));
            r.grad_k_term = Charge::template grad_k_term<A>(r.grad_h, x, v_prev, k);
        }
        return r;
    }
};

}  // namespace snn
