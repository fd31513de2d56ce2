#pragma once
/// \file
/// 2-d convolution on the CPU (semantics and arguments: snn/synapse/conv2d_args.hpp): im2col per
/// sample and group, then one Eigen GEMM. Samples are split over threads; dW and db are reduced
/// over a fixed partition of the batch (independent of the thread count), so results are the
/// same for any number of threads.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "snn/cpu/parallel.hpp"
#include "snn/synapse/cpu/common.hpp"
#include "snn/synapse/conv2d_args.hpp"

namespace snn {
namespace synapse {
namespace detail {

/// Per-group GEMM extents of one sample.
struct conv2d_geometry {
    std::int64_t group_in, group_out;  ///< C/g, F/g
    std::int64_t patch;                ///< C/g * kh * kw (rows of the column matrix)
    std::int64_t pixels;               ///< Ho * Wo
    std::int64_t in_plane;             ///< H * W
    explicit conv2d_geometry(const conv2d_shape& s)
        : group_in(s.in_channels / s.groups), group_out(s.out_channels / s.groups),
          patch(s.in_channels / s.groups * s.kernel_h * s.kernel_w), pixels(s.out_height() * s.out_width()),
          in_plane(s.in_height * s.in_width) {}
};

/// col [patch, Ho*Wo] <- the receptive fields of channels [c0, c0 + C/g) of one sample `x` [C, H, W].
template <class T>
void im2col(const conv2d_shape& s, const conv2d_geometry& g, const T* x, std::int64_t c0, T* col) {
    const std::int64_t Ho = s.out_height(), Wo = s.out_width();
    for (std::int64_t c = 0; c < g.group_in; ++c) {
        const T* plane = x + (c0 + c) * g.in_plane;
        for (std::int64_t ki = 0; ki < s.kernel_h; ++ki)
            for (std::int64_t kj = 0; kj < s.kernel_w; ++kj) {
                T* row = col + ((c * s.kernel_h + ki) * s.kernel_w + kj) * g.pixels;
                for (std::int64_t oh = 0; oh < Ho; ++oh) {
                    const std::int64_t ih = oh * s.stride_h - s.pad_h + ki * s.dilation_h;
                    for (std::int64_t ow = 0; ow < Wo; ++ow) {
                        const std::int64_t iw = ow * s.stride_w - s.pad_w + kj * s.dilation_w;
                        const bool inside = ih >= 0 && ih < s.in_height && iw >= 0 && iw < s.in_width;
                        row[oh * Wo + ow] = inside ? plane[ih * s.in_width + iw] : T(0);
                    }
                }
            }
    }
}

/// grad_x [C, H, W] (channels [c0, c0 + C/g)) += the column gradient scattered back.
template <class T>
void col2im_add(const conv2d_shape& s, const conv2d_geometry& g, const T* col, std::int64_t c0, T* grad_x) {
    const std::int64_t Ho = s.out_height(), Wo = s.out_width();
    for (std::int64_t c = 0; c < g.group_in; ++c) {
        T* plane = grad_x + (c0 + c) * g.in_plane;
        for (std::int64_t ki = 0; ki < s.kernel_h; ++ki)
            for (std::int64_t kj = 0; kj < s.kernel_w; ++kj) {
                const T* row = col + ((c * s.kernel_h + ki) * s.kernel_w + kj) * g.pixels;
                for (std::int64_t oh = 0; oh < Ho; ++oh) {
                    const std::int64_t ih = oh * s.stride_h - s.pad_h + ki * s.dilation_h;
                    if (ih < 0 || ih >= s.in_height) continue;
                    for (std::int64_t ow = 0; ow < Wo; ++ow) {
                        const std::int64_t iw = ow * s.stride_w - s.pad_w + kj * s.dilation_w;
                        if (iw >= 0 && iw < s.in_width) plane[ih * s.in_width + iw] += row[oh * Wo + ow];
                    }
                }
            }
    }
}

inline std::int64_t min_samples_per_thread(const conv2d_geometry& g, const conv2d_shape& s) {
    const std::int64_t cost = std::max<std::int64_t>(1, g.patch * g.pixels * s.out_channels);
    constexpr std::int64_t target = 1 << 16;
    return cost >= target ? 1 : target / cost;
}

/// Fixed number of partial-sum chunks for dW / db, so that the reduction order never depends
/// on the thread count.
inline constexpr std::int64_t conv2d_weight_chunks = 16;

}  // namespace detail
}  // namespace synapse

namespace cpu {

template <class T>
void conv2d_forward(const synapse::conv2d_forward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const auto& s = a.shape;
    const conv2d_geometry g(s);
    const std::int64_t x_sample = s.in_channels * g.in_plane, y_sample = s.out_channels * g.pixels;
    detail::parallel_blocks(s.batch, exec, min_samples_per_thread(g, s), [&](std::int64_t b0, std::int64_t b1) {
        std::vector<T> col(static_cast<std::size_t>(g.patch * g.pixels));
        for (std::int64_t b = b0; b < b1; ++b)
            for (std::int64_t grp = 0; grp < s.groups; ++grp) {
                im2col(s, g, a.x + b * x_sample, grp * g.group_in, col.data());
                const_matrix_map<T> W(a.weight + grp * g.group_out * g.patch, g.group_out, g.patch);
                const_matrix_map<T> C(col.data(), g.patch, g.pixels);
                matrix_map<T> Y(a.y + b * y_sample + grp * g.group_out * g.pixels, g.group_out, g.pixels);
                Y.noalias() = W * C;
                if (a.bias != nullptr)
                    Y.colwise() += Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(a.bias + grp * g.group_out, g.group_out);
            }
    });
}

template <class T>
void conv2d_backward(const synapse::conv2d_backward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const auto& s = a.shape;
    const conv2d_geometry g(s);
    const std::int64_t x_sample = s.in_channels * g.in_plane, y_sample = s.out_channels * g.pixels;

    if (a.grad_x != nullptr) {
        detail::parallel_blocks(s.batch, exec, min_samples_per_thread(g, s), [&](std::int64_t b0, std::int64_t b1) {
            std::vector<T> col(static_cast<std::size_t>(g.patch * g.pixels));
            for (std::int64_t b = b0; b < b1; ++b) {
                T* gx = a.grad_x + b * x_sample;
                std::fill(gx, gx + x_sample, T(0));
                for (std::int64_t grp = 0; grp < s.groups; ++grp) {
                    const_matrix_map<T> W(a.weight + grp * g.group_out * g.patch, g.group_out, g.patch);
                    const_matrix_map<T> G(a.grad_y + b * y_sample + grp * g.group_out * g.pixels, g.group_out, g.pixels);
                    matrix_map<T> C(col.data(), g.patch, g.pixels);
                    C.noalias() = W.transpose() * G;
                    col2im_add(s, g, col.data(), grp * g.group_in, gx);
                }
            }
        });
    }

    if (a.grad_weight == nullptr && a.grad_bias == nullptr) return;
    const std::int64_t chunks = std::min<std::int64_t>(s.batch, conv2d_weight_chunks);
    const std::int64_t wsize = s.weight_size(), F = s.out_channels;
    std::vector<T> partial_w(a.grad_weight != nullptr ? static_cast<std::size_t>(chunks * wsize) : 0);
    std::vector<T> partial_b(a.grad_bias != nullptr ? static_cast<std::size_t>(chunks * F) : 0);
    detail::parallel_blocks(chunks, exec, 1, [&](std::int64_t c0, std::int64_t c1) {
        std::vector<T> col(a.grad_weight != nullptr ? static_cast<std::size_t>(g.patch * g.pixels) : 0);
        for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
            const std::int64_t b_begin = chunk * s.batch / chunks, b_end = (chunk + 1) * s.batch / chunks;
            T* pw = a.grad_weight != nullptr ? partial_w.data() + chunk * wsize : nullptr;
            T* pb = a.grad_bias != nullptr ? partial_b.data() + chunk * F : nullptr;
            if (pw != nullptr) std::fill(pw, pw + wsize, T(0));
            if (pb != nullptr) std::fill(pb, pb + F, T(0));
            for (std::int64_t b = b_begin; b < b_end; ++b)
                for (std::int64_t grp = 0; grp < s.groups; ++grp) {
                    const_matrix_map<T> G(a.grad_y + b * y_sample + grp * g.group_out * g.pixels, g.group_out, g.pixels);
                    if (pw != nullptr) {
                        im2col(s, g, a.x + b * x_sample, grp * g.group_in, col.data());
                        const_matrix_map<T> C(col.data(), g.patch, g.pixels);
                        matrix_map<T> GW(pw + grp * g.group_out * g.patch, g.group_out, g.patch);
                        GW.noalias() += G * C.transpose();
                    }
                    if (pb != nullptr)
                        Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(pb + grp * g.group_out, g.group_out) += G.rowwise().sum();
                }
        }
    });
    auto reduce = [&](const std::vector<T>& partial, std::int64_t size, T* out) {
        for (std::int64_t i = 0; i < size; ++i) {
            T sum = a.accumulate ? out[i] : T(0);
            for (std::int64_t chunk = 0; chunk < chunks; ++chunk) sum += partial[static_cast<std::size_t>(chunk * size + i)];
            out[i] = sum;
        }
    };
    if (a.grad_weight != nullptr) reduce(partial_w, wsize, a.grad_weight);
    if (a.grad_bias != nullptr) reduce(partial_b, F, a.grad_bias);
}

}  // namespace cpu
}  // namespace snn
