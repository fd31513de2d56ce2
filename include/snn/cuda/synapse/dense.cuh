#pragma once
/// \file
/// Dense (linear) synapse on CUDA: torch `nn.Linear`, y = x W^T + b, time-folded (`rows` =
/// T * N). Same arguments as the CPU op (snn/synapse/dense_args.hpp), device pointers,
/// including the weight layout: torch's `out_in` makes the forward a TN GEMM, `in_out` an NN
/// GEMM, which cuBLAS runs faster for these shapes (float32, n = 16384 layer, H200: 82.4
/// against 86.3 ms); grad_x swaps (NN for out_in, TN for in_out), grad_weight is NT in both.
///
/// The GEMMs are cuBLAS's on the caller's `cublasHandle_t`: these functions set the handle's
/// stream to `stream` (cublasSetStream) and leave it set; the handle's workspace, pointer mode
/// (host scalars are passed, so it must be CUBLAS_POINTER_MODE_HOST, the default) and math
/// mode are otherwise the caller's. `gemm_math::tf32` selects CUBLAS_COMPUTE_32F_FAST_TF32 per
/// call; `fp32` is IEEE float32 only while the handle's math mode is CUBLAS_DEFAULT_MATH (a
/// handle set to CUBLAS_TF32_TENSOR_OP_MATH lets cuBLAS use TF32 for every float32 GEMM). The bias add and the bias-gradient reduction are own kernels; the bias gradient sums
/// each column in a fixed order (double accumulation), so it is deterministic. cuBLAS's float32
/// GEMMs are deterministic for a given handle, GPU and shapes (no split-K atomics by default).
/// Errors: see snn/cuda/synapse/common.cuh.

#include <cstdint>
#include <type_traits>

#include "snn/cuda/synapse/common.cuh"
#include "snn/synapse/dense_args.hpp"

namespace snn {
namespace cuda {
namespace synapse_kernel {

/// y [M, O] += bias [O] broadcast over rows.
template <class T>
__global__ void add_row_bias(T* __restrict__ y, const T* __restrict__ bias, std::int64_t rows, std::int64_t cols) {
    const std::int64_t total = rows * cols;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
        y[i] = y[i] + bias[i % cols];
}

/// Column sums of g [M, O] into out [O] (out = (accumulate ? out : 0) + sum). Block (32, 8):
/// threadIdx.x picks the column, the 8 rows of threads take rows y, y+8, ... in order, and the
/// 8 partial sums are added in a fixed order: the result never depends on timing.
template <class T>
__global__ void column_sums(const T* __restrict__ g, T* __restrict__ out, std::int64_t rows, std::int64_t cols, bool accumulate) {
    __shared__ double partial[8][33];
    const std::int64_t col = static_cast<std::int64_t>(blockIdx.x) * 32 + threadIdx.x;
    double sum = 0.0;
    if (col < cols)
        for (std::int64_t r = threadIdx.y; r < rows; r += 8) sum += static_cast<double>(g[r * cols + col]);
    partial[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && col < cols) {
        double total = 0.0;
        for (int k = 0; k < 8; ++k) total += partial[k][threadIdx.x];
        out[col] = static_cast<T>((accumulate ? static_cast<double>(out[col]) : 0.0) + total);
    }
}

}  // namespace synapse_kernel

namespace synapse_detail {

/// C (column-major m x n, ldc) = alpha op(A) op(B) + beta C in T, with the chosen math.
template <class T>
void gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, std::int64_t m, std::int64_t n, std::int64_t k,
          const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc, gemm_math math, const char* what) {
    const T alpha = T(1);
    constexpr cudaDataType_t type = std::is_same_v<T, double> ? CUDA_R_64F : CUDA_R_32F;
    const cublasComputeType_t compute = std::is_same_v<T, double> ? CUBLAS_COMPUTE_64F
                                        : math == gemm_math::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                  : CUBLAS_COMPUTE_32F;
    check_cublas(cublasGemmEx_64(handle, op_a, op_b, m, n, k, &alpha, A, type, lda, B, type, ldb, &beta, C, type, ldc, compute,
                                 CUBLAS_GEMM_DEFAULT),
                 what);
}

}  // namespace synapse_detail

/// y = x W^T (+ bias). Returns the bias kernel's launch status (cudaSuccess without bias).
template <class T>
cudaError_t dense_forward(cublasHandle_t handle, const snn::synapse::dense_forward_args<T>& a, cudaStream_t stream,
                          gemm_math math = gemm_math::fp32) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    require(handle != nullptr, "handle", "null cuBLAS handle");
    const std::int64_t M = a.rows, K = a.in_features, O = a.out_features;
    synapse_detail::check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    // Row-major Y [M, O] is column-major Y^T (O x M) = W^T X^T with X^T column-major K x M.
    if (a.layout == snn::synapse::weight_layout::in_out)  // W [K, O] is column-major O x K: W^T as stored
        synapse_detail::gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_N, O, M, K, a.weight, O, a.x, K, T(0), a.y, O, math, "dense_forward GEMM");
    else  // W [O, K] is column-major K x O: transposed
        synapse_detail::gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, O, M, K, a.weight, K, a.x, K, T(0), a.y, O, math, "dense_forward GEMM");
    if (a.bias == nullptr) return cudaSuccess;
    constexpr int threads = 256;
    synapse_kernel::add_row_bias<<<synapse_detail::grid_blocks(M * O, threads), threads, 0, stream>>>(a.y, a.bias, M, O);
    return cudaGetLastError();
}

/// grad_x = grad_y W, grad_weight (+)= grad_y^T x (in the weight's layout), grad_bias (+)=
/// column sums of grad_y.
template <class T>
cudaError_t dense_backward(cublasHandle_t handle, const snn::synapse::dense_backward_args<T>& a, cudaStream_t stream,
                           gemm_math math = gemm_math::fp32) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    require(handle != nullptr, "handle", "null cuBLAS handle");
    const std::int64_t M = a.rows, K = a.in_features, O = a.out_features;
    synapse_detail::check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    const bool in_out = a.layout == snn::synapse::weight_layout::in_out;
    const T grad_weight_beta = a.accumulate ? T(1) : T(0);
    // grad_x^T (K x M) = W^T (K x O) * grad_y^T (O x M as stored).
    if (a.grad_x != nullptr) {
        if (in_out)  // W [K, O] is column-major O x K: transposed
            synapse_detail::gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, K, M, O, a.weight, O, a.grad_y, O, T(0), a.grad_x, K, math,
                                    "dense_backward grad_x GEMM");
        else  // W [O, K] is column-major K x O: W^T as stored
            synapse_detail::gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_N, K, M, O, a.weight, K, a.grad_y, O, T(0), a.grad_x, K, math,
                                    "dense_backward grad_x GEMM");
    }
    if (a.grad_weight != nullptr) {
        if (in_out)  // grad_weight [K, O] is column-major O x K = grad_y^T (O x M as stored) * x (the stored K x M transposed)
            synapse_detail::gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_T, O, K, M, a.grad_y, O, a.x, K, grad_weight_beta, a.grad_weight, O, math,
                                    "dense_backward grad_weight GEMM");
        else  // grad_weight [O, K] is column-major K x O = x^T (K x M as stored) * grad_y (the stored O x M transposed)
            synapse_detail::gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_T, K, O, M, a.x, K, a.grad_y, O, grad_weight_beta, a.grad_weight, K, math,
                                    "dense_backward grad_weight GEMM");
    }
    if (a.grad_bias == nullptr) return cudaSuccess;
    synapse_kernel::column_sums<<<static_cast<unsigned>((O + 31) / 32), dim3(32, 8), 0, stream>>>(a.grad_y, a.grad_bias, M, O, a.accumulate);
    return cudaGetLastError();
}

}  // namespace cuda
}  // namespace snn
