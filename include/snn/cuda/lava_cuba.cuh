#pragma once
/// \file
/// Loihi kernels on CUDA: the slayer / SpikingJelly / Loihi CUBA neuron forward and backward
/// (snn/emu/lava/cuba.hpp) and Lava's bit-accurate LIF (snn/emu/lava/loihi_lif.hpp), one thread
/// per neuron running the whole time loop, from the same per-neuron code as the CPU.
///
/// API in CUB's manner, as snn/cuda/multistep.cuh: explicit stream, no allocation and no
/// synchronisation inside, CUDA errors returned, bad arguments thrown as snn::invalid_argument
/// before anything is launched, 64-bit indexing (T * N may exceed 2^31). All pointers in the
/// args structs are device pointers. Capturable in CUDA graphs.
///
/// Integer state is int64 (as lava-dl's CPU path, the golden reference): results equal the CPU
/// scalar kernels bit for bit for every state below 2^51 — beyond lava-dl's own CUDA kernel,
/// whose int32 state wraps at 2^31 (reference/lava.md §3.2). Per-channel decay arrays live on
/// the device and are not range-checked here (the CPU kernels check them); values outside
/// [0, 4096] give defined but meaningless results.

#include <cstdint>

#include <cuda_runtime.h>

#include "snn/core/error.hpp"
#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/loihi_lif.hpp"

namespace snn {
namespace cuda {

namespace lava_kernel {

template <class Rule>
__global__ void cuba_forward(const snn::lava::cuba_constants k, const snn::lava::cuba_forward_args a) {
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n < a.neurons) snn::lava::cuba_forward_neuron<Rule>(k, a, n);
}

// Templates (with an unused parameter) so that the header can be included by several
// translation units without duplicate kernel definitions.
template <class Unused = void>
__global__ void cuba_backward(const snn::lava::cuba_constants k, const snn::lava::cuba_backward_args a) {
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n < a.neurons) snn::lava::cuba_backward_neuron(k, a, n);
}

template <class Unused = void>
__global__ void loihi_lif(const snn::lava::loihi_lif_params p, const snn::lava::loihi_lif_args a) {
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n < a.neurons) snn::lava::loihi_lif_neuron(p, a, n);
}

}  // namespace lava_kernel

/// Threads per block: the kernels are memory bound, one neuron per thread.
constexpr int lava_threads = 256;

namespace lava_detail {
inline unsigned lava_grid(std::int64_t neurons) {
    const std::int64_t blocks = (neurons + lava_threads - 1) / lava_threads;
    require(blocks <= 0x7FFFFFFF, "neurons", "too many neurons for one grid (more than 2^31 blocks)");
    return static_cast<unsigned>(blocks);
}
}  // namespace lava_detail

/// CUBA forward under `Rule` (slayer_rule, spikingjelly_rule or loihi_rule).
template <class Rule>
cudaError_t lava_cuba_forward(const snn::lava::cuba_constants& k, const snn::lava::cuba_forward_args& a, cudaStream_t stream) {
    snn::lava::check_cuba_forward(k, a);
    if (a.steps == 0 || a.neurons == 0) return cudaSuccess;
    lava_kernel::cuba_forward<Rule><<<lava_detail::lava_grid(a.neurons), lava_threads, 0, stream>>>(k, a);
    return cudaGetLastError();
}

/// CUBA backward through time (needs the forward's pre-reset voltage).
inline cudaError_t lava_cuba_backward(const snn::lava::cuba_constants& k, const snn::lava::cuba_backward_args& a, cudaStream_t stream) {
    snn::lava::check_cuba_backward(k, a);
    if (a.steps == 0 || a.neurons == 0) return cudaSuccess;
    lava_kernel::cuba_backward<><<<lava_detail::lava_grid(a.neurons), lava_threads, 0, stream>>>(k, a);
    return cudaGetLastError();
}

/// Lava bit-accurate LIF. Per-neuron arrays (bias, du, dv) are device arrays and are not
/// range-checked; the shared parameters are.
inline cudaError_t lava_loihi_lif_forward(const snn::lava::loihi_lif_params& p, const snn::lava::loihi_lif_args& a, cudaStream_t stream) {
    require(a.steps >= 0 && a.neurons >= 0, "steps", "steps and neurons must be >= 0");
    snn::lava::check_loihi_lif_value(p.du, p.dv, p.bias_exp, "");
    if (a.steps == 0 || a.neurons == 0) return cudaSuccess;
    require(a.u != nullptr && a.v != nullptr, "u", "u and v state arrays are required");
    lava_kernel::loihi_lif<><<<lava_detail::lava_grid(a.neurons), lava_threads, 0, stream>>>(p, a);
    return cudaGetLastError();
}

}  // namespace cuda
}  // namespace snn
