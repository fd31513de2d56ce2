#pragma once
/// \file
/// What the CPU synapse ops share: Eigen (required: the GEMMs are Eigen's) and row-major maps.

#if !defined(SNN_HAS_EIGEN)
#error "snn/synapse/cpu/ needs Eigen3: configure snn with SNN_WITH_EIGEN=ON (links Eigen3::Eigen and defines SNN_HAS_EIGEN)"
#endif

#include <Eigen/Core>

#include "snn/synapse/common.hpp"

namespace snn {
namespace synapse {
namespace detail {

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using matrix_map = Eigen::Map<row_matrix<T>>;
template <class T>
using const_matrix_map = Eigen::Map<const row_matrix<T>>;

}  // namespace detail
}  // namespace synapse
}  // namespace snn
