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

struct isa_entry {
    const char* name;
    bool (*available)();
    const kernel_table& (*table)();
};

/// Defined by the registry unit that snn_add_lynxi_dispatch generates (best ISA first).
const isa_entry* registered_isas(std::size_t& count);

/// The table for `isa` ("scalar", "sse2", "avx2", "avx512", ...), or the best available SIMD
/// one for "simd" or "". Throws invalid_argument("isa", ...) when it is not compiled in or
/// this CPU cannot run it.
inline const kernel_table& select_isa(std::string_view isa = "simd") {
    std::size_t count = 0;
    const isa_entry* entries = registered_isas(count);
    std::string compiled;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string_view name = entries[i].name;
        compiled += (compiled.empty() ? "" : ", ") + std::string(name);
        const bool wanted = (isa.empty() || isa == "simd") ? name != "scalar" : name == isa;
        if (wanted && entries[i].available()) return entries[i].table();
        if (wanted && name == isa) throw invalid_argument("isa", "this CPU cannot run '" + std::string(isa) + "'");
    }
    throw invalid_argument("isa", "'" + std::string(isa) + "' is not compiled in for the Lynxi kernels (compiled: " + compiled + ")");
}

/// Names of the compiled instruction sets this CPU can run, best first (includes "scalar").
inline std::string available_isas() {
    std::size_t count = 0;
    const isa_entry* entries = registered_isas(count);
    std::string names;
    for (std::size_t i = 0; i < count; ++i)
        if (entries[i].available()) names += (names.empty() ? "" : " ") + std::string(entries[i].name);
    return names;
}

}  // namespace lynxi
}  // namespace emu
}  // namespace snn
