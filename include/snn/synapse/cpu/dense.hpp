#pragma once
/// \file
/// Dense synapse on the CPU (semantics and arguments: snn/synapse/dense_args.hpp). The GEMMs are
/// Eigen's; rows (or output features for dW) are split over threads and each element is computed
/// by one thread, so results do not depend on the thread count.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "snn/cpu/parallel.hpp"
#include "snn/synapse/cpu/common.hpp"
#include "snn/synapse/dense_args.hpp"

namespace snn {
namespace synapse {
namespace detail {

/// Index of the lowest set bit of a nonzero word.
inline int lowest_set_bit(std::uint32_t word) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(word);
#else
    int bit = 0;
    while ((word & 1u) == 0) {
        word >>= 1;
        ++bit;
    }
    return bit;
#endif
}

/// Rows per thread below which the work stays on the calling thread.
inline std::int64_t min_rows_per_thread(std::int64_t row_cost) {
    constexpr std::int64_t target = 1 << 16;  // ~64k multiply-adds per thread at least
    return row_cost >= target ? 1 : target / row_cost;
}

}  // namespace detail
}  // namespace synapse

namespace cpu {

template <class T>
void dense_forward(const synapse::dense_forward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const std::int64_t K = a.in_features, O = a.out_features;
    const bool in_out = a.layout == synapse::weight_layout::in_out;
    const_matrix_map<T> W(a.weight, in_out ? K : O, in_out ? O : K);
    detail::parallel_blocks(a.rows, exec, min_rows_per_thread(K * O), [&](std::int64_t r0, std::int64_t r1) {
        const_matrix_map<T> X(a.x + r0 * K, r1 - r0, K);
        matrix_map<T> Y(a.y + r0 * O, r1 - r0, O);
        if (in_out) Y.noalias() = X * W;
        else Y.noalias() = X * W.transpose();
        if (a.bias != nullptr) Y.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(a.bias, O);
    });
}

template <class T>
void dense_backward(const synapse::dense_backward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const std::int64_t M = a.rows, K = a.in_features, O = a.out_features;
    const bool in_out = a.layout == synapse::weight_layout::in_out;
    if (a.grad_x != nullptr) {
        const_matrix_map<T> W(a.weight, in_out ? K : O, in_out ? O : K);
        detail::parallel_blocks(M, exec, min_rows_per_thread(K * O), [&](std::int64_t r0, std::int64_t r1) {
            const_matrix_map<T> G(a.grad_y + r0 * O, r1 - r0, O);
            matrix_map<T> GX(a.grad_x + r0 * K, r1 - r0, K);
            if (in_out) GX.noalias() = G * W.transpose();
            else GX.noalias() = G * W;
        });
    }
    const_matrix_map<T> G(a.grad_y, M, O);
    const_matrix_map<T> X(a.x, M, K);
    if (a.grad_weight != nullptr && in_out) {
        // dW [K, O] = x^T grad_y, split over its rows (input features): one thread per row.
        detail::parallel_blocks(K, exec, min_rows_per_thread(M * O), [&](std::int64_t k0, std::int64_t k1) {
            matrix_map<T> GW(a.grad_weight + k0 * O, k1 - k0, O);
            const auto Xs = X.middleCols(k0, k1 - k0);
            if (a.accumulate) GW.noalias() += Xs.transpose() * G;
            else GW.noalias() = Xs.transpose() * G;
        });
    }
    const bool weight_by_output = a.grad_weight != nullptr && !in_out;
    if (weight_by_output || a.grad_bias != nullptr) {
        // Split over output features: each dW [O, K] row / db entry is one thread's reduction over M.
        detail::parallel_blocks(O, exec, min_rows_per_thread(weight_by_output ? M * K : M), [&](std::int64_t o0, std::int64_t o1) {
            const auto Gs = G.middleCols(o0, o1 - o0);
            if (weight_by_output) {
                matrix_map<T> GW(a.grad_weight + o0 * K, o1 - o0, K);
                if (a.accumulate) GW.noalias() += Gs.transpose() * X;
                else GW.noalias() = Gs.transpose() * X;
            }
            if (a.grad_bias != nullptr) {
                Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>> gb(a.grad_bias + o0, o1 - o0);
                if (a.accumulate) gb += Gs.colwise().sum();
                else gb = Gs.colwise().sum();
            }
        });
    }
}

template <class T>
void dense_spike_forward(const synapse::dense_spike_forward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const std::int64_t K = a.in_features, O = a.out_features;
    const std::int64_t words = (K + 31) / 32;
    using row_vector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
    detail::parallel_blocks(a.rows, exec, min_rows_per_thread(K * O / 8 + 1), [&](std::int64_t r0, std::int64_t r1) {
        for (std::int64_t m = r0; m < r1; ++m) {
            Eigen::Map<row_vector> y(a.y + m * O, O);
            if (a.bias != nullptr) y = Eigen::Map<const row_vector>(a.bias, O);
            else y.setZero();
            auto add_row = [&](std::int64_t k) { y += Eigen::Map<const row_vector>(a.weight_t + k * O, O); };
            if (a.spikes != nullptr) {
                const std::uint8_t* s = a.spikes + m * K;
                for (std::int64_t k = 0; k < K; ++k)
                    if (s[k] != 0) add_row(k);
            } else {
                const std::uint32_t* bits = a.spike_bits + m * words;
                for (std::int64_t w = 0; w < words; ++w) {
                    std::uint32_t word = bits[w];
                    if (w == words - 1 && K % 32 != 0) word &= (std::uint32_t{1} << (K % 32)) - 1u;
                    while (word != 0) {
                        add_row(w * 32 + lowest_set_bit(word));
                        word &= word - 1u;
                    }
                }
            }
        }
    });
}

}  // namespace cpu
}  // namespace snn
