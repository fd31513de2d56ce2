#pragma once
/// \file
/// 2-d convolution, torch `nn.Conv2d` semantics (cross-correlation, zero padding, stride,
/// dilation, groups), NCHW. Time-folded: `batch` = T * N for a `[T, N, C, H, W]` sequence.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {

/// Extents and hyper-parameters of a convolution (torch's defaults for the optional ones).
struct conv2d_shape {
    std::int64_t batch = 0;         ///< B = T * N
    std::int64_t in_channels = 0;   ///< C
    std::int64_t in_height = 0;     ///< H
    std::int64_t in_width = 0;      ///< W
    std::int64_t out_channels = 0;  ///< F
    std::int64_t kernel_h = 0;
    std::int64_t kernel_w = 0;
    std::int64_t stride_h = 1, stride_w = 1;
    std::int64_t pad_h = 0, pad_w = 0;
    std::int64_t dilation_h = 1, dilation_w = 1;
    std::int64_t groups = 1;        ///< C and F are multiples of it

    std::int64_t out_height() const { return (in_height + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
    std::int64_t out_width() const { return (in_width + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
    std::int64_t weight_size() const { return out_channels * (in_channels / groups) * kernel_h * kernel_w; }
};

template <class T>
struct conv2d_forward_args {
    conv2d_shape shape;
    const T* x = nullptr;       ///< [B, C, H, W]
    const T* weight = nullptr;  ///< [F, C/groups, kh, kw]
    const T* bias = nullptr;    ///< [F] optional
    T* y = nullptr;             ///< [B, F, Ho, Wo]
};

template <class T>
struct conv2d_backward_args {
    conv2d_shape shape;
    const T* grad_y = nullptr;  ///< [B, F, Ho, Wo] required
    const T* x = nullptr;       ///< [B, C, H, W] forward input; required for grad_weight
    const T* weight = nullptr;  ///< [F, C/groups, kh, kw]; required for grad_x
    T* grad_x = nullptr;        ///< [B, C, H, W] optional output
    T* grad_weight = nullptr;   ///< [F, C/groups, kh, kw] optional output
    T* grad_bias = nullptr;     ///< [F] optional output
    bool accumulate = false;    ///< add into grad_weight / grad_bias instead of overwriting
};

namespace detail {

inline void check_conv2d_shape(const conv2d_shape& s) {
    require_positive(s.batch, "batch");
    require_positive(s.in_channels, "in_channels");
    require_positive(s.in_height, "in_height");
    require_positive(s.in_width, "in_width");
    require_positive(s.out_channels, "out_channels");
    require_positive(s.kernel_h, "kernel_h");
    require_positive(s.kernel_w, "kernel_w");
    require_positive(s.stride_h, "stride_h");
    require_positive(s.stride_w, "stride_w");
    require(s.pad_h >= 0, "pad_h", "must be >= 0");
    require(s.pad_w >= 0, "pad_w", "must be >= 0");
    require_positive(s.dilation_h, "dilation_h");
    require_positive(s.dilation_w, "dilation_w");
    require_positive(s.groups, "groups");
    require(s.in_channels % s.groups == 0, "groups", "in_channels (" + std::to_string(s.in_channels) + ") is not a multiple of groups");
    require(s.out_channels % s.groups == 0, "groups", "out_channels (" + std::to_string(s.out_channels) + ") is not a multiple of groups");
    require(s.out_height() > 0, "kernel_h", "the dilated kernel is taller than the padded input");
    require(s.out_width() > 0, "kernel_w", "the dilated kernel is wider than the padded input");
    checked_mul(s.batch, s.in_channels, s.in_height * s.in_width, "in_height");
    checked_mul(s.batch, s.out_channels, s.out_height() * s.out_width(), "out_channels");
    checked_mul(s.in_channels * s.kernel_h, s.kernel_w, s.out_height() * s.out_width(), "kernel_h");
}

template <class T>
void check(const conv2d_forward_args<T>& a) {
    check_conv2d_shape(a.shape);
    require_pointer(a.x, "x");
    require_pointer(a.weight, "weight");
    require_pointer(a.y, "y");
}

template <class T>
void check(const conv2d_backward_args<T>& a) {
    check_conv2d_shape(a.shape);
    require_pointer(a.grad_y, "grad_y");
    require(a.grad_x != nullptr || a.grad_weight != nullptr || a.grad_bias != nullptr, "grad_x",
            "nothing to compute: give at least one of grad_x, grad_weight, grad_bias");
    if (a.grad_x != nullptr) require(a.weight != nullptr, "weight", "null pointer (grad_x needs the weight)");
    if (a.grad_weight != nullptr) require(a.x != nullptr, "x", "null pointer (grad_weight needs the forward input)");
}

}  // namespace detail
}  // namespace synapse
}  // namespace snn
