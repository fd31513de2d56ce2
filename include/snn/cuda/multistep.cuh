#pragma once
/// \file
/// Fused multi-step neuron kernels on CUDA: the whole time loop in one kernel, one thread per
/// neuron, forward for inference, forward for training and backward through time, from the
/// same per-step code as the CPU (neuron/neuron.hpp).
///
/// API in CUB's manner: explicit stream, no allocation and no synchronisation inside, scratch
/// memory through a workspace-size query (PLIF's grad_w), CUDA errors returned, bad arguments
/// thrown as `snn::invalid_argument` before anything is launched. All pointers are device
/// pointers. Capturable in CUDA graphs.
///
/// Reference precisions (f32, f64, binary16 emulation, f16/bf16 storage) use correctly rounded
/// _rn operations that nvcc never contracts: results equal the CPU scalar reference bit for bit
/// (forward; backward with rational surrogates). `precision::f32_fast` lets nvcc fuse.

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>
#include <cub/block/block_reduce.cuh>

#include "snn/cuda/tuning.cuh"
#include "snn/neuron/multistep_args.hpp"
#include "snn/neuron/neuron.hpp"
#include "snn/neuron/time_step.hpp"

namespace snn {
namespace cuda {

namespace kernel {


template <class Config, bool Training>
__global__ void forward(const typename Config::constants_type k, const forward_args<Config> a) {
    using C = typename Config::compute_type;
    using step = neuron_step<Config>;
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const std::int64_t N = a.neurons;
    if (n >= N) return;
    C v = a.v_init ? vec_ops<C>::load(a.v_init + n) : time_step<Config>::initial_membrane(k);
    // __restrict__ copies: the buffers never alias, so loads of later steps may move above
    // this step's stores.
    const auto* __restrict__ x_seq = a.x;
    auto* __restrict__ spike_seq = a.spike;
    auto* __restrict__ v_seq = a.v_seq;
    auto* __restrict__ h_seq = a.h_seq;
    std::int64_t idx = n;  // t * N + n, 64-bit: T*N may exceed 2^31
    // Unrolling lets the loads of later steps (independent of the membrane) issue early:
    // more bytes in flight per thread.
#pragma unroll 4
    for (std::int64_t t = 0; t < a.steps; ++t, idx += N) {
        const C x = vec_ops<C>::load(x_seq + idx);
        C h;
        const C s = step::forward(x, v, h, k);
        vec_ops<C>::store(spike_seq + idx, s);
        if (v_seq) vec_ops<C>::store(v_seq + idx, v);
        if constexpr (Training) vec_ops<C>::store(h_seq + idx, h);
    }
    if (a.v_last) vec_ops<C>::store(a.v_last + n, v);
}

template <class Config, int Threads>
__global__ void __launch_bounds__(Threads) backward(const typename Config::constants_type k, const backward_args<Config> a,
                                                    double* block_grad_k) {
    using C = typename Config::compute_type;
    using step = neuron_step<Config>;
    using Charge = typename Config::charge_policy;
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * Threads + threadIdx.x;
    const std::int64_t N = a.neurons;
    double grad_k = 0.0;
    if (n < N) {
        C gh_next = C(0);
#pragma unroll 4
        for (std::int64_t t = a.steps - 1; t >= 0; --t) {
            const auto r = time_step<Config>::template backward<C>(k, a, t, n, gh_next);
            vec_ops<C>::store(a.grad_x + t * N + n, r.grad_x);
            if constexpr (Charge::is_parametric) grad_k += static_cast<double>(r.grad_k_term);
            gh_next = r.grad_h;
        }
        if (a.grad_v_init) vec_ops<C>::store(a.grad_v_init + n, step::grad_v_from_next(gh_next, k));
    }
    if constexpr (Charge::is_parametric) {
        // Fixed-shape tree per block, then a fixed-order pass over blocks (reduce_grad_w):
        // the same bits on every run, unlike atomicAdd.
        using reduce = cub::BlockReduce<double, Threads>;
        __shared__ typename reduce::TempStorage scratch;
        const double block_sum = reduce(scratch).Sum(grad_k);
        if (threadIdx.x == 0) block_grad_k[blockIdx.x] = block_sum;
    } else {
        (void)block_grad_k;
    }
}

/// dL/dw = (sum of the block partials) * k * (1 - k), summed in a fixed order by one block.
template <int Threads>
__global__ void __launch_bounds__(Threads) reduce_grad_w(const double* block_grad_k, std::int64_t blocks, double k, double* grad_w) {
    double sum = 0.0;
    for (std::int64_t b = threadIdx.x; b < blocks; b += Threads) sum += block_grad_k[b];
    using reduce = cub::BlockReduce<double, Threads>;
    __shared__ typename reduce::TempStorage scratch;
    const double total = reduce(scratch).Sum(sum);
    if (threadIdx.x == 0) *grad_w = total * (1.0 - k) * k;
}

}  // namespace kernel

namespace detail {

inline unsigned grid_for(std::int64_t neurons, int threads) {
    const std::int64_t blocks = (neurons + threads - 1) / threads;
    require(blocks <= 0x7FFFFFFF, "neurons", "too many neurons for one grid (more than 2^31 blocks)");
    return static_cast<unsigned>(blocks);
}

template <class Config, bool Training>
cudaError_t launch_forward(const neuron_params& params, const forward_args<Config>& args, cudaStream_t stream) {
    snn::detail::check_forward(args, Training);
    const auto k = prepare_constants<Config>(params);
    constexpr int threads = multistep_tuning<typename Config::precision_policy>::forward_threads;
    kernel::forward<Config, Training><<<grid_for(args.neurons, threads), threads, 0, stream>>>(k, args);
    return cudaGetLastError();
}

}  // namespace detail

/// Forward without saving anything for backward (h_seq ignored).
template <class Config>
cudaError_t forward_inference(const neuron_params& params, const forward_args<Config>& args, cudaStream_t stream) {
    return detail::launch_forward<Config, false>(params, args, stream);
}

/// Forward that also writes h_seq (and v_seq, required for PLIF) for backward.
template <class Config>
cudaError_t forward_training(const neuron_params& params, const forward_args<Config>& args, cudaStream_t stream) {
    return detail::launch_forward<Config, true>(params, args, stream);
}

/// Bytes of device scratch `backward` needs (0 except PLIF with grad_w requested).
template <class Config>
std::size_t backward_workspace_bytes(const backward_args<Config>& args) {
    if constexpr (Config::charge_policy::is_parametric) {
        if (args.grad_w == nullptr || args.neurons <= 0) return 0;
        constexpr int threads = multistep_tuning<typename Config::precision_policy>::backward_threads;
        return static_cast<std::size_t>((args.neurons + threads - 1) / threads) * sizeof(double);
    } else {
        (void)args;
        return 0;
    }
}

/// Backward through time. `grad_w` (PLIF) is a device pointer to one double; `workspace` must
/// hold backward_workspace_bytes(args) bytes (may be null when that is 0).
template <class Config>
cudaError_t backward(const neuron_params& params, const backward_args<Config>& args, void* workspace, std::size_t workspace_bytes,
                     cudaStream_t stream) {
    snn::detail::check_backward(args);
    const std::size_t needed = backward_workspace_bytes(args);
    require(workspace_bytes >= needed && (needed == 0 || workspace != nullptr), "workspace",
            "needs " + std::to_string(needed) + " bytes (backward_workspace_bytes), got " + std::to_string(workspace_bytes));
    const auto k = prepare_constants<Config>(params);
    constexpr int threads = multistep_tuning<typename Config::precision_policy>::backward_threads;
    const unsigned blocks = detail::grid_for(args.neurons, threads);
    double* partials = needed ? static_cast<double*>(workspace) : nullptr;
    kernel::backward<Config, threads><<<blocks, threads, 0, stream>>>(k, args, partials);
    cudaError_t error = cudaGetLastError();
    if (error != cudaSuccess) return error;
    if (needed) {
        constexpr int reduce_threads = multistep_tuning<typename Config::precision_policy>::reduce_threads;
        kernel::reduce_grad_w<reduce_threads><<<1, reduce_threads, 0, stream>>>(partials, blocks, static_cast<double>(k.k), args.grad_w);
        error = cudaGetLastError();
    }
    return error;
}

}  // namespace cuda
}  // namespace snn
