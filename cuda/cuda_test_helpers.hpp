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
/// The three spike outputs of one float32 LIF (tau 2, ATan) forward_inference on the device.
/// `offset` elements of padding before x, spikes and v_last (1 forces the one-lane path).
struct spike_outputs {
    std::vector<float> spike;         // [T, N]
    std::vector<std::uint8_t> bytes;  // [T, N]
    std::vector<std::uint32_t> bits;  // [T, ceil(N/32)]
    std::vector<float> v_last;        // [N]
};
spike_outputs lif_spike_formats(const std::vector<float>& x, std::int64_t steps, std::int64_t neurons, int offset);

/// forward_training + backward of LIF or PLIF (decay_input, hard reset 0, ATan, w = 0.3) with
/// bfloat16 storage on the device; buffers as raw 16-bit (storage) or float (saved) values.
struct bf16_run {
    std::vector<std::uint16_t> spike, v_seq, grad_x;  // [T, N] bfloat16 bits
    std::vector<float> h_seq;                         // [T, N]
    double grad_w = 0;
};
bf16_run bf16_forward_backward(bool plif, const std::vector<std::uint16_t>& x, const std::vector<std::uint16_t>& grad_spike, std::int64_t steps,
                               std::int64_t neurons);

/// "" if backward in recompute mode (v_checkpoints) gives the same grad_x and grad_v_init bits
/// as backward from the saved h_seq, and grad_w within 1e-9 relative, for LIF or PLIF
/// (float32 or float16 storage), with grad_v_seq and grad_v_last given.
std::string recompute_matches_stored(bool plif, bool half, std::int64_t steps, std::int64_t neurons);

/// Calls backward with a too-small workspace (must throw snn::invalid_argument "workspace").
void backward_with_small_workspace();
}  // namespace snn_cuda_test
