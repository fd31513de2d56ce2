#pragma once
/// \file
/// lava-dl's SLAYER CUBA LIF neuron in Loihi's integer arithmetic (reference/lava.md §1-§3, §8),
/// forward and surrogate backward, written once for the CPU scalar path, the CPU SIMD path
/// (emu/lava/cuba_simd.hpp) and CUDA (cuda/lava_cuba.cuh).
///
/// State is integer, in units of 1/4096 of a slayer unit (Loihi's 24-bit state units):
///
///     in = trunc(float32(4096 * x[t]))                      x: synaptic input, slayer units
///     u  = rtz(u * (4096 - iDecay), 12) + in                rtz: shift rounding toward zero
///     v  = rtz(v * (4096 - vDecay), 12) + u' + bias         u': u as float32 gives it back
///     spike, then v = 0 where the rule resets
///
/// The three rules (small policy structs below) are where lava-dl, SpikingJelly and the chip
/// differ:
///   * `slayer_rule`     lava-dl's CPU path, the golden reference: the comparisons are float32
///                       ones against `threshold + 0.01/4096`, so `v > vThMant*64` below
///                       vThMant 4096 and `v >= vThMant*64` from 4096 on (§2.4); the reset
///                       has its own float32 test and is off for thresholds <= 0; values cross
///                       float32 tensors (exact below 2^24).
///   * `spikingjelly_rule` SpikingJelly's CubaLIFNode: unquantised threshold (+0.01/4096),
///                       reset exactly where it spikes, both states stored as float32 every
///                       step (§8).
///   * `loihi_rule`      the chip / Lava: strict `v > vThMant*64`, reset on spike, pure
///                       integers (no float32 rounding). Lava's 24-bit wrap of u and saturation
///                       of v are in emu/lava/loihi_lif.hpp.
///
/// Integer state is int64 on every backend, as on lava-dl's CPU path (its CUDA kernel keeps
/// int32 and wraps at 2^31, §3.2). The products u * (4096 - d) need 64 bits anyway once |u|
/// passes 2^19, so int32 state would save registers only, not bandwidth: the kernels are
/// memory bound on the float32 inputs and outputs. int64 keeps CPU == CUDA for every state
/// below 2^51.

#include <cmath>
#include <cstdint>
#include <string>

#include "snn/config.hpp"
#include "snn/core/error.hpp"
#include "snn/core/fixed_point.hpp"
#include "snn/emu/lava/quantize.hpp"

namespace snn {
namespace lava {

/// Everything one CUBA layer's kernel needs, already quantised (build it with
/// slayer_constants / spikingjelly_constants / loihi_constants).
struct cuba_constants {
    std::int32_t i_decay = 0;             ///< iDecay in [0, 4096]
    std::int32_t v_decay = 0;             ///< vDecay in [0, 4096]
    std::int64_t threshold_mantissa = 0;  ///< vThMant (slayer threshold * 64, truncated)
    std::int64_t threshold_state = 0;     ///< vThMant * 64: the integer threshold (loihi_rule)
    float spike_threshold = 0.0f;         ///< float32 threshold V is compared with (slayer, SJ)
    float reset_threshold = 0.0f;         ///< float32 threshold float32(v) is compared with (slayer)
    bool reset_enabled = true;            ///< slayer: threshold * 4096 > 0
    bool graded_spike = false;            ///< spike value = pre-reset voltage (slayer units)
    // Surrogate gradient (slayer's exponential): tau_rho = tau_grad * threshold * 100,
    // scale_rho = scale_grad * 0.1.
    float tau_rho = 1.0f;
    float scale_rho = 0.1f;
};

/// How the decay gradient is formed (only for learnable decays, reference/lava.md §3.1).
enum class decay_gradient {
    lava_dl,  ///< +sum_t g_in[t] * y[t-1] (lava-dl's _li_dynamics_bwd, sign and scale as it is)
    analytic  ///< -sum_t g_in[t] * y[t-1] / 4096 (SpikingJelly's _listep_backward)
};

namespace detail {
inline void set_surrogate(cuba_constants& k, double threshold_quantized, double tau_grad, double scale_grad) {
    require(std::isfinite(tau_grad) && tau_grad > 0.0, "tau_grad", "must be positive and finite");
    require(std::isfinite(scale_grad), "scale_grad", "must be finite");
    // A zero threshold would make tau_rho 0 (slayer divides by it too): fall back to 1/64 so
    // that the surrogate stays finite; documented in the README.
    const double th = threshold_quantized != 0.0 ? std::fabs(threshold_quantized) : 1.0 / 64.0;
    k.tau_rho = static_cast<float>(tau_grad * th * 100.0);
    k.scale_rho = static_cast<float>(scale_grad * 0.1);
}
}  // namespace detail

/// lava-dl `cuba.Neuron(threshold, current_decay, voltage_decay, ...)` with its default
/// scale 64: decays and threshold quantised as lava-dl does (§2).
inline cuba_constants slayer_constants(double threshold, double current_decay, double voltage_decay, bool graded_spike = false,
                                       double tau_grad = 1.0, double scale_grad = 1.0) {
    cuba_constants k;
    k.i_decay = quantize_decay(current_decay, "current_decay");
    k.v_decay = quantize_decay(voltage_decay, "voltage_decay");
    k.threshold_mantissa = quantize_threshold(threshold);
    k.threshold_state = k.threshold_mantissa * 64;
    const double th_q = static_cast<double>(k.threshold_mantissa) / 64.0;
    const double theta = th_q + threshold_eps;
    k.spike_threshold = static_cast<float>(theta);
    k.reset_threshold = static_cast<float>(theta * 4096.0);
    k.reset_enabled = theta * 4096.0 > 0.0;
    k.graded_spike = graded_spike;
    detail::set_surrogate(k, th_q, tau_grad, scale_grad);
    return k;
}

/// SpikingJelly `lava_exchange.CubaLIFNode(current_decay, voltage_decay, v_threshold)`: the
/// same decays, the threshold unquantised (§8). Its surrogate is SJ's own (Sigmoid by default)
/// and is not emulated: the backward here is slayer's.
inline cuba_constants spikingjelly_constants(double v_threshold, double current_decay, double voltage_decay) {
    cuba_constants k = slayer_constants(v_threshold, current_decay, voltage_decay);
    const double theta = v_threshold + threshold_eps;
    k.spike_threshold = static_cast<float>(theta);
    k.reset_threshold = k.spike_threshold * 4096.0f;  // unused: SJ resets where it spikes
    k.reset_enabled = true;
    return k;
}

/// The chip's view: integers as NetX exports them (iDecay, vDecay, vThMant).
inline cuba_constants loihi_constants(std::int64_t v_th_mant, std::int32_t i_decay, std::int32_t v_decay) {
    require(i_decay >= 0 && i_decay <= 4096, "i_decay", "must be in [0, 4096], got " + std::to_string(i_decay));
    require(v_decay >= 0 && v_decay <= 4096, "v_decay", "must be in [0, 4096], got " + std::to_string(v_decay));
    require(v_th_mant > -(std::int64_t{1} << 40) && v_th_mant < (std::int64_t{1} << 40), "v_th_mant", "out of range");
    cuba_constants k;
    k.i_decay = i_decay;
    k.v_decay = v_decay;
    k.threshold_mantissa = v_th_mant;
    k.threshold_state = v_th_mant * 64;
    k.spike_threshold = static_cast<float>(static_cast<double>(v_th_mant) / 64.0 + threshold_eps);
    k.reset_threshold = static_cast<float>((static_cast<double>(v_th_mant) / 64.0 + threshold_eps) * 4096.0);
    k.reset_enabled = true;
    detail::set_surrogate(k, static_cast<double>(v_th_mant) / 64.0, 1.0, 1.0);
    return k;
}

// ---------------------------------------------------------------------------------------------
// Rules (policy tags)
// ---------------------------------------------------------------------------------------------

/// lava-dl CPU path: float32 comparisons (the §2.4 threshold_eps artefact included), reset by
/// its own float32 test, values crossing float32 tensors.
struct slayer_rule {
    static constexpr bool rounds_through_float32 = true;  // u -> float32 current -> voltage input
    static constexpr bool stores_state_as_float32 = false;
    template <class L>
    SNN_HOST_DEVICE static typename L::mask fires(const cuba_constants& k, const typename L::integer& v) {
        return L::scaled_at_least(v, k.spike_threshold);
    }
    template <class L>
    SNN_HOST_DEVICE static typename L::mask resets(const cuba_constants& k, const typename L::integer& v, const typename L::mask&) {
        return L::mask_and(L::mask_from(k.reset_enabled), L::at_least(v, k.reset_threshold));
    }
};

/// SpikingJelly CubaLIFNode: spike iff V >= float32(v_threshold + 0.01/4096), hard reset on
/// that spike, current and voltage state stored as float32 slayer units every step.
struct spikingjelly_rule {
    static constexpr bool rounds_through_float32 = true;
    static constexpr bool stores_state_as_float32 = true;
    template <class L>
    SNN_HOST_DEVICE static typename L::mask fires(const cuba_constants& k, const typename L::integer& v) {
        return L::scaled_at_least(v, k.spike_threshold);
    }
    template <class L>
    SNN_HOST_DEVICE static typename L::mask resets(const cuba_constants&, const typename L::integer&, const typename L::mask& fired) {
        return fired;
    }
};

/// lava-dl's own CUDA kernel (reference/lava.md §3.2): the spike is slayer's float32 test, but
/// the kernel's reset compares v with the threshold truncated to an integer (vThMant * 64), so
/// an exact threshold hit below vThMant 4096 resets v without a spike. Its int32 state (which
/// wraps at 2^31) is not emulated: the state stays int64.
struct slayer_cuda_rule {
    static constexpr bool rounds_through_float32 = true;
    static constexpr bool stores_state_as_float32 = false;
    template <class L>
    SNN_HOST_DEVICE static typename L::mask fires(const cuba_constants& k, const typename L::integer& v) {
        return L::scaled_at_least(v, k.spike_threshold);
    }
    template <class L>
    SNN_HOST_DEVICE static typename L::mask resets(const cuba_constants& k, const typename L::integer& v, const typename L::mask&) {
        return L::mask_and(L::mask_from(k.reset_enabled), L::greater_equal(v, k.threshold_state));
    }
};

/// Loihi / Lava: strict integer comparison v > vThMant * 64, reset on spike, no float32.
struct loihi_rule {
    static constexpr bool rounds_through_float32 = false;
    static constexpr bool stores_state_as_float32 = false;
    template <class L>
    SNN_HOST_DEVICE static typename L::mask fires(const cuba_constants& k, const typename L::integer& v) {
        return L::greater(v, k.threshold_state);
    }
    template <class L>
    SNN_HOST_DEVICE static typename L::mask resets(const cuba_constants&, const typename L::integer&, const typename L::mask& fired) {
        return fired;
    }
};

enum class cuba_rule_id { slayer, spikingjelly, loihi, slayer_cuda };

// ---------------------------------------------------------------------------------------------
// Lanes: the integer arithmetic on one neuron (int64) or a SIMD register of neurons
// (cuba_simd.hpp: integer-valued doubles, exact in the range it checks).
// ---------------------------------------------------------------------------------------------

/// One neuron, int64, host and device. Overflow wraps (two's complement) instead of being UB;
/// it cannot happen below |state| = 2^51.
struct scalar_lanes {
    using integer = std::int64_t;
    using mask = bool;
    using real = float;

    SNN_HOST_DEVICE static integer input(float x) { return fixed::float_to_int_toward_zero(x * 4096.0f); }
    SNN_HOST_DEVICE static integer decay(integer s, integer factor) {
        const auto product = static_cast<std::int64_t>(static_cast<std::uint64_t>(s) * static_cast<std::uint64_t>(factor));
        return fixed::shift_right_toward_zero(product, 12);
    }
    SNN_HOST_DEVICE static integer add(integer a, integer b) {
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
    }
    SNN_HOST_DEVICE static integer through_float32(integer a) { return fixed::round_through_float(a); }
    SNN_HOST_DEVICE static float to_slayer(integer a) { return fixed::int_to_float(a) / 4096.0f; }
    SNN_HOST_DEVICE static mask scaled_at_least(integer v, float threshold) { return fixed::int_to_float(v) / 4096.0f >= threshold; }
    SNN_HOST_DEVICE static mask at_least(integer v, float threshold) { return fixed::int_to_float(v) >= threshold; }
    SNN_HOST_DEVICE static mask greater(integer v, std::int64_t threshold) { return v > threshold; }
    SNN_HOST_DEVICE static mask greater_equal(integer v, std::int64_t threshold) { return v >= threshold; }
    SNN_HOST_DEVICE static mask mask_from(bool b) { return b; }
    SNN_HOST_DEVICE static mask mask_and(mask a, mask b) { return a && b; }
    SNN_HOST_DEVICE static integer zero_where(mask m, integer a) { return m ? integer(0) : a; }
    SNN_HOST_DEVICE static float spike_value(mask m, float graded_value, bool graded) {
        return m ? (graded ? graded_value : 1.0f) : 0.0f;
    }
};

/// What one step produces besides the new state.
template <class L>
struct cuba_step_result {
    typename L::integer current;  ///< u after the step
    typename L::integer voltage;  ///< v before the reset (what slayer returns)
    typename L::mask fired;
};

/// One time step of one neuron (or one register of neurons). `in` is the integer input
/// (L::input of the float input), `bias` in state units (added to the voltage input, as
/// lava-dl's mean-only batch norm does), factors are 4096 - decay.
template <class Rule, class L>
SNN_HOST_DEVICE cuba_step_result<L> cuba_step(const cuba_constants& k, const typename L::integer& in,
                                              const typename L::integer& i_factor, const typename L::integer& v_factor,
                                              const typename L::integer& bias, typename L::integer& u, typename L::integer& v) {
    u = L::add(L::decay(u, i_factor), in);
    if constexpr (Rule::stores_state_as_float32) u = L::through_float32(u);
    typename L::integer voltage_input = u;
    if constexpr (Rule::rounds_through_float32) voltage_input = L::through_float32(u);
    v = L::add(L::decay(v, v_factor), L::add(voltage_input, bias));
    if constexpr (Rule::stores_state_as_float32) v = L::through_float32(v);
    cuba_step_result<L> r{u, v, Rule::template fires<L>(k, v)};
    v = L::zero_where(Rule::template resets<L>(k, v, r.fired), v);
    return r;
}

// ---------------------------------------------------------------------------------------------
// Multi-step kernels: arguments and the scalar reference loops
// ---------------------------------------------------------------------------------------------

/// Forward over T steps of N neurons, time-major [T, N]. Pointers are host pointers for the CPU
/// kernels and device pointers for CUDA.
struct cuba_forward_args {
    std::int64_t steps = 0;
    std::int64_t neurons = 0;
    const float* x = nullptr;          ///< [T, N] synaptic input in slayer units (required)
    float* spike = nullptr;            ///< [T, N] 0/1, or the pre-reset voltage if graded (required)
    float* current = nullptr;          ///< [T, N] u / 4096 as float32 (optional)
    float* voltage = nullptr;          ///< [T, N] pre-reset v / 4096 as float32 (optional; backward needs it)
    std::int64_t* u_state = nullptr;   ///< [N] integer current: initial value in, final out (null: start at 0)
    std::int64_t* v_state = nullptr;   ///< [N] integer voltage (post-reset), same convention
    const std::int64_t* bias = nullptr;  ///< [C] bias in state units (bias mantissa << 6), optional
    const std::int32_t* i_decay = nullptr;  ///< [C] per-channel iDecay overriding the constants (optional)
    const std::int32_t* v_decay = nullptr;  ///< [C] per-channel vDecay (optional)
    /// Channels of the per-channel arrays: neuron n uses entry n % channels (channel innermost,
    /// as lava-dl's CPU path broadcasts its [C] decays against the last state dimension).
    std::int64_t channels = 1;
};

/// Backward through time of slayer's CUBA (reference/lava.md §3.1): surrogate on the pre-reset
/// voltage, the reset not differentiated, input quantisation straight-through.
struct cuba_backward_args {
    std::int64_t steps = 0;
    std::int64_t neurons = 0;
    const float* voltage = nullptr;       ///< [T, N] pre-reset voltage from the forward (required)
    const float* current = nullptr;       ///< [T, N] current from the forward (only for grad_i_decay)
    const float* grad_spike = nullptr;    ///< [T, N] dL/dspike (required)
    const float* grad_voltage = nullptr;  ///< [T, N] dL/dvoltage (optional)
    const float* grad_current = nullptr;  ///< [T, N] dL/dcurrent (optional)
    float* grad_x = nullptr;              ///< [T, N] dL/dx (required)
    float* grad_i_decay = nullptr;        ///< [N] per-neuron partial of dL/d(iDecay) (optional; sum them)
    float* grad_v_decay = nullptr;        ///< [N] per-neuron partial of dL/d(vDecay) (optional)
    const std::int32_t* i_decay = nullptr;  ///< [C] as in the forward
    const std::int32_t* v_decay = nullptr;
    std::int64_t channels = 1;
    decay_gradient decay_rule = decay_gradient::lava_dl;
};

namespace detail {

inline void check_channels(const std::int32_t* i_decay, const std::int32_t* v_decay, const std::int64_t* bias, std::int64_t channels,
                           std::int64_t neurons) {
    require(channels >= 1, "channels", "must be >= 1, got " + std::to_string(channels));
    if (i_decay || v_decay || bias)
        require(neurons % channels == 0, "channels",
                std::to_string(neurons) + " neurons are not a whole number of " + std::to_string(channels) + " channels");
}

/// Host-side check of per-channel decays (CPU kernels only: device arrays cannot be read here).
inline void check_decay_values(const std::int32_t* d, std::int64_t channels, const char* name) {
    if (!d) return;
    for (std::int64_t c = 0; c < channels; ++c)
        require(d[c] >= 0 && d[c] <= 4096, name, "entry " + std::to_string(c) + " is " + std::to_string(d[c]) + ", outside [0, 4096]");
}

inline void check_constants(const cuba_constants& k) {
    require(k.i_decay >= 0 && k.i_decay <= 4096, "i_decay", "must be in [0, 4096], got " + std::to_string(k.i_decay));
    require(k.v_decay >= 0 && k.v_decay <= 4096, "v_decay", "must be in [0, 4096], got " + std::to_string(k.v_decay));
    require(k.tau_rho > 0.0f && std::isfinite(k.tau_rho), "tau_rho", "must be positive and finite");
}

}  // namespace detail

/// Argument checks shared by every backend (no memory is read).
inline void check_cuba_forward(const cuba_constants& k, const cuba_forward_args& a) {
    detail::check_constants(k);
    require(a.steps >= 0, "steps", "must be >= 0, got " + std::to_string(a.steps));
    require(a.neurons >= 0, "neurons", "must be >= 0, got " + std::to_string(a.neurons));
    if (a.steps == 0 || a.neurons == 0) return;
    require(a.x != nullptr, "x", "null pointer");
    require(a.spike != nullptr, "spike", "null pointer");
    require((a.u_state == nullptr) == (a.v_state == nullptr), "u_state", "u_state and v_state must be given together");
    detail::check_channels(a.i_decay, a.v_decay, a.bias, a.channels, a.neurons);
}

inline void check_cuba_backward(const cuba_constants& k, const cuba_backward_args& a) {
    detail::check_constants(k);
    require(a.steps >= 0, "steps", "must be >= 0, got " + std::to_string(a.steps));
    require(a.neurons >= 0, "neurons", "must be >= 0, got " + std::to_string(a.neurons));
    if (a.steps == 0 || a.neurons == 0) return;
    require(a.voltage != nullptr, "voltage", "null pointer (the forward's pre-reset voltage)");
    require(a.grad_spike != nullptr, "grad_spike", "null pointer");
    require(a.grad_x != nullptr, "grad_x", "null pointer");
    require(a.grad_i_decay == nullptr || a.current != nullptr, "current", "needed for grad_i_decay");
    detail::check_channels(a.i_decay, a.v_decay, nullptr, a.channels, a.neurons);
}

/// Per-neuron parameters of neuron n (decay factors 4096 - d, bias).
struct cuba_neuron_params {
    std::int64_t i_factor, v_factor, bias;
};

SNN_HOST_DEVICE cuba_neuron_params cuba_params_of(const cuba_constants& k, const std::int32_t* i_decay, const std::int32_t* v_decay,
                                                  const std::int64_t* bias, std::int64_t channels, std::int64_t n) {
    const std::int64_t c = n % channels;
    return {4096 - (i_decay ? i_decay[c] : k.i_decay), 4096 - (v_decay ? v_decay[c] : k.v_decay), bias ? bias[c] : 0};
}

/// The whole time loop of neuron n on the scalar lanes (the reference; CUDA runs it per thread,
/// the SIMD kernel for neurons whose state leaves the range it handles exactly).
template <class Rule>
SNN_HOST_DEVICE void cuba_forward_neuron(const cuba_constants& k, const cuba_forward_args& a, std::int64_t n) {
    using L = scalar_lanes;
    const cuba_neuron_params p = cuba_params_of(k, a.i_decay, a.v_decay, a.bias, a.channels, n);
    std::int64_t u = a.u_state ? a.u_state[n] : 0;
    std::int64_t v = a.v_state ? a.v_state[n] : 0;
    const std::int64_t N = a.neurons;
    std::int64_t idx = n;  // t * N + n
    for (std::int64_t t = 0; t < a.steps; ++t, idx += N) {
        const auto r = cuba_step<Rule, L>(k, L::input(a.x[idx]), p.i_factor, p.v_factor, p.bias, u, v);
        const float voltage = L::to_slayer(r.voltage);
        a.spike[idx] = L::spike_value(r.fired, voltage, k.graded_spike);
        if (a.current) a.current[idx] = L::to_slayer(r.current);
        if (a.voltage) a.voltage[idx] = voltage;
    }
    if (a.u_state) {
        a.u_state[n] = u;
        a.v_state[n] = v;
    }
}

/// Constants of the backward recurrence, from the cuba_constants.
struct cuba_backward_constants {
    float theta, inv_tau, binary_peak, scale_rho;
    bool graded;
};

SNN_HOST_DEVICE cuba_backward_constants backward_constants_of(const cuba_constants& k) {
    return {k.spike_threshold, 1.0f / k.tau_rho, k.scale_rho / (2.0f * k.tau_rho), k.scale_rho, k.graded_spike};
}

/// One reverse-time step of one neuron, float32 like slayer's torch code (within float32
/// rounding of it: the surrogate's exp and slayer's op order are not reproduced bit for bit).
/// g_v, g_i: running gradients of the voltage and current leaky integrators' inputs; returns
/// dL/dx at this step.
SNN_HOST_DEVICE float cuba_backward_step(const cuba_backward_constants& c, float i_keep, float v_keep, float voltage, float grad_spike,
                                         float grad_voltage, float grad_current, float& g_v, float& g_i) {
    const float d = voltage - c.theta;
    const float surrogate = c.graded ? c.scale_rho * std::exp((d < 0.0f ? d : 0.0f) * c.inv_tau)
                                     : c.binary_peak * std::exp(-std::fabs(d) * c.inv_tau);
    g_v = v_keep * g_v + (grad_spike * surrogate + grad_voltage);
    g_i = i_keep * g_i + (g_v + grad_current);
    return g_i;
}

/// Backward of neuron n (CUDA runs it per thread; the CPU kernel below blocks neurons).
SNN_HOST_DEVICE void cuba_backward_neuron(const cuba_constants& k, const cuba_backward_args& a, std::int64_t n) {
    const std::int64_t c = n % a.channels;
    const float i_keep = 1.0f - static_cast<float>(a.i_decay ? a.i_decay[c] : k.i_decay) / 4096.0f;
    const float v_keep = 1.0f - static_cast<float>(a.v_decay ? a.v_decay[c] : k.v_decay) / 4096.0f;
    const cuba_backward_constants bc = backward_constants_of(k);
    const float decay_sign_scale = a.decay_rule == decay_gradient::lava_dl ? 1.0f : -1.0f / 4096.0f;
    const std::int64_t N = a.neurons;
    float g_v = 0.0f, g_i = 0.0f, grad_iD = 0.0f, grad_vD = 0.0f;
    for (std::int64_t t = a.steps - 1; t >= 0; --t) {
        const std::int64_t idx = t * N + n;
        a.grad_x[idx] = cuba_backward_step(bc, i_keep, v_keep, a.voltage[idx], a.grad_spike[idx], a.grad_voltage ? a.grad_voltage[idx] : 0.0f,
                                           a.grad_current ? a.grad_current[idx] : 0.0f, g_v, g_i);
        if (t >= 1) {
            if (a.grad_v_decay) grad_vD += g_v * a.voltage[idx - N];
            if (a.grad_i_decay) grad_iD += g_i * a.current[idx - N];
        }
    }
    if (a.grad_v_decay) a.grad_v_decay[n] = grad_vD * decay_sign_scale;
    if (a.grad_i_decay) a.grad_i_decay[n] = grad_iD * decay_sign_scale;
}

/// Neurons per block of the CPU kernels: the time loop runs inside a block, so each step reads
/// and writes whole cache lines of the [T, N] arrays instead of one element per line.
constexpr std::int64_t cpu_block = 64;

/// CPU scalar forward (the reference kernel): the same cuba_step as every backend, blocks of
/// cpu_block neurons with the time loop inside.
template <class Rule>
void cuba_forward_scalar(const cuba_constants& k, const cuba_forward_args& a) {
    using L = scalar_lanes;
    check_cuba_forward(k, a);
    detail::check_decay_values(a.i_decay, a.channels, "i_decay");
    detail::check_decay_values(a.v_decay, a.channels, "v_decay");
    if (a.steps == 0) return;
    const std::int64_t N = a.neurons;
    cuba_neuron_params p[cpu_block];
    std::int64_t u[cpu_block], v[cpu_block];
    for (std::int64_t n0 = 0; n0 < N; n0 += cpu_block) {
        const std::int64_t nb = N - n0 < cpu_block ? N - n0 : cpu_block;
        for (std::int64_t i = 0; i < nb; ++i) {
            p[i] = cuba_params_of(k, a.i_decay, a.v_decay, a.bias, a.channels, n0 + i);
            u[i] = a.u_state ? a.u_state[n0 + i] : 0;
            v[i] = a.v_state ? a.v_state[n0 + i] : 0;
        }
        for (std::int64_t t = 0; t < a.steps; ++t) {
            const std::int64_t row = t * N + n0;
            for (std::int64_t i = 0; i < nb; ++i) {
                const auto r = cuba_step<Rule, L>(k, L::input(a.x[row + i]), p[i].i_factor, p[i].v_factor, p[i].bias, u[i], v[i]);
                const float voltage = L::to_slayer(r.voltage);
                a.spike[row + i] = L::spike_value(r.fired, voltage, k.graded_spike);
                if (a.current) a.current[row + i] = L::to_slayer(r.current);
                if (a.voltage) a.voltage[row + i] = voltage;
            }
        }
        if (a.u_state) {
            for (std::int64_t i = 0; i < nb; ++i) {
                a.u_state[n0 + i] = u[i];
                a.v_state[n0 + i] = v[i];
            }
        }
    }
}

/// CPU backward, blocked like the forward, through the same cuba_backward_step as CUDA's
/// cuba_backward_neuron.
inline void cuba_backward(const cuba_constants& k, const cuba_backward_args& a) {
    check_cuba_backward(k, a);
    detail::check_decay_values(a.i_decay, a.channels, "i_decay");
    detail::check_decay_values(a.v_decay, a.channels, "v_decay");
    if (a.steps == 0) return;
    const std::int64_t N = a.neurons;
    const cuba_backward_constants bc = backward_constants_of(k);
    const float decay_sign_scale = a.decay_rule == decay_gradient::lava_dl ? 1.0f : -1.0f / 4096.0f;
    float i_keep[cpu_block], v_keep[cpu_block], g_v[cpu_block], g_i[cpu_block], grad_iD[cpu_block], grad_vD[cpu_block];
    for (std::int64_t n0 = 0; n0 < N; n0 += cpu_block) {
        const std::int64_t nb = N - n0 < cpu_block ? N - n0 : cpu_block;
        for (std::int64_t i = 0; i < nb; ++i) {
            const std::int64_t c = (n0 + i) % a.channels;
            i_keep[i] = 1.0f - static_cast<float>(a.i_decay ? a.i_decay[c] : k.i_decay) / 4096.0f;
            v_keep[i] = 1.0f - static_cast<float>(a.v_decay ? a.v_decay[c] : k.v_decay) / 4096.0f;
            g_v[i] = g_i[i] = grad_iD[i] = grad_vD[i] = 0.0f;
        }
        for (std::int64_t t = a.steps - 1; t >= 0; --t) {
            const std::int64_t row = t * N + n0;
            for (std::int64_t i = 0; i < nb; ++i) {
                const std::int64_t idx = row + i;
                a.grad_x[idx] = cuba_backward_step(bc, i_keep[i], v_keep[i], a.voltage[idx], a.grad_spike[idx],
                                                   a.grad_voltage ? a.grad_voltage[idx] : 0.0f, a.grad_current ? a.grad_current[idx] : 0.0f,
                                                   g_v[i], g_i[i]);
                if (t >= 1) {
                    if (a.grad_v_decay) grad_vD[i] += g_v[i] * a.voltage[idx - N];
                    if (a.grad_i_decay) grad_iD[i] += g_i[i] * a.current[idx - N];
                }
            }
        }
        for (std::int64_t i = 0; i < nb; ++i) {
            if (a.grad_v_decay) a.grad_v_decay[n0 + i] = grad_vD[i] * decay_sign_scale;
            if (a.grad_i_decay) a.grad_i_decay[n0 + i] = grad_iD[i] * decay_sign_scale;
        }
    }
}

/// The rule by run-time id (tools, tests).
template <class F>
decltype(auto) with_cuba_rule(cuba_rule_id id, F&& f) {
    switch (id) {
        case cuba_rule_id::slayer: return f(slayer_rule{});
        case cuba_rule_id::spikingjelly: return f(spikingjelly_rule{});
        case cuba_rule_id::loihi: return f(loihi_rule{});
        case cuba_rule_id::slayer_cuda: return f(slayer_cuda_rule{});
    }
    throw invalid_argument("rule", "unknown CUBA rule");
}

/// Initial integer state from slayer's float state (persistent_state): trunc(float32(4096 * s)).
inline std::int64_t state_from_slayer(float s) { return fixed::float_to_int_toward_zero(s * 4096.0f); }

}  // namespace lava
}  // namespace snn
