#pragma once
/// \file
/// Lynxi float16 kernels on the CPU: the step code of emu/lynxi/step.hpp run one neuron at a
/// time (`scalar`, the reference) or one xsimd register of neurons at a time (`simd<Arch>`),
/// threaded across neurons. Both give the same bits: every operation is an IEEE float32
/// operation followed by an exact binary16 rounding, and the transcendental functions (tanh,
/// sigmoid, exp) are evaluated lane by lane in double.
///
/// Entry points take host pointers, check their arguments (snn::invalid_argument) and run to
/// completion on the calling thread plus `exec.threads - 1` workers.

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "snn/cpu/parallel.hpp"
#include "snn/cpu/simd_ops.hpp"
#include "snn/emu/lynxi/params.hpp"
#include "snn/emu/lynxi/step.hpp"

namespace snn {
namespace emu {
namespace lynxi {

template <class Arch>
struct lanes<xsimd::batch<float, Arch>> {
    using batch = xsimd::batch<float, Arch>;
    using mask = xsimd::batch_bool<float, Arch>;
    static constexpr int width = static_cast<int>(batch::size);

    template <class F> SNN_ALWAYS_INLINE static batch generate(std::int64_t n, F&& f) {
        alignas(64) float values[batch::size];
        for (std::size_t i = 0; i < batch::size; ++i) values[i] = f(n + static_cast<std::int64_t>(i));
        return batch::load_aligned(values);
    }
    template <class F> SNN_ALWAYS_INLINE static batch map(const batch& a, F&& f) {
        alignas(64) float values[batch::size];
        a.store_aligned(values);
        for (std::size_t i = 0; i < batch::size; ++i) values[i] = f(values[i]);
        return batch::load_aligned(values);
    }
    template <class F> SNN_ALWAYS_INLINE static batch map3(const batch& a, const batch& b, const batch& c, F&& f) {
        alignas(64) float va[batch::size], vb[batch::size], vc[batch::size];
        a.store_aligned(va);
        b.store_aligned(vb);
        c.store_aligned(vc);
        for (std::size_t i = 0; i < batch::size; ++i) va[i] = f(va[i], vb[i], vc[i]);
        return batch::load_aligned(va);
    }
    SNN_ALWAYS_INLINE static mask both(const mask& a, const mask& b) { return a && b; }
    SNN_ALWAYS_INLINE static mask either(const mask& a, const mask& b) { return a || b; }
};

namespace detail {

/// Neurons per block: each time step streams one contiguous row segment of every array (8 KiB of
/// binary16, 16 KiB of float32: long enough for the hardware prefetcher, as measured for the
/// neuron kernels in cpu/multistep.hpp), with the block's state in a stack buffer. Walking one
/// neuron's whole column instead would touch T rows N elements apart, which for N a power of
/// two all fall into the same cache sets and evict each other.
inline constexpr std::int64_t block_neurons = 4096;

/// Runs the kernel over neurons [begin, end) (at most block_neurons): full registers of V, then
/// the remainder one neuron at a time with the same step code (same bits).
template <class V, class Kernel>
void run_block(const Kernel& kernel, std::int64_t begin, std::int64_t end, std::int64_t steps) {
    constexpr std::int64_t width = lanes<V>::width;
    using wide_state = typename Kernel::template state<V>;
    using narrow_state = typename Kernel::template state<float>;
    constexpr std::int64_t max_registers = block_neurons / width;
    wide_state wide[max_registers]{};
    narrow_state narrow[width > 1 ? width - 1 : 1]{};  // the tail (empty when V is float)
    const std::int64_t registers = (end - begin) / width;
    const std::int64_t tail_begin = begin + registers * width;
    for (std::int64_t r = 0; r < registers; ++r) wide[r] = kernel.template begin<V>(begin + r * width);
    for (std::int64_t n = tail_begin; n < end; ++n) narrow[n - tail_begin] = kernel.template begin<float>(n);
    for (std::int64_t t = 0; t < steps; ++t) {
        for (std::int64_t r = 0; r < registers; ++r) kernel.template step<V>(wide[r], t, begin + r * width);
        for (std::int64_t n = tail_begin; n < end; ++n) kernel.template step<float>(narrow[n - tail_begin], t, n);
    }
    for (std::int64_t r = 0; r < registers; ++r) kernel.template end<V>(wide[r], begin + r * width);
    for (std::int64_t n = tail_begin; n < end; ++n) kernel.template end<float>(narrow[n - tail_begin], n);
}

/// All neurons, blocks spread over the threads.
template <class V, class Kernel>
void run_columns(const Kernel& kernel, std::int64_t neurons, const cpu::execution& exec) {
    const std::int64_t blocks = (neurons + block_neurons - 1) / block_neurons;
    const std::int64_t steps = kernel.a.steps;
    // A block (4096 neurons x T steps of emulated binary16) outweighs a thread start.
    cpu::detail::parallel_blocks(blocks, exec, 1, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t b = first; b < last; ++b)
            run_block<V>(kernel, b * block_neurons, std::min(neurons, (b + 1) * block_neurons), steps);
    });
}

/// `scalar` runs float columns; an xsimd architecture runs its float batches.
struct scalar_arch {};

template <class Arch>
using column_type = std::conditional_t<std::is_same_v<Arch, scalar_arch>, float, xsimd::batch<float, Arch>>;

}  // namespace detail

/// CPU entry points, for `Arch` = detail::scalar_arch or an xsimd architecture the running CPU
/// supports (see emu/lynxi/dispatch.hpp for run-time selection).
template <class Arch = detail::scalar_arch>
void bidl_lif_forward(const bidl_lif_params& p, const bidl_lif_args<binary16>& a, const cpu::execution& exec = {}) {
    validate(p, a);
    using V = detail::column_type<Arch>;
    if (p.device == torch_device::cpu) detail::run_columns<V>(bidl_lif_kernel<torch_half<torch_device::cpu>>{p, a}, a.neurons, exec);
    else detail::run_columns<V>(bidl_lif_kernel<torch_half<torch_device::cuda>>{p, a}, a.neurons, exec);
}

/// BIDL Lif as the float32 module computes it (before `.half()`): IEEE float32 per op, same op
/// order; the baseline the binary16 emulation is compared with (benchmark, accuracy studies).
template <class Arch = detail::scalar_arch>
void bidl_lif_forward_float32(const bidl_lif_params& p, const bidl_lif_args<float>& a, const cpu::execution& exec = {}) {
    validate(p, a);
    detail::run_columns<detail::column_type<Arch>>(bidl_lif_kernel<arith::native<float>, float>{p, a}, a.neurons, exec);
}

template <class Arch = detail::scalar_arch>
void lifplus_forward(const lifplus_params& p, const lifplus_args<binary16>& a, const cpu::execution& exec = {}) {
    validate(p, a);
    using V = detail::column_type<Arch>;
    if (p.device == torch_device::cpu) detail::run_columns<V>(lifplus_kernel<torch_half<torch_device::cpu>>{p, a}, a.neurons, exec);
    else detail::run_columns<V>(lifplus_kernel<torch_half<torch_device::cuda>>{p, a}, a.neurons, exec);
}

template <class Arch = detail::scalar_arch>
void sj_lynxi_forward(const sj_lynxi_params& p, const sj_lynxi_args<binary16>& a, const cpu::execution& exec = {}) {
    validate(p, a);
    using V = detail::column_type<Arch>;
    const sj_lynxi_constants k = make_constants(p);
    if (p.device == torch_device::cpu) detail::run_columns<V>(sj_lynxi_kernel<torch_half<torch_device::cpu>>{p, k, a}, a.neurons, exec);
    else detail::run_columns<V>(sj_lynxi_kernel<torch_half<torch_device::cuda>>{p, k, a}, a.neurons, exec);
}

template <class Arch = detail::scalar_arch>
void aggregate(const aggregate_params& p, const aggregate_args<binary16>& a, const cpu::execution& exec = {}) {
    validate(p, a);
    using V = detail::column_type<Arch>;
    const float divisor = static_cast<float>(divisor_of(p, a.steps));
    if (p.device == torch_device::cpu) detail::run_columns<V>(aggregate_kernel<torch_half<torch_device::cpu>>{p, divisor, a}, a.neurons, exec);
    else detail::run_columns<V>(aggregate_kernel<torch_half<torch_device::cuda>>{p, divisor, a}, a.neurons, exec);
}

}  // namespace lynxi
}  // namespace emu
}  // namespace snn
