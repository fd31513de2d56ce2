#pragma once
// snn-golden runners for the Lynxi float16 set (shared/golden/lynxi): BIDL Lif and LIFPlus
// (COBE), SpikingJelly lynxi_exchange IF/LIF, and the time aggregations.

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "snn/io/npy.hpp"

namespace snn_golden {
namespace lynxi {

/// The case kinds these runners handle.
inline const char* const kinds[] = {"bidl_lif",     "bidl_lifplus_cobe", "sj_lynxi_if",   "sj_lynxi_lif",
                                    "bidl_tempadd", "torch_mean_T",      "bidl_sum_div_T"};

/// Runs case `c` of the set in `dir` on the kernels named `isa` ("scalar", an instruction set,
/// or "cuda") and returns its outputs by the manifest's names. Throws snn::invalid_argument
/// (naming the field) on a malformed case or one using a feature the runner cannot reproduce.
std::map<std::string, snn::io::npy_array> run_case(const nlohmann::json& c, const std::filesystem::path& dir,
                                                   const std::string& isa);

}  // namespace lynxi
}  // namespace snn_golden
