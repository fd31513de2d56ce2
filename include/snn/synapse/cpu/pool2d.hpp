#pragma once
/// \file
/// 2-d pooling on the CPU (semantics and arguments: snn/synapse/pool2d_args.hpp), one thread per
/// block of [batch, channel] planes.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "snn/cpu/parallel.hpp"
#include "snn/synapse/cpu/common.hpp"
#include "snn/synapse/pool2d_args.hpp"

namespace snn {
namespace synapse {
namespace detail {

inline std::int64_t min_planes_per_thread(const pool2d_shape& s) {
    const std::int64_t cost = std::max<std::int64_t>(1, s.in_height * s.in_width * 2);
    constexpr std::int64_t target = 1 << 15;
    return cost >= target ? 1 : target / cost;
}

}  // namespace detail
}  // namespace synapse

namespace cpu {

template <class T>
void pool2d_forward(const synapse::pool2d_forward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const auto& s = a.shape;
    const std::int64_t H = s.in_height, W = s.in_width, Ho = s.out_height(), Wo = s.out_width();
    const std::int64_t sh = s.effective_stride_h(), sw = s.effective_stride_w();
    detail::parallel_blocks(s.batch * s.channels, exec, min_planes_per_thread(s), [&](std::int64_t p0, std::int64_t p1) {
        for (std::int64_t p = p0; p < p1; ++p) {
            const T* x = a.x + p * H * W;
            T* y = a.y + p * Ho * Wo;
            for (std::int64_t oh = 0; oh < Ho; ++oh)
                for (std::int64_t ow = 0; ow < Wo; ++ow) {
                    const std::int64_t h0 = oh * sh - s.pad_h, w0 = ow * sw - s.pad_w;
                    const std::int64_t hb = std::max<std::int64_t>(h0, 0), he = std::min(h0 + s.kernel_h, H);
                    const std::int64_t wb = std::max<std::int64_t>(w0, 0), we = std::min(w0 + s.kernel_w, W);
                    if (a.kind == synapse::pool_kind::max) {
                        T best = -std::numeric_limits<T>::infinity();
                        std::int64_t best_index = hb * W + wb;
                        for (std::int64_t h = hb; h < he; ++h)
                            for (std::int64_t w = wb; w < we; ++w) {
                                const T v = x[h * W + w];
                                if (v > best || std::isnan(v)) {
                                    best = v;
                                    best_index = h * W + w;
                                }
                            }
                        y[oh * Wo + ow] = best;
                        if (a.indices != nullptr) a.indices[p * Ho * Wo + oh * Wo + ow] = best_index;
                    } else {
                        T sum = 0;
                        for (std::int64_t h = hb; h < he; ++h)
                            for (std::int64_t w = wb; w < we; ++w) sum += x[h * W + w];
                        y[oh * Wo + ow] = sum / static_cast<T>(pool_divisor(s, a.kind, a.count_include_pad, h0, w0));
                    }
                }
        }
    });
}

template <class T>
void pool2d_backward(const synapse::pool2d_backward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const auto& s = a.shape;
    const std::int64_t H = s.in_height, W = s.in_width, Ho = s.out_height(), Wo = s.out_width();
    const std::int64_t sh = s.effective_stride_h(), sw = s.effective_stride_w();
    detail::parallel_blocks(s.batch * s.channels, exec, min_planes_per_thread(s), [&](std::int64_t p0, std::int64_t p1) {
        for (std::int64_t p = p0; p < p1; ++p) {
            T* gx = a.grad_x + p * H * W;
            const T* gy = a.grad_y + p * Ho * Wo;
            std::fill(gx, gx + H * W, T(0));
            for (std::int64_t oh = 0; oh < Ho; ++oh)
                for (std::int64_t ow = 0; ow < Wo; ++ow) {
                    const T g = gy[oh * Wo + ow];
                    if (a.kind == synapse::pool_kind::max) {
                        const std::int64_t index = a.indices[p * Ho * Wo + oh * Wo + ow];
                        require(index >= 0 && index < H * W, "indices", "argmax " + std::to_string(index) + " outside the input plane");
                        gx[index] += g;
                        continue;
                    }
                    const std::int64_t h0 = oh * sh - s.pad_h, w0 = ow * sw - s.pad_w;
                    const std::int64_t hb = std::max<std::int64_t>(h0, 0), he = std::min(h0 + s.kernel_h, H);
                    const std::int64_t wb = std::max<std::int64_t>(w0, 0), we = std::min(w0 + s.kernel_w, W);
                    const T share = g / static_cast<T>(pool_divisor(s, a.kind, a.count_include_pad, h0, w0));
                    for (std::int64_t h = hb; h < he; ++h)
                        for (std::int64_t w = wb; w < we; ++w) gx[h * W + w] += share;
                }
        }
    });
}

}  // namespace cpu
}  // namespace snn
