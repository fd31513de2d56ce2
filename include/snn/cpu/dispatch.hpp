#pragma once
/// \file
/// Run-time selection of CPU kernels. Programs that must run well on any x86-64 (or ARM) CPU
/// compile one translation unit per instruction set with the CMake helper
/// `snn_add_simd_dispatch(<target> ISAS scalar sse2 avx2 avx512 ...)`; each unit instantiates a
/// `kernel_table` of dynamic-policy kernels (every surrogate, reset, fire and division choice
/// at run time; precision and charge as table indices), and `select_isa()` picks the best one
/// the running CPU supports. Header-only users who do not need this call cpu/multistep.hpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "snn/core/error.hpp"
#include "snn/cpu/isa_registry.hpp"
#include "snn/cpu/parallel.hpp"
#include "snn/neuron/params.hpp"

namespace snn {
namespace cpu {

/// Precisions of the dispatch table (see neuron/precision.hpp).
enum class precision_id : std::uint8_t { f64, f32, f16_storage, b16_torch_cpu, b16_torch_cuda };
inline constexpr int precision_id_count = 5;

/// Charges of the dispatch table.
enum class charge_id : std::uint8_t { if_, lif_decay_input, lif, plif_decay_input, plif };
inline constexpr int charge_id_count = 5;

/// Element sizes of (storage, state, saved) buffers for a precision, for callers that allocate.
struct element_sizes {
    std::size_t storage, state, saved;
};
inline element_sizes sizes_of(precision_id p) {
    switch (p) {
        case precision_id::f64: return {8, 8, 8};
        case precision_id::f32: return {4, 4, 4};
        case precision_id::f16_storage: return {2, 4, 4};
        case precision_id::b16_torch_cpu:
        case precision_id::b16_torch_cuda: return {2, 2, 2};
    }
    return {0, 0, 0};
}

/// forward_args / backward_args with untyped pointers (element types given by precision_id).
struct erased_forward_args {
    std::int64_t steps = 0, neurons = 0;
    const void* x = nullptr;
    const void* v_init = nullptr;
    void* spike = nullptr;
    void* v_seq = nullptr;
    void* v_last = nullptr;
    void* h_seq = nullptr;
};
struct erased_backward_args {
    std::int64_t steps = 0, neurons = 0;
    const void* grad_spike = nullptr;
    const void* grad_v_seq = nullptr;
    const void* grad_v_last = nullptr;
    const void* h_seq = nullptr;
    const void* x = nullptr;
    const void* v_seq = nullptr;
    const void* v_init = nullptr;
    void* grad_x = nullptr;
    void* grad_v_init = nullptr;
    double* grad_w = nullptr;
};

using erased_forward_fn = void (*)(const neuron_params&, const erased_forward_args&, const execution&);
using erased_backward_fn = void (*)(const neuron_params&, const erased_backward_args&, const execution&);

struct kernel_entry {
    erased_forward_fn forward_inference = nullptr;
    erased_forward_fn forward_training = nullptr;
    erased_backward_fn backward = nullptr;
};

/// Kernels of one instruction set, indexed by [precision][charge].
struct kernel_table {
    const char* isa = "";
    kernel_entry entries[precision_id_count][charge_id_count];

    const kernel_entry& at(precision_id p, charge_id c) const {
        return entries[static_cast<int>(p)][static_cast<int>(c)];
    }
};

/// One compiled instruction set of the neuron kernels.
using isa_entry = isa_entry_of<kernel_table>;

/// Defined by the registry unit that snn_add_simd_dispatch generates (best ISA first).
const isa_entry* registered_isas(std::size_t& count);

/// The table for `isa` ("scalar", "sse2", "avx2", "avx512", ...), or for the best available
/// SIMD instruction set when `isa` is "simd" or empty. Throws `invalid_argument("isa", ...)` if
/// it was not compiled in or this CPU cannot run it.
inline const kernel_table& select_isa(std::string_view isa = "simd") {
    std::size_t count = 0;
    const isa_entry* entries = registered_isas(count);
    return select_isa_among(entries, count, isa, "");
}

/// Names of the compiled instruction sets this CPU can run, best first (includes "scalar").
inline std::string available_isas() {
    std::size_t count = 0;
    const isa_entry* entries = registered_isas(count);
    return available_isas_among(entries, count);
}

}  // namespace cpu
}  // namespace snn
