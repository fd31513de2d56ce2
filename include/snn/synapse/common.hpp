#pragma once
/// \file
/// Shared pieces of the synapse ops' arguments (dense, conv2d, pool2d, batch norm): extent and
/// pointer checks. Every op is time-folded: a `[T, N, ...]` sequence is
/// passed as `batch = T * N` rows of a contiguous `[T*N, ...]` buffer, so one call covers the
/// whole time loop (the synapses are stateless, the time dimension only multiplies the batch).
///
/// The argument structs (`dense_forward_args<T>`, ... in snn/synapse/*_args.hpp) are plain
/// pointers plus extents and carry no backend and no dependency: the CPU functions
/// (snn/synapse/cpu/, `snn::cpu::dense_forward`, ...) need Eigen; a CUDA backend takes the same
/// structs with device pointers.

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

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

}  // namespace detail
}  // namespace synapse
}  // namespace snn
