#pragma once
/// \file
/// A feed-forward chain of slayer CUBA blocks as NetX describes it (dense, conv, flatten), and
/// its two executions (reference/lava.md §4, §6, §7.3):
///
///   * `run_slayer`: what lava-dl's blocks compute (CPU path, eval, delay_shift=True): synapse,
///     CUBA neuron under slayer_rule, output delayed one step (plus the axonal delay).
///   * `run_lava`:   what Lava runs from the NetX file: Dense weights through
///     optimize_weight_bits and Lava's Dense (DelayDense with axonal delays), Conv wrapped to
///     24 bits, bit-accurate LIF with du = iDecay - 1, dv = vDecay, vth = vThMant,
///     bias_mant = bias, bias_exp = 6.
///
/// They agree spike for spike except where the references disagree (§7.3, §12): vThMant >=
/// 4096 with v landing exactly on the threshold, |u| reaching 2^23, INHIBITORY matrices with
/// -256, and a bias combined with delays (Lava's LIF integrates the bias while its delayed
/// input is still empty).
///
/// io/netx.hpp reads and writes this description as NetX hdf5.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "snn/core/error.hpp"
#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/loihi_lif.hpp"
#include "snn/emu/lava/quantize.hpp"
#include "snn/emu/lava/synapse.hpp"

namespace snn {
namespace lava {

enum class layer_kind { dense, conv, flatten };

/// The CUBA neuron of a block as exported (`neuron/*`): arrays of length 1 (shared) or one per
/// output channel (shared_param=False).
struct cuba_neuron_desc {
    std::vector<std::int32_t> i_decay{0};
    std::vector<std::int32_t> v_decay{0};
    std::int64_t v_th_mant = 0;
    std::int64_t ref_delay = 1;  ///< exported, not modelled (no refractory period)
    bool graded_spike = false;   ///< exported; NetX ignores it (Lava LIF spikes are binary)
};

/// One block of the chain. Shapes are in torch order: dense [out], conv/flatten [C, H, W].
struct layer_desc {
    layer_kind kind = layer_kind::dense;
    std::vector<std::int64_t> in_shape, out_shape;
    std::vector<std::int32_t> weight;  ///< mantissas: dense [out, in], conv [out, in/groups, kH, kW]
    std::vector<std::int32_t> bias;    ///< [out channels] or empty (mean-only batch norm)
    std::vector<std::int32_t> delay;   ///< [out channels] axonal delays or empty
    conv2d_geometry conv;              ///< conv only
    cuba_neuron_desc neuron;           ///< dense and conv only
    bool has_neuron = true;
};

struct network_desc {
    std::vector<std::int64_t> input_shape;  ///< torch order
    std::vector<layer_desc> layers;
};

inline std::int64_t element_count(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (const auto d : shape) n *= d;
    return n;
}

/// Checks shapes and sizes of every layer and that each consumes its predecessor's output.
inline void check_network(const network_desc& net) {
    require(!net.input_shape.empty() && element_count(net.input_shape) > 0, "input_shape", "must be non-empty and positive");
    std::vector<std::int64_t> shape = net.input_shape;
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        const layer_desc& L = net.layers[l];
        const std::string where = "layer " + std::to_string(l);
        require(element_count(L.in_shape) == element_count(shape), where.c_str(),
                "takes " + std::to_string(element_count(L.in_shape)) + " inputs, its predecessor gives " + std::to_string(element_count(shape)));
        const std::int64_t out_channels = L.out_shape.empty() ? 0 : L.out_shape[0];
        if (L.kind == layer_kind::dense) {
            require(L.out_shape.size() == 1 && out_channels > 0, where.c_str(), "dense output shape must be [out]");
            require(static_cast<std::int64_t>(L.weight.size()) == out_channels * element_count(L.in_shape), where.c_str(),
                    "dense weight must be [out, in] = " + std::to_string(out_channels) + " x " + std::to_string(element_count(L.in_shape)));
        } else if (L.kind == layer_kind::conv) {
            L.conv.check();
            require(L.in_shape.size() == 3 && L.out_shape.size() == 3, where.c_str(), "conv shapes must be [C, H, W]");
            require(L.conv.in_channels == L.in_shape[0] && L.conv.in_h == L.in_shape[1] && L.conv.in_w == L.in_shape[2], where.c_str(),
                    "conv geometry does not match its input shape");
            require(L.conv.out_channels == L.out_shape[0] && L.conv.out_h() == L.out_shape[1] && L.conv.out_w() == L.out_shape[2],
                    where.c_str(), "conv geometry does not match its output shape");
            require(static_cast<std::int64_t>(L.weight.size()) == L.conv.weight_count(), where.c_str(), "conv weight size mismatch");
        } else {
            require(element_count(L.out_shape) == element_count(L.in_shape), where.c_str(), "flatten must keep the element count");
        }
        if (L.kind != layer_kind::flatten) {
            require(L.has_neuron, where.c_str(), "dense/conv layers need a CUBA neuron");
            const auto per_channel_ok = [&](std::size_t n) { return n == 1 || static_cast<std::int64_t>(n) == out_channels; };
            require(per_channel_ok(L.neuron.i_decay.size()) && per_channel_ok(L.neuron.v_decay.size()), where.c_str(),
                    "iDecay/vDecay must be scalars or one per output channel");
            for (const auto d : L.neuron.i_decay) require(d >= 0 && d <= 4096, where.c_str(), "iDecay outside [0, 4096]");
            for (const auto d : L.neuron.v_decay) require(d >= 0 && d <= 4096, where.c_str(), "vDecay outside [0, 4096]");
            require(L.bias.empty() || static_cast<std::int64_t>(L.bias.size()) == out_channels, where.c_str(), "bias must have one entry per output channel");
            require(L.delay.empty() || static_cast<std::int64_t>(L.delay.size()) == out_channels, where.c_str(), "delay must have one entry per output channel");
            for (const auto d : L.delay) require(d >= 0 && d <= 62, where.c_str(), "delays must be in [0, 62]");
            require(L.kind == layer_kind::dense || L.delay.empty(), where.c_str(), "axonal delays are only supported on dense layers");
        }
        shape = L.out_shape;
    }
}

namespace detail {

/// Per-neuron expansion of a per-channel array (channel = outermost dim of the output shape).
template <class T>
std::vector<T> per_neuron(const std::vector<T>& per_channel, std::int64_t neurons, std::int64_t channels) {
    std::vector<T> r(static_cast<std::size_t>(neurons));
    const std::int64_t per = neurons / channels;
    for (std::int64_t n = 0; n < neurons; ++n)
        r[static_cast<std::size_t>(n)] = per_channel.size() == 1 ? per_channel[0] : per_channel[static_cast<std::size_t>(n / per)];
    return r;
}

/// The synaptic sum of one block at one step: dense or conv over int spikes.
inline void synapse_sum(const layer_desc& L, const std::int32_t* spikes, bool graded, std::int64_t* acc) {
    if (L.kind == layer_kind::dense)
        dense_accumulate(L.weight.data(), L.out_shape[0], element_count(L.in_shape), spikes, graded, acc);
    else
        conv2d_accumulate(L.conv, L.weight.data(), spikes, graded, acc);
}

}  // namespace detail

/// Runs the neurons of one layer (slayer_rule CUBA / Lava LIF). Empty: the CPU scalar kernels;
/// tools pass the SIMD or CUDA ones (synapses always run on the CPU).
using cuba_layer_runner = std::function<void(const cuba_constants&, const cuba_forward_args&)>;
using lif_layer_runner = std::function<void(const loihi_lif_params&, const loihi_lif_args&)>;

/// Spikes of every layer, time-major [T, layer elements] as int32 (graded slayer spikes are
/// not supported in chains: NetX drops them).
using layer_spikes = std::vector<std::vector<std::int32_t>>;

/// lava-dl blocks (delay_shift=True): returns each layer's block output (flatten layers pass
/// their input through). `s_in` [T, input elements].
inline layer_spikes run_slayer(const network_desc& net, std::int64_t steps, const std::int32_t* s_in,
                               const cuba_layer_runner& run_neurons = {}) {
    check_network(net);
    require(steps >= 0, "steps", "must be >= 0");
    layer_spikes out(net.layers.size());
    std::vector<std::int32_t> input(s_in, s_in + steps * element_count(net.input_shape));
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        const layer_desc& L = net.layers[l];
        const std::int64_t in_n = element_count(L.in_shape), out_n = element_count(L.out_shape);
        if (L.kind == layer_kind::flatten) {
            out[l] = input;
            continue;
        }
        const std::int64_t channels = L.out_shape[0];
        // Synapse: z = sum (w/64) s in float32, exact while |sum w s| < 2^24 / 64; the neuron's
        // input truncation then gives (sum w s) << 6.
        std::vector<float> x(static_cast<std::size_t>(steps * out_n));
        std::vector<std::int64_t> acc(static_cast<std::size_t>(out_n));
        for (std::int64_t t = 0; t < steps; ++t) {
            detail::synapse_sum(L, input.data() + t * in_n, false, acc.data());
            for (std::int64_t o = 0; o < out_n; ++o) x[static_cast<std::size_t>(t * out_n + o)] = static_cast<float>(acc[static_cast<std::size_t>(o)]) / 64.0f;
        }
        cuba_constants k = loihi_constants(L.neuron.v_th_mant, L.neuron.i_decay[0], L.neuron.v_decay[0]);
        // slayer_rule thresholds from the exported mantissa (exactly slayer's _threshold).
        const cuba_constants s = slayer_constants(static_cast<double>(L.neuron.v_th_mant) / 64.0, 0.0, 0.0);
        k.spike_threshold = s.spike_threshold;
        k.reset_threshold = s.reset_threshold;
        k.reset_enabled = s.reset_enabled;
        const auto i_decay = detail::per_neuron(L.neuron.i_decay, out_n, channels);
        const auto v_decay = detail::per_neuron(L.neuron.v_decay, out_n, channels);
        std::vector<std::int64_t> bias;
        if (!L.bias.empty()) {
            std::vector<std::int64_t> b64(L.bias.begin(), L.bias.end());
            for (auto& b : b64) b = fixed::shift_left(b, 6);
            bias = detail::per_neuron(b64, out_n, channels);
        }
        std::vector<float> spike(static_cast<std::size_t>(steps * out_n));
        cuba_forward_args a;
        a.steps = steps;
        a.neurons = out_n;
        a.x = x.data();
        a.spike = spike.data();
        a.i_decay = i_decay.data();
        a.v_decay = v_decay.data();
        a.bias = bias.empty() ? nullptr : bias.data();
        a.channels = out_n;
        if (run_neurons) run_neurons(k, a);
        else cuba_forward_scalar<slayer_rule>(k, a);
        // Block output: one step later (delay_shift), plus the axonal delay of the channel.
        std::vector<std::int32_t> y(static_cast<std::size_t>(steps * out_n), 0);
        const std::int64_t per = out_n / channels;
        for (std::int64_t o = 0; o < out_n; ++o) {
            const std::int64_t lag = 1 + (L.delay.empty() ? 0 : L.delay[static_cast<std::size_t>(o / per)]);
            for (std::int64_t t = lag; t < steps; ++t)
                y[static_cast<std::size_t>(t * out_n + o)] = spike[static_cast<std::size_t>((t - lag) * out_n + o)] != 0.0f ? 1 : 0;
        }
        out[l] = y;
        input = std::move(y);
    }
    return out;
}

/// What NetX gives Lava's Dense for a dense layer (optimize_weight_bits then Dense's own
/// clip/truncate, sign mode re-derived).
inline lava_dense_config netx_dense(const layer_desc& L, optimized_weights* optimized = nullptr) {
    const optimized_weights w = optimize_weight_bits(L.weight.data(), static_cast<std::int64_t>(L.weight.size()));
    if (optimized) *optimized = w;
    return make_lava_dense(w.weights.data(), L.out_shape[0], element_count(L.in_shape), w.num_weight_bits, w.weight_exponent, false);
}

/// Lava from the NetX description: every layer's LIF spikes [T, elements] (flatten layers: empty).
inline layer_spikes run_lava(const network_desc& net, std::int64_t steps, const std::int32_t* s_in,
                             std::vector<optimized_weights>* netx_weights = nullptr, const lif_layer_runner& run_neurons = {}) {
    check_network(net);
    require(steps >= 0, "steps", "must be >= 0");
    layer_spikes out(net.layers.size());
    if (netx_weights) netx_weights->assign(net.layers.size(), optimized_weights{});
    std::vector<std::int32_t> input(s_in, s_in + steps * element_count(net.input_shape));
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        const layer_desc& L = net.layers[l];
        const std::int64_t in_n = element_count(L.in_shape), out_n = element_count(L.out_shape);
        if (L.kind == layer_kind::flatten) continue;  // NetX feeds the next layer in torch C-H-W order
        const std::int64_t channels = L.out_shape[0];
        // a[t]: what the LIF receives at step t (Dense/Conv send the previous step's sum).
        std::vector<std::int32_t> a(static_cast<std::size_t>(steps * out_n), 0);
        std::vector<std::int64_t> acc(static_cast<std::size_t>(out_n));
        if (L.kind == layer_kind::dense) {
            const lava_dense_config d = netx_dense(L, netx_weights ? &(*netx_weights)[l] : nullptr);
            std::vector<std::int32_t> sums(static_cast<std::size_t>(steps * out_n));
            std::vector<std::int64_t> scratch;
            for (std::int64_t t = 0; t < steps; ++t) lava_dense_output(d, input.data() + t * in_n, sums.data() + t * out_n, scratch);
            for (std::int64_t o = 0; o < out_n; ++o) {
                const std::int64_t lag = 1 + (L.delay.empty() ? 0 : L.delay[static_cast<std::size_t>(o)]);
                for (std::int64_t t = lag; t < steps; ++t) a[static_cast<std::size_t>(t * out_n + o)] = sums[static_cast<std::size_t>((t - lag) * out_n + o)];
            }
        } else {
            // Lava Conv: exact integer sum (scipy in float64 is exact here), wrapped to signed
            // 24 bits; weight_exp and num_weight_bits are ignored by its Python model.
            for (std::int64_t t = 1; t < steps; ++t) {
                conv2d_accumulate(L.conv, L.weight.data(), input.data() + (t - 1) * in_n, false, acc.data());
                for (std::int64_t o = 0; o < out_n; ++o)
                    a[static_cast<std::size_t>(t * out_n + o)] = static_cast<std::int32_t>(fixed::wrap_signed_bits(acc[static_cast<std::size_t>(o)], 24));
            }
        }
        loihi_lif_params p;
        p.vth = L.neuron.v_th_mant;
        p.bias_exp = 6;
        const auto i_decay = detail::per_neuron(L.neuron.i_decay, out_n, channels);
        std::vector<std::int32_t> du(i_decay.size());
        for (std::size_t i = 0; i < du.size(); ++i) du[i] = i_decay[i] - 1;
        const auto dv = detail::per_neuron(L.neuron.v_decay, out_n, channels);
        std::vector<std::int32_t> bias_mant;
        if (!L.bias.empty()) bias_mant = detail::per_neuron(L.bias, out_n, channels);
        std::vector<std::int32_t> u(static_cast<std::size_t>(out_n), 0), v(static_cast<std::size_t>(out_n), 0);
        std::vector<std::int8_t> s(static_cast<std::size_t>(steps * out_n));
        loihi_lif_args args;
        args.steps = steps;
        args.neurons = out_n;
        args.a_in = a.data();
        args.u = u.data();
        args.v = v.data();
        args.spike = s.data();
        args.du = du.data();
        args.dv = dv.data();
        args.bias_mant = bias_mant.empty() ? nullptr : bias_mant.data();
        if (run_neurons) run_neurons(p, args);
        else loihi_lif_forward(p, args);
        out[l].assign(s.begin(), s.end());
        input = out[l];
    }
    return out;
}

}  // namespace lava
}  // namespace snn
