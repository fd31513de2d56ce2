#pragma once
/// \file
/// All synapse ops on the CPU (forward and backward, time-folded; need Eigen): dense (with the
/// spike-input path), conv2d, pool2d, batch norm, plus the dependency-free flatten and weight
/// transforms.

#include "snn/synapse/cpu/batch_norm.hpp"
#include "snn/synapse/cpu/conv2d.hpp"
#include "snn/synapse/cpu/dense.hpp"
#include "snn/synapse/cpu/pool2d.hpp"
#include "snn/synapse/flatten.hpp"
#include "snn/synapse/weights.hpp"
