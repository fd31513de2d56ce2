#pragma once
/// \file
/// Fused multi-step neuron kernels on the CPU: the whole time loop over `[T, N]` data (trailing
/// dimensions flattened into N) in one pass, forward for inference, forward for training and
/// backward through time. Two implementations share the per-step math of neuron/neuron.hpp:
/// `backend::scalar` (the reference, one neuron at a time) and `backend::simd` (xsimd batches,
/// threaded across N). Both give identical bits for everything but transcendental surrogates
/// and PLIF's grad_w reduction.
///
/// Memory traffic is the cost, so neurons are processed in blocks whose state lives in a
/// small stack buffer: each time step streams one contiguous row segment per tensor.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "snn/core/error.hpp"
#include "snn/cpu/parallel.hpp"
#include "snn/cpu/simd_ops.hpp"
#include "snn/neuron/multistep_args.hpp"
#include "snn/neuron/neuron.hpp"
#include "snn/neuron/time_step.hpp"

namespace snn {
namespace cpu {

enum class backend { scalar, simd };

// The argument structs are shared with the CUDA backend (neuron/multistep_args.hpp).
using snn::backward_args;
using snn::forward_args;

namespace detail {

/// Neurons per block: 4096 (16 KiB of float32 per row segment) keeps every stream long enough
/// for the hardware prefetcher (measured: 1024 reached 55-70% of memcpy, 4096 86-98%) while
/// the block state (16-32 KiB) stays in L1/L2.
inline constexpr std::int64_t block_neurons = 4096;


template <class V, class = void>
struct has_stream_store : std::false_type {};
template <class V>
struct has_stream_store<V, std::void_t<decltype(vec_ops<V>::can_stream)>> : std::bool_constant<vec_ops<V>::can_stream> {};

/// Outputs bigger than the caches are written with non-temporal stores (SIMD lanes whose
/// element type is the storage type); small ones stay in cache for whoever reads them next.
template <class V, class Storage>
bool stream_outputs(std::int64_t steps, std::int64_t neurons) {
    if constexpr (has_stream_store<V>::value && std::is_same_v<typename vec_ops<V>::value_type, Storage>) {
        return static_cast<double>(steps) * static_cast<double>(neurons) * sizeof(Storage) >= double(32u << 20);
    } else {
        (void)steps;
        (void)neurons;
        return false;
    }
}

template <class V, class P>
bool is_stream_aligned(const P* p) {
    return reinterpret_cast<std::uintptr_t>(p) % sizeof(V) == 0;
}

template <class V, class P>
SNN_ALWAYS_INLINE void store_output(P* p, const V& v, bool stream) {
    if constexpr (has_stream_store<V>::value && std::is_same_v<typename vec_ops<V>::value_type, P>) {
        if (stream) return vec_ops<V>::store_stream(p, v);
    } else {
        (void)stream;
    }
    vec_ops<V>::store(p, v);
}

template <class V>
void stream_fence() {
    if constexpr (has_stream_store<V>::value) vec_ops<V>::stream_fence();
}

/// The forward time loop over neurons [n_begin, n_end), `V` lanes at a time, scalar tail.
template <class Config, class V, bool Training>
void forward_range(const typename Config::constants_type& k, const forward_args<Config>& a, std::int64_t n_begin, std::int64_t n_end) {
    using C = typename Config::compute_type;
    using step = neuron_step<Config>;
    constexpr std::int64_t width = vec_ops<V>::width;
    const std::int64_t N = a.neurons;
    alignas(64) C v_block[block_neurons];  // [B] membrane of the block

    using S = typename Config::storage_type;
    const bool stream = stream_outputs<V, S>(a.steps, a.neurons);

    for (std::int64_t b0 = n_begin; b0 < n_end; b0 += block_neurons) {
        const std::int64_t len = std::min(block_neurons, n_end - b0);
        const C v0 = time_step<Config>::initial_membrane(k);
        for (std::int64_t i = 0; i < len; ++i) v_block[i] = a.v_init ? vec_ops<C>::load(a.v_init + b0 + i) : v0;

        for (std::int64_t t = 0; t < a.steps; ++t) {
            const std::int64_t row = t * N + b0;
            const bool stream_spike = stream && is_stream_aligned<V>(a.spike + row);
            const bool stream_v = stream && a.v_seq && is_stream_aligned<V>(a.v_seq + row);
            const bool stream_h = stream && Training && is_stream_aligned<V>(a.h_seq + row);
            std::int64_t i = 0;
            for (; i + width <= len; i += width) {
                const V x = vec_ops<V>::load(a.x + row + i);
                V v = vec_ops<V>::load(v_block + i);
                V h;
                const V s = step::forward(x, v, h, k);
                store_output<V>(a.spike + row + i, s, stream_spike);
                if (a.v_seq) store_output<V>(a.v_seq + row + i, v, stream_v);
                if constexpr (Training) store_output<V>(a.h_seq + row + i, h, stream_h);
                vec_ops<V>::store(v_block + i, v);
            }
            for (; i < len; ++i) {
                const C x = vec_ops<C>::load(a.x + row + i);
                C v = v_block[i];
                C h;
                const C s = step::forward(x, v, h, k);
                vec_ops<C>::store(a.spike + row + i, s);
                if (a.v_seq) vec_ops<C>::store(a.v_seq + row + i, v);
                if constexpr (Training) vec_ops<C>::store(a.h_seq + row + i, h);
                v_block[i] = v;
            }
        }
        if (a.v_last)
            for (std::int64_t i = 0; i < len; ++i) vec_ops<C>::store(a.v_last + b0 + i, v_block[i]);
    }
    if (stream) stream_fence<V>();
}

/// Backward through step t for one lane group (V) or one neuron (C); `gh_next_slot` holds
/// dL/dH[t+1] between steps. Writes grad_x and, for PLIF, adds the dL/dk terms per lane.
template <class Config, class V>
struct backward_lanes {
    using C = typename Config::compute_type;

    SNN_ALWAYS_INLINE static void run(const typename Config::constants_type& k, const backward_args<Config>& a, std::int64_t t,
                                      std::int64_t n, C* gh_next_slot, double* grad_k_lanes, bool stream_grad_x = false) {
        // The slot holds nothing yet at the last step.
        const V gh_next = t + 1 == a.steps ? vec_ops<V>::broadcast(C(0)) : vec_ops<V>::load(gh_next_slot);
        const auto r = time_step<Config>::template backward<V>(k, a, t, n, gh_next);
        store_output<V>(a.grad_x + t * a.neurons + n, r.grad_x, stream_grad_x);
        vec_ops<V>::store(gh_next_slot, r.grad_h);
        if constexpr (Config::charge_policy::is_parametric) {
            alignas(64) C lanes[vec_ops<V>::width];
            vec_ops<V>::store(lanes, r.grad_k_term);
            for (int i = 0; i < vec_ops<V>::width; ++i) grad_k_lanes[i] += static_cast<double>(lanes[i]);
        }
    }
};

/// Backward over neurons [n_begin, n_end); returns this range's dL/dk partial (PLIF).
template <class Config, class V>
double backward_range(const typename Config::constants_type& k, const backward_args<Config>& a, std::int64_t n_begin, std::int64_t n_end) {
    using C = typename Config::compute_type;
    constexpr std::int64_t width = vec_ops<V>::width;
    alignas(64) C gh_block[block_neurons];  // [B] dL/dH of the following step
    double grad_k = 0.0;
    const bool stream = stream_outputs<V, typename Config::storage_type>(a.steps, a.neurons);

    for (std::int64_t b0 = n_begin; b0 < n_end; b0 += block_neurons) {
        const std::int64_t len = std::min(block_neurons, n_end - b0);
        double lanes_k[width > 0 ? width : 1] = {};
        double tail_k = 0.0;
        for (std::int64_t t = a.steps - 1; t >= 0; --t) {
            const bool stream_gx = stream && is_stream_aligned<V>(a.grad_x + t * a.neurons + b0);
            std::int64_t i = 0;
            for (; i + width <= len; i += width) backward_lanes<Config, V>::run(k, a, t, b0 + i, gh_block + i, lanes_k, stream_gx);
            for (; i < len; ++i) backward_lanes<Config, C>::run(k, a, t, b0 + i, gh_block + i, &tail_k);
        }
        if (a.grad_v_init) {
            using step = neuron_step<Config>;
            std::int64_t i = 0;
            for (; i + width <= len; i += width)
                vec_ops<V>::store(a.grad_v_init + b0 + i, step::grad_v_from_next(vec_ops<V>::load(gh_block + i), k));
            for (; i < len; ++i) vec_ops<C>::store(a.grad_v_init + b0 + i, step::grad_v_from_next(gh_block[i], k));
        }
        for (std::int64_t l = 0; l < width; ++l) grad_k += lanes_k[l];
        grad_k += tail_k;
    }
    if (stream) stream_fence<V>();
    return grad_k;
}

/// Runs the block-partitioned kernels on threads; per-block dL/dk partials are summed in block
/// order so the result does not depend on the thread count.
template <class Config, class V, bool Training>
void run_forward(const neuron_params& params, const forward_args<Config>& a, const execution& exec) {
    snn::detail::check_forward(a, Training);
    const auto k = prepare_constants<Config>(params);
    const std::int64_t blocks = (a.neurons + block_neurons - 1) / block_neurons;
    // ~64K elements per thread at least, so tiny problems do not pay for thread start-up.
    const std::int64_t min_blocks = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / (block_neurons * a.steps));
    parallel_blocks(blocks, exec, min_blocks, [&](std::int64_t first, std::int64_t last) {
        forward_range<Config, V, Training>(k, a, first * block_neurons, std::min(a.neurons, last * block_neurons));
    });
}

template <class Config, class V>
void run_backward(const neuron_params& params, const backward_args<Config>& a, const execution& exec) {
    snn::detail::check_backward(a);
    const auto k = prepare_constants<Config>(params);
    const std::int64_t blocks = (a.neurons + block_neurons - 1) / block_neurons;
    std::vector<double> partial(static_cast<std::size_t>(blocks), 0.0);
    const std::int64_t min_blocks = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / (block_neurons * a.steps));
    parallel_blocks(blocks, exec, min_blocks, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t b = first; b < last; ++b)
            partial[static_cast<std::size_t>(b)] =
                backward_range<Config, V>(k, a, b * block_neurons, std::min(a.neurons, (b + 1) * block_neurons));
    });
    if constexpr (Config::charge_policy::is_parametric) {
        if (a.grad_w) {
            double grad_k = 0.0;
            for (double p : partial) grad_k += p;
            // dk/dw = sigmoid'(w) = (1 - k) * k
            const double kk = static_cast<double>(k.k);
            *a.grad_w = grad_k * (1.0 - kk) * kk;
        }
    }
}

template <class Config, class Arch>
using simd_lane = xsimd::batch<typename Config::compute_type, Arch>;

}  // namespace detail

/// Forward without saving anything for backward (h_seq ignored).
template <class Config>
void forward_inference_scalar(const neuron_params& params, const forward_args<Config>& args, const execution& exec = {}) {
    detail::run_forward<Config, typename Config::compute_type, false>(params, args, exec);
}
template <class Config>
void forward_training_scalar(const neuron_params& params, const forward_args<Config>& args, const execution& exec = {}) {
    detail::run_forward<Config, typename Config::compute_type, true>(params, args, exec);
}
template <class Config>
void backward_scalar(const neuron_params& params, const backward_args<Config>& args, const execution& exec = {}) {
    detail::run_backward<Config, typename Config::compute_type>(params, args, exec);
}

/// SIMD versions for an explicit xsimd architecture (used by the per-ISA dispatch units).
template <class Config, class Arch>
void forward_inference_simd(const neuron_params& params, const forward_args<Config>& args, const execution& exec = {}) {
    detail::run_forward<Config, detail::simd_lane<Config, Arch>, false>(params, args, exec);
}
template <class Config, class Arch>
void forward_training_simd(const neuron_params& params, const forward_args<Config>& args, const execution& exec = {}) {
    detail::run_forward<Config, detail::simd_lane<Config, Arch>, true>(params, args, exec);
}
template <class Config, class Arch>
void backward_simd(const neuron_params& params, const backward_args<Config>& args, const execution& exec = {}) {
    detail::run_backward<Config, detail::simd_lane<Config, Arch>>(params, args, exec);
}

/// The header-only entry points: `backend::simd` uses the best instruction set enabled at
/// compile time (xsimd::default_arch); for run-time ISA selection see cpu/dispatch.hpp.
template <class Config>
void forward_inference(const neuron_params& params, const forward_args<Config>& args, backend b = backend::simd, const execution& exec = {}) {
    if (b == backend::scalar) forward_inference_scalar<Config>(params, args, exec);
    else forward_inference_simd<Config, xsimd::default_arch>(params, args, exec);
}
template <class Config>
void forward_training(const neuron_params& params, const forward_args<Config>& args, backend b = backend::simd, const execution& exec = {}) {
    if (b == backend::scalar) forward_training_scalar<Config>(params, args, exec);
    else forward_training_simd<Config, xsimd::default_arch>(params, args, exec);
}
template <class Config>
void backward(const neuron_params& params, const backward_args<Config>& args, backend b = backend::simd, const execution& exec = {}) {
    if (b == backend::scalar) backward_scalar<Config>(params, args, exec);
    else backward_simd<Config, xsimd::default_arch>(params, args, exec);
}

}  // namespace cpu
}  // namespace snn
