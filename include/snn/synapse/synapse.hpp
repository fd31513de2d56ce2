#pragma once
/// \file
/// All synapse ops (forward and backward, time-folded, CPU; need Eigen): dense (with the
/// spike-input path), conv2d, pool2d, flatten, batch norm and its folding.

#include "snn/synapse/batch_norm.hpp"
#include "snn/synapse/conv2d.hpp"
#include "snn/synapse/dense.hpp"
#include "snn/synapse/flatten.hpp"
#include "snn/synapse/pool2d.hpp"
