#pragma once
/// \file
/// Launch configuration of the CUDA multi-step kernels, kept apart from the kernels (CUB's
/// tuning-table manner): specialise `multistep_tuning` for a precision to change it.

#include <cstdint>

namespace snn {
namespace cuda {

/// Threads per block of the one-thread-per-neuron kernels. 256 keeps enough blocks per SM for
/// latency hiding at N = 2^20 on an H100/H200 (132 SMs) while the backward's block reduction
/// (PLIF) stays cheap.
template <class Precision>
struct multistep_tuning {
    static constexpr int forward_threads = 256;
    static constexpr int backward_threads = 256;
    static constexpr int reduce_threads = 256;
};

}  // namespace cuda
}  // namespace snn
