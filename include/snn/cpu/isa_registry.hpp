#pragma once
/// \file
/// Run-time choice among kernel tables compiled once per instruction set, shared by the neuron
/// dispatch (cpu/dispatch.hpp) and the Lynxi dispatch (emu/lynxi/dispatch.hpp): each CMake
/// dispatch helper generates a registry of `isa_entry<Table>` (best instruction set first).

#include <cstddef>
#include <string>
#include <string_view>

#include "snn/core/error.hpp"

namespace snn {
namespace cpu {

/// One compiled instruction set: its name, whether this CPU can run it, and its table.
template <class Table>
struct isa_entry_of {
    const char* name;
    bool (*available)();
    const Table& (*table)();
};

/// The table for `isa` ("scalar", "sse2", "avx2", "avx512", ...) among `count` entries, or the
/// best available SIMD one when `isa` is "simd" or empty. Throws `invalid_argument("isa", ...)`
/// when it was not compiled in (`kernels` names them in the message) or this CPU cannot run it.
template <class Table>
const Table& select_isa_among(const isa_entry_of<Table>* entries, std::size_t count, std::string_view isa, const char* kernels) {
    std::string compiled;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string_view name = entries[i].name;
        compiled += (compiled.empty() ? "" : ", ") + std::string(name);
        const bool wanted = (isa.empty() || isa == "simd") ? name != "scalar" : name == isa;
        if (wanted && entries[i].available()) return entries[i].table();
        if (wanted && name == isa) throw invalid_argument("isa", "this CPU cannot run '" + std::string(isa) + "'");
    }
    throw invalid_argument("isa", "'" + std::string(isa) + "' is not compiled in" + kernels + " (compiled: " + compiled + ")");
}

/// Names of the entries this CPU can run, best first (includes "scalar"), space-separated.
template <class Table>
std::string available_isas_among(const isa_entry_of<Table>* entries, std::size_t count) {
    std::string names;
    for (std::size_t i = 0; i < count; ++i)
        if (entries[i].available()) names += (names.empty() ? "" : " ") + std::string(entries[i].name);
    return names;
}

}  // namespace cpu
}  // namespace snn
