#pragma once
/// \file
/// Arguments of the multi-step kernels, shared by every backend (CPU and CUDA): plain pointers
/// to row-major `[T, N]` buffers (time first, trailing dimensions flattened into N) and the
/// `[N]` state buffers; host or device memory as the backend requires.

#include <cstdint>
#include <limits>
#include <string>

#include "snn/core/error.hpp"

namespace snn {

/// Forward arguments. Pointers to `[T, N]` buffers are row-major, time first.
template <class Config>
struct forward_args {
    using storage_type = typename Config::storage_type;
    using state_type = typename Config::state_type;
    using saved_type = typename Config::saved_type;

    std::int64_t steps = 0;                 ///< T
    std::int64_t neurons = 0;               ///< N (product of the non-time dimensions)
    const storage_type* x = nullptr;        ///< [T, N] input current
    const state_type* v_init = nullptr;     ///< [N] membrane before step 0; nullptr: v_reset (hard/none) or 0 (soft)
    storage_type* spike = nullptr;          ///< [T, N] output spikes (0 or 1) in the storage dtype
    std::uint8_t* spike_u8 = nullptr;       ///< [T, N] output spikes as bytes 0/1 (CUDA backend)
    std::uint32_t* spike_bits = nullptr;    ///< [T, ceil(N/32)] bit-packed spikes: bit n%32 of word [t, n/32] (CUDA backend)
    storage_type* v_seq = nullptr;          ///< [T, N] membrane after reset, optional (required for PLIF training)
    state_type* v_last = nullptr;           ///< [N] membrane after the last step, optional
    saved_type* h_seq = nullptr;            ///< [T, N] pre-spike membrane, written by forward_training only
    /// Recompute mode (CUDA backend): [ceil(T/K), N] membrane before steps 0, K, 2K, ... with K
    /// the backend's checkpoint interval (cuda::checkpoint_rows). Written by forward_training
    /// instead of (or besides) h_seq; backward then recomputes H from x.
    state_type* v_checkpoints = nullptr;
};

/// Backward arguments for loss L with dL/dspike = grad_spike and dL/dv_seq = grad_v_seq.
template <class Config>
struct backward_args {
    using storage_type = typename Config::storage_type;
    using state_type = typename Config::state_type;
    using saved_type = typename Config::saved_type;

    std::int64_t steps = 0;
    std::int64_t neurons = 0;
    const storage_type* grad_spike = nullptr;  ///< [T, N] required
    const storage_type* grad_v_seq = nullptr;  ///< [T, N] optional (nullptr: v_seq not used by the loss)
    const state_type* grad_v_last = nullptr;   ///< [N] optional: dL/dv_last from a following chunk
    const saved_type* h_seq = nullptr;         ///< [T, N] from forward_training, required unless v_checkpoints is given
    const state_type* v_checkpoints = nullptr; ///< recompute mode (CUDA): checkpoints from forward_training; needs x
    const storage_type* x = nullptr;           ///< [T, N] PLIF only (the forward input)
    const storage_type* v_seq = nullptr;       ///< [T, N] PLIF only (from forward_training)
    const state_type* v_init = nullptr;        ///< [N] PLIF only; same as given to forward
    storage_type* grad_x = nullptr;            ///< [T, N] output, required
    state_type* grad_v_init = nullptr;         ///< [N] output, optional
    double* grad_w = nullptr;                  ///< PLIF: dL/dw (scalar), optional
};

namespace detail {

inline void check_extents(std::int64_t steps, std::int64_t neurons) {
    require(steps > 0, "steps", "T must be > 0, got " + std::to_string(steps));
    require(neurons > 0, "neurons", "N must be > 0, got " + std::to_string(neurons));
    require(steps <= std::numeric_limits<std::int64_t>::max() / neurons, "neurons", "T * N overflows a 64-bit index");
}

/// What a backend supports beyond the basic buffers: the CPU kernels write spikes in the
/// storage dtype and save h_seq; the CUDA kernels also write byte and bit-packed spikes and
/// have the recompute (checkpoint) mode.
enum class backend_features { basic, extended };

template <class Config>
void check_forward(const forward_args<Config>& a, bool training, backend_features features = backend_features::basic) {
    check_extents(a.steps, a.neurons);
    require(a.x != nullptr, "x", "null pointer");
    if (features == backend_features::basic) {
        require(a.spike != nullptr, "spike", "null pointer");
        require(a.spike_u8 == nullptr, "spike_u8", "this backend writes spikes in the storage dtype only (use spike)");
        require(a.spike_bits == nullptr, "spike_bits", "this backend writes spikes in the storage dtype only (use spike)");
        require(a.v_checkpoints == nullptr, "v_checkpoints", "this backend has no recompute mode (use h_seq)");
    } else {
        require(a.spike != nullptr || a.spike_u8 != nullptr || a.spike_bits != nullptr, "spike",
                "null pointer: give at least one of spike, spike_u8, spike_bits");
    }
    if (training) {
        require(a.h_seq != nullptr || a.v_checkpoints != nullptr, "h_seq",
                "forward_training needs the h_seq buffer backward reads (or v_checkpoints in recompute mode)");
        if constexpr (Config::charge_policy::is_parametric)
            require(a.v_seq != nullptr || a.v_checkpoints != nullptr, "v_seq", "PLIF training needs v_seq (its backward reads it)");
    }
}

template <class Config>
void check_backward(const backward_args<Config>& a, backend_features features = backend_features::basic) {
    check_extents(a.steps, a.neurons);
    require(a.grad_spike != nullptr, "grad_spike", "null pointer");
    require(a.grad_x != nullptr, "grad_x", "null pointer");
    if (features == backend_features::basic) require(a.v_checkpoints == nullptr, "v_checkpoints", "this backend has no recompute mode (use h_seq)");
    if (a.v_checkpoints != nullptr) {
        require(a.x != nullptr, "x", "recompute mode (v_checkpoints) recomputes the membrane from the input x");
        return;
    }
    require(a.h_seq != nullptr, "h_seq", "null pointer (pass the buffer forward_training filled)");
    if constexpr (Config::charge_policy::is_parametric) {
        require(a.v_seq != nullptr, "v_seq", "PLIF backward needs v_seq from forward_training");
        if constexpr (Config::charge_policy::decay_input) require(a.x != nullptr, "x", "PLIF backward needs the input x");
    }
}

}  // namespace detail

}  // namespace snn
