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
/// `fold_batch_norm` (weights.hpp) folds an inference batch norm into the preceding conv/linear.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace detail
}  // namespace synapse
}  // namespace snn
