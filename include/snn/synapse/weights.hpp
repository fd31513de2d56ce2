#pragma once
/// \file
/// Host-side weight transforms, no dependencies: the transposed dense weight the spike-input
/// path reads, and an inference batch norm folded into the preceding conv/linear.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {

/// W `[out, in]` -> W^T `[in, out]`, the layout `dense_spike_forward` reads rows of.
template <class T>
std::vector<T> transpose_weight(const T* weight, std::int64_t out_features, std::int64_t in_features) {
    detail::require_real<T>();
    detail::require_pointer(weight, "weight");
    detail::require_positive(out_features, "out_features");
    detail::require_positive(in_features, "in_features");
    std::vector<T> t(static_cast<std::size_t>(detail::checked_mul(out_features, in_features, "in_features")));
    for (std::int64_t o = 0; o < out_features; ++o)
        for (std::int64_t k = 0; k < in_features; ++k) t[static_cast<std::size_t>(k * out_features + o)] = weight[o * in_features + k];
    return t;
}

/// Weights and bias of a conv/linear with an inference batch norm folded in.
template <class T>
struct folded_weights {
    std::vector<T> weight;  ///< same shape as the input weight, [F, ...]
    std::vector<T> bias;    ///< [F] (always present: the fold creates one)
};

/// Folds `y = BN(conv(x; W, b))` (inference) into `conv(x; W', b')`: per output channel f,
/// scale = gamma / sqrt(running_var + eps), W'[f] = W[f] * scale, b' = (b - mean) * scale + beta.
/// `weight` is `[F, per_channel]` (per_channel = C/groups*kh*kw for conv, in_features for
/// linear); bias, gamma, beta may be null (0, 1, 0). Computed in double, rounded once to T.
template <class T>
folded_weights<T> fold_batch_norm(const T* weight, const T* bias, std::int64_t out_channels, std::int64_t per_channel,
                                  const T* gamma, const T* beta, const T* running_mean, const T* running_var, double eps = 1e-5) {
    detail::require_real<T>();
    detail::require_pointer(weight, "weight");
    detail::require_pointer(running_mean, "running_mean");
    detail::require_pointer(running_var, "running_var");
    detail::require_positive(out_channels, "out_channels");
    detail::require_positive(per_channel, "per_channel");
    require((gamma == nullptr) == (beta == nullptr), "gamma", "give both gamma and beta (affine) or neither");
    require(std::isfinite(eps) && eps > 0.0, "eps", "must be finite and > 0");
    folded_weights<T> out;
    out.weight.resize(static_cast<std::size_t>(detail::checked_mul(out_channels, per_channel, "per_channel")));
    out.bias.resize(static_cast<std::size_t>(out_channels));
    for (std::int64_t f = 0; f < out_channels; ++f) {
        require(running_var[f] >= T(0), "running_var", "negative variance at channel " + std::to_string(f));
        const double g = gamma != nullptr ? static_cast<double>(gamma[f]) : 1.0;
        const double scale = g / std::sqrt(static_cast<double>(running_var[f]) + eps);
        for (std::int64_t k = 0; k < per_channel; ++k)
            out.weight[static_cast<std::size_t>(f * per_channel + k)] = static_cast<T>(static_cast<double>(weight[f * per_channel + k]) * scale);
        const double b = bias != nullptr ? static_cast<double>(bias[f]) : 0.0;
        const double shift = beta != nullptr ? static_cast<double>(beta[f]) : 0.0;
        out.bias[static_cast<std::size_t>(f)] = static_cast<T>((b - static_cast<double>(running_mean[f])) * scale + shift);
    }
    return out;
}

}  // namespace synapse
}  // namespace snn
