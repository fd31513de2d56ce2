#pragma once
/// \file
/// Shared pieces of the synapse ops (dense, conv2d, pool2d, batch norm): the Eigen requirement,
/// extent checks and row-major Eigen maps. Every op is time-folded: a `[T, N, ...]` sequence is
/// passed as `batch = T * N` rows of a contiguous `[T*N, ...]` buffer, so one call covers the
/// whole time loop (the synapses are stateless, the time dimension only multiplies the batch).
///
/// The argument structs (`dense_forward_args<T>`, ...) are plain pointers plus extents and carry
/// no backend: the CPU functions live in `snn::cpu`, a CUDA backend takes the same structs with
/// device pointers.

#if !defined(SNN_HAS_EIGEN)
#error "snn/synapse/ needs Eigen3: configure snn with SNN_WITH_EIGEN=ON (links Eigen3::Eigen and defines SNN_HAS_EIGEN)"
#endif

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "snn/core/error.hpp"

namespace snn {
namespace synapse {
namespace detail {

template <class T>
constexpr void require_real() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "synapse ops support float and double");
}

/// Requires `value > 0` and returns it; `name` is the argument named by the error.
inline std::int64_t require_positive(std::int64_t value, const char* name) {
    require(value > 0, name, "must be > 0, got " + std::to_string(value));
    return value;
}

/// a * b, throwing when the product overflows a 64-bit index (both > 0).
inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* name) {
    require(a <= std::numeric_limits<std::int64_t>::max() / b, name, "element count overflows a 64-bit index");
    return a * b;
}

inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::int64_t c, const char* name) {
    return checked_mul(checked_mul(a, b, name), c, name);
}

inline void require_pointer(const void* p, const char* name) { require(p != nullptr, name, "null pointer"); }

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using matrix_map = Eigen::Map<row_matrix<T>>;
template <class T>
using const_matrix_map = Eigen::Map<const row_matrix<T>>;

}  // namespace detail
}  // namespace synapse
}  // namespace snn
