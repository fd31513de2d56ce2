#pragma once
/// \file
/// Batch norm on CUDA (semantics and arguments: snn/synapse/batch_norm_args.hpp, device
/// pointers), time-folded. One thread block per channel does the whole channel: statistics
/// (two passes, mean then squared deviations, accumulated in double as the CPU op does),
/// running-statistics update and normalisation in one kernel, so no workspace is needed.
/// The reductions are CUB block reductions over per-thread sums taken in a fixed order:
/// deterministic, independent of timing. Results match the CPU op to double rounding before
/// the final rounding to T (float: equal or 1 ulp apart). Errors: see snn/cuda/synapse/common.cuh.

#include <cmath>
#include <cstdint>

#include <cub/block/block_reduce.cuh>

#include "snn/cuda/synapse/common.cuh"
#include "snn/synapse/batch_norm_args.hpp"

namespace snn {
namespace cuda {
namespace synapse_kernel {

constexpr int batch_norm_threads = 256;

/// Sum over the block of one double per thread; the total is returned to every thread.
template <int Threads>
__device__ double block_total(double value) {
    using reduce = cub::BlockReduce<double, Threads>;
    __shared__ typename reduce::TempStorage storage;
    __shared__ double total;
    const double sum = reduce(storage).Sum(value);
    if (threadIdx.x == 0) total = sum;
    __syncthreads();
    const double result = total;
    __syncthreads();  // storage and total are reused by the next call
    return result;
}

/// Element j of channel c's B*S values ([B, C, S] layout).
__device__ inline std::int64_t bn_index(std::int64_t j, std::int64_t c, std::int64_t C, std::int64_t S) {
    return ((j / S) * C + c) * S + j % S;
}

template <class T>
__global__ void __launch_bounds__(batch_norm_threads) batch_norm_forward(const snn::synapse::batch_norm_forward_args<T> a) {
    const std::int64_t C = a.channels, S = a.spatial, n = a.batch * a.spatial;
    for (std::int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        double mean, invstd;
        if (a.training) {
            double sum = 0.0;
            for (std::int64_t j = threadIdx.x; j < n; j += batch_norm_threads) sum += static_cast<double>(a.x[bn_index(j, c, C, S)]);
            mean = block_total<batch_norm_threads>(sum) / static_cast<double>(n);
            double sq = 0.0;
            for (std::int64_t j = threadIdx.x; j < n; j += batch_norm_threads) {
                const double d = static_cast<double>(a.x[bn_index(j, c, C, S)]) - mean;
                sq += d * d;
            }
            sq = block_total<batch_norm_threads>(sq);
            invstd = 1.0 / sqrt(sq / static_cast<double>(n) + a.eps);
            if (threadIdx.x == 0) {
                if (a.running_mean != nullptr) {
                    const double var_unbiased = sq / static_cast<double>(n - 1);
                    a.running_mean[c] = static_cast<T>((1.0 - a.momentum) * static_cast<double>(a.running_mean[c]) + a.momentum * mean);
                    a.running_var[c] = static_cast<T>((1.0 - a.momentum) * static_cast<double>(a.running_var[c]) + a.momentum * var_unbiased);
                }
                if (a.saved_mean != nullptr) a.saved_mean[c] = static_cast<T>(mean);
                if (a.saved_invstd != nullptr) a.saved_invstd[c] = static_cast<T>(invstd);
            }
        } else {
            mean = static_cast<double>(a.running_mean[c]);
            invstd = 1.0 / sqrt(static_cast<double>(a.running_var[c]) + a.eps);
        }
        const double scale = (a.gamma != nullptr ? static_cast<double>(a.gamma[c]) : 1.0) * invstd;
        const double shift = a.beta != nullptr ? static_cast<double>(a.beta[c]) : 0.0;
        for (std::int64_t j = threadIdx.x; j < n; j += batch_norm_threads) {
            const std::int64_t i = bn_index(j, c, C, S);
            a.y[i] = static_cast<T>(__dadd_rn(__dmul_rn(static_cast<double>(a.x[i]) - mean, scale), shift));
        }
    }
}

template <class T>
__global__ void __launch_bounds__(batch_norm_threads) batch_norm_backward(const snn::synapse::batch_norm_backward_args<T> a) {
    const std::int64_t C = a.channels, S = a.spatial, count = a.batch * a.spatial;
    const double n = static_cast<double>(count);
    for (std::int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        const double mean = static_cast<double>(a.training ? a.saved_mean[c] : a.running_mean[c]);
        const double invstd = a.training ? static_cast<double>(a.saved_invstd[c]) : 1.0 / sqrt(static_cast<double>(a.running_var[c]) + a.eps);
        double sum_g = 0.0, sum_g_xhat = 0.0;
        for (std::int64_t j = threadIdx.x; j < count; j += batch_norm_threads) {
            const std::int64_t i = bn_index(j, c, C, S);
            const double g = static_cast<double>(a.grad_y[i]);
            sum_g += g;
            sum_g_xhat += g * (static_cast<double>(a.x[i]) - mean) * invstd;
        }
        sum_g = block_total<batch_norm_threads>(sum_g);
        sum_g_xhat = block_total<batch_norm_threads>(sum_g_xhat);
        if (threadIdx.x == 0) {
            if (a.grad_gamma != nullptr) a.grad_gamma[c] = static_cast<T>((a.accumulate ? static_cast<double>(a.grad_gamma[c]) : 0.0) + sum_g_xhat);
            if (a.grad_beta != nullptr) a.grad_beta[c] = static_cast<T>((a.accumulate ? static_cast<double>(a.grad_beta[c]) : 0.0) + sum_g);
        }
        if (a.grad_x == nullptr) continue;
        const double scale = (a.gamma != nullptr ? static_cast<double>(a.gamma[c]) : 1.0) * invstd;
        for (std::int64_t j = threadIdx.x; j < count; j += batch_norm_threads) {
            const std::int64_t i = bn_index(j, c, C, S);
            const double g = static_cast<double>(a.grad_y[i]);
            if (a.training) {
                // The batch statistics depend on x: dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)).
                const double xhat = (static_cast<double>(a.x[i]) - mean) * invstd;
                a.grad_x[i] = static_cast<T>(scale * (g - sum_g / n - xhat * sum_g_xhat / n));
            } else {
                a.grad_x[i] = static_cast<T>(scale * g);
            }
        }
    }
}

inline unsigned batch_norm_blocks(std::int64_t channels) {
    constexpr std::int64_t max_blocks = 1 << 16;
    return static_cast<unsigned>(channels < max_blocks ? channels : max_blocks);
}

}  // namespace synapse_kernel

/// Training: batch statistics, running statistics updated when given, saved_mean/invstd
/// written when given. Inference: the running statistics.
template <class T>
cudaError_t batch_norm_forward(const snn::synapse::batch_norm_forward_args<T>& a, cudaStream_t stream) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    synapse_kernel::batch_norm_forward<T><<<synapse_kernel::batch_norm_blocks(a.channels), synapse_kernel::batch_norm_threads, 0, stream>>>(a);
    return cudaGetLastError();
}

template <class T>
cudaError_t batch_norm_backward(const snn::synapse::batch_norm_backward_args<T>& a, cudaStream_t stream) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    synapse_kernel::batch_norm_backward<T><<<synapse_kernel::batch_norm_blocks(a.channels), synapse_kernel::batch_norm_threads, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace cuda
}  // namespace snn
