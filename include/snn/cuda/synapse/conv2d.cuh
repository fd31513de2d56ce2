#pragma once
/// \file
/// 2-d convolution on CUDA: torch `nn.Conv2d` (cross-correlation, zero padding, stride,
/// dilation, groups, optional bias), NCHW, time-folded (`batch` = T * N). Same arguments as the
/// CPU op (snn/synapse/conv2d_args.hpp), device pointers. Conventions and errors:
/// snn/cuda/synapse/common.cuh; the cuBLAS handle is used as in snn/cuda/synapse/dense.cuh
/// (its stream is set to `stream` and left set; `gemm_math` as there).
///
/// Method: im2col into a caller-provided workspace, then cuBLAS GEMMs. Per group (G = groups,
/// Cg = C/G, Fg = F/G), with P = C*kh*kw patch rows over all groups, Pg = Cg*kh*kw and
/// L = Ho*Wo output pixels per image:
///   forward     col [n, P, L] (im2col), then per group one strided-batched GEMM over the n images
///               of the chunk: y_b^T [L, Fg] = col_b^T [L, Pg] * W^T [Pg, Fg], written straight into
///               y (column-major NN, m = L, n = Fg, k = Pg, A stride P*L, B stride 0, C stride F*L);
///               bias added by one kernel at the end.
///   grad_x      per group one strided-batched GEMM col_b^T [L, Pg] = grad_y_b^T [L, Fg] * W [Fg, Pg]
///               (NT, m = L, n = Pg, k = Fg), then col2im as a gather: each input element sums its
///               kernel taps (ki, then kj, ascending; the CPU's scatter order) in one thread.
///   grad_weight col laid out [P, n*L] (im2col) and grad_y permuted to [F, n*L], then per group one
///               GEMM over the whole chunk: dW^T [Pg, Fg] (+)= col [Pg, n*L] * grad_y^T [n*L, Fg]
///               (TN, m = Pg, n = Fg, k = n*L); chunks are added in batch order (beta = 1 after
///               the first), so the sum's order is fixed.
///   grad_bias   one warp per (image, channel) plane sums its L values in a fixed lane/tree
///               order (double), then each channel adds the chunk's planes in batch order.
/// Strided-batched GEMMs for forward and grad_x write and read y / grad_y in place (no permute
/// pass); grad_weight needs the batch folded into the GEMM's k, which only a permuted grad_y
/// gives.
///
/// Shapes of the Fashion-MNIST CSNN demo (T*N = 512 images, whole batch in one chunk):
///   conv 128 -> 128 on 14x14, 3x3, pad 1: P = 1152, L = 196. forward: 512 x (m 196, n 128, k 1152);
///     grad_x: 512 x (m 196, n 1152, k 128); grad_weight: m 1152, n 128, k 100352.
///     Workspace (float32, whole batch): 512 * (1152 + 128) * 196 * 4 B = 514 MB.
///   conv 1 -> 128 on 28x28, 3x3, pad 1: P = 9, L = 784. forward: 512 x (m 784, n 128, k 9);
///     grad_weight: m 9, n 128, k 401408. Workspace (float32): 512 * (9 + 128) * 784 * 4 B = 220 MB.
///
/// Workspace (CUB style): `conv2d_workspace_bytes<T>(shape)` covers forward and backward (every
/// gradient) of the whole batch in one chunk; `conv2d_workspace_bytes<T>(shape, n)` chunks of n
/// images, `conv2d_min_workspace_bytes<T>(shape)` one image. The ops take (workspace,
/// workspace_bytes) and split the batch into the largest chunks that fit (forward needs only
/// the column region, so it fits more images than backward in the same bytes); less than one
/// image's worth is an `invalid_argument` naming `workspace_bytes`. The pointer must be 256-byte
/// aligned (cudaMalloc's alignment). The workspace is scratch: nothing in it survives a call.
///
/// Determinism: no atomics; every sum has a fixed order, so repeated calls with the same
/// shapes, workspace_bytes, handle settings and GPU give identical bits (cuBLAS GEMMs are
/// deterministic for a given configuration). A different workspace_bytes changes the chunking
/// and so the GEMM shapes and the grad_weight / grad_bias summation order: results then differ
/// by rounding. Versus the CPU op (which sums in a different order): float32 agrees to about
/// 1e-5 relative to the size of the summed terms (tf32: about 1e-3), double to about 1e-12.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "snn/cuda/synapse/common.cuh"
#include "snn/cuda/synapse/dense.cuh"
#include "snn/synapse/conv2d_args.hpp"

namespace snn {
namespace cuda {
namespace synapse_kernel {

/// Extents and hyper-parameters flattened for the kernels.
struct conv_geometry {
    std::int64_t C, H, W, F, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo;
    std::int64_t L;  ///< Ho * Wo
    std::int64_t P;  ///< C * kh * kw (patch rows of all groups)
};

/// im2col of `images` images x [images, C, H, W] into col, in one of two layouts:
/// `rows_outer` false: [images, P, L] (one [P, L] matrix per image: the strided-batched GEMMs);
/// `rows_outer` true:  [P, images, L] (the batch folded into the columns: grad_weight's GEMM).
/// Both are written contiguously (element i of col); only i's decomposition differs.
template <class T>
__global__ void conv_im2col(const conv_geometry g, const T* __restrict__ x, std::int64_t images, bool rows_outer, T* __restrict__ col) {
    const std::int64_t total = images * g.P * g.L;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const std::int64_t l = i % g.L, rest = i / g.L;
        const std::int64_t b = rows_outer ? rest % images : rest / g.P;
        const std::int64_t row = rows_outer ? rest / images : rest % g.P;
        const std::int64_t kj = row % g.kw, ki = (row / g.kw) % g.kh, c = row / (g.kw * g.kh);
        const std::int64_t ow = l % g.Wo, oh = l / g.Wo;
        const std::int64_t ih = oh * g.sh - g.ph + ki * g.dh, iw = ow * g.sw - g.pw + kj * g.dw;
        const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
        col[i] = inside ? x[((b * g.C + c) * g.H + ih) * g.W + iw] : T(0);
    }
}

/// col2im as a gather: grad_x [images, C, H, W] = the column gradient col [images, P, L] summed
/// back, each element over its kernel taps in (ki, kj) ascending order (no atomics).
template <class T>
__global__ void conv_col2im(const conv_geometry g, const T* __restrict__ col, std::int64_t images, T* __restrict__ grad_x) {
    const std::int64_t total = images * g.C * g.H * g.W;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const std::int64_t w = i % g.W, h = (i / g.W) % g.H, bc = i / (g.W * g.H);  // bc = b * C + c
        const T* taps = col + bc * g.kh * g.kw * g.L;  // rows (c, 0, 0) .. (c, kh-1, kw-1) of image b: [kh*kw, L]
        T sum = T(0);
        for (std::int64_t ki = 0; ki < g.kh; ++ki) {
            const std::int64_t oh_scaled = h + g.ph - ki * g.dh;  // oh * sh
            if (oh_scaled < 0 || oh_scaled % g.sh != 0 || oh_scaled / g.sh >= g.Ho) continue;
            const std::int64_t oh = oh_scaled / g.sh;
            for (std::int64_t kj = 0; kj < g.kw; ++kj) {
                const std::int64_t ow_scaled = w + g.pw - kj * g.dw;
                if (ow_scaled < 0 || ow_scaled % g.sw != 0 || ow_scaled / g.sw >= g.Wo) continue;
                sum = sum + taps[(ki * g.kw + kj) * g.L + oh * g.Wo + ow_scaled / g.sw];
            }
        }
        grad_x[i] = sum;
    }
}

/// out [F, images, L] = g [images, F, L] with the first two axes swapped.
template <class T>
__global__ void conv_channels_outer(const T* __restrict__ g, std::int64_t images, std::int64_t F, std::int64_t L, T* __restrict__ out) {
    const std::int64_t total = images * F * L;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const std::int64_t l = i % L, rest = i / L;
        out[i] = g[((rest % images) * F + rest / images) * L + l];
    }
}

/// y [images, F, L] += bias [F] per channel.
template <class T>
__global__ void conv_add_channel_bias(T* __restrict__ y, const T* __restrict__ bias, std::int64_t images, std::int64_t F, std::int64_t L) {
    const std::int64_t total = images * F * L;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
        y[i] = y[i] + bias[(i / L) % F];
}

/// out [planes] = the sum of each plane of g [planes, L], in double: one warp per plane, lane j
/// adds elements j, j+32, ... in order, then a fixed shuffle tree. blockDim.x is a multiple of 32.
template <class T>
__global__ void conv_plane_sums(const T* __restrict__ g, std::int64_t planes, std::int64_t L, double* __restrict__ out) {
    const int lane = static_cast<int>(threadIdx.x % 32);
    const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * (blockDim.x / 32);
    for (std::int64_t p = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; p < planes; p += warps) {
        double sum = 0.0;
        for (std::int64_t l = lane; l < L; l += 32) sum += static_cast<double>(g[p * L + l]);
        for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
        if (lane == 0) out[p] = sum;
    }
}

/// grad_bias [F] = (overwrite ? 0 : grad_bias) + the plane sums [images, F] added in image order.
template <class T>
__global__ void conv_add_plane_sums(const double* __restrict__ sums, std::int64_t images, std::int64_t F, bool overwrite, T* __restrict__ grad_bias) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t f = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; f < F; f += stride) {
        double total = 0.0;
        for (std::int64_t b = 0; b < images; ++b) total += sums[b * F + f];
        grad_bias[f] = static_cast<T>((overwrite ? 0.0 : static_cast<double>(grad_bias[f])) + total);
    }
}

}  // namespace synapse_kernel

namespace synapse_detail {

/// Each workspace region starts on this boundary (cuBLAS's vectorised kernels want aligned operands).
constexpr std::size_t conv_workspace_alignment = 256;

inline std::size_t conv_align_up(std::size_t bytes) { return (bytes + conv_workspace_alignment - 1) / conv_workspace_alignment * conv_workspace_alignment; }

/// Bytes per image of the three workspace regions one call uses (0 for a region it does not use):
/// the column matrix (P * L values), the permuted grad_y (F * L values, grad_weight only) and the
/// bias-gradient plane sums (F doubles, grad_bias only).
struct conv_workspace_need {
    std::size_t col = 0, channels_outer = 0, plane_sums = 0;

    /// Bytes for a chunk of `images`, each region aligned; `images` is small enough not to
    /// overflow (callers bound it by workspace_bytes / per_image(), or check it).
    std::size_t bytes(std::int64_t images) const {
        const auto n = static_cast<std::size_t>(images);
        std::size_t total = 0;
        for (const std::size_t per_image : {col, channels_outer, plane_sums})
            if (per_image != 0) total += conv_align_up(per_image * n);
        return total;
    }
    std::size_t per_image() const { return col + channels_outer + plane_sums; }

    /// The most images (at most `batch`) whose chunk fits in `workspace_bytes`; 0 if not one fits.
    std::int64_t images_fitting(std::size_t workspace_bytes, std::int64_t batch) const {
        std::int64_t lo = 0, hi = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(batch), workspace_bytes / per_image()));
        while (lo < hi) {  // largest n in [lo, hi] with bytes(n) <= workspace_bytes (bytes is increasing)
            const std::int64_t mid = hi - (hi - lo) / 2;
            if (bytes(mid) <= workspace_bytes) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }
};

template <class T>
conv_workspace_need conv_need(const snn::synapse::conv2d_shape& s, bool col, bool channels_outer, bool plane_sums) {
    const std::int64_t L = s.out_height() * s.out_width();
    const std::int64_t P = s.in_channels * s.kernel_h * s.kernel_w;
    conv_workspace_need need;
    if (col) need.col = static_cast<std::size_t>(P * L) * sizeof(T);
    if (channels_outer) need.channels_outer = static_cast<std::size_t>(s.out_channels * L) * sizeof(T);
    if (plane_sums) need.plane_sums = static_cast<std::size_t>(s.out_channels) * sizeof(double);
    return need;
}

inline synapse_kernel::conv_geometry conv_geometry_of(const snn::synapse::conv2d_shape& s) {
    const std::int64_t Ho = s.out_height(), Wo = s.out_width();
    return {s.in_channels, s.in_height, s.in_width, s.out_channels, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.pad_h, s.pad_w,
            s.dilation_h, s.dilation_w, Ho, Wo, Ho * Wo, s.in_channels * s.kernel_h * s.kernel_w};
}

/// Checks the workspace against `need` and returns the images per chunk.
inline std::int64_t conv_chunk_images(const conv_workspace_need& need, std::int64_t batch, const void* workspace, std::size_t workspace_bytes) {
    const std::size_t one = need.bytes(1);
    require(workspace_bytes >= one, "workspace_bytes",
            "needs at least " + std::to_string(one) + " bytes (one image; conv2d_min_workspace_bytes), got " + std::to_string(workspace_bytes));
    require(workspace != nullptr, "workspace", "null pointer");
    require(reinterpret_cast<std::uintptr_t>(workspace) % conv_workspace_alignment == 0, "workspace",
            "must be " + std::to_string(conv_workspace_alignment) + "-byte aligned (as cudaMalloc returns)");
    return need.images_fitting(workspace_bytes, batch);
}

/// Per-image C_b (column-major m x n, ldc) = op(A_b) op(B_b) + beta C_b for `batch` images,
/// operands `stride_*` elements apart (0: shared), in T with the chosen math.
template <class T>
void gemm_strided_batched(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, std::int64_t m, std::int64_t n, std::int64_t k,
                          const T* A, std::int64_t lda, std::int64_t stride_a, const T* B, std::int64_t ldb, std::int64_t stride_b, T* C,
                          std::int64_t ldc, std::int64_t stride_c, std::int64_t batch, gemm_math math, const char* what) {
    const T alpha = T(1), beta = T(0);
    constexpr cudaDataType_t type = std::is_same_v<T, double> ? CUDA_R_64F : CUDA_R_32F;
    const cublasComputeType_t compute = std::is_same_v<T, double> ? CUBLAS_COMPUTE_64F
                                        : math == gemm_math::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                  : CUBLAS_COMPUTE_32F;
    check_cublas(cublasGemmStridedBatchedEx_64(handle, op_a, op_b, m, n, k, &alpha, A, type, lda, stride_a, B, type, ldb, stride_b, &beta, C, type,
                                               ldc, stride_c, batch, compute, CUBLAS_GEMM_DEFAULT),
                 what);
}

constexpr int conv_threads = 256;

}  // namespace synapse_detail

/// Workspace bytes that let conv2d_forward and conv2d_backward (every gradient) process
/// `images_per_chunk` images per chunk; 0 (or >= batch) means the whole batch in one chunk.
/// Throws `invalid_argument` for a bad shape or a size that overflows.
template <class T>
std::size_t conv2d_workspace_bytes(const snn::synapse::conv2d_shape& s, std::int64_t images_per_chunk = 0) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check_conv2d_shape(s);
    require(images_per_chunk >= 0, "images_per_chunk", "must be >= 0 (0: the whole batch)");
    const std::int64_t images = images_per_chunk == 0 || images_per_chunk > s.batch ? s.batch : images_per_chunk;
    const auto need = synapse_detail::conv_need<T>(s, true, true, true);
    checked_mul(static_cast<std::int64_t>(need.per_image()), images, "images_per_chunk");
    return need.bytes(images);
}

/// The least workspace either op accepts for every gradient: one image per chunk.
template <class T>
std::size_t conv2d_min_workspace_bytes(const snn::synapse::conv2d_shape& s) {
    return conv2d_workspace_bytes<T>(s, 1);
}

/// y = conv(x, weight) (+ bias). Returns the first failed kernel launch's status (cudaSuccess otherwise).
template <class T>
cudaError_t conv2d_forward(cublasHandle_t handle, const snn::synapse::conv2d_forward_args<T>& a, void* workspace, std::size_t workspace_bytes,
                           cudaStream_t stream, gemm_math math = gemm_math::fp32) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    require(handle != nullptr, "handle", "null cuBLAS handle");
    const auto& s = a.shape;
    const std::int64_t chunk = synapse_detail::conv_chunk_images(synapse_detail::conv_need<T>(s, true, false, false), s.batch, workspace, workspace_bytes);
    const auto g = synapse_detail::conv_geometry_of(s);
    const std::int64_t G = s.groups, Pg = g.P / G, Fg = g.F / G, x_image = g.C * g.H * g.W, y_image = g.F * g.L;
    T* col = static_cast<T*>(workspace);  // [chunk, P, L]
    constexpr int threads = synapse_detail::conv_threads;
    synapse_detail::check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    for (std::int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
        const std::int64_t n = std::min(chunk, s.batch - b0);
        synapse_kernel::conv_im2col<<<synapse_detail::grid_blocks(n * g.P * g.L, threads), threads, 0, stream>>>(g, a.x + b0 * x_image, n, false, col);
        if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
        for (std::int64_t grp = 0; grp < G; ++grp)
            // y_b^T [L, Fg] (column-major, ld L) = col_b^T [L, Pg] * W_grp^T [Pg, Fg]; W [Fg, Pg] row-major is column-major Pg x Fg.
            synapse_detail::gemm_strided_batched<T>(handle, CUBLAS_OP_N, CUBLAS_OP_N, g.L, Fg, Pg, col + grp * Pg * g.L, g.L, g.P * g.L,
                                                    a.weight + grp * Fg * Pg, Pg, 0, a.y + b0 * y_image + grp * Fg * g.L, g.L, y_image, n, math,
                                                    "conv2d_forward GEMM");
    }
    if (a.bias == nullptr) return cudaSuccess;
    synapse_kernel::conv_add_channel_bias<<<synapse_detail::grid_blocks(s.batch * y_image, threads), threads, 0, stream>>>(a.y, a.bias, s.batch, g.F, g.L);
    return cudaGetLastError();
}

/// grad_x = conv^T(grad_y, weight) (overwritten), grad_weight (+)= sum over images of
/// grad_y_b col_b^T, grad_bias (+)= per-channel sums of grad_y ((+)= : added when `accumulate`).
/// Returns the first failed kernel launch's status (cudaSuccess otherwise).
template <class T>
cudaError_t conv2d_backward(cublasHandle_t handle, const snn::synapse::conv2d_backward_args<T>& a, void* workspace, std::size_t workspace_bytes,
                            cudaStream_t stream, gemm_math math = gemm_math::fp32) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    require(handle != nullptr, "handle", "null cuBLAS handle");
    const auto& s = a.shape;
    const bool want_x = a.grad_x != nullptr, want_w = a.grad_weight != nullptr, want_b = a.grad_bias != nullptr;
    const auto need = synapse_detail::conv_need<T>(s, want_x || want_w, want_w, want_b);
    const std::int64_t chunk = synapse_detail::conv_chunk_images(need, s.batch, workspace, workspace_bytes);
    const auto g = synapse_detail::conv_geometry_of(s);
    const std::int64_t G = s.groups, Pg = g.P / G, Fg = g.F / G, x_image = g.C * g.H * g.W, y_image = g.F * g.L;
    // Regions, each aligned: col [chunk, P, L] or [P, chunk, L], grad_y permuted [F, chunk, L], plane sums [chunk, F].
    auto* base = static_cast<unsigned char*>(workspace);
    T* col = reinterpret_cast<T*>(base);
    const std::size_t col_bytes = need.col != 0 ? synapse_detail::conv_align_up(need.col * static_cast<std::size_t>(chunk)) : 0;
    T* gy_outer = reinterpret_cast<T*>(base + col_bytes);
    const std::size_t gy_outer_bytes = need.channels_outer != 0 ? synapse_detail::conv_align_up(need.channels_outer * static_cast<std::size_t>(chunk)) : 0;
    double* plane_sums = reinterpret_cast<double*>(base + col_bytes + gy_outer_bytes);
    constexpr int threads = synapse_detail::conv_threads;
    synapse_detail::check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    for (std::int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
        const std::int64_t n = std::min(chunk, s.batch - b0);
        const bool first = b0 == 0;
        const T* gy = a.grad_y + b0 * y_image;  // [n, F, L]
        if (want_x) {
            for (std::int64_t grp = 0; grp < G; ++grp)
                // col_b^T [L, Pg] = grad_y_b^T [L, Fg] * W_grp [Fg, Pg]; W row-major [Fg, Pg] is column-major Pg x Fg, hence op T.
                synapse_detail::gemm_strided_batched<T>(handle, CUBLAS_OP_N, CUBLAS_OP_T, g.L, Pg, Fg, gy + grp * Fg * g.L, g.L, y_image,
                                                        a.weight + grp * Fg * Pg, Pg, 0, col + grp * Pg * g.L, g.L, g.P * g.L, n, math,
                                                        "conv2d_backward grad_x GEMM");
            synapse_kernel::conv_col2im<<<synapse_detail::grid_blocks(n * x_image, threads), threads, 0, stream>>>(g, col, n, a.grad_x + b0 * x_image);
            if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
        }
        if (want_w) {
            synapse_kernel::conv_im2col<<<synapse_detail::grid_blocks(n * g.P * g.L, threads), threads, 0, stream>>>(g, a.x + b0 * x_image, n, true, col);
            if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
            synapse_kernel::conv_channels_outer<<<synapse_detail::grid_blocks(n * y_image, threads), threads, 0, stream>>>(gy, n, g.F, g.L, gy_outer);
            if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
            const std::int64_t k = n * g.L;
            for (std::int64_t grp = 0; grp < G; ++grp)
                // dW_grp^T [Pg, Fg] (column-major, ld Pg: dW [Fg, Pg] row-major) (+)= col_grp [Pg, k] * grad_y_grp^T [k, Fg], where
                // col_grp (rows of [P, k] row-major) is column-major k x Pg (op T) and grad_y_grp (rows of [F, k]) column-major k x Fg.
                synapse_detail::gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, Pg, Fg, k, col + grp * Pg * k, k, gy_outer + grp * Fg * k, k,
                                        first && !a.accumulate ? T(0) : T(1), a.grad_weight + grp * Fg * Pg, Pg, math, "conv2d_backward grad_weight GEMM");
        }
        if (want_b) {
            synapse_kernel::conv_plane_sums<<<synapse_detail::grid_blocks(n * g.F * 32, threads), threads, 0, stream>>>(gy, n * g.F, g.L, plane_sums);
            if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
            synapse_kernel::conv_add_plane_sums<<<synapse_detail::grid_blocks(g.F, threads), threads, 0, stream>>>(plane_sums, n, g.F, first && !a.accumulate,
                                                                                                                 a.grad_bias);
            if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
        }
    }
    return cudaSuccess;
}

}  // namespace cuda
}  // namespace snn
