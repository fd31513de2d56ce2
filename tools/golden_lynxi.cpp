// snn-golden runners for the Lynxi float16 set; see golden_lynxi.hpp and
// shared/golden/lynxi/manifest.json (each case's `params`, `state_point` and `notes`).

#include "golden_lynxi.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "snn/core/binary16.hpp"
#include "snn/core/error.hpp"
#include "snn/emu/lynxi/dispatch.hpp"
#if SNN_GOLDEN_HAS_CUDA
#include "snn/emu/lynxi/cuda_staged.hpp"
#endif

namespace snn_golden {
namespace lynxi {

namespace {

namespace fs = std::filesystem;
namespace ly = snn::emu::lynxi;
using json = nlohmann::json;
using snn::io::npy_array;
using shape_t = std::vector<std::int64_t>;
using outputs = std::map<std::string, npy_array>;

const json& field(const json& object, const std::string& key, const std::string& where) {
    if (!object.is_object()) throw snn::invalid_argument(where, "must be a JSON object");
    const auto it = object.find(key);
    if (it == object.end()) throw snn::invalid_argument(where + "." + key, "missing");
    return *it;
}

std::string text(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_string()) throw snn::invalid_argument(where + "." + key, "must be a string, got " + v.dump());
    return v.get<std::string>();
}

/// A BIDL parameter as `model.half()` left it: its binary16 bits.
ly::soma_param half_param(const json& params, const std::string& key) {
    const json& p = field(params, key, "params");
    const json& bits = field(p, "f16_bits", "params." + key);
    if (!bits.is_number_integer() || bits.get<std::int64_t>() < 0 || bits.get<std::int64_t>() > 0xFFFF)
        throw snn::invalid_argument("params." + key + ".f16_bits", "must be a 16-bit pattern, got " + bits.dump());
    return ly::soma_param::from_bits(static_cast<std::uint16_t>(bits.get<std::int64_t>()));
}

/// A Python float the reference passes to torch as a scalar: the value it was given. `null`
/// (as for SpikingJelly's soft reset) is reported through `is_null`.
double python_float(const json& params, const std::string& key, bool* is_null = nullptr) {
    const json& p = field(params, key, "params");
    const json& given = p.is_object() ? field(p, "given", "params." + key) : p;
    if (given.is_null() && is_null) {
        *is_null = true;
        return 0.0;
    }
    if (!given.is_number()) throw snn::invalid_argument("params." + key, "expected a number, got " + given.dump());
    if (is_null) *is_null = false;
    return given.get<double>();
}

ly::torch_device device_of(const json& c) {
    const std::string device = text(c, "device", "case");
    if (device == "cpu") return ly::torch_device::cpu;
    if (device == "cuda") return ly::torch_device::cuda;
    throw snn::invalid_argument("device", "expected cpu or cuda, got '" + device + "'");
}

shape_t case_shape(const json& c) {
    const json& s = field(c, "shape", "case");
    shape_t shape;
    if (!s.is_array() || s.empty()) throw snn::invalid_argument("shape", "must be a non-empty array [T, N...], got " + s.dump());
    for (const json& d : s) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0) throw snn::invalid_argument("shape", "must hold sizes, got " + s.dump());
        shape.push_back(d.get<std::int64_t>());
    }
    if (text(c, "dtype", "case") != "float16") throw snn::invalid_argument("dtype", "the Lynxi kernels take float16 arrays");
    const auto layout = c.find("layout");
    if (layout != c.end() && *layout != "TNX") throw snn::invalid_argument("layout", "expected \"TNX\", got " + layout->dump());
    return shape;
}

struct extent {
    shape_t full, neuron;
    std::int64_t steps = 0, neurons = 1;
};

extent extent_of(const shape_t& shape) {
    extent e;
    e.full = shape;
    e.neuron.assign(shape.begin() + 1, shape.end());
    e.steps = shape[0];
    for (std::int64_t d : e.neuron) e.neurons *= d;
    return e;
}

/// Input `name`: a float16 array of `shape`, checked.
npy_array input(const json& c, const fs::path& dir, const std::string& name, const shape_t& shape) {
    const std::string file = text(field(c, "inputs", "case"), name, "inputs");
    npy_array a = [&] {
        try {
            return snn::io::read_npy((dir / file).string());
        } catch (const std::exception& e) {
            throw snn::invalid_argument("inputs." + name, e.what());
        }
    }();
    if (a.type() != snn::io::dtype::float16)
        throw snn::invalid_argument("inputs." + name, file + " holds " + snn::io::dtype_name(a.type()) + ", expected float16");
    if (a.shape() != shape)
        throw snn::invalid_argument("inputs." + name, file + " has shape " + snn::io::shape_to_string(a.shape()) +
                                                          ", expected " + snn::io::shape_to_string(shape));
    return a;
}

bool has_input(const json& c, const std::string& name) { return field(c, "inputs", "case").contains(name); }
bool wants(const json& c, const std::string& name) { return field(c, "outputs", "case").contains(name); }

/// The outputs the case lists, allocated (zeroed) with their shapes.
struct output_set {
    outputs arrays;
    snn::binary16* add(const json& c, const std::string& name, const shape_t& shape) {
        if (!wants(c, name)) return nullptr;
        auto it = arrays.emplace(name, npy_array(snn::io::dtype::float16, shape)).first;
        return it->second.data<snn::binary16>();
    }
};

const ly::kernel_table& kernels(const std::string& isa) {
    if (isa == "cuda") {
#if SNN_GOLDEN_HAS_CUDA
        return ly::cuda::staged_kernel_table();
#else
        throw snn::invalid_argument("backend", "this build has no CUDA backend");
#endif
    }
    return ly::select_isa(isa);
}

/// mode, memb_mode, norm, noise of a BIDL case.
template <class P>
void bidl_output(const json& params, P& p, ly::activation default_activation) {
    const std::string mode = text(params, "mode", "params");
    if (mode == "spike") p.mode = ly::output_mode::spike;
    else if (mode == "analog") p.mode = ly::output_mode::analog;
    else throw snn::invalid_argument("params.mode", "expected spike or analog, got '" + mode + "'");
    const json& memb = field(params, "memb_mode", "params");
    p.analog_activation = default_activation;
    if (!memb.is_null()) {
        if (!memb.is_array() || memb.size() != 2 || !memb[0].is_number_integer() || memb[0].get<int>() < 0 || memb[0].get<int>() > 3)
            throw snn::invalid_argument("params.memb_mode", "expected [0..3, activation], got " + memb.dump());
        p.analog_point = static_cast<ly::membrane_point>(memb[0].get<int>());
        const std::string act = memb[1].is_null() ? "none" : memb[1].get<std::string>();
        if (act == "relu") p.analog_activation = ly::activation::relu;
        else if (act == "tanh") p.analog_activation = ly::activation::tanh;
        else if (act == "sigmoid") p.analog_activation = ly::activation::sigmoid;
        else if (act == "none") p.analog_activation = ly::activation::identity;
        else throw snn::invalid_argument("params.memb_mode", "unknown activation '" + act + "'");
    }
    if (!field(params, "norm", "params").is_null())
        throw snn::invalid_argument("params.norm", "membrane batch norm needs its running statistics, which the case does not carry");
    const json& noise = field(params, "noise", "params");
    if (!noise.is_number() || noise.get<double>() != 0.0)
        throw snn::invalid_argument("params.noise", "noise is training-only and random: not reproducible (got " + noise.dump() + ")");
}

outputs run_bidl_lif(const json& c, const fs::path& dir, const std::string& isa) {
    const extent e = extent_of(case_shape(c));
    const json& params = field(c, "params", "case");
    ly::bidl_lif_params p;
    p.alpha = half_param(params, "alpha");
    p.beta = half_param(params, "beta");
    p.theta = half_param(params, "theta");
    p.v0 = half_param(params, "v_0");
    p.device = device_of(c);
    bidl_output(params, p, ly::activation::relu);

    const npy_array x = input(c, dir, "x", e.full);
    std::optional<npy_array> v_init;
    ly::bidl_lif_args<snn::binary16> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.x = x.data<snn::binary16>();
    if (has_input(c, "v_init")) {
        v_init.emplace(input(c, dir, "v_init", e.neuron));
        a.v_init = v_init->data<snn::binary16>();
    }
    output_set out;
    a.spike = out.add(c, "spike", e.full);
    a.out = out.add(c, "out", e.full);
    a.v_pre = out.add(c, "v_pre", e.full);
    a.v = out.add(c, "v", e.full);
    kernels(isa).bidl_lif(p, a, {});
    return std::move(out.arrays);
}

outputs run_bidl_lifplus(const json& c, const fs::path& dir, const std::string& isa) {
    const extent e = extent_of(case_shape(c));
    const json& params = field(c, "params", "case");
    const json& config = field(params, "neuron_config", "params");
    if (config != json::parse("[1, false, 0, 0, 0, 0]"))
        throw snn::invalid_argument("params.neuron_config", "the kind bidl_lifplus_cobe expects [1, false, 0, 0, 0, 0], got " + config.dump());
    ly::lifplus_params p;
    p.options = {};  // COBE, the shipped configuration
    p.epsilon = half_param(params, "epsilon");
    p.tau_recip = half_param(params, "tau_recip");
    p.v0 = half_param(params, "v_0");
    p.theta = half_param(params, "theta");
    p.alpha = half_param(params, "alpha");
    p.beta = half_param(params, "beta");
    p.device = device_of(c);
    bidl_output(params, p, ly::activation::tanh);

    const npy_array x = input(c, dir, "x", e.full);
    std::optional<npy_array> v_init, g_init;
    ly::lifplus_args<snn::binary16> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.x = x.data<snn::binary16>();
    if (has_input(c, "v_init")) {
        v_init.emplace(input(c, dir, "v_init", e.neuron));
        a.v_init = v_init->data<snn::binary16>();
    }
    if (has_input(c, "g_init")) {
        g_init.emplace(input(c, dir, "g_init", e.neuron));
        a.g_init = g_init->data<snn::binary16>();
    }
    output_set out;
    a.spike = out.add(c, "spike", e.full);
    a.out = out.add(c, "out", e.full);
    a.v_pre = out.add(c, "v_pre", e.full);
    a.v = out.add(c, "v", e.full);
    a.g = out.add(c, "g", e.full);
    kernels(isa).lifplus(p, a, {});
    return std::move(out.arrays);
}

outputs run_sj_lynxi(const json& c, const fs::path& dir, const std::string& isa) {
    const extent e = extent_of(case_shape(c));
    const json& params = field(c, "params", "case");
    ly::sj_lynxi_params p;
    p.leaky = text(c, "kind", "case") == "sj_lynxi_lif";
    p.v_threshold = python_float(params, "v_threshold");
    bool soft = false;
    p.v_reset = python_float(params, "v_reset", &soft);
    p.hard_reset = !soft;
    if (p.leaky) {
        p.tau = python_float(params, "tau");
        const json& decay_input = field(params, "decay_input", "params");
        if (!decay_input.is_boolean()) throw snn::invalid_argument("params.decay_input", "must be true or false");
        p.decay_input = decay_input.get<bool>();
    }
    p.device = device_of(c);

    const npy_array x = input(c, dir, "x", e.full);
    std::optional<npy_array> v_init;
    ly::sj_lynxi_args<snn::binary16> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.x = x.data<snn::binary16>();
    if (has_input(c, "v_init")) {
        v_init.emplace(input(c, dir, "v_init", e.neuron));
        a.v_init = v_init->data<snn::binary16>();
    }
    output_set out;
    a.spike = out.add(c, "spike", e.full);
    a.v_pre = out.add(c, "v_pre", e.full);
    a.v = out.add(c, "v", e.full);
    kernels(isa).sj_lynxi(p, a, {});
    return std::move(out.arrays);
}

outputs run_aggregate(const json& c, const fs::path& dir, const std::string& isa) {
    const extent e = extent_of(case_shape(c));
    const json& params = field(c, "params", "case");
    const std::string kind = text(c, "kind", "case");
    ly::aggregate_params p;
    p.kind = kind == "bidl_tempadd" ? ly::aggregation::running
             : kind == "bidl_sum_div_T" ? ly::aggregation::sum_div
                                        : ly::aggregation::torch_mean;
    p.divisor = python_float(params, "T_div");
    p.device = device_of(c);

    const npy_array y = input(c, dir, "y", e.full);
    ly::aggregate_args<snn::binary16> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.y = y.data<snn::binary16>();
    output_set out;
    npy_array result(snn::io::dtype::float16, e.neuron);
    a.result = result.data<snn::binary16>();
    const char* result_name = p.kind == ly::aggregation::running ? nullptr : p.kind == ly::aggregation::sum_div ? "out" : "mean";
    if (p.kind == ly::aggregation::running) a.running = out.add(c, "acc", e.full);
    kernels(isa).aggregate(p, a, {});
    if (result_name) out.arrays.emplace(result_name, std::move(result));
    return std::move(out.arrays);
}

}  // namespace

std::map<std::string, npy_array> run_case(const json& c, const fs::path& dir, const std::string& isa) {
    const std::string kind = text(c, "kind", "case");
    if (kind == "bidl_lif") return run_bidl_lif(c, dir, isa);
    if (kind == "bidl_lifplus_cobe") return run_bidl_lifplus(c, dir, isa);
    if (kind == "sj_lynxi_if" || kind == "sj_lynxi_lif") return run_sj_lynxi(c, dir, isa);
    if (kind == "bidl_tempadd" || kind == "torch_mean_T" || kind == "bidl_sum_div_T") return run_aggregate(c, dir, isa);
    throw snn::invalid_argument("kind", "not a Lynxi kind: '" + kind + "'");
}

}  // namespace lynxi
}  // namespace snn_golden
