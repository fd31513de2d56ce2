#pragma once
// Scenarios run on the GPU for test_cuda.cpp (implemented in cuda_test_helpers.cu).
#include <cstdint>
#include <string>
#include <vector>

namespace snn_cuda_test {
bool device_present();
/// Forward over T*N elements (meant for T*N >= 2^31); "" if the last neurons match the CPU.
std::string big_index_forward(std::int64_t steps, std::int64_t neurons);
/// PLIF grad_w from `runs` backward calls on the same data.
std::vector<double> plif_grad_w_runs(int runs, std::int64_t steps, std::int64_t neurons);
/// "" if a captured-and-replayed forward+backward equals direct launches bit for bit.
std::string graph_capture_matches_direct(std::int64_t steps, std::int64_t neurons);
/// "" if binary16 <-> float conversions on the device equal the host's (NaN as NaN on widening).
std::string binary16_conversions_match_host();
/// Calls backward with a too-small workspace (must throw snn::invalid_argument "workspace").
void backward_with_small_workspace();
}  // namespace snn_cuda_test
