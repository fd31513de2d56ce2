#pragma once
/// \file
/// Dense (linear) synapse, torch `nn.Linear` semantics: y = x W^T + b with W `[out, in]`.
/// Time-folded: `rows` = T * N for a `[T, N, in]` sequence.
///
/// Weight layout (`layout` field): `weight_layout::out_in` (default) is torch's `[out, in]`;
/// `weight_layout::in_out` stores the same weight transposed, `[in, out]` (transpose_weight in
/// weights.hpp), so y = x W with no transpose in the GEMM. Both give the same result to
/// rounding; grad_weight comes out in the layout of the weight. Why two: cuBLAS multiplies the
/// in_out case (the NN GEMM) faster than torch's (TN: 82.4 against 86.3 ms for the forward of
/// the n = 16384 layer benchmark on an H200), and in_out is the layout `dense_spike_forward`
/// reads, so one weight buffer serves the GEMM and the spike-input paths.
///
/// Spike input: `dense_spike_forward` takes binary (`uint8` 0/1) or bit-packed spikes
/// (bit n%32 of word [row, n/32], the layout of `forward_args::spike_bits`) and adds the rows of
/// the transposed weight `[in, out]` (weights.hpp: transpose_weight) of the active inputs. It pays
/// off below a spike density of about 0.3-0.5 on the CPU (bench/bench_synapse_spikes.cpp); backward of a spike-input layer is `dense_backward` with the 0/1 spikes as x.
/// The CUDA op (snn/cuda/synapse/dense_spike.cuh) adds in the same order and equals the CPU
/// op bit for bit; a layer whose weight is stored in_out passes the same buffer as `weight`
/// (with `layout = in_out`) to dense_forward/dense_backward and as `weight_t` here.

#include <cstdint>
#include <vector>

#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {

/// Storage order of a dense weight (see the file comment).
enum class weight_layout {
    out_in,  ///< [O, K], torch's nn.Linear.weight
    in_out,  ///< [K, O], the transpose
};

template <class T>
struct dense_forward_args {
    std::int64_t rows = 0;          ///< M = T * N (time-folded batch)
    std::int64_t in_features = 0;   ///< K
    std::int64_t out_features = 0;  ///< O
    const T* x = nullptr;           ///< [M, K] input
    const T* weight = nullptr;      ///< [O, K] (out_in) or [K, O] (in_out)
    const T* bias = nullptr;        ///< [O] optional
    T* y = nullptr;                 ///< [M, O] output
    weight_layout layout = weight_layout::out_in;
};

template <class T>
struct dense_backward_args {
    std::int64_t rows = 0;
    std::int64_t in_features = 0;
    std::int64_t out_features = 0;
    const T* grad_y = nullptr;   ///< [M, O] dL/dy, required
    const T* x = nullptr;        ///< [M, K] forward input; required when grad_weight is given
    const T* weight = nullptr;   ///< [O, K] or [K, O] per `layout`; required when grad_x is given
    T* grad_x = nullptr;         ///< [M, K] optional output
    T* grad_weight = nullptr;    ///< [O, K] or [K, O] per `layout` (the weight's) optional output
    T* grad_bias = nullptr;      ///< [O] optional output
    bool accumulate = false;     ///< add into grad_weight / grad_bias (torch's .grad accumulation) instead of overwriting
    weight_layout layout = weight_layout::out_in;
};

/// Spike-input forward: exactly one of `spikes` and `spike_bits` is given. The weight is always
/// the in_out layout `[K, O]`: the op adds whole rows of it.
template <class T>
struct dense_spike_forward_args {
    std::int64_t rows = 0;
    std::int64_t in_features = 0;
    std::int64_t out_features = 0;
    const std::uint8_t* spikes = nullptr;       ///< [M, K] 0 / nonzero
    const std::uint32_t* spike_bits = nullptr;  ///< [M, ceil(K/32)] bit k%32 of word [m, k/32]; bits past K are ignored
    const T* weight_t = nullptr;                ///< [K, O] transposed weight (see transpose_weight)
    const T* bias = nullptr;                    ///< [O] optional
    T* y = nullptr;                             ///< [M, O]
};

namespace detail {

inline void check_layout(weight_layout layout) {
    require(layout == weight_layout::out_in || layout == weight_layout::in_out, "layout", "not a weight_layout value");
}

inline void check_dense_extents(std::int64_t rows, std::int64_t in, std::int64_t out) {
    require_positive(rows, "rows");
    require_positive(in, "in_features");
    require_positive(out, "out_features");
    checked_mul(rows, in, "in_features");
    checked_mul(rows, out, "out_features");
    checked_mul(in, out, "out_features");
}

template <class T>
void check(const dense_forward_args<T>& a) {
    check_dense_extents(a.rows, a.in_features, a.out_features);
    check_layout(a.layout);
    require_pointer(a.x, "x");
    require_pointer(a.weight, "weight");
    require_pointer(a.y, "y");
}

template <class T>
void check(const dense_backward_args<T>& a) {
    check_dense_extents(a.rows, a.in_features, a.out_features);
    check_layout(a.layout);
    require_pointer(a.grad_y, "grad_y");
    require(a.grad_x != nullptr || a.grad_weight != nullptr || a.grad_bias != nullptr, "grad_x",
            "nothing to compute: give at least one of grad_x, grad_weight, grad_bias");
    if (a.grad_x != nullptr) require(a.weight != nullptr, "weight", "null pointer (grad_x needs the weight)");
    if (a.grad_weight != nullptr) require(a.x != nullptr, "x", "null pointer (grad_weight needs the forward input)");
}

template <class T>
void check(const dense_spike_forward_args<T>& a) {
    check_dense_extents(a.rows, a.in_features, a.out_features);
    require((a.spikes != nullptr) != (a.spike_bits != nullptr), "spikes", "give exactly one of spikes and spike_bits");
    require_pointer(a.weight_t, "weight_t");
    require_pointer(a.y, "y");
}

}  // namespace detail
}  // namespace synapse
}  // namespace snn
