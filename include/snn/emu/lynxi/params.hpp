#pragma once
/// \file
/// Lynxi float16 emulation: parameters, options and argument structs of the BIDL `Lif` and
/// `LIFPlus` neurons, SpikingJelly's `lynxi_exchange` IF/LIF neurons and the time aggregations
/// (see README "Lynxi float16 numerics"). Everything here is plain data usable on host and
/// device; the math is in emu/lynxi/step.hpp, the CPU drivers in emu/lynxi/cpu.hpp and the
/// CUDA launchers in emu/lynxi/multistep.cuh.
///
/// Two levels of fidelity (`level`):
/// - `reference` (level 0): what the reference PyTorch modules compute after `.half()` in eager
///   mode, every elementwise op rounded to binary16 in the reference's order (bit-exact against
///   the recorded golden vectors).
/// - `chip_hypothesis` (level 1): INFERRED, UNVERIFIED ON SILICON. The fused reset+decay
///   (`lyn.apu.pfit`) read from BIDL's compile path: one rounding of alpha*v + beta, a reset
///   window floor at -100 and the constant v0*alpha + beta folded once in double.

#include <cmath>
#include <cstdint>
#include <string>

#include "snn/config.hpp"
#include "snn/core/binary16.hpp"
#include "snn/core/error.hpp"

namespace snn {
namespace emu {
namespace lynxi {

/// Whose Python-scalar rules the emulation follows (bidl.md §10): torch on the CPU rounds the
/// scalar of `t + c` / `t - c` to binary16 and divides truly; torch on CUDA keeps float32(c)
/// and divides by multiplying with float32(1/c). Also decides relu(-0) (CPU -0, CUDA +0) and
/// torch.mean's final rounding.
enum class torch_device : std::uint8_t { cpu, cuda };

/// Level 0 (torch eager `.half()`, verified) or level 1 (chip hypothesis, inferred).
enum class level : std::uint8_t { reference, chip_hypothesis };

enum class output_mode : std::uint8_t { spike, analog };

/// Which point of the step the analog output reads: BIDL's `[o1, o2, o3, o4][memb_mode[0]]`.
/// o1 = after integration (+BN), o2 = o1 - theta, o3 = after reset, o4 = after decay.
enum class membrane_point : std::uint8_t { integrated = 0, shifted = 1, reset = 2, decayed = 3 };

/// BIDL's `memb_mode[1]`: None, pt.relu, pt.tanh or pt.sigmoid.
enum class activation : std::uint8_t { identity, relu, tanh, sigmoid };

/// Neurons of a layer and how they map to channels: neuron n (flattened [N, ...] index) belongs
/// to channel (n / inner) % channels. all_share: channels = 1.
struct channel_geometry {
    std::int64_t channels = 1;
    std::int64_t inner = 1;  ///< product of the dimensions after the channel (H*W for NCHW, 1 for [N, C])

    SNN_HOST_DEVICE std::int64_t channel_of(std::int64_t neuron) const { return (neuron / inner) % channels; }
};

/// One soma parameter in binary16 (what `model.half()` makes of BIDL's 0-d or per-channel
/// nn.Parameter): `shared` for all_share, or `per_channel` [channels] (host or device pointer,
/// matching where the kernel runs) for channel_share.
struct soma_param {
    binary16 shared{};
    const binary16* per_channel = nullptr;  // [channels]

    soma_param() = default;
    /// The parameter as `model.half()` leaves it: `value` rounded once to binary16.
    explicit soma_param(double value) : shared(value) {}
    static soma_param from_bits(std::uint16_t bits) {
        soma_param p;
        p.shared = binary16::from_bits(bits);
        return p;
    }
    static soma_param channels(const binary16* values) {
        soma_param p;
        p.per_channel = values;
        return p;
    }
};

/// Batch norm on the membrane in inference form, as torch evaluates it for half tensors:
/// float32 per-channel `scale = weight / sqrt(var + eps)` and `shift = bias - mean * scale`,
/// then binary16(v * scale + shift) computed in float32 (two float32 roundings, no FMA, one
/// binary16 rounding). torch's CPU and CUDA kernels each differ from this in rare last-bit
/// cases (bidl.md §6.3), so BN outputs are not claimed bit-exact. Use fold_batch_norm().
struct membrane_norm {
    const float* scale = nullptr;  // [channels]
    const float* shift = nullptr;  // [channels]

    SNN_HOST_DEVICE bool enabled() const { return scale != nullptr; }
};

/// float32 scale/shift of an inference batch norm from its (float32) parameters, one channel.
inline void fold_batch_norm(float weight, float bias, float running_mean, float running_var, float eps, float& scale,
                            float& shift) {
    require(running_var + eps > 0.0f, "running_var", "var + eps must be positive");
    scale = weight / std::sqrt(running_var + eps);
    shift = bias - running_mean * scale;
}

// ---------------------------------------------------------------------------------------------
// BIDL Lif (layers/lif.py)
// ---------------------------------------------------------------------------------------------

/// Per step: v = x + v; [v = BN(v)] (o1); o2 = v - theta; fire = o2 > 0; v = fire*v0 +
/// (1 - fire)*v (o3); v = alpha*v + beta (o4, the state carried to the next step).
struct bidl_lif_params {
    soma_param alpha{0.3}, beta{0.0}, theta{0.5}, v0{0.0};
    channel_geometry geometry{};
    membrane_norm norm{};
    output_mode mode = output_mode::spike;
    membrane_point analog_point = membrane_point::integrated;  // BIDL default memb_mode (0, relu)
    activation analog_activation = activation::relu;
    torch_device device = torch_device::cpu;
    lynxi::level fidelity = level::reference;
};

/// Arrays are time-major [T, N] (N = every neuron dimension flattened), binary16 unless noted;
/// every pointer but `x` may be null (null input: zero state; null output: not written).
template <class Storage = binary16>
struct bidl_lif_args {
    std::int64_t steps = 0, neurons = 0;
    const Storage* x = nullptr;       // [T, N]
    const Storage* v_init = nullptr;  // [N] membrane before step 0 (null: zeros, as reset())
    Storage* spike = nullptr;         // [T, N] fire (0/1)
    Storage* out = nullptr;           // [T, N] module output (spike or activation of the analog point)
    Storage* v_pre = nullptr;         // [T, N] o1
    Storage* v = nullptr;             // [T, N] o4 (state after the step)
    Storage* v_last = nullptr;        // [N] o4 of the last step
};

// ---------------------------------------------------------------------------------------------
// BIDL LIFPlus (layers/lifplus.py)
// ---------------------------------------------------------------------------------------------

enum class input_accumulation : std::uint8_t { cub = 0, cobe = 1, coba = 2 };
enum class refractoriness : std::uint8_t { none = 0, absolute = 1, relative = 2 };      // -, AR, RR
enum class spike_initiation : std::uint8_t { naive = 0, exponential = 1, quadratic = 2 }; // -, EXI, QDI
enum class trigger_current : std::uint8_t { naive = 0, adaptive = 1, subthreshold = 2 };  // -, ADT, SBT
enum class membrane_decay : std::uint8_t { naive = 0, exponential = 1, linear = 2 };      // -, EXD, LID

/// LIFPlus's `neuron_config = [input_accum, rev_volt, fire_refrac, spike_init, trig_current,
/// memb_decay]`; the shipped models use [1, False, 0, 0, 0, 0] (COBE).
struct lifplus_options {
    input_accumulation input = input_accumulation::cobe;
    bool reversal_voltage = false;
    refractoriness refractory = refractoriness::none;
    spike_initiation initiation = spike_initiation::naive;
    trigger_current trigger = trigger_current::naive;
    membrane_decay decay = membrane_decay::naive;
};

/// Parameters (binary16; the ones an option does not use are ignored). BIDL draws unspecified
/// ones from U[0, 1) at construction: load them from the checkpoint, never re-derive them.
struct lifplus_params {
    lifplus_options options{};
    soma_param epsilon{0.5}, v_g{0.0}, tau_recip{0.5}, v0{0.0};
    soma_param epsilon_r{0.5}, v_rr{0.0}, v_ar{0.0}, q_r{0.0};  // RR
    soma_param epsilon_w{0.5}, b{0.0};                           // RR, ADT, SBT
    soma_param theta{0.5};                                       // all but QDI
    soma_param v_theta{0.5}, delta_t{1.0}, v_c{0.0};             // EXI / QDI
    soma_param a{0.0}, v_w{0.0};                                 // SBT
    soma_param alpha{0.3}, beta{0.0};                            // naive decay
    soma_param v_leak{0.0};                                      // LID
    channel_geometry geometry{};
    membrane_norm norm{};
    output_mode mode = output_mode::spike;
    membrane_point analog_point = membrane_point::integrated;  // LIFPlus default memb_mode (0, tanh)
    activation analog_activation = activation::tanh;
    torch_device device = torch_device::cpu;
    lynxi::level fidelity = level::reference;
};

/// LIFPlus's `cntmax`: refractory steps after a spike (AR).
inline constexpr float lifplus_refractory_steps = 10.0f;

/// Initial states default to what BIDL's reset() sets: g, y, r ones; v, w zeros; cnt zeros
/// (float32, as in the reference even for half models).
template <class Storage = binary16>
struct lifplus_args {
    std::int64_t steps = 0, neurons = 0;
    const Storage* x = nullptr;  // [T, N]
    const Storage *v_init = nullptr, *g_init = nullptr, *y_init = nullptr, *r_init = nullptr, *w_init = nullptr;  // [N]
    const float* cnt_init = nullptr;  // [N]
    Storage* spike = nullptr;         // [T, N]
    Storage* out = nullptr;           // [T, N]
    Storage* v_pre = nullptr;         // [T, N] o1
    Storage* v = nullptr;             // [T, N] o4
    Storage* g = nullptr;             // [T, N] conductance after its update
    Storage *v_last = nullptr, *g_last = nullptr, *y_last = nullptr, *r_last = nullptr, *w_last = nullptr;  // [N]
    float* cnt_last = nullptr;        // [N]
};

// ---------------------------------------------------------------------------------------------
// SpikingJelly lynxi_exchange IFNode / LIFNode
// ---------------------------------------------------------------------------------------------

/// `v_threshold`, `v_reset` (hard) and `tau` are Python floats in the reference: they meet the
/// binary16 tensors through torch's scalar rules (`device`), so they are kept as doubles here.
/// charge: IF `v = x + v`; LIF `v = (1 - 1/tau) * (v - v_reset)` (soft reset: `(1 - 1/tau) * v`),
/// `x = x * (1/tau)` if decay_input, `v = v + x` (no `+ v_reset`, unlike SpikingJelly's own LIF).
/// fire `v >= v_threshold`; hard reset `(1 - s)*v + s*v_reset`; soft `v - s*v_threshold`.
struct sj_lynxi_params {
    bool leaky = false;  // false: IFNode, true: LIFNode
    double tau = 2.0;
    bool decay_input = true;
    double v_threshold = 1.0;
    bool hard_reset = true;
    double v_reset = 0.0;
    torch_device device = torch_device::cpu;
};

template <class Storage = binary16>
struct sj_lynxi_args {
    std::int64_t steps = 0, neurons = 0;
    const Storage* x = nullptr;       // [T, N]: the module's [T*N, ...] input, T-major
    const Storage* v_init = nullptr;  // [N] (null: zeros, as the module starts)
    Storage* spike = nullptr;         // [T, N]
    Storage* v_pre = nullptr;         // [T, N] after charge
    Storage* v = nullptr;             // [T, N] after fire and reset
    Storage* v_last = nullptr;        // [N]
};

// ---------------------------------------------------------------------------------------------
// Time aggregation
// ---------------------------------------------------------------------------------------------

/// - running: BIDL Itout's `acc = 0; acc = acc + y_t / T` (chip tempAdd; one output per step);
/// - sum_div: Python `sum([y_0, ..., y_{T-1}]) / T` (sequential binary16 adds, one division);
/// - torch_mean: `torch.mean(y, dim=0)`: float32-accumulated mean rounded once (CPU: the exact
///   mean rounded once; CUDA: binary16(float32(sum) * float32(1/T))).
enum class aggregation : std::uint8_t { running, sum_div, torch_mean };

struct aggregate_params {
    aggregation kind = aggregation::running;
    double divisor = 0.0;  ///< BIDL's configured timestep T (a Python int); 0: the number of steps
    torch_device device = torch_device::cpu;
};

template <class Storage = binary16>
struct aggregate_args {
    std::int64_t steps = 0, neurons = 0;
    const Storage* y = nullptr;  // [T, N]
    Storage* running = nullptr;  // [T, N] accumulator after each step (running only)
    Storage* result = nullptr;   // [N] the aggregate
};

// ---------------------------------------------------------------------------------------------
// Validation (host side, before anything runs)
// ---------------------------------------------------------------------------------------------

namespace detail {

inline void check_extent(std::int64_t steps, std::int64_t neurons) {
    require(steps >= 0, "steps", "must be >= 0, got " + std::to_string(steps));
    require(neurons >= 0, "neurons", "must be >= 0, got " + std::to_string(neurons));
}

inline void check_geometry(const channel_geometry& g) {
    require(g.channels >= 1, "geometry.channels", "must be >= 1, got " + std::to_string(g.channels));
    require(g.inner >= 1, "geometry.inner", "must be >= 1, got " + std::to_string(g.inner));
}

inline void check_analog(output_mode mode, membrane_point point, activation act) {
    require(mode == output_mode::spike || mode == output_mode::analog, "mode", "must be spike or analog");
    require(static_cast<int>(point) <= 3, "analog_point", "must be 0..3 (BIDL memb_mode[0])");
    require(static_cast<int>(act) <= 3, "analog_activation", "must be identity, relu, tanh or sigmoid");
}

inline void check_norm(const membrane_norm& n) {
    require((n.scale == nullptr) == (n.shift == nullptr), "norm", "scale and shift must be given together");
}

template <class S>
void check_io(std::int64_t steps, std::int64_t neurons, const S* x, bool has_output) {
    check_extent(steps, neurons);
    require(x != nullptr || steps * neurons == 0, "x", "must not be null");
    require(has_output, "outputs", "no output pointer is set: nothing would be computed");
}

}  // namespace detail

template <class S>
void validate(const bidl_lif_params& p, const bidl_lif_args<S>& a) {
    detail::check_io(a.steps, a.neurons, a.x, a.spike || a.out || a.v_pre || a.v || a.v_last);
    detail::check_geometry(p.geometry);
    detail::check_analog(p.mode, p.analog_point, p.analog_activation);
    detail::check_norm(p.norm);
    require(p.fidelity == level::reference || p.fidelity == level::chip_hypothesis, "fidelity", "unknown level");
}

template <class S>
void validate(const lifplus_params& p, const lifplus_args<S>& a) {
    detail::check_io(a.steps, a.neurons, a.x,
                     a.spike || a.out || a.v_pre || a.v || a.g || a.v_last || a.g_last || a.y_last || a.r_last ||
                         a.w_last || a.cnt_last);
    detail::check_geometry(p.geometry);
    detail::check_analog(p.mode, p.analog_point, p.analog_activation);
    detail::check_norm(p.norm);
    const lifplus_options& o = p.options;
    require(static_cast<int>(o.input) <= 2, "options.input", "must be CUB (0), COBE (1) or COBA (2)");
    require(static_cast<int>(o.refractory) <= 2, "options.refractory", "must be none (0), AR (1) or RR (2)");
    require(static_cast<int>(o.initiation) <= 2, "options.initiation", "must be naive (0), EXI (1) or QDI (2)");
    require(static_cast<int>(o.trigger) <= 2, "options.trigger", "must be naive (0), ADT (1) or SBT (2)");
    require(static_cast<int>(o.decay) <= 2, "options.decay", "must be naive (0), EXD (1) or LID (2)");
    // The reference asserts this: the reversal term multiplies the conductance.
    require(!o.reversal_voltage || o.input != input_accumulation::cub, "options.reversal_voltage",
            "needs conductance input (COBE or COBA), as in BIDL");
    require(p.fidelity == level::reference || p.fidelity == level::chip_hypothesis, "fidelity", "unknown level");
    require(a.g == nullptr || o.input != input_accumulation::cub, "g", "CUB has no conductance to output");
}

template <class S>
void validate(const sj_lynxi_params& p, const sj_lynxi_args<S>& a) {
    detail::check_io(a.steps, a.neurons, a.x, a.spike || a.v_pre || a.v || a.v_last);
    require(!p.leaky || (p.tau == p.tau && p.tau != 0.0), "tau", "must be a non-zero number");
}

template <class S>
void validate(const aggregate_params& p, const aggregate_args<S>& a) {
    detail::check_io(a.steps, a.neurons, a.y, a.running || a.result);
    require(p.kind == aggregation::running || p.kind == aggregation::sum_div || p.kind == aggregation::torch_mean,
            "kind", "unknown aggregation");
    require(a.steps >= 1, "steps", "aggregating over time needs T >= 1");
    require(p.divisor >= 0.0 && p.divisor == p.divisor, "divisor", "must be >= 0 (0: the number of steps)");
    require(p.divisor < 16777216.0, "divisor", "must be below 2^24 (torch uses it as a float32)");
    require(a.steps < 8192 || p.kind != aggregation::torch_mean, "steps",
            "torch_mean is emulated exactly for T < 8192 only");
    require(a.running == nullptr || p.kind == aggregation::running, "running", "only the running form has per-step values");
}

/// The divisor T actually used: the configured timestep, or the number of steps.
inline double divisor_of(const aggregate_params& p, std::int64_t steps) {
    return p.divisor > 0.0 ? p.divisor : static_cast<double>(steps);
}

}  // namespace lynxi
}  // namespace emu
}  // namespace snn
