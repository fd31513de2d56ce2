#pragma once
/// \file
/// Dense (linear) synapse, torch `nn.Linear` semantics: y = x W^T + b with W `[out, in]`.
/// Time-folded: `rows` = T * N for a `[T, N, in]` sequence. The GEMMs are Eigen's; rows (or
/// output features for dW) are split over threads, each element is computed by one thread, so
/// results do not depend on the thread count.
///
/// Spike input: `cpu::dense_spike_forward` takes binary (`uint8` 0/1) or bit-packed spikes
/// (bit n%32 of word [row, n/32], the layout of `forward_args::spike_bits`) and adds the rows of
/// the transposed weight `[in, out]` of the active inputs. It pays off only at low spike density
/// (see README); backward of a spike-input layer is `dense_backward` with the 0/1 spikes as x.

#include <cstdint>
#include <vector>

#include "snn/cpu/parallel.hpp"
#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {

template <class T>
struct dense_forward_args {
    std::int64_t rows = 0;          ///< M = T * N (time-folded batch)
    std::int64_t in_features = 0;   ///< K
    std::int64_t out_features = 0;  ///< O
    const T* x = nullptr;           ///< [M, K] input
    const T* weight = nullptr;      ///< [O, K]
    const T* bias = nullptr;        ///< [O] optional
    T* y = nullptr;                 ///< [M, O] output
};

template <class T>
struct dense_backward_args {
    std::int64_t rows = 0;
    std::int64_t in_features = 0;
    std::int64_t out_features = 0;
    const T* grad_y = nullptr;   ///< [M, O] dL/dy, required
    const T* x = nullptr;        ///< [M, K] forward input; required when grad_weight is given
    const T* weight = nullptr;   ///< [O, K]; required when grad_x is given
    T* grad_x = nullptr;         ///< [M, K] optional output
    T* grad_weight = nullptr;    ///< [O, K] optional output
    T* grad_bias = nullptr;      ///< [O] optional output
    bool accumulate = false;     ///< add into grad_weight / grad_bias (torch's .grad accumulation) instead of overwriting
};

/// Spike-input forward: exactly one of `spikes` and `spike_bits` is given.
template <class T>
struct dense_spike_forward_args {
    std::int64_t rows = 0;
    std::int64_t in_features = 0;
    std::int64_t out_features = 0;
    const std::uint8_t* spikes = nullptr;       ///< [M, K] 0 / nonzero
    const std::uint32_t* spike_bits = nullptr;  ///< [M, ceil(K/32)] bit k%32 of word [m, k/32]; bits past K are ignored
    const T* weight_t = nullptr;                ///< [K, O] transposed weight (see transpose_weight)
    const T* bias = nullptr;                    ///< [O] optional
    T* y = nullptr;                             ///< [M, O]
};

namespace detail {

inline void check_dense_extents(std::int64_t rows, std::int64_t in, std::int64_t out) {
    require_positive(rows, "rows");
    require_positive(in, "in_features");
    require_positive(out, "out_features");
    checked_mul(rows, in, "in_features");
    checked_mul(rows, out, "out_features");
    checked_mul(in, out, "out_features");
}

template <class T>
void check(const dense_forward_args<T>& a) {
    check_dense_extents(a.rows, a.in_features, a.out_features);
    require_pointer(a.x, "x");
    require_pointer(a.weight, "weight");
    require_pointer(a.y, "y");
}

template <class T>
void check(const dense_backward_args<T>& a) {
    check_dense_extents(a.rows, a.in_features, a.out_features);
    require_pointer(a.grad_y, "grad_y");
    require(a.grad_x != nullptr || a.grad_weight != nullptr || a.grad_bias != nullptr, "grad_x",
            "nothing to compute: give at least one of grad_x, grad_weight, grad_bias");
    if (a.grad_x != nullptr) require(a.weight != nullptr, "weight", "null pointer (grad_x needs the weight)");
    if (a.grad_weight != nullptr) require(a.x != nullptr, "x", "null pointer (grad_weight needs the forward input)");
}

template <class T>
void check(const dense_spike_forward_args<T>& a) {
    check_dense_extents(a.rows, a.in_features, a.out_features);
    require((a.spikes != nullptr) != (a.spike_bits != nullptr), "spikes", "give exactly one of spikes and spike_bits");
    require_pointer(a.weight_t, "weight_t");
    require_pointer(a.y, "y");
}

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

/// W `[out, in]` -> W^T `[in, out]`, the layout the spike-input path reads rows of.
template <class T>
std::vector<T> transpose_weight(const T* weight, std::int64_t out_features, std::int64_t in_features) {
    detail::require_real<T>();
    detail::require_pointer(weight, "weight");
    detail::require_positive(out_features, "out_features");
    detail::require_positive(in_features, "in_features");
    std::vector<T> t(static_cast<std::size_t>(detail::checked_mul(out_features, in_features, "in_features")));
    detail::matrix_map<T>(t.data(), in_features, out_features) = detail::const_matrix_map<T>(weight, out_features, in_features).transpose();
    return t;
}

}  // namespace synapse

namespace cpu {

template <class T>
void dense_forward(const synapse::dense_forward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const std::int64_t K = a.in_features, O = a.out_features;
    const_matrix_map<T> W(a.weight, O, K);
    detail::parallel_blocks(a.rows, exec, min_rows_per_thread(K * O), [&](std::int64_t r0, std::int64_t r1) {
        const_matrix_map<T> X(a.x + r0 * K, r1 - r0, K);
        matrix_map<T> Y(a.y + r0 * O, r1 - r0, O);
        Y.noalias() = X * W.transpose();
        if (a.bias != nullptr) Y.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(a.bias, O);
    });
}

template <class T>
void dense_backward(const synapse::dense_backward_args<T>& a, const execution& exec = {}) {
    using namespace synapse::detail;
    require_real<T>();
    check(a);
    const std::int64_t M = a.rows, K = a.in_features, O = a.out_features;
    if (a.grad_x != nullptr) {
        const_matrix_map<T> W(a.weight, O, K);
        detail::parallel_blocks(M, exec, min_rows_per_thread(K * O), [&](std::int64_t r0, std::int64_t r1) {
            const_matrix_map<T> G(a.grad_y + r0 * O, r1 - r0, O);
            matrix_map<T> GX(a.grad_x + r0 * K, r1 - r0, K);
            GX.noalias() = G * W;
        });
    }
    if (a.grad_weight != nullptr || a.grad_bias != nullptr) {
        // Split over output features: each dW row / db entry is one thread's reduction over M.
        const_matrix_map<T> G(a.grad_y, M, O);
        detail::parallel_blocks(O, exec, min_rows_per_thread(M * K), [&](std::int64_t o0, std::int64_t o1) {
            const auto Gs = G.middleCols(o0, o1 - o0);
            if (a.grad_weight != nullptr) {
                const_matrix_map<T> X(a.x, M, K);
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
