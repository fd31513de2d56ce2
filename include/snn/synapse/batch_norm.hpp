#pragma once
/// \file
/// Batch normalisation over `[B, C, S]` (S = H*W for BatchNorm2d on NCHW, S = 1 for
/// BatchNorm1d on `[B, C]`, or L for `[B, C, L]`), torch semantics:
/// - training: batch statistics over B*S values per channel; normalisation with the biased
///   variance; running_mean/var <- (1 - momentum) * running + momentum * batch, the running
///   variance updated with the unbiased batch variance (n / (n-1)); B*S must be > 1 as in torch.
/// - inference: the running statistics.
/// y = (x - mean) / sqrt(var + eps) * gamma + beta; gamma/beta null means affine=False.
/// Time-folded: B = T * N, i.e. statistics over time and batch together (SpikingJelly's
/// SeqToANNContainer / layer.BatchNorm2d in multi-step mode).
/// `fold_batch_norm` folds an inference batch norm into the preceding conv/linear.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "snn/cpu/parallel.hpp"
#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {

template <class T>
struct batch_norm_forward_args {
    std::int64_t batch = 0;     ///< B = T * N
    std::int64_t channels = 0;  ///< C
    std::int64_t spatial = 1;   ///< S = H * W (1 for BatchNorm1d on [B, C])
    bool training = true;
    double momentum = 0.1;      ///< torch's default
    double eps = 1e-5;          ///< torch's default
    const T* x = nullptr;       ///< [B, C, S]
    const T* gamma = nullptr;   ///< [C] optional (null: 1)
    const T* beta = nullptr;    ///< [C] optional (null: 0)
    T* running_mean = nullptr;  ///< [C] training: updated if given; inference: required
    T* running_var = nullptr;   ///< [C] training: updated if given; inference: required
    T* y = nullptr;             ///< [B, C, S]
    T* saved_mean = nullptr;    ///< [C] training: batch mean, output for backward (optional)
    T* saved_invstd = nullptr;  ///< [C] training: 1/sqrt(biased var + eps), output for backward (optional)
};

template <class T>
struct batch_norm_backward_args {
    std::int64_t batch = 0;
    std::int64_t channels = 0;
    std::int64_t spatial = 1;
    bool training = true;           ///< which forward this is the backward of
    double eps = 1e-5;              ///< inference only (training uses saved_invstd)
    const T* grad_y = nullptr;      ///< [B, C, S]
    const T* x = nullptr;           ///< [B, C, S] forward input
    const T* gamma = nullptr;       ///< [C] optional (null: 1)
    const T* saved_mean = nullptr;  ///< [C] training: from the forward
    const T* saved_invstd = nullptr;///< [C] training: from the forward
    const T* running_mean = nullptr;///< [C] inference: the statistics the forward used
    const T* running_var = nullptr; ///< [C] inference
    T* grad_x = nullptr;            ///< [B, C, S] optional output
    T* grad_gamma = nullptr;        ///< [C] optional output
    T* grad_beta = nullptr;         ///< [C] optional output
    bool accumulate = false;        ///< add into grad_gamma / grad_beta instead of overwriting
};

namespace detail {

inline void check_bn_extents(std::int64_t batch, std::int64_t channels, std::int64_t spatial, double eps) {
    require_positive(batch, "batch");
    require_positive(channels, "channels");
    require_positive(spatial, "spatial");
    checked_mul(batch, channels, spatial, "spatial");
    require(std::isfinite(eps) && eps > 0.0, "eps", "must be finite and > 0");
}

template <class T>
void check(const batch_norm_forward_args<T>& a) {
    check_bn_extents(a.batch, a.channels, a.spatial, a.eps);
    require_pointer(a.x, "x");
    require_pointer(a.y, "y");
    require((a.gamma == nullptr) == (a.beta == nullptr), "gamma", "give both gamma and beta (affine) or neither");
    require((a.running_mean == nullptr) == (a.running_var == nullptr), "running_mean", "give both running_mean and running_var or neither");
    if (a.training) {
        require(a.batch * a.spatial > 1, "batch", "training needs more than 1 value per channel (B * S > 1), as torch does");
        require(std::isfinite(a.momentum) && a.momentum >= 0.0 && a.momentum <= 1.0, "momentum", "must be in [0, 1]");
    } else {
        require_pointer(a.running_mean, "running_mean");
    }
}

template <class T>
void check(const batch_norm_backward_args<T>& a) {
    check_bn_extents(a.batch, a.channels, a.spatial, a.eps);
    require_pointer(a.grad_y, "grad_y");
    require_pointer(a.x, "x");
    require(a.grad_x != nullptr || a.grad_gamma != nullptr || a.grad_beta != nullptr, "grad_x",
            "nothing to compute: give at least one of grad_x, grad_gamma, grad_beta");
    if (a.training) {
        require_pointer(a.saved_mean, "saved_mean");
        require_pointer(a.saved_invstd, "saved_invstd");
    } else {
        require_pointer(a.running_mean, "running_mean");
        require_pointer(a.running_var, "running_var");
    }
}

inline std::int64_t min_channels_per_thread(std::int64_t batch, std::int64_t spatial) {
    const std::int64_t cost = batch * spatial * 3;
    constexpr std::int64_t target = 1 << 15;
    return cost >= target ? 1 : target / cost;
}

}  // namespace detail

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

namespace cpu {

/// Channel statistics are accumulated in double for float (and double) input, so that large
/// B*S do not lose the mean; torch uses a Welford/pairwise scheme, results agree to rounding.
template <class T>
void batch_norm_forward(const synapse::batch_norm_forward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const std::int64_t B = a.batch, C = a.channels, S = a.spatial;
    const std::int64_t n = B * S;
    detail::parallel_blocks(C, exec, min_channels_per_thread(B, S), [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t c = c0; c < c1; ++c) {
            double mean = 0.0, invstd = 0.0;
            if (a.training) {
                double sum = 0.0;
                for (std::int64_t b = 0; b < B; ++b)
                    for (std::int64_t s = 0; s < S; ++s) sum += static_cast<double>(a.x[(b * C + c) * S + s]);
                mean = sum / static_cast<double>(n);
                double sq = 0.0;
                for (std::int64_t b = 0; b < B; ++b)
                    for (std::int64_t s = 0; s < S; ++s) {
                        const double d = static_cast<double>(a.x[(b * C + c) * S + s]) - mean;
                        sq += d * d;
                    }
                const double var_biased = sq / static_cast<double>(n);
                invstd = 1.0 / std::sqrt(var_biased + a.eps);
                if (a.running_mean != nullptr) {
                    const double var_unbiased = sq / static_cast<double>(n - 1);
                    a.running_mean[c] = static_cast<T>((1.0 - a.momentum) * static_cast<double>(a.running_mean[c]) + a.momentum * mean);
                    a.running_var[c] = static_cast<T>((1.0 - a.momentum) * static_cast<double>(a.running_var[c]) + a.momentum * var_unbiased);
                }
                if (a.saved_mean != nullptr) a.saved_mean[c] = static_cast<T>(mean);
                if (a.saved_invstd != nullptr) a.saved_invstd[c] = static_cast<T>(invstd);
            } else {
                mean = static_cast<double>(a.running_mean[c]);
                invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var[c]) + a.eps);
            }
            const double g = a.gamma != nullptr ? static_cast<double>(a.gamma[c]) : 1.0;
            const double shift = a.beta != nullptr ? static_cast<double>(a.beta[c]) : 0.0;
            const double scale = g * invstd;
            for (std::int64_t b = 0; b < B; ++b)
                for (std::int64_t s = 0; s < S; ++s) {
                    const std::int64_t i = (b * C + c) * S + s;
                    a.y[i] = static_cast<T>((static_cast<double>(a.x[i]) - mean) * scale + shift);
                }
        }
    });
}

template <class T>
void batch_norm_backward(const synapse::batch_norm_backward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const std::int64_t B = a.batch, C = a.channels, S = a.spatial;
    const double n = static_cast<double>(B * S);
    detail::parallel_blocks(C, exec, min_channels_per_thread(B, S), [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t c = c0; c < c1; ++c) {
            const double mean = static_cast<double>(a.training ? a.saved_mean[c] : a.running_mean[c]);
            const double invstd = a.training ? static_cast<double>(a.saved_invstd[c])
                                             : 1.0 / std::sqrt(static_cast<double>(a.running_var[c]) + a.eps);
            double sum_g = 0.0, sum_g_xhat = 0.0;
            for (std::int64_t b = 0; b < B; ++b)
                for (std::int64_t s = 0; s < S; ++s) {
                    const std::int64_t i = (b * C + c) * S + s;
                    const double g = static_cast<double>(a.grad_y[i]);
                    sum_g += g;
                    sum_g_xhat += g * (static_cast<double>(a.x[i]) - mean) * invstd;
                }
            if (a.grad_gamma != nullptr) a.grad_gamma[c] = static_cast<T>((a.accumulate ? static_cast<double>(a.grad_gamma[c]) : 0.0) + sum_g_xhat);
            if (a.grad_beta != nullptr) a.grad_beta[c] = static_cast<T>((a.accumulate ? static_cast<double>(a.grad_beta[c]) : 0.0) + sum_g);
            if (a.grad_x == nullptr) continue;
            const double gamma = a.gamma != nullptr ? static_cast<double>(a.gamma[c]) : 1.0;
            const double scale = gamma * invstd;
            for (std::int64_t b = 0; b < B; ++b)
                for (std::int64_t s = 0; s < S; ++s) {
                    const std::int64_t i = (b * C + c) * S + s;
                    const double g = static_cast<double>(a.grad_y[i]);
                    if (a.training) {
                        // The batch statistics depend on x: dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)).
                        const double xhat = (static_cast<double>(a.x[i]) - mean) * invstd;
                        a.grad_x[i] = static_cast<T>(scale * (g - sum_g / n - xhat * sum_g_xhat / n));
                    } else {
                        a.grad_x[i] = static_cast<T>(scale * g);
                    }
                }
        }
    });
}

}  // namespace cpu
}  // namespace snn
