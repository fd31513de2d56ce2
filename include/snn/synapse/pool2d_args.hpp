#pragma once
/// \file
/// 2-d pooling, NCHW, torch semantics (`nn.MaxPool2d`, `nn.AvgPool2d`; ceil_mode=False,
/// dilation 1): padding counts as -inf for max and as 0 for avg/sum; avg divides by
/// kernel_h * kernel_w when `count_include_pad` (torch's default) else by the number of
/// in-bounds elements; sum is the window sum (avg * window size). Padding must be at most half
/// the kernel, as torch requires. Max saves the argmax (flat `h * W + w` in the input plane,
/// torch's `return_indices` layout) for backward; on ties the first element wins and a NaN
/// propagates, as in torch. Time-folded: `batch` = T * N.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {

enum class pool_kind { max, avg, sum };

struct pool2d_shape {
    std::int64_t batch = 0;     ///< B = T * N
    std::int64_t channels = 0;  ///< C
    std::int64_t in_height = 0, in_width = 0;
    std::int64_t kernel_h = 0, kernel_w = 0;
    std::int64_t stride_h = 0, stride_w = 0;  ///< 0: the kernel size (torch's stride=None)
    std::int64_t pad_h = 0, pad_w = 0;

    std::int64_t effective_stride_h() const { return stride_h == 0 ? kernel_h : stride_h; }
    std::int64_t effective_stride_w() const { return stride_w == 0 ? kernel_w : stride_w; }
    std::int64_t out_height() const { return (in_height + 2 * pad_h - kernel_h) / effective_stride_h() + 1; }
    std::int64_t out_width() const { return (in_width + 2 * pad_w - kernel_w) / effective_stride_w() + 1; }
};

template <class T>
struct pool2d_forward_args {
    pool2d_shape shape;
    pool_kind kind = pool_kind::max;
    bool count_include_pad = true;   ///< avg only
    const T* x = nullptr;            ///< [B, C, H, W]
    T* y = nullptr;                  ///< [B, C, Ho, Wo]
    std::int64_t* indices = nullptr; ///< [B, C, Ho, Wo] max only, optional output (needed by backward)
};

template <class T>
struct pool2d_backward_args {
    pool2d_shape shape;
    pool_kind kind = pool_kind::max;
    bool count_include_pad = true;
    const T* grad_y = nullptr;              ///< [B, C, Ho, Wo]
    const std::int64_t* indices = nullptr;  ///< [B, C, Ho, Wo] max only: from the forward
    T* grad_x = nullptr;                    ///< [B, C, H, W] output (overwritten)
};

namespace detail {

inline void check_pool2d_shape(const pool2d_shape& s) {
    require_positive(s.batch, "batch");
    require_positive(s.channels, "channels");
    require_positive(s.in_height, "in_height");
    require_positive(s.in_width, "in_width");
    require_positive(s.kernel_h, "kernel_h");
    require_positive(s.kernel_w, "kernel_w");
    require(s.stride_h >= 0, "stride_h", "must be >= 0 (0: the kernel size)");
    require(s.stride_w >= 0, "stride_w", "must be >= 0 (0: the kernel size)");
    require(s.pad_h >= 0 && 2 * s.pad_h <= s.kernel_h, "pad_h", "must be between 0 and kernel_h / 2 (as torch requires)");
    require(s.pad_w >= 0 && 2 * s.pad_w <= s.kernel_w, "pad_w", "must be between 0 and kernel_w / 2 (as torch requires)");
    require(s.out_height() > 0, "kernel_h", "taller than the padded input");
    require(s.out_width() > 0, "kernel_w", "wider than the padded input");
    checked_mul(s.batch, s.channels, s.in_height * s.in_width, "in_height");
}

template <class T>
void check(const pool2d_forward_args<T>& a) {
    check_pool2d_shape(a.shape);
    require_pointer(a.x, "x");
    require_pointer(a.y, "y");
    if (a.kind != pool_kind::max) require(a.indices == nullptr, "indices", "only max pooling writes indices");
}

template <class T>
void check(const pool2d_backward_args<T>& a) {
    check_pool2d_shape(a.shape);
    require_pointer(a.grad_y, "grad_y");
    require_pointer(a.grad_x, "grad_x");
    if (a.kind == pool_kind::max) require(a.indices != nullptr, "indices", "null pointer (max pooling backward needs the forward's argmax)");
}

/// Divisor of one window: rows [h0, h0 + kh) x cols [w0, w0 + kw) in padded coordinates
/// shifted so that 0 is the first real row/column.
inline std::int64_t pool_divisor(const pool2d_shape& s, pool_kind kind, bool count_include_pad, std::int64_t h0, std::int64_t w0) {
    if (kind == pool_kind::sum) return 1;
    if (count_include_pad) return s.kernel_h * s.kernel_w;  // ceil_mode=False: a window never passes the padding
    const std::int64_t rows = std::min(h0 + s.kernel_h, s.in_height) - std::max<std::int64_t>(h0, 0);
    const std::int64_t cols = std::min(w0 + s.kernel_w, s.in_width) - std::max<std::int64_t>(w0, 0);
    return rows * cols;
}

}  // namespace detail
}  // namespace synapse
}  // namespace snn
