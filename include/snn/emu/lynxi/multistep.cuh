#pragma once
/// \file
/// Lynxi float16 kernels on CUDA: one thread per neuron runs the whole time loop with the same
/// step code as the CPU (emu/lynxi/step.hpp, V = float). Every operation is a float32 `_rn`
/// intrinsic (never contracted into an FMA) followed by the hardware round-to-nearest-even
/// conversion to binary16 (cvt.rn.f16.f32, i.e. __float2half_rn), which equals the binary16
/// operation (`__hadd_rn`, `__hmul_rn`...) bit for bit because float32 carries more than
/// 2*11 + 2 bits; torch's Python-scalar rules (float32 scalars in products) need the float32
/// form anyway. Results equal the CPU scalar kernels bit for bit.
///
/// API in CUB's manner: all pointers (arrays and per-channel parameters) are device pointers,
/// explicit stream, nothing allocated or synchronised inside, bad arguments thrown as
/// snn::invalid_argument before any launch, CUDA errors returned. Indexing is 64-bit.
/// Capturable in CUDA graphs.

#include <cstdint>

#include <cuda_runtime.h>

#include "snn/emu/lynxi/params.hpp"
#include "snn/emu/lynxi/step.hpp"

namespace snn {
namespace emu {
namespace lynxi {
namespace cuda {

/// Threads per block (one neuron each). The kernels are bound by memory traffic and the
/// binary16 rounding; 256 keeps many blocks per SM at moderate N.
inline constexpr int threads_per_block = 256;

namespace kernel {

template <class Kernel>
__global__ void __launch_bounds__(threads_per_block) columns(const Kernel k, const std::int64_t neurons) {
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n >= neurons) return;
    k.template column<float>(n);
}

}  // namespace kernel

namespace detail {

template <class Kernel>
cudaError_t launch(const Kernel& k, std::int64_t neurons, cudaStream_t stream) {
    if (neurons == 0) return cudaSuccess;
    const std::int64_t blocks = (neurons + threads_per_block - 1) / threads_per_block;
    require(blocks <= 0x7FFFFFFF, "neurons", "too many neurons for one grid");
    kernel::columns<<<static_cast<unsigned>(blocks), threads_per_block, 0, stream>>>(k, neurons);
    return cudaGetLastError();
}

}  // namespace detail

/// BIDL Lif over [T, N] (see bidl_lif_params); p.device selects torch CPU or CUDA scalar rules.
template <class S = binary16>
cudaError_t bidl_lif_forward(const bidl_lif_params& p, const bidl_lif_args<S>& a, cudaStream_t stream) {
    validate(p, a);
    if (p.device == torch_device::cpu) return detail::launch(bidl_lif_kernel<torch_half<torch_device::cpu>, S>{p, a}, a.neurons, stream);
    return detail::launch(bidl_lif_kernel<torch_half<torch_device::cuda>, S>{p, a}, a.neurons, stream);
}

/// BIDL Lif in float32 (the module before `.half()`), for comparison with the emulation.
inline cudaError_t bidl_lif_forward_float32(const bidl_lif_params& p, const bidl_lif_args<float>& a, cudaStream_t stream) {
    validate(p, a);
    return detail::launch(bidl_lif_kernel<arith::native<float>, float>{p, a}, a.neurons, stream);
}

/// BIDL LIFPlus over [T, N], every option of lifplus_options.
template <class S = binary16>
cudaError_t lifplus_forward(const lifplus_params& p, const lifplus_args<S>& a, cudaStream_t stream) {
    validate(p, a);
    if (p.device == torch_device::cpu) return detail::launch(lifplus_kernel<torch_half<torch_device::cpu>, S>{p, a}, a.neurons, stream);
    return detail::launch(lifplus_kernel<torch_half<torch_device::cuda>, S>{p, a}, a.neurons, stream);
}

/// SpikingJelly lynxi_exchange IFNode / LIFNode over [T, N].
template <class S = binary16>
cudaError_t sj_lynxi_forward(const sj_lynxi_params& p, const sj_lynxi_args<S>& a, cudaStream_t stream) {
    validate(p, a);
    const sj_lynxi_constants k = make_constants(p);
    if (p.device == torch_device::cpu) return detail::launch(sj_lynxi_kernel<torch_half<torch_device::cpu>, S>{p, k, a}, a.neurons, stream);
    return detail::launch(sj_lynxi_kernel<torch_half<torch_device::cuda>, S>{p, k, a}, a.neurons, stream);
}

/// Time aggregation of [T, N] into [N] (and the running accumulator [T, N]).
template <class S = binary16>
cudaError_t aggregate(const aggregate_params& p, const aggregate_args<S>& a, cudaStream_t stream) {
    validate(p, a);
    const float divisor = static_cast<float>(divisor_of(p, a.steps));
    if (p.device == torch_device::cpu) return detail::launch(aggregate_kernel<torch_half<torch_device::cpu>, S>{p, divisor, a}, a.neurons, stream);
    return detail::launch(aggregate_kernel<torch_half<torch_device::cuda>, S>{p, divisor, a}, a.neurons, stream);
}

}  // namespace cuda
}  // namespace lynxi
}  // namespace emu
}  // namespace snn
