#pragma once
/// \file
/// Flatten is a view, not a kernel: a contiguous NCHW buffer `[B, C, H, W]` already is the
/// row-major `[B, C*H*W]` matrix torch's `nn.Flatten()` (start_dim 1) produces, in the same
/// element order, so a conv/pool output pointer is passed unchanged to `dense_forward` with
/// `in_features = C*H*W`; the gradient flows back through the same pointer, unchanged.
/// Time-folded `[T, N, C, H, W]` is `[T*N, C*H*W]` the same way. This header only computes
/// the feature count, checked.

#include <cstdint>

#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {

/// C * H * W: the `in_features` of the dense layer that reads a flattened `[B, C, H, W]`.
inline std::int64_t flatten_features(std::int64_t channels, std::int64_t height, std::int64_t width) {
    detail::require_positive(channels, "channels");
    detail::require_positive(height, "height");
    detail::require_positive(width, "width");
    return detail::checked_mul(channels, height, width, "width");
}

}  // namespace synapse
}  // namespace snn
