#pragma once
/// \file
/// 2-d convolution on CUDA: torch `nn.Conv2d` (cross-correlation, zero padding, stride,
/// dilation, groups, optional bias), NCHW, time-folded (`batch` = T * N). Same arguments as the
/// CPU op (snn/synapse/conv2d_args.hpp), device pointers. Conventions and errors:
/// snn/cuda/synapse/common.cuh; the cuBLAS handle is used as in snn/cuda/synapse/dense.cuh
/// (its stream is set to `stream` and left set; `gemm_math` as there).
///
/// Method: im2col into a caller-provided workspace, then cuBLAS GEMMs over whole chunks of
/// images. Per group (G = groups, Cg = C/G, Fg = F/G), with P = C*kh*kw patch rows over all
/// groups, Pg = Cg*kh*kw and L = Ho*Wo output pixels per image, for a chunk of n images:
///   col         [P, n, L]: row (c, ki, kj) holds that kernel tap of every image and pixel, so a
///               group's rows are one [Pg, n*L] matrix and the batch folds into the GEMMs' k / m.
///   forward     Pg >= 64: out [Fg, n*L] = W [Fg, Pg] * col [Pg, n*L] (one GEMM, m = n*L, n = Fg,
///               k = Pg) into the workspace, then a permute to y [n, F, L] that adds the bias.
///               Pg < 64 (bound by writing y, e.g. the 1-channel input layer): one strided-batched
///               GEMM per group writes y_b = W * col_b in place (m = L, n = Fg, k = Pg, batch n).
///   grad_x      grad_y permuted to [F, n*L], col [Pg, n*L] = W^T [Pg, Fg] * grad_y [Fg, n*L] (m = n*L,
///               n = Pg, k = Fg), then col2im as a gather: each input element sums its kernel taps
///               (ki, then kj, ascending: the CPU's scatter order) in one thread, no atomics.
///   grad_weight dW [Fg, Pg] (+)= grad_y [Fg, n*L] * col^T [n*L, Pg] (m = Pg, n = Fg, k = n*L) on
///               the same permuted grad_y; chunks are added in batch order (beta = 1 after the
///               first), so the sum's order is fixed.
///   grad_bias   one warp per (image, channel) plane sums its L values in a fixed lane/tree order
///               (double), then each channel adds the chunk's planes in image order.
/// Measured on an H100 at the first demo shape below (fp32 / tf32 ms): im2col 0.48, permute 0.09,
/// col2im 0.39; forward GEMM 0.60 / 0.20 (the strided-batched form took 0.91 / 0.31), grad_x
/// GEMM 0.77 / 0.22, grad_weight GEMM 0.60 / 0.20 (snn-bench-layer-cuda --conv-breakdown).
///
/// Shapes of the Fashion-MNIST CSNN demo (T*N = 512 images, whole batch in one chunk):
///   conv 128 -> 128 on 14x14, 3x3, pad 1: P = 1152, L = 196. forward: m 100352, n 128, k 1152;
///     grad_x: m 100352, n 1152, k 128; grad_weight: m 1152, n 128, k 100352.
///     Workspace (float32, whole batch): 512 * (1152 + 128) * 196 * 4 B = 514 MB.
///   conv 1 -> 128 on 28x28, 3x3, pad 1: P = 9, L = 784. forward: strided-batched 512 x (m 784,
///     n 128, k 9); grad_weight: m 9, n 128, k 401408. Workspace (float32): 512 * (9 + 128) * 784 * 4 B = 220 MB.
///
/// Workspace (CUB style): `conv2d_workspace_bytes<T>(shape)` covers forward and backward (every
/// gradient) of the whole batch in one chunk; `conv2d_workspace_bytes<T>(shape, n)` chunks of n
/// images, `conv2d_min_workspace_bytes<T>(shape)` one image. The ops take (workspace,
/// workspace_bytes) and split the batch into the largest chunks that fit (per image: the column
/// matrix, plus the [F, L] permute buffer unless the op is forward in place or grad_bias alone,
/// plus F doubles for grad_bias); fewer bytes mean more, smaller GEMMs; less than one
/// image's worth is an `invalid_argument` naming `workspace_bytes`. The pointer must be 256-byte
/// aligned (cudaMalloc's alignment). The workspace is scratch: nothing in it survives a call.
///
/// Determinism: no atomics; every sum has a fixed order, so repeated calls with the same
/// shapes, workspace_bytes, handle settings and GPU give identical bits (cuBLAS GEMMs are
/// deterministic for a given configuration). A different workspace_bytes changes the chunking
/// and so the GEMM shapes and the grad_weight / grad_bias summation order: results then differ
/// by rounding. Versus the CPU op (which sums in a different order): float32 agrees to about
/// 1e-5 relative to the size of the summed terms (tf32: about 1e-3), double to about 1e-12
/// (the tests' bounds: |gpu - cpu| <= rel * (|cpu| + sqrt(terms)), rel 1e-5 / 5e-3 / 1e-12).

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

/// Extents and hyper-parameters flattened for the kernels. Indices inside one image plane or
/// one column line (< H*W, < L) are `Index`: `int` when those fit (a 32-bit division costs a
/// fraction of a 64-bit one, and these kernels would otherwise be bound by them), else
/// std::int64_t; line and buffer offsets are always 64-bit.
template <class Index>
struct conv_geometry {
    Index C, H, W, F, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo;
    Index L;  ///< Ho * Wo
    Index P;  ///< C * kh * kw (patch rows of all groups)
};

/// im2col of `images` images x [images, C, H, W] into col [P, images, L]: line `row` = (c, ki, kj)
/// of col holds that kernel tap of every image at every output pixel. blockIdx.y walks the rows
/// (each block decomposes its row once), the x threads the row's images * L contiguous values.
template <class T, class Index>
__global__ void conv_im2col(const conv_geometry<Index> g, const T* __restrict__ x, Index images, T* __restrict__ col) {
    const Index line = images * g.L;
    const Index x_step = static_cast<Index>(gridDim.x) * static_cast<Index>(blockDim.x);
    for (Index row = static_cast<Index>(blockIdx.y); row < g.P; row += static_cast<Index>(gridDim.y)) {
        const Index kj = row % g.kw, ki = (row / g.kw) % g.kh, c = row / (g.kw * g.kh);
        const T* channel = x + static_cast<std::int64_t>(c) * g.H * g.W;  // image 0's plane c
        T* out = col + static_cast<std::int64_t>(row) * line;
        for (Index j = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + static_cast<Index>(threadIdx.x); j < line; j += x_step) {
            const Index b = j / g.L, l = j - b * g.L;
            const Index oh = l / g.Wo, ow = l - oh * g.Wo;
            const Index ih = oh * g.sh - g.ph + ki * g.dh, iw = ow * g.sw - g.pw + kj * g.dw;
            out[j] = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? channel[static_cast<std::int64_t>(b) * g.C * g.H * g.W + ih * g.W + iw] : T(0);
        }
    }
}

/// `value / divisor` when it divides exactly and the quotient is in [0, limit), else -1 (the
/// common stride 1 skips the division).
template <class Index>
__device__ inline Index conv_exact_quotient(Index value, Index divisor, Index limit) {
    if (value < 0) return -1;
    Index q = value;
    if (divisor != 1) {
        q = value / divisor;
        if (q * divisor != value) return -1;
    }
    return q < limit ? q : -1;
}

/// col2im as a gather: grad_x [images, C, H, W] = the column gradient col [P, images, L] summed
/// back, each element over its kernel taps in (ki, kj) ascending order (no atomics).
/// blockIdx.y walks the channels, the x threads the channel's images * H * W elements.
template <class T, class Index>
__global__ void conv_col2im(const conv_geometry<Index> g, const T* __restrict__ col, Index images, T* __restrict__ grad_x) {
    const Index plane = g.H * g.W, extent = images * plane;
    const std::int64_t line = static_cast<std::int64_t>(images) * g.L;  // one row of col
    const Index x_step = static_cast<Index>(gridDim.x) * static_cast<Index>(blockDim.x);
    for (Index c = static_cast<Index>(blockIdx.y); c < g.C; c += static_cast<Index>(gridDim.y)) {
        const T* taps = col + static_cast<std::int64_t>(c) * g.kh * g.kw * line;  // row (c, 0, 0)
        for (Index j = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + static_cast<Index>(threadIdx.x); j < extent; j += x_step) {
            const Index b = j / plane, e = j - b * plane;
            const Index h = e / g.W, w = e - h * g.W;
            const T* image_taps = taps + static_cast<std::int64_t>(b) * g.L;
            T sum = T(0);
            for (Index ki = 0; ki < g.kh; ++ki) {
                const Index oh = conv_exact_quotient<Index>(h + g.ph - ki * g.dh, g.sh, g.Ho);
                if (oh < 0) continue;
                for (Index kj = 0; kj < g.kw; ++kj) {
                    const Index ow = conv_exact_quotient<Index>(w + g.pw - kj * g.dw, g.sw, g.Wo);
                    if (ow < 0) continue;
                    sum = sum + image_taps[static_cast<std::int64_t>(ki * g.kw + kj) * line + oh * g.Wo + ow];
                }
            }
            grad_x[(static_cast<std::int64_t>(b) * g.C + c) * plane + e] = sum;
        }
    }
}

/// The permute between the per-image layout [images, F, L] and the GEMMs' [F, images, L]:
/// `to_channels_outer` writes outer [F, images, L] from per_image, else per_image from outer
/// (+ bias [F] when given). blockIdx.y walks the channels, the x threads images * L values.
template <class T, class Index>
__global__ void conv_permute(const conv_geometry<Index> g, Index images, bool to_channels_outer, const T* __restrict__ bias, const T* __restrict__ in,
                             T* __restrict__ out) {
    const Index line = images * g.L;
    const Index x_step = static_cast<Index>(gridDim.x) * static_cast<Index>(blockDim.x);
    for (Index f = static_cast<Index>(blockIdx.y); f < g.F; f += static_cast<Index>(gridDim.y)) {
        const T add = bias != nullptr ? bias[f] : T(0);
        for (Index j = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + static_cast<Index>(threadIdx.x); j < line; j += x_step) {
            const Index b = j / g.L, l = j - b * g.L;
            const std::int64_t outer_index = static_cast<std::int64_t>(f) * line + j;
            const std::int64_t image_index = (static_cast<std::int64_t>(b) * g.F + f) * g.L + l;
            if (to_channels_outer) out[outer_index] = in[image_index];
            else out[image_index] = bias != nullptr ? in[outer_index] + add : in[outer_index];
        }
    }
}

/// y [images, F, L] += bias [F]; same walk as conv_permute.
template <class T, class Index>
__global__ void conv_add_bias(const conv_geometry<Index> g, Index images, const T* __restrict__ bias, T* __restrict__ y) {
    const Index line = images * g.L;
    const Index x_step = static_cast<Index>(gridDim.x) * static_cast<Index>(blockDim.x);
    for (Index f = static_cast<Index>(blockIdx.y); f < g.F; f += static_cast<Index>(gridDim.y)) {
        const T add = bias[f];
        for (Index j = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + static_cast<Index>(threadIdx.x); j < line; j += x_step) {
            const Index b = j / g.L, l = j - b * g.L;
            T& v = y[(static_cast<std::int64_t>(b) * g.F + f) * g.L + l];
            v = v + add;
        }
    }
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

template <class Index>
synapse_kernel::conv_geometry<Index> conv_geometry_of(const snn::synapse::conv2d_shape& s) {
    const auto i = [](std::int64_t v) { return static_cast<Index>(v); };
    const std::int64_t Ho = s.out_height(), Wo = s.out_width();
    return {i(s.in_channels), i(s.in_height), i(s.in_width), i(s.out_channels), i(s.kernel_h), i(s.kernel_w), i(s.stride_h), i(s.stride_w),
            i(s.pad_h),       i(s.pad_w),     i(s.dilation_h), i(s.dilation_w), i(Ho), i(Wo), i(Ho * Wo), i(s.in_channels * s.kernel_h * s.kernel_w)};
}

/// Whether a chunk of `images` can use `int` indices: every extent a kernel walks (images *
/// L, images * H * W, P, C, F), plus a grid-stride step, and the padded, dilated coordinates
/// stay below 2^30; offsets into the buffers are 64-bit either way.
inline bool conv_int_indexable(const snn::synapse::conv2d_shape& s, std::int64_t images) {
    constexpr std::int64_t limit = std::int64_t{1} << 30;
    const std::int64_t L = s.out_height() * s.out_width(), P = s.in_channels * s.kernel_h * s.kernel_w;
    const std::int64_t per_image = std::max({s.in_height * s.in_width, L});
    return per_image <= limit / images &&
           std::max({P, s.in_channels, s.out_channels, s.pad_h + s.in_height + s.dilation_h * s.kernel_h,
                     s.pad_w + s.in_width + s.dilation_w * s.kernel_w, s.out_height() * s.stride_h, s.out_width() * s.stride_w}) <= limit;
}

constexpr int conv_threads = 256;

/// Grid of the channel-walking kernels: y over `rows` (capped; the kernels loop), x over
/// `extent` contiguous values, together about enough blocks to fill the GPU.
inline dim3 conv_grid(std::int64_t rows, std::int64_t extent) {
    const std::int64_t y = std::min<std::int64_t>(rows, 65535);
    const std::int64_t wanted = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / y);
    const std::int64_t x = std::min<std::int64_t>((extent + conv_threads - 1) / conv_threads, wanted);
    return dim3(static_cast<unsigned>(x), static_cast<unsigned>(y));
}

/// Launches of the layout kernels for a chunk of `images`, in `int` or 64-bit indices.
template <class T>
struct conv_launcher {
    const snn::synapse::conv2d_shape& s;
    std::int64_t images;
    cudaStream_t stream;

    template <class F>
    cudaError_t with_index(F&& launch) const {
        if (conv_int_indexable(s, images)) launch(conv_geometry_of<int>(s), static_cast<int>(images));
        else launch(conv_geometry_of<std::int64_t>(s), images);
        return cudaGetLastError();
    }
    /// col [P, images, L] from x [images, C, H, W].
    cudaError_t im2col(const T* x, T* col) const {
        return with_index([&](auto g, auto n) {
            synapse_kernel::conv_im2col<<<conv_grid(g.P, images * g.L), conv_threads, 0, stream>>>(g, x, n, col);
        });
    }
    /// grad_x [images, C, H, W] from the column gradient [P, images, L].
    cudaError_t col2im(const T* col, T* grad_x) const {
        return with_index([&](auto g, auto n) {
            synapse_kernel::conv_col2im<<<conv_grid(g.C, images * g.H * g.W), conv_threads, 0, stream>>>(g, col, n, grad_x);
        });
    }
    /// outer [F, images, L] from per_image [images, F, L].
    cudaError_t channels_outer(const T* per_image, T* outer) const {
        return with_index([&](auto g, auto n) {
            synapse_kernel::conv_permute<<<conv_grid(g.F, images * g.L), conv_threads, 0, stream>>>(g, n, true, static_cast<const T*>(nullptr), per_image,
                                                                                                    outer);
        });
    }
    /// per_image [images, F, L] from outer [F, images, L], + bias [F] when given.
    cudaError_t images_outer(const T* outer, const T* bias, T* per_image) const {
        return with_index([&](auto g, auto n) {
            synapse_kernel::conv_permute<<<conv_grid(g.F, images * g.L), conv_threads, 0, stream>>>(g, n, false, bias, outer, per_image);
        });
    }
    /// y [images, F, L] += bias [F].
    cudaError_t add_bias(const T* bias, T* y) const {
        return with_index([&](auto g, auto n) {
            synapse_kernel::conv_add_bias<<<conv_grid(g.F, images * g.L), conv_threads, 0, stream>>>(g, n, bias, y);
        });
    }
};

/// Per-image C_b (column-major m x n, ldc) = op(A_b) op(B) for `batch` images, operands
/// `stride_*` elements apart (B shared), in T with the chosen math.
template <class T>
void gemm_strided_batched(cublasHandle_t handle, std::int64_t m, std::int64_t n, std::int64_t k, const T* A, std::int64_t lda, std::int64_t stride_a,
                          const T* B, std::int64_t ldb, T* C, std::int64_t ldc, std::int64_t stride_c, std::int64_t batch, gemm_math math, const char* what) {
    const T alpha = T(1), beta = T(0);
    constexpr cudaDataType_t type = std::is_same_v<T, double> ? CUDA_R_64F : CUDA_R_32F;
    const cublasComputeType_t compute = std::is_same_v<T, double> ? CUBLAS_COMPUTE_64F
                                        : math == gemm_math::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                  : CUBLAS_COMPUTE_32F;
    check_cublas(cublasGemmStridedBatchedEx_64(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A, type, lda, stride_a, B, type, ldb, 0, &beta, C,
                                               type, ldc, stride_c, batch, compute, CUBLAS_GEMM_DEFAULT),
                 what);
}

/// Forward's GEMM form. Below this many patch rows per group the GEMM is bound by writing y, so
/// it is a strided-batched GEMM writing y in place; from it on, one GEMM over the whole chunk
/// into [F, n*L] plus a permute is faster (H100, 512 images: k = 9 on 28x28 0.17 ms in place vs
/// 0.31 ms with the permute; k = 1152 on 14x14 0.59 + 0.085 ms vs 0.91 ms batched).
constexpr std::int64_t conv_in_place_below_patch = 64;

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

namespace synapse_detail {

/// Workspace regions of one chunk of `images`: col [P, images, L], the [F, images, L] buffer
/// (forward's GEMM output, backward's permuted grad_y) and the bias plane sums [images, F].
template <class T>
struct conv_regions {
    T* col;
    T* channels_outer;
    double* plane_sums;
    conv_regions(void* workspace, const conv_workspace_need& need, std::int64_t images) {
        auto* base = static_cast<unsigned char*>(workspace);
        const auto n = static_cast<std::size_t>(images);
        const std::size_t col_bytes = need.col != 0 ? conv_align_up(need.col * n) : 0;
        const std::size_t outer_bytes = need.channels_outer != 0 ? conv_align_up(need.channels_outer * n) : 0;
        col = reinterpret_cast<T*>(base);
        channels_outer = reinterpret_cast<T*>(base + col_bytes);
        plane_sums = reinterpret_cast<double*>(base + col_bytes + outer_bytes);
    }
};

}  // namespace synapse_detail

/// y = conv(x, weight) (+ bias). Returns the first failed kernel launch's status (cudaSuccess otherwise).
template <class T>
cudaError_t conv2d_forward(cublasHandle_t handle, const snn::synapse::conv2d_forward_args<T>& a, void* workspace, std::size_t workspace_bytes,
                           cudaStream_t stream, gemm_math math = gemm_math::fp32) {
    using namespace snn::synapse::detail;
    require_real<T>();
    check(a);
    require(handle != nullptr, "handle", "null cuBLAS handle");
    const auto& s = a.shape;
    const std::int64_t G = s.groups, Pg = s.in_channels / G * s.kernel_h * s.kernel_w, Fg = s.out_channels / G;
    const bool in_place = Pg < synapse_detail::conv_in_place_below_patch;
    const auto need = synapse_detail::conv_need<T>(s, true, !in_place, false);
    const std::int64_t chunk = synapse_detail::conv_chunk_images(need, s.batch, workspace, workspace_bytes);
    const auto g = synapse_detail::conv_geometry_of<std::int64_t>(s);
    const std::int64_t x_image = g.C * g.H * g.W, y_image = g.F * g.L;
    const synapse_detail::conv_regions<T> ws(workspace, need, chunk);
    synapse_detail::check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    for (std::int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
        const std::int64_t n = std::min(chunk, s.batch - b0), k = n * g.L;
        const synapse_detail::conv_launcher<T> launch{s, n, stream};
        T* y = a.y + b0 * y_image;  // [n, F, L]
        if (const cudaError_t e = launch.im2col(a.x + b0 * x_image, ws.col); e != cudaSuccess) return e;
        for (std::int64_t grp = 0; grp < G; ++grp) {
            const T* col = ws.col + grp * Pg * k;           // [Pg, n*L] row-major: column-major k x Pg
            const T* weight = a.weight + grp * Fg * Pg;     // [Fg, Pg] row-major: column-major Pg x Fg
            if (in_place)
                // Image b: y_b^T (L x Fg, column-major, ld L) = col_b^T (L x Pg: ld k, images L apart) * W^T (Pg x Fg).
                synapse_detail::gemm_strided_batched<T>(handle, g.L, Fg, Pg, col, k, g.L, weight, Pg, y + grp * Fg * g.L, g.L, y_image, n, math,
                                                        "conv2d_forward GEMM");
            else
                // out [Fg, n*L] row-major, column-major: out^T (k x Fg, ld k) = col^T (k x Pg) * W^T (Pg x Fg).
                synapse_detail::gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_N, k, Fg, Pg, col, k, weight, Pg, T(0), ws.channels_outer + grp * Fg * k, k, math,
                                        "conv2d_forward GEMM");
        }
        if (!in_place) {
            if (const cudaError_t e = launch.images_outer(ws.channels_outer, a.bias, y); e != cudaSuccess) return e;
        } else if (a.bias != nullptr) {
            if (const cudaError_t e = launch.add_bias(a.bias, y); e != cudaSuccess) return e;
        }
    }
    return cudaSuccess;
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
    const auto need = synapse_detail::conv_need<T>(s, want_x || want_w, want_x || want_w, want_b);
    const std::int64_t chunk = synapse_detail::conv_chunk_images(need, s.batch, workspace, workspace_bytes);
    const auto g = synapse_detail::conv_geometry_of<std::int64_t>(s);
    const std::int64_t G = s.groups, Pg = g.P / G, Fg = g.F / G, x_image = g.C * g.H * g.W, y_image = g.F * g.L;
    const synapse_detail::conv_regions<T> ws(workspace, need, chunk);
    constexpr int threads = synapse_detail::conv_threads;
    synapse_detail::check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    for (std::int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
        const std::int64_t n = std::min(chunk, s.batch - b0), k = n * g.L;
        const bool first = b0 == 0;
        const T* gy = a.grad_y + b0 * y_image;  // [n, F, L]
        const synapse_detail::conv_launcher<T> launch{s, n, stream};
        // grad_y_outer [F, n*L]: the row-major rows are the column-major k-vectors both GEMMs read.
        if (want_x || want_w)
            if (const cudaError_t e = launch.channels_outer(gy, ws.channels_outer); e != cudaSuccess) return e;
        if (want_x) {
            for (std::int64_t grp = 0; grp < G; ++grp)
                // col_grp [Pg, k] = W_grp^T [Pg, Fg] * grad_y_grp [Fg, k]; column-major: col^T (k x Pg) = grad_y^T (k x Fg) * W_grp (Fg x Pg),
                // W [Fg, Pg] row-major being column-major Pg x Fg, hence op T.
                synapse_detail::gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_T, k, Pg, Fg, ws.channels_outer + grp * Fg * k, k, a.weight + grp * Fg * Pg, Pg,
                                        T(0), ws.col + grp * Pg * k, k, math, "conv2d_backward grad_x GEMM");
            if (const cudaError_t e = launch.col2im(ws.col, a.grad_x + b0 * x_image); e != cudaSuccess) return e;
        }
        if (want_w) {
            if (const cudaError_t e = launch.im2col(a.x + b0 * x_image, ws.col); e != cudaSuccess) return e;
            for (std::int64_t grp = 0; grp < G; ++grp)
                // dW_grp^T [Pg, Fg] (column-major, ld Pg: dW [Fg, Pg] row-major) (+)= col_grp [Pg, k] * grad_y_grp^T [k, Fg]: col_grp is
                // column-major k x Pg (op T), grad_y_grp column-major k x Fg.
                synapse_detail::gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, Pg, Fg, k, ws.col + grp * Pg * k, k, ws.channels_outer + grp * Fg * k, k,
                                        first && !a.accumulate ? T(0) : T(1), a.grad_weight + grp * Fg * Pg, Pg, math, "conv2d_backward grad_weight GEMM");
        }
        if (want_b) {
            synapse_kernel::conv_plane_sums<<<synapse_detail::grid_blocks(n * g.F * 32, threads), threads, 0, stream>>>(gy, n * g.F, g.L, ws.plane_sums);
            if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
            synapse_kernel::conv_add_plane_sums<<<synapse_detail::grid_blocks(g.F, threads), threads, 0, stream>>>(ws.plane_sums, n, g.F,
                                                                                                                 first && !a.accumulate, a.grad_bias);
            if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
        }
    }
    return cudaSuccess;
}

}  // namespace cuda
}  // namespace snn
