#pragma once
/// \file
/// Batch norm on the CPU (semantics and arguments: snn/synapse/batch_norm_args.hpp), one thread
/// per block of channels.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "snn/cpu/parallel.hpp"
#include "snn/synapse/cpu/common.hpp"
#include "snn/synapse/batch_norm_args.hpp"

namespace snn {
namespace synapse {
namespace detail {

inline std::int64_t min_channels_per_thread(std::int64_t batch, std::int64_t spatial) {
    const std::int64_t cost = batch * spatial * 3;
    constexpr std::int64_t target = 1 << 15;
    return cost >= target ? 1 : target / cost;
}

}  // namespace detail
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
