// snn-golden runners of the Lava / Loihi golden set; see golden_lava.hpp and
// shared/golden/lava/README.md for what each kind's inputs and outputs mean.

#include "golden_lava.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "snn/core/error.hpp"
#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/cuba_simd.hpp"
#include "snn/emu/lava/loihi_lif.hpp"
#include "snn/emu/lava/loihi_lif_simd.hpp"
#include "snn/emu/lava/network.hpp"
#include "snn/emu/lava/quantize.hpp"
#include "snn/emu/lava/synapse.hpp"
#if SNN_GOLDEN_HAS_CUDA
#include "snn/cuda/lava_staged.hpp"
#endif
#if SNN_GOLDEN_HAS_NETX
#include "snn/io/netx.hpp"
#endif

namespace snn_golden_lava {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using snn::io::dtype;
using snn::io::npy_array;
using shape_t = std::vector<std::int64_t>;
namespace lava = snn::lava;

// ----- JSON and array access (errors name the field) ------------------------------------------

const json& field(const json& object, const std::string& key, const std::string& where) {
    if (!object.is_object()) throw snn::invalid_argument(where, "must be a JSON object");
    const auto it = object.find(key);
    if (it == object.end()) throw snn::invalid_argument(where + "." + key, "missing");
    return *it;
}

double number(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_number()) throw snn::invalid_argument(where + "." + key, "must be a number, got " + v.dump());
    return v.get<double>();
}

std::int64_t integer(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_number_integer()) throw snn::invalid_argument(where + "." + key, "must be an integer, got " + v.dump());
    return v.get<std::int64_t>();
}

bool boolean(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_boolean()) throw snn::invalid_argument(where + "." + key, "must be true or false, got " + v.dump());
    return v.get<bool>();
}

std::string text(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_string()) throw snn::invalid_argument(where + "." + key, "must be a string, got " + v.dump());
    return v.get<std::string>();
}

shape_t int_list(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_array()) throw snn::invalid_argument(where + "." + key, "must be an array, got " + v.dump());
    shape_t r;
    for (const json& d : v) {
        if (!d.is_number_integer()) throw snn::invalid_argument(where + "." + key, "must hold integers, got " + v.dump());
        r.push_back(d.get<std::int64_t>());
    }
    return r;
}

/// A number or a list of numbers, as a list.
std::vector<double> numbers(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    std::vector<double> r;
    if (v.is_number()) return {v.get<double>()};
    if (!v.is_array()) throw snn::invalid_argument(where + "." + key, "must be a number or a list of numbers, got " + v.dump());
    for (const json& d : v) {
        if (!d.is_number()) throw snn::invalid_argument(where + "." + key, "must hold numbers, got " + v.dump());
        r.push_back(d.get<double>());
    }
    return r;
}

std::string message_of(const std::exception& e) {
    const std::string what = e.what();
    return what.rfind("snn: ", 0) == 0 ? what.substr(5) : what;
}

bool has_input(const json& c, const std::string& name) { return c.contains("inputs") && c["inputs"].contains(name); }

npy_array input(const json& c, const fs::path& dir, const std::string& name) {
    const std::string file = text(field(c, "inputs", "case"), name, "inputs");
    try {
        return snn::io::read_npy((dir / file).string());
    } catch (const std::exception& e) {
        throw snn::invalid_argument("inputs." + name, message_of(e));
    }
}

/// Input `name` as T, checked to hold `count` elements (when count >= 0).
template <class T>
std::vector<T> input_as(const json& c, const fs::path& dir, const std::string& name, std::int64_t count = -1) {
    const npy_array a = input(c, dir, name);
    if (count >= 0 && a.size() != count)
        throw snn::invalid_argument("inputs." + name, "has " + std::to_string(a.size()) + " elements, expected " + std::to_string(count));
    return a.to_vector_as<T>();
}

shape_t case_shape(const json& c) {
    const shape_t s = int_list(c, "shape", "case");
    if (s.empty()) throw snn::invalid_argument("shape", "must have a time dimension");
    for (const auto d : s)
        if (d <= 0) throw snn::invalid_argument("shape", "dimensions must be positive");
    return s;
}

std::int64_t product(const shape_t& s, std::size_t from = 0) {
    std::int64_t n = 1;
    for (std::size_t i = from; i < s.size(); ++i) n *= s[i];
    return n;
}

template <class T>
npy_array array_of(const shape_t& shape, const std::vector<T>& values) {
    return npy_array::from(shape, values.data());
}

std::vector<std::int8_t> spikes_int8(const std::vector<float>& s) {
    std::vector<std::int8_t> r(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) r[i] = s[i] != 0.0f ? 1 : 0;
    return r;
}

std::vector<std::int8_t> spikes_int8(const std::vector<std::int32_t>& s) {
    std::vector<std::int8_t> r(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) r[i] = static_cast<std::int8_t>(s[i]);
    return r;
}

/// float32 slayer values times 4096 as int64 (exact: float32 * 2^12 is exact in double).
std::vector<std::int64_t> times_4096(const std::vector<float>& v) {
    std::vector<std::int64_t> r(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) r[i] = static_cast<std::int64_t>(static_cast<double>(v[i]) * 4096.0);
    return r;
}

// ----- kernels by backend -------------------------------------------------------------------

void cuba_forward(backend b, lava::cuba_rule_id rule, const lava::cuba_constants& k, const lava::cuba_forward_args& a) {
    switch (b) {
        case backend::scalar:
            lava::with_cuba_rule(rule, [&](auto r) { lava::cuba_forward_scalar<decltype(r)>(k, a); });
            return;
        case backend::simd:
            lava::with_cuba_rule(rule, [&](auto r) { lava::cuba_forward_simd<decltype(r)>(k, a); });
            return;
        case backend::cuda:
#if SNN_GOLDEN_HAS_CUDA
            snn::cuda::lava_cuba_forward_staged(rule, k, a);
            return;
#else
            throw snn::io_error("--backend cuda: this snn-golden has no CUDA kernels");
#endif
    }
}

void lif_forward(backend b, const lava::loihi_lif_params& p, const lava::loihi_lif_args& a) {
    if (b == backend::cuda) {
#if SNN_GOLDEN_HAS_CUDA
        snn::cuda::lava_loihi_lif_staged(p, a);
        return;
#else
        throw snn::io_error("--backend cuda: this snn-golden has no CUDA kernels");
#endif
    }
    if (b == backend::simd) lava::loihi_lif_forward_simd(p, a);
    else lava::loihi_lif_forward(p, a);
}

/// Forward of one CUBA layer in whole: T steps of N neurons from zero state (or the given one).
struct cuba_run {
    std::vector<float> spike, current, voltage;
};

cuba_run run_cuba(backend b, lava::cuba_rule_id rule, const lava::cuba_constants& k, std::int64_t steps, std::int64_t neurons,
                  const float* x, std::int64_t* u_state = nullptr, std::int64_t* v_state = nullptr,
                  const std::int32_t* i_decay = nullptr, const std::int32_t* v_decay = nullptr, std::int64_t channels = 1) {
    cuba_run r;
    const auto n = static_cast<std::size_t>(steps * neurons);
    r.spike.resize(n);
    r.current.resize(n);
    r.voltage.resize(n);
    lava::cuba_forward_args a;
    a.steps = steps;
    a.neurons = neurons;
    a.x = x;
    a.spike = r.spike.data();
    a.current = r.current.data();
    a.voltage = r.voltage.data();
    a.u_state = u_state;
    a.v_state = v_state;
    a.i_decay = i_decay;
    a.v_decay = v_decay;
    a.channels = channels;
    cuba_forward(b, rule, k, a);
    return r;
}

// ----- slayer_cuba ----------------------------------------------------------------------------

outputs run_slayer_cuba(const json& c, const fs::path& dir, backend b) {
    const json& p = field(c, "params", "case");
    if (integer(p, "scale", "params") != 64) throw snn::invalid_argument("params.scale", "only lava-dl's default scale 64 is supported");
    const shape_t shape = case_shape(c);
    const std::int64_t T = shape[0], N = product(shape, 1);
    const bool graded = boolean(p, "graded_spike", "params");
    const bool persistent = boolean(p, "persistent_state", "params");
    const std::vector<double> cd = numbers(p, "current_decay", "params"), vd = numbers(p, "voltage_decay", "params");
    lava::cuba_constants k = lava::slayer_constants(number(p, "threshold", "params"), cd[0], vd[0], graded);
    // The case states the quantised values too: they check snn's quantisers.
    if (k.threshold_mantissa != integer(p, "vThMant", "params"))
        throw snn::invalid_argument("params.vThMant", "snn quantises the threshold to " + std::to_string(k.threshold_mantissa));
    if (static_cast<double>(k.spike_threshold) != number(p, "spike_threshold_f32", "params") ||
        static_cast<double>(k.reset_threshold) != number(p, "reset_threshold_f32", "params") ||
        k.reset_enabled != boolean(p, "reset_enabled", "params"))
        throw snn::invalid_argument("params.spike_threshold_f32", "snn's float32 thresholds differ from the case's");

    std::vector<std::int32_t> i_decays, v_decays;
    std::int64_t channels = 1;
    if (cd.size() > 1 || vd.size() > 1) {
        channels = shape.back();
        const std::vector<double> id_expected = numbers(p, "iDecay", "params"), vd_expected = numbers(p, "vDecay", "params");
        for (std::size_t i = 0; i < cd.size(); ++i) i_decays.push_back(lava::quantize_decay(cd[i], "current_decay"));
        for (std::size_t i = 0; i < vd.size(); ++i) v_decays.push_back(lava::quantize_decay(vd[i], "voltage_decay"));
        if (static_cast<std::int64_t>(i_decays.size()) != channels || static_cast<std::int64_t>(v_decays.size()) != channels)
            throw snn::invalid_argument("params.current_decay", "per-channel decays need one entry per channel (last dim)");
        for (std::size_t i = 0; i < i_decays.size(); ++i)
            if (i_decays[i] != id_expected.at(i) || v_decays[i] != vd_expected.at(i))
                throw snn::invalid_argument("params.iDecay", "snn quantises the decays differently");
    } else if (k.i_decay != integer(p, "iDecay", "params") || k.v_decay != integer(p, "vDecay", "params")) {
        throw snn::invalid_argument("params.iDecay", "snn quantises the decays to " + std::to_string(k.i_decay) + ", " + std::to_string(k.v_decay));
    }

    const std::vector<float> x = input_as<float>(c, dir, "x", T * N);
    std::vector<std::int64_t> u(static_cast<std::size_t>(N), 0), v(static_cast<std::size_t>(N), 0);
    if (has_input(c, "u0") || has_input(c, "v0")) {
        const auto u0 = input_as<float>(c, dir, "u0", N), v0 = input_as<float>(c, dir, "v0", N);
        for (std::int64_t n = 0; n < N; ++n) {
            u[static_cast<std::size_t>(n)] = lava::state_from_slayer(u0[static_cast<std::size_t>(n)]);
            v[static_cast<std::size_t>(n)] = lava::state_from_slayer(v0[static_cast<std::size_t>(n)]);
        }
    }
    const std::vector<std::int64_t> initial_u = u, initial_v = v;

    std::vector<float> spike(static_cast<std::size_t>(T * N)), current(spike.size()), voltage(spike.size());
    std::int64_t t0 = 0;
    const shape_t calls = int_list(p, "calls", "params");
    for (const auto steps : calls) {
        if (steps <= 0 || t0 + steps > T) throw snn::invalid_argument("params.calls", "steps must be positive and sum to T");
        if (!persistent) u = initial_u, v = initial_v;
        const cuba_run r = run_cuba(b, lava::cuba_rule_id::slayer, k, steps, N, x.data() + t0 * N, u.data(), v.data(),
                                    i_decays.empty() ? nullptr : i_decays.data(), v_decays.empty() ? nullptr : v_decays.data(), channels);
        std::copy(r.spike.begin(), r.spike.end(), spike.begin() + t0 * N);
        std::copy(r.current.begin(), r.current.end(), current.begin() + t0 * N);
        std::copy(r.voltage.begin(), r.voltage.end(), voltage.begin() + t0 * N);
        // lava-dl keeps the state as float32 tensors between calls: current_state = I[-1],
        // voltage_state = V[-1] zeroed where the last step spiked.
        for (std::int64_t n = 0; n < N; ++n) {
            const auto last = static_cast<std::size_t>((steps - 1) * N + n);
            u[static_cast<std::size_t>(n)] = lava::state_from_slayer(r.current[last]);
            v[static_cast<std::size_t>(n)] = r.spike[last] != 0.0f ? 0 : lava::state_from_slayer(r.voltage[last]);
        }
        t0 += steps;
    }
    if (t0 != T) throw snn::invalid_argument("params.calls", "steps sum to " + std::to_string(t0) + ", the case has T = " + std::to_string(T));

    outputs out;
    out.emplace("current", array_of(shape, current));
    out.emplace("voltage", array_of(shape, voltage));
    out.emplace("current_int", array_of(shape, times_4096(current)));
    out.emplace("voltage_int", array_of(shape, times_4096(voltage)));
    if (graded) out.emplace("spike", array_of(shape, spike));
    else out.emplace("spike", array_of(shape, spikes_int8(spike)));
    if (persistent) {
        const shape_t neuron_shape(shape.begin() + 1, shape.end());
        std::vector<float> cs(static_cast<std::size_t>(N)), vs(static_cast<std::size_t>(N));
        for (std::int64_t n = 0; n < N; ++n) {
            const auto last = static_cast<std::size_t>((T - 1) * N + n);
            cs[static_cast<std::size_t>(n)] = current[last];
            vs[static_cast<std::size_t>(n)] = spike[last] != 0.0f ? 0.0f : voltage[last];
        }
        out.emplace("current_state_final", array_of(neuron_shape, cs));
        out.emplace("voltage_state_final", array_of(neuron_shape, vs));
    }
    return out;
}

// ----- lava_lif_bitacc and lava_dense_lif -----------------------------------------------------

/// A parameter that is a number or "per-neuron: inputs/NAME" / "inputs/NAME".
std::vector<std::int32_t> per_neuron_param(const json& c, const fs::path& dir, const json& p, const std::string& key,
                                           std::int64_t N, std::int32_t* shared) {
    const json& v = field(p, key, "params");
    if (v.is_number_integer()) {
        *shared = static_cast<std::int32_t>(v.get<std::int64_t>());
        return {};
    }
    if (!v.is_string()) throw snn::invalid_argument("params." + key, "must be an integer or 'inputs/NAME'");
    std::string ref = v.get<std::string>();
    const auto slash = ref.rfind("inputs/");
    if (slash == std::string::npos) throw snn::invalid_argument("params." + key, "expected 'inputs/NAME', got '" + ref + "'");
    *shared = 0;
    return input_as<std::int32_t>(c, dir, ref.substr(slash + 7), N);
}

struct lif_result {
    std::vector<std::int32_t> u, v;
    std::vector<std::int8_t> s;
};

lif_result run_lif(const json& c, const fs::path& dir, backend b, const json& p, std::int64_t T, std::int64_t N, const std::int32_t* a_in) {
    lava::loihi_lif_params lp;
    lp.du = static_cast<std::int32_t>(integer(p, "du", "params"));
    lp.dv = static_cast<std::int32_t>(integer(p, "dv", "params"));
    lp.vth = integer(p, "vth", "params");
    const auto bias_mant = per_neuron_param(c, dir, p, "bias_mant", N, &lp.bias_mant);
    const auto bias_exp = per_neuron_param(c, dir, p, "bias_exp", N, &lp.bias_exp);
    std::int32_t u_shared = 0, v_shared = 0;
    // Initial state: 0 unless the case gives u0/v0 (lava_dense_lif cases do not).
    std::vector<std::int32_t> u = p.contains("u0") ? per_neuron_param(c, dir, p, "u0", N, &u_shared) : std::vector<std::int32_t>{};
    std::vector<std::int32_t> v = p.contains("v0") ? per_neuron_param(c, dir, p, "v0", N, &v_shared) : std::vector<std::int32_t>{};
    if (u.empty()) u.assign(static_cast<std::size_t>(N), u_shared);
    if (v.empty()) v.assign(static_cast<std::size_t>(N), v_shared);
    lif_result r;
    r.u.resize(static_cast<std::size_t>(T * N));
    r.v.resize(r.u.size());
    r.s.resize(r.u.size());
    lava::loihi_lif_args a;
    a.steps = T;
    a.neurons = N;
    a.a_in = a_in;
    a.u = u.data();
    a.v = v.data();
    a.u_seq = r.u.data();
    a.v_seq = r.v.data();
    a.spike = r.s.data();
    a.bias_mant = bias_mant.empty() ? nullptr : bias_mant.data();
    a.bias_exp = bias_exp.empty() ? nullptr : bias_exp.data();
    lif_forward(b, lp, a);
    return r;
}

outputs run_lava_lif(const json& c, const fs::path& dir, backend b) {
    const json& p = field(c, "params", "case");
    const shape_t shape = case_shape(c);
    const std::int64_t T = shape[0], N = product(shape, 1);
    if (integer(p, "vth_eff", "params") != integer(p, "vth", "params") * 64)
        throw snn::invalid_argument("params.vth_eff", "is not vth << 6");
    const auto a_in = input_as<std::int32_t>(c, dir, "a_in", T * N);
    lif_result r = run_lif(c, dir, b, p, T, N, a_in.data());
    outputs out;
    out.emplace("u", array_of(shape, r.u));
    out.emplace("v", array_of(shape, r.v));
    out.emplace("s", array_of(shape, r.s));
    return out;
}

lava::sign_mode sign_mode_from(const std::string& name) {
    if (name == "MIXED") return lava::sign_mode::mixed;
    if (name == "EXCITATORY") return lava::sign_mode::excitatory;
    if (name == "INHIBITORY") return lava::sign_mode::inhibitory;
    throw snn::invalid_argument("params.sign_mode", "expected auto, MIXED, EXCITATORY or INHIBITORY, got '" + name + "'");
}

outputs run_lava_dense(const json& c, const fs::path& dir, backend b) {
    const json& p = field(c, "params", "case");
    const shape_t shape = case_shape(c);
    const std::int64_t T = shape[0], IN = product(shape, 1);
    const npy_array w = input(c, dir, "weights");
    if (w.shape().size() != 2 || w.shape()[1] != IN) throw snn::invalid_argument("inputs.weights", "must be [out, in] with in = " + std::to_string(IN));
    const std::int64_t OUT = w.shape()[0];
    const auto weights = w.to_vector_as<std::int32_t>();
    const auto s_in = input_as<std::int32_t>(c, dir, "s_in", T * IN);
    const std::string mode_name = text(p, "sign_mode", "params");
    lava::sign_mode mode{};
    const bool explicit_mode = mode_name != "auto";
    if (explicit_mode) mode = sign_mode_from(mode_name);
    const lava::lava_dense_config d =
        lava::make_lava_dense(weights.data(), OUT, IN, static_cast<int>(integer(p, "num_weight_bits", "params")),
                              static_cast<int>(integer(p, "weight_exp", "params")), integer(p, "num_message_bits", "params") > 0,
                              explicit_mode ? &mode : nullptr);
    if (sign_mode_from(text(p, "sign_mode_used", "params")) != d.mode)
        throw snn::invalid_argument("params.sign_mode_used", std::string("snn derives ") + lava::sign_mode_name(d.mode));
    std::vector<std::int32_t> a(static_cast<std::size_t>(T * OUT));
    lava::lava_dense_sequence(d, T, s_in.data(), a.data());
    lif_result r = run_lif(c, dir, b, p, T, OUT, a.data());
    const shape_t out_shape{T, OUT};
    outputs out;
    out.emplace("a", array_of(out_shape, a));
    out.emplace("weights_eff", array_of(shape_t{OUT, IN}, d.weights_effective));
    out.emplace("u", array_of(out_shape, r.u));
    out.emplace("v", array_of(out_shape, r.v));
    out.emplace("s", array_of(out_shape, r.s));
    return out;
}

// ----- netx_chain -----------------------------------------------------------------------------

lava::network_desc network_from_case(const json& c, const fs::path& dir) {
    const json& p = field(c, "params", "case");
    lava::network_desc net;
    net.input_shape = int_list(p, "input_shape_torch", "params");
    const json& layers = field(p, "layers", "params");
    if (!layers.is_array()) throw snn::invalid_argument("params.layers", "must be an array");
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const json& L = layers[l];
        const std::string where = "params.layers[" + std::to_string(l) + "]";
        if (integer(L, "index", where) != static_cast<std::int64_t>(l)) throw snn::invalid_argument(where + ".index", "out of order");
        lava::layer_desc d;
        const std::string type = text(L, "type", where);
        d.in_shape = int_list(L, "in_shape", where);
        d.out_shape = int_list(L, "out_shape", where);
        const std::string suffix = std::to_string(l);
        if (type == "flatten") {
            d.kind = lava::layer_kind::flatten;
            d.has_neuron = false;
            net.layers.push_back(d);
            continue;
        }
        if (type == "dense") d.kind = lava::layer_kind::dense;
        else if (type == "conv") d.kind = lava::layer_kind::conv;
        else throw snn::invalid_argument(where + ".type", "unsupported layer type '" + type + "'");
        const json& n = field(L, "neuron", where);
        d.neuron.v_th_mant = integer(n, "vThMant", where + ".neuron");
        d.neuron.ref_delay = integer(n, "refDelay", where + ".neuron");
        d.neuron.graded_spike = boolean(n, "gradedSpike", where + ".neuron");
        d.neuron.i_decay.clear();
        d.neuron.v_decay.clear();
        for (const double x : numbers(n, "iDecay", where + ".neuron")) d.neuron.i_decay.push_back(static_cast<std::int32_t>(x));
        for (const double x : numbers(n, "vDecay", where + ".neuron")) d.neuron.v_decay.push_back(static_cast<std::int32_t>(x));
        d.weight = input_as<std::int32_t>(c, dir, "w" + suffix);
        if (has_input(c, "bias" + suffix)) d.bias = input_as<std::int32_t>(c, dir, "bias" + suffix);
        if (has_input(c, "delay" + suffix)) d.delay = input_as<std::int32_t>(c, dir, "delay" + suffix);
        if (d.kind == lava::layer_kind::conv) {
            const json& cv = field(L, "conv", where);
            const shape_t k = int_list(cv, "kernelSize", where + ".conv"), s = int_list(cv, "stride", where + ".conv"),
                          pad = int_list(cv, "padding", where + ".conv"), dil = int_list(cv, "dilation", where + ".conv");
            if (k.size() != 2 || s.size() != 2 || pad.size() != 2 || dil.size() != 2 || d.in_shape.size() != 3 || d.out_shape.size() != 3)
                throw snn::invalid_argument(where + ".conv", "needs (H, W) pairs and [C, H, W] shapes");
            d.conv.in_channels = d.in_shape[0];
            d.conv.in_h = d.in_shape[1];
            d.conv.in_w = d.in_shape[2];
            d.conv.out_channels = d.out_shape[0];
            d.conv.groups = integer(cv, "groups", where + ".conv");
            d.conv.kernel_h = k[0], d.conv.kernel_w = k[1];
            d.conv.stride_h = s[0], d.conv.stride_w = s[1];
            d.conv.pad_h = pad[0], d.conv.pad_w = pad[1];
            d.conv.dilation_h = dil[0], d.conv.dilation_w = dil[1];
        }
        net.layers.push_back(std::move(d));
    }
    lava::check_network(net);
    return net;
}

#if SNN_GOLDEN_HAS_NETX
/// The case's net.h5 (written by lava-dl) read by snn's importer must describe the same
/// network as the manifest and the weight arrays.
void check_imported(const json& c, const fs::path& dir, const lava::network_desc& expected) {
    if (!c.contains("aux") || !c["aux"].contains("netx_hdf5")) return;
    const std::string file = text(c["aux"], "netx_hdf5", "aux");
    const lava::network_desc got = snn::io::read_netx((dir / file).string());
    const auto fail = [&](const std::string& what) { throw snn::invalid_argument("aux.netx_hdf5", file + ": imported " + what + " differs from the case"); };
    if (got.layers.size() != expected.layers.size()) fail("layer count");
    for (std::size_t l = 0; l < got.layers.size(); ++l) {
        const auto& g = got.layers[l];
        const auto& e = expected.layers[l];
        const std::string at = "layer " + std::to_string(l) + " ";
        if (g.kind != e.kind) fail(at + "type");
        if (g.out_shape != e.out_shape) fail(at + "shape");
        if (g.kind == lava::layer_kind::flatten) continue;
        if (g.weight != e.weight) fail(at + "weight");
        if (g.bias != e.bias) fail(at + "bias");
        if (g.delay != e.delay) fail(at + "delay");
        if (g.neuron.i_decay != e.neuron.i_decay || g.neuron.v_decay != e.neuron.v_decay || g.neuron.v_th_mant != e.neuron.v_th_mant ||
            g.neuron.ref_delay != e.neuron.ref_delay || g.neuron.graded_spike != e.neuron.graded_spike)
            fail(at + "neuron");
        if (g.kind == lava::layer_kind::conv &&
            (g.conv.kernel_h != e.conv.kernel_h || g.conv.kernel_w != e.conv.kernel_w || g.conv.stride_h != e.conv.stride_h ||
             g.conv.stride_w != e.conv.stride_w || g.conv.pad_h != e.conv.pad_h || g.conv.pad_w != e.conv.pad_w ||
             g.conv.dilation_h != e.conv.dilation_h || g.conv.dilation_w != e.conv.dilation_w || g.conv.groups != e.conv.groups))
            fail(at + "conv geometry");
    }
}
#endif

outputs run_netx_chain(const json& c, const fs::path& dir, backend b) {
    const shape_t shape = case_shape(c);
    const std::int64_t T = shape[0];
    const lava::network_desc net = network_from_case(c, dir);
#if SNN_GOLDEN_HAS_NETX
    check_imported(c, dir, net);
#endif
    if (shape_t(shape.begin() + 1, shape.end()) != net.input_shape) throw snn::invalid_argument("shape", "does not match input_shape_torch");
    const auto s_in = input_as<std::int32_t>(c, dir, "s_in", product(shape));
    // Neurons on the chosen backend, synapses (dense, conv, delays) on the CPU.
    const lava::layer_spikes slayer = lava::run_slayer(net, T, s_in.data(), [b](const lava::cuba_constants& k, const lava::cuba_forward_args& a) {
        cuba_forward(b, lava::cuba_rule_id::slayer, k, a);
    });
    std::vector<lava::optimized_weights> netx;
    const lava::layer_spikes lava_s = lava::run_lava(net, T, s_in.data(), &netx, [b](const lava::loihi_lif_params& p, const lava::loihi_lif_args& a) {
        lif_forward(b, p, a);
    });
    outputs out;
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        const auto& L = net.layers[l];
        if (L.kind == lava::layer_kind::flatten) continue;
        shape_t s{T};
        s.insert(s.end(), L.out_shape.begin(), L.out_shape.end());
        const std::string suffix = std::to_string(l);
        out.emplace("slayer_s" + suffix, array_of(s, spikes_int8(slayer[l])));
        out.emplace("lava_s" + suffix, array_of(s, spikes_int8(lava_s[l])));
        if (L.kind == lava::layer_kind::dense)
            out.emplace("w" + suffix + "_netx", array_of(shape_t{L.out_shape[0], lava::element_count(L.in_shape)}, netx[l].weights));
    }
    return out;
}

// ----- sj_cuba --------------------------------------------------------------------------------

outputs run_sj_neuron(const json& c, const fs::path& dir, backend b) {
    const json& p = field(c, "params", "case");
    const shape_t shape = case_shape(c);
    const std::int64_t T = shape[0], N = product(shape, 1);
    const json& sj = field(p, "sj", "params");
    const json& sl = field(p, "slayer", "params");
    const auto x = input_as<float>(c, dir, "x", T * N);
    const lava::cuba_constants ks = lava::spikingjelly_constants(number(sj, "v_threshold", "params.sj"), number(sj, "current_decay", "params.sj"),
                                                                  number(sj, "voltage_decay", "params.sj"));
    if (static_cast<double>(ks.spike_threshold) != number(sj, "spike_threshold_f32", "params.sj"))
        throw snn::invalid_argument("params.sj.spike_threshold_f32", "snn's float32 threshold differs");
    const lava::cuba_constants kl = lava::slayer_constants(number(sl, "threshold", "params.slayer"), number(sl, "current_decay", "params.slayer"),
                                                            number(sl, "voltage_decay", "params.slayer"));
    const cuba_run rs = run_cuba(b, lava::cuba_rule_id::spikingjelly, ks, T, N, x.data());
    const cuba_run rl = run_cuba(b, lava::cuba_rule_id::slayer, kl, T, N, x.data());
    std::vector<float> sj_voltage = rs.voltage;  // SpikingJelly's v_seq is post-reset
    for (std::size_t i = 0; i < sj_voltage.size(); ++i)
        if (rs.spike[i] != 0.0f) sj_voltage[i] = 0.0f;
    outputs out;
    out.emplace("sj_spike", array_of(shape, spikes_int8(rs.spike)));
    out.emplace("sj_current", array_of(shape, rs.current));
    out.emplace("sj_voltage", array_of(shape, sj_voltage));
    out.emplace("slayer_spike", array_of(shape, spikes_int8(rl.spike)));
    out.emplace("slayer_current", array_of(shape, rl.current));
    out.emplace("slayer_voltage", array_of(shape, rl.voltage));
    return out;
}

/// One dense layer + CUBA neurons on [T, B, IN] binary spikes; `delayed`: output one step later.
std::vector<std::int32_t> sj_block_layer(backend b, lava::cuba_rule_id rule, const lava::cuba_constants& k, const std::vector<std::int32_t>& w,
                                         std::int64_t T, std::int64_t B, std::int64_t IN, std::int64_t OUT, const std::vector<std::int32_t>& s,
                                         bool delayed) {
    // z = x . (w / 64)^T in float32: exact here (binary inputs, small sums of 1/64 multiples).
    std::vector<float> z(static_cast<std::size_t>(T * B * OUT));
    std::vector<std::int64_t> acc(static_cast<std::size_t>(OUT));
    for (std::int64_t tb = 0; tb < T * B; ++tb) {
        lava::dense_accumulate(w.data(), OUT, IN, s.data() + tb * IN, false, acc.data());
        for (std::int64_t o = 0; o < OUT; ++o) z[static_cast<std::size_t>(tb * OUT + o)] = static_cast<float>(acc[static_cast<std::size_t>(o)]) / 64.0f;
    }
    const cuba_run r = run_cuba(b, rule, k, T, B * OUT, z.data());
    std::vector<std::int32_t> y(r.spike.size(), 0);
    const std::int64_t lag = delayed ? 1 : 0, N = B * OUT;
    for (std::int64_t t = lag; t < T; ++t)
        for (std::int64_t n = 0; n < N; ++n) y[static_cast<std::size_t>(t * N + n)] = r.spike[static_cast<std::size_t>((t - lag) * N + n)] != 0.0f;
    return y;
}

outputs run_sj_block(const json& c, const fs::path& dir, backend b) {
    const json& p = field(c, "params", "case");
    const shape_t shape = case_shape(c);
    if (shape.size() != 3) throw snn::invalid_argument("shape", "block cases are [T, B, IN]");
    const std::int64_t T = shape[0], B = shape[1];
    std::vector<std::int32_t> x_sj = input_as<std::int32_t>(c, dir, "x", product(shape));
    std::vector<std::int32_t> x_slayer = x_sj, x_delayed = x_sj;
    const json& layers = field(p, "layers", "params");
    outputs out;
    std::int64_t in = shape[2];
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const json& L = layers[l];
        const std::string where = "params.layers[" + std::to_string(l) + "]", suffix = std::to_string(l);
        const std::int64_t IN = integer(L, "in", where), OUT = integer(L, "out", where);
        if (IN != in) throw snn::invalid_argument(where + ".in", "does not match the previous layer");
        const auto w_float = input_as<float>(c, dir, "w" + suffix + "_float", OUT * IN);
        std::vector<std::int32_t> w_sj(w_float.size()), w_slayer(w_float.size());
        for (std::size_t i = 0; i < w_float.size(); ++i) {
            w_sj[i] = lava::quantize_weight(w_float[i], lava::weight_clamp::spikingjelly);
            w_slayer[i] = lava::quantize_weight(w_float[i], lava::weight_clamp::slayer);
        }
        const json& sj = field(L, "sj", where);
        const json& sl = field(L, "slayer", where);
        const lava::cuba_constants ks = lava::spikingjelly_constants(number(sj, "v_threshold", where + ".sj"), number(sj, "current_decay", where + ".sj"),
                                                                      number(sj, "voltage_decay", where + ".sj"));
        const lava::cuba_constants kl = lava::slayer_constants(number(sl, "threshold", where + ".slayer"), number(sl, "current_decay", where + ".slayer"),
                                                                number(sl, "voltage_decay", where + ".slayer"));
        x_sj = sj_block_layer(b, lava::cuba_rule_id::spikingjelly, ks, w_sj, T, B, IN, OUT, x_sj, false);
        x_slayer = sj_block_layer(b, lava::cuba_rule_id::slayer, kl, w_slayer, T, B, IN, OUT, x_slayer, false);
        x_delayed = sj_block_layer(b, lava::cuba_rule_id::slayer, kl, w_slayer, T, B, IN, OUT, x_delayed, true);
        const shape_t s{T, B, OUT};
        out.emplace("w" + suffix + "_sj_int", array_of(shape_t{OUT, IN}, w_sj));
        out.emplace("w" + suffix + "_slayer_int", array_of(shape_t{OUT, IN}, w_slayer));
        out.emplace("sj_s" + suffix, array_of(s, spikes_int8(x_sj)));
        out.emplace("slayer_s" + suffix, array_of(s, spikes_int8(x_slayer)));
        out.emplace("slayer_delayed_s" + suffix, array_of(s, spikes_int8(x_delayed)));
        in = OUT;
    }
    return out;
}

outputs run_sj_cuba(const json& c, const fs::path& dir, backend b) {
    const std::string variant = text(field(c, "params", "case"), "variant", "params");
    if (variant == "neuron") return run_sj_neuron(c, dir, b);
    if (variant == "block") return run_sj_block(c, dir, b);
    throw snn::invalid_argument("params.variant", "expected neuron or block, got '" + variant + "'");
}

}  // namespace

outputs run_case(const json& c, const fs::path& dir, backend b) {
    const std::string kind = text(c, "kind", "case");
    if (kind == "slayer_cuba") return run_slayer_cuba(c, dir, b);
    if (kind == "lava_lif_bitacc") return run_lava_lif(c, dir, b);
    if (kind == "lava_dense_lif") return run_lava_dense(c, dir, b);
    if (kind == "netx_chain") return run_netx_chain(c, dir, b);
    if (kind == "sj_cuba") return run_sj_cuba(c, dir, b);
    throw snn::invalid_argument("kind", "'" + kind + "' is not a Lava kind");
}

}  // namespace snn_golden_lava
