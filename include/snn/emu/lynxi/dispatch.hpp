#pragma once
/// \file
/// Run-time instruction-set selection for the Lynxi CPU kernels, like cpu/dispatch.hpp for the
/// neuron kernels: the CMake helper `snn_add_lynxi_dispatch(<target> ISAS ...)`
/// (cmake/snnLynxiDispatch.cmake) compiles emu/lynxi/dispatch_instantiate.ipp once per
/// instruction set and registers the tables; `select_isa()` picks one the CPU runs.

#include <cstddef>
#include <string>
#include <string_view>

#include "snn/core/binary16.hpp"
#include "snn/core/error.hpp"
#include "snn/cpu/isa_registry.hpp"
#include "snn/cpu/parallel.hpp"
#include "snn/emu/lynxi/params.hpp"

namespace snn {
namespace emu {
namespace lynxi {

/// The Lynxi kernels of one instruction set (host pointers; see emu/lynxi/cpu.hpp).
struct kernel_table {
    const char* isa = "";
    void (*bidl_lif)(const bidl_lif_params&, const bidl_lif_args<binary16>&, const cpu::execution&) = nullptr;
    void (*bidl_lif_float32)(const bidl_lif_params&, const bidl_lif_args<float>&, const cpu::execution&) = nullptr;
    void (*lifplus)(const lifplus_params&, const lifplus_args<binary16>&, const cpu::execution&) = nullptr;
    void (*sj_lynxi)(const sj_lynxi_params&, const sj_lynxi_args<binary16>&, const cpu::execution&) = nullptr;
    void (*aggregate)(const aggregate_params&, const aggregate_args<binary16>&, const cpu::execution&) = nullptr;
};

/// One compiled instruction set of the Lynxi kernels.
using isa_entry = cpu::isa_entry_of<kernel_table>;

/// Defined by the registry unit that snn_add_lynxi_dispatch generates (best ISA first).
const isa_entry* registered_isas(std::size_t& count);

/// The table for `isa` ("scalar", "sse2", "avx2", "avx512", ...), or the best available SIMD
/// one for "simd" or "". Throws invalid_argument("isa", ...) when it is not compiled in or
/// this CPU cannot run it.
inline const kernel_table& select_isa(std::string_view isa = "simd") {
    std::size_t count = 0;
    const isa_entry* entries = registered_isas(count);
    return cpu::select_isa_among(entries, count, isa, " for the Lynxi kernels");
}

/// Names of the compiled instruction sets this CPU can run, best first (includes "scalar").
inline std::string available_isas() {
    std::size_t count = 0;
    const isa_entry* entries = registered_isas(count);
    return cpu::available_isas_among(entries, count);
}

}  // namespace lynxi
}  // namespace emu
}  // namespace snn
