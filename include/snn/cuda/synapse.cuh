#pragma once
/// \file
/// All CUDA synapse ops (dense and conv2d via cuBLAS, spike-input dense, pool2d, batch norm), taking the backend-neutral
/// argument structs of snn/synapse/*_args.hpp with device pointers. Conventions:
/// snn/cuda/synapse/common.cuh.

#include "snn/cuda/synapse/batch_norm.cuh"
#include "snn/cuda/synapse/conv2d.cuh"
#include "snn/cuda/synapse/dense.cuh"
#include "snn/cuda/synapse/dense_spike.cuh"
#include "snn/cuda/synapse/pool2d.cuh"
