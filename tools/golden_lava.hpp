#pragma once
/// \file
/// snn-golden runners for the Lava / Loihi golden set (shared/golden/lava): kinds slayer_cuba,
/// lava_lif_bitacc, lava_dense_lif, netx_chain and sj_cuba. Each computes every output the
/// case lists, with snn's emu/lava kernels on the chosen backend; snn-golden compares them.

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "snn/io/npy.hpp"

namespace snn_golden_lava {

enum class backend { scalar, simd, cuda };

using outputs = std::map<std::string, snn::io::npy_array>;

/// Runs case `c` of the set in `dir`. Throws snn::invalid_argument on malformed cases, and
/// snn::io_error when --backend cuda is asked of a build without CUDA.
outputs run_case(const nlohmann::json& c, const std::filesystem::path& dir, backend b);

}  // namespace snn_golden_lava
