#pragma once
/// \file
/// 2-d max/avg/sum pooling on CUDA (semantics and arguments: snn/synapse/pool2d_args.hpp, device
/// pointers), time-folded. Same results as the CPU op bit for bit: forward sums each window in
/// the CPU's row-major order and divides once; backward gathers rather than scatters (one
/// thread per input element, no atomics), adding the contributions of the windows that cover
/// it in the order the CPU's scatter adds them (output rows, then columns, ascending). Max
/// backward matches argmax values; an index outside the input plane (not written by
/// pool2d_forward) matches no element and is ignored rather than reported (the CPU op
/// throws), since a kernel cannot throw. Errors: see snn/cuda/synapse/common.cuh.

#include <cstdint>

#include "snn/cuda/synapse/common.cuh"
#include "snn/synapse/pool2d_args.hpp"

namespace snn {
namespace cuda {
namespace synapse_kernel {

/// Extents and hyper-parameters flattened for the kernels.
struct pool_geometry {
    std::int64_t planes, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw;
    snn::synapse::pool_kind kind;
    bool count_include_pad;
};

__host__ __device__ inline std::int64_t pool_window_divisor(const pool_geometry& g, std::int64_t h0, std::int64_t w0) {
    if (g.kind == snn::synapse::pool_kind::sum) return 1;
    if (g.count_include_pad) return g.kh * g.kw;
    const std::int64_t rows = (h0 + g.kh < g.H ? h0 + g.kh : g.H) - (h0 > 0 ? h0 : 0);
    const std::int64_t cols = (w0 + g.kw < g.W ? w0 + g.kw : g.W) - (w0 > 0 ? w0 : 0);
    return rows * cols;
}

template <class T>
__global__ void pool2d_forward(const pool_geometry g, const T* __restrict__ x, T* __restrict__ y, std::int64_t* __restrict__ indices) {
    const std::int64_t total = g.planes * g.Ho * g.Wo;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const std::int64_t ow = i % g.Wo, oh = (i / g.Wo) % g.Ho, p = i / (g.Wo * g.Ho);
        const T* plane = x + p * g.H * g.W;  // [H, W]
        const std::int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
        const std::int64_t hb = h0 > 0 ? h0 : 0, he = h0 + g.kh < g.H ? h0 + g.kh : g.H;
        const std::int64_t wb = w0 > 0 ? w0 : 0, we = w0 + g.kw < g.W ? w0 + g.kw : g.W;
        if (g.kind == snn::synapse::pool_kind::max) {
            T best = -static_cast<T>(INFINITY);
            std::int64_t best_index = hb * g.W + wb;
            for (std::int64_t h = hb; h < he; ++h)
                for (std::int64_t w = wb; w < we; ++w) {
                    const T v = plane[h * g.W + w];
                    if (v > best || isnan(v)) {
                        best = v;
                        best_index = h * g.W + w;
                    }
                }
            y[i] = best;
            if (indices != nullptr) indices[i] = best_index;
        } else {
            T sum = 0;
            for (std::int64_t h = hb; h < he; ++h)
                for (std::int64_t w = wb; w < we; ++w) sum = sum + plane[h * g.W + w];
            y[i] = sum / static_cast<T>(pool_window_divisor(g, h0, w0));
        }
    }
}

/// First output index o with o * stride - pad + kernel > i (windows covering input i start there).
__device__ inline std::int64_t first_window(std::int64_t i, std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
    const std::int64_t num = i + pad - kernel + 1;  // o * stride >= num
    return num <= 0 ? 0 : (num + stride - 1) / stride;
}

template <class T>
__global__ void pool2d_backward(const pool_geometry g, const T* __restrict__ grad_y, const std::int64_t* __restrict__ indices,
                                T* __restrict__ grad_x) {
    const std::int64_t total = g.planes * g.H * g.W;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const std::int64_t w = i % g.W, h = (i / g.W) % g.H, p = i / (g.W * g.H);
        const std::int64_t in_plane = h * g.W + w;
        const std::int64_t oh_begin = first_window(h, g.kh, g.sh, g.ph), ow_begin = first_window(w, g.kw, g.sw, g.pw);
        const std::int64_t oh_last = (h + g.ph) / g.sh, ow_last = (w + g.pw) / g.sw;  // last window starting at or before i
        const std::int64_t oh_end = oh_last + 1 < g.Ho ? oh_last + 1 : g.Ho, ow_end = ow_last + 1 < g.Wo ? ow_last + 1 : g.Wo;
        const T* gy = grad_y + p * g.Ho * g.Wo;  // [Ho, Wo]
        T sum = 0;
        for (std::int64_t oh = oh_begin; oh < oh_end; ++oh)
            for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) {
                const std::int64_t o = oh * g.Wo + ow;
                if (g.kind == snn::synapse::pool_kind::max) {
                    if (indices[p * g.Ho * g.Wo + o] == in_plane) sum = sum + gy[o];
                } else {
                    sum = sum + gy[o] / static_cast<T>(pool_window_divisor(g, oh * g.sh - g.ph, ow * g.sw - g.pw));
                }
            }
        grad_x[i] = sum;
    }
}

}  // namespace synapse_kernel

namespace synapse_detail {

inline synapse_kernel::pool_geometry pool_geometry_of(const snn::synapse::pool2d_shape& s, snn::synapse::pool_kind kind, bool count_include_pad) {
    return {s.batch * s.channels, s.in_height, s.in_width, s.out_height(), s.out_width(), s.kernel_h, s.kernel_w,
            s.effective_stride_h(), s.effective_stride_w(), s.pad_h, s.pad_w, kind, count_include_pad};
}

}  // namespace synapse_detail

template <class T>
cudaError_t pool2d_forward(const snn::synapse::pool2d_forward_args<T>& a, cudaStream_t stream) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    const auto g = synapse_detail::pool_geometry_of(a.shape, a.kind, a.count_include_pad);
    constexpr int threads = 256;
    synapse_kernel::pool2d_forward<<<synapse_detail::grid_blocks(g.planes * g.Ho * g.Wo, threads), threads, 0, stream>>>(g, a.x, a.y, a.indices);
    return cudaGetLastError();
}

/// grad_x is overwritten (every element written, zero where no window contributes).
template <class T>
cudaError_t pool2d_backward(const snn::synapse::pool2d_backward_args<T>& a, cudaStream_t stream) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    const auto g = synapse_detail::pool_geometry_of(a.shape, a.kind, a.count_include_pad);
    constexpr int threads = 256;
    synapse_kernel::pool2d_backward<<<synapse_detail::grid_blocks(g.planes * g.H * g.W, threads), threads, 0, stream>>>(g, a.grad_y, a.indices,
                                                                                                                         a.grad_x);
    return cudaGetLastError();
}

}  // namespace cuda
}  // namespace snn
