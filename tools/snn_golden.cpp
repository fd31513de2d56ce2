// snn-golden: runs snn's kernels on the golden vectors (format snn-golden/1, see
// shared/golden/README.md) and checks every output against the reference under the case's
// comparison rule.
//
//   snn-golden DIR [--backend scalar|simd|cuda] [--isa NAME] [--filter TEXT] [--dump OUTDIR] [--verbose]
//
// Prints one line per failing case, then "N passed, M failed, K skipped". Exit status: 0 all
// compared cases passed, 1 some failed, 2 usage or manifest error.
//
// Each kind of case has a runner (see `runners()`; the lava/ kinds are in golden_lava.cpp, the
// lynxi/ kinds in golden_lynxi.cpp); a case whose kind has none is skipped. A case without a
// `compare` table (the lava/ and lynxi/ sets) is compared exactly, any NaN equal to any NaN.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "golden_compare.hpp"
#include "golden_lynxi.hpp"
#include "golden_lava.hpp"
#include "snn/core/binary16.hpp"
#include "snn/core/error.hpp"
#include "snn/cpu/dispatch.hpp"
#if SNN_GOLDEN_HAS_CUDA
#include "snn/cuda/staged_table.hpp"
#endif
#include "snn/io/npy.hpp"
#include "snn/neuron/params.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using snn::io::dtype;
using snn::io::npy_array;
using shape_t = std::vector<std::int64_t>;

constexpr const char* manifest_format = "snn-golden/1";

const char* const usage_text =
    "usage: snn-golden DIR [--backend scalar|simd|cuda] [--isa NAME] [--filter TEXT] [--dump OUTDIR] [--verbose]\n"
    "  DIR            a golden set: DIR/manifest.json (format snn-golden/1) and its .npy files\n"
    "  --backend      scalar (default: the reference kernels), simd (best instruction set this CPU\n"
    "                 runs), cuda (needs a CUDA build)\n"
    "  --isa NAME     simd kernels of this instruction set instead of the best one (e.g. avx2,\n"
    "                 scalar); implies --backend simd\n"
    "  --filter TEXT  only the cases whose name or JSON text contains TEXT\n"
    "  --dump OUTDIR  write every computed output to OUTDIR, with the manifest's file names\n"
    "  --verbose      one line per case, with the worst difference of every output\n"
    "Prints the failing cases, then 'N passed, M failed, K skipped'. Exit status 0 if nothing\n"
    "failed, 1 if a case failed, 2 on a usage or manifest error.\n";

/// A manifest-level error: reported as "snn-golden: WHAT: reason", exit status 2.
struct fatal_error : std::runtime_error {
    fatal_error(const std::string& argument, const std::string& reason)
        : std::runtime_error(argument + ": " + reason) {}
};

/// A command-line error: as fatal_error, plus a pointer to --help.
struct usage_error : fatal_error {
    using fatal_error::fatal_error;
};

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

enum class backend_kind { scalar, simd, cuda };

struct options {
    fs::path dir;
    backend_kind backend = backend_kind::scalar;
    std::string isa;  // empty: the backend's default
    std::string filter;
    fs::path dump_dir;
    bool verbose = false;
    bool help = false;
};

backend_kind parse_backend(const std::string& name) {
    if (name == "scalar") return backend_kind::scalar;
    if (name == "simd") return backend_kind::simd;
    if (name == "cuda") return backend_kind::cuda;
    throw usage_error("--backend", "expected scalar, simd or cuda, got '" + name + "'");
}

/// Accepts "--opt VALUE" and "--opt=VALUE"; DIR is the one positional argument.
options parse_arguments(int argc, char** argv) {
    options o;
    bool have_dir = false, have_backend = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_inline_value = false;
        if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
            value = arg.substr(arg.find('=') + 1);
            arg = arg.substr(0, arg.find('='));
            has_inline_value = true;
        }
        const auto take_value = [&]() -> std::string {
            if (has_inline_value) return value;
            if (i + 1 >= argc) throw usage_error(arg, "needs a value");
            return argv[++i];
        };
        const bool is_flag = arg == "-h" || arg == "--help" || arg == "-v" || arg == "--verbose";
        if (is_flag && has_inline_value) throw usage_error(arg, "takes no value");
        if (arg == "-h" || arg == "--help") {
            o.help = true;
        } else if (arg == "-v" || arg == "--verbose") {
            o.verbose = true;
        } else if (arg == "--backend") {
            o.backend = parse_backend(take_value());
            have_backend = true;
        } else if (arg == "--isa") {
            o.isa = take_value();
        } else if (arg == "--filter") {
            o.filter = take_value();
        } else if (arg == "--dump") {
            o.dump_dir = take_value();
        } else if (!arg.empty() && arg[0] == '-') {
            throw usage_error(arg, "unknown option");
        } else if (have_dir) {
            throw usage_error(arg, "only one DIR may be given (already have '" + o.dir.string() + "')");
        } else {
            o.dir = arg;
            have_dir = true;
        }
    }
    if (!o.help && !have_dir) throw usage_error("DIR", "missing (the directory holding manifest.json)");
    // --isa alone means "the SIMD kernels of this instruction set"; with an explicit
    // --backend scalar it can only name the scalar kernels.
    if (!o.isa.empty() && !have_backend) o.backend = backend_kind::simd;
    if (o.backend == backend_kind::scalar && !o.isa.empty() && o.isa != "scalar")
        throw usage_error("--isa", "'" + o.isa + "' needs --backend simd (--backend scalar always runs the scalar kernels)");
    if (o.backend == backend_kind::cuda && !o.isa.empty()) throw usage_error("--isa", "only applies to --backend simd");
    return o;
}

// ---------------------------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------------------------

/// Reads DIR/manifest.json and checks what every case needs before anything runs: the format,
/// a `cases` array, and a unique string `name` per case.
json load_manifest(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw fatal_error("DIR", "'" + dir.string() + "' is not a directory");
    const fs::path path = dir / "manifest.json";
    std::ifstream in(path);
    if (!in) throw fatal_error(path.string(), "cannot be opened");
    json manifest;
    try {
        in >> manifest;
    } catch (const json::exception& e) {
        throw fatal_error(path.string(), std::string("malformed JSON: ") + e.what());
    }
    if (!manifest.is_object()) throw fatal_error(path.string(), "the top level must be a JSON object");
    const auto format = manifest.find("format");
    if (format == manifest.end() || !format->is_string() || *format != manifest_format)
        throw fatal_error(path.string() + ": format",
                          "expected \"" + std::string(manifest_format) + "\", got " +
                              (format == manifest.end() ? std::string("nothing") : format->dump()));
    const auto cases = manifest.find("cases");
    if (cases == manifest.end() || !cases->is_array()) throw fatal_error(path.string() + ": cases", "must be an array");
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < cases->size(); ++i) {
        const json& c = (*cases)[i];
        const std::string where = path.string() + ": cases[" + std::to_string(i) + "]";
        if (!c.is_object()) throw fatal_error(where, "must be an object");
        const auto name = c.find("name");
        if (name == c.end() || !name->is_string() || name->get<std::string>().empty())
            throw fatal_error(where + ".name", "missing or not a non-empty string");
        if (!seen.emplace(name->get<std::string>(), i).second)
            throw fatal_error(where + ".name", "duplicate case name '" + name->get<std::string>() + "'");
    }
    return manifest;
}

/// --filter: the case's name, or its JSON text either compact (`"model":"plif"`) or spaced as
/// the manifest files are written (`"model": "plif"`), contains `text`.
bool case_matches(const json& c, const std::string& text) {
    if (text.empty()) return true;
    if (c.at("name").get<std::string>().find(text) != std::string::npos) return true;
    if (c.dump().find(text) != std::string::npos) return true;
    return c.dump(1).find(text) != std::string::npos;
}

// JSON field access that names the missing or mistyped field in its error.

const json& field(const json& object, const std::string& key, const std::string& where) {
    if (!object.is_object()) throw snn::invalid_argument(where, "must be a JSON object");
    const auto it = object.find(key);
    if (it == object.end()) throw snn::invalid_argument(where + "." + key, "missing");
    return *it;
}

std::string string_field(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_string()) throw snn::invalid_argument(where + "." + key, "must be a string, got " + v.dump());
    return v.get<std::string>();
}

double number_field(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_number()) throw snn::invalid_argument(where + "." + key, "must be a number, got " + v.dump());
    return v.get<double>();
}

bool bool_field(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    if (!v.is_boolean()) throw snn::invalid_argument(where + "." + key, "must be true or false, got " + v.dump());
    return v.get<bool>();
}

shape_t shape_field(const json& object, const std::string& key, const std::string& where) {
    const json& v = field(object, key, where);
    shape_t shape;
    if (!v.is_array()) throw snn::invalid_argument(where + "." + key, "must be an array of sizes, got " + v.dump());
    for (const json& d : v) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
            throw snn::invalid_argument(where + "." + key, "must hold non-negative integers, got " + v.dump());
        shape.push_back(d.get<std::int64_t>());
    }
    return shape;
}

// ---------------------------------------------------------------------------------------------
// Arrays: loading, checking, converting between npy dtypes and kernel buffers
// ---------------------------------------------------------------------------------------------

dtype dtype_from_name(const std::string& name) {
    if (name == "float64") return dtype::float64;
    if (name == "float32") return dtype::float32;
    if (name == "float16") return dtype::float16;
    throw snn::invalid_argument("dtype", "expected float64, float32 or float16, got '" + name + "'");
}

/// The float dtype whose elements are `bytes` wide (the kernels' storage/state/saved types are
/// double, float or binary16 by size, see cpu::sizes_of).
dtype float_dtype_of_size(std::size_t bytes) {
    switch (bytes) {
        case 8: return dtype::float64;
        case 4: return dtype::float32;
        case 2: return dtype::float16;
        default: throw snn::invalid_argument("precision", "no float type of " + std::to_string(bytes) + " bytes");
    }
}

/// The file of input/output `name` of case `c`, from its `inputs` or `outputs` table.
std::string case_file(const json& c, const char* table, const std::string& name) {
    return string_field(field(c, table, table), name, table);
}

/// An snn exception's message without its "snn: " prefix, to wrap it in another one.
std::string message_of(const std::exception& e) {
    const std::string what = e.what();
    return what.rfind("snn: ", 0) == 0 ? what.substr(5) : what;
}

/// Reads one of a case's files; a missing or malformed file is reported with its role in the
/// case ("inputs.x", "outputs.v_seq") as well as its path.
npy_array read_case_array(const fs::path& dir, const std::string& file, const std::string& role) {
    try {
        return snn::io::read_npy((dir / file).string());
    } catch (const std::exception& e) {
        throw snn::invalid_argument(role, message_of(e));
    }
}

/// Reads input `name` of case `c` and checks its dtype and shape against what the case states.
npy_array load_input(const fs::path& dir, const json& c, const std::string& name, dtype type, const shape_t& shape) {
    const std::string file = case_file(c, "inputs", name);
    npy_array a = read_case_array(dir, file, "inputs." + name);
    if (a.type() != type)
        throw snn::invalid_argument("inputs." + name, file + " holds " + snn::io::dtype_name(a.type()) +
                                                          ", the case's dtype is " + snn::io::dtype_name(type));
    if (a.shape() != shape)
        throw snn::invalid_argument("inputs." + name, file + " has shape " + snn::io::shape_to_string(a.shape()) +
                                                          ", the case's shape needs " + snn::io::shape_to_string(shape));
    return a;
}

/// An npy array of `type` and `shape` holding `values`, each rounded once to `type`.
npy_array array_from_doubles(dtype type, const shape_t& shape, const std::vector<double>& values) {
    const std::size_t n = values.size();
    switch (type) {
        case dtype::float64: return npy_array::from(shape, values.data());
        case dtype::float32: {
            std::vector<float> v(n);
            for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(values[i]);
            return npy_array::from(shape, v.data());
        }
        case dtype::float16: {
            std::vector<snn::binary16> v(n);
            for (std::size_t i = 0; i < n; ++i) v[i] = snn::binary16(values[i]);  // one rounding
            return npy_array::from(shape, v.data());
        }
        default: throw snn::invalid_argument("dtype", std::string("not a float dtype: ") + snn::io::dtype_name(type));
    }
}

/// Untyped element buffer handed to the type-erased kernels.
struct kernel_buffer {
    std::vector<std::byte> bytes;
    std::size_t element_size = 0;

    kernel_buffer(std::int64_t count, std::size_t element) : bytes(static_cast<std::size_t>(count) * element), element_size(element) {}
    void* data() { return bytes.data(); }
    const void* data() const { return bytes.data(); }
};

/// `a` as a kernel buffer of `element_size`-byte floats: the bits themselves when the sizes
/// match (NaN payloads and -0 survive), else each value converted (exact when widening, as for
/// a binary16 v0 fed to a float state).
kernel_buffer to_kernel_buffer(const npy_array& a, std::size_t element_size) {
    if (!snn_golden::detail::is_float_type(a.type()))
        throw snn::invalid_argument("dtype", std::string("the kernels take float arrays, got ") + snn::io::dtype_name(a.type()));
    if (snn::io::dtype_size(a.type()) == element_size) {
        kernel_buffer b(a.size(), element_size);
        if (a.size_bytes()) std::memcpy(b.data(), a.bytes(), a.size_bytes());
        return b;
    }
    const npy_array converted = array_from_doubles(float_dtype_of_size(element_size), a.shape(), a.to_vector_as<double>());
    return to_kernel_buffer(converted, element_size);
}

/// A kernel buffer as an npy array of `type` and `shape` (bits kept when the sizes match).
npy_array from_kernel_buffer(const kernel_buffer& b, dtype type, const shape_t& shape) {
    const npy_array raw = [&] {
        npy_array a(float_dtype_of_size(b.element_size), shape);
        if (a.size_bytes()) std::memcpy(a.bytes(), b.data(), a.size_bytes());
        return a;
    }();
    if (raw.type() == type) return raw;
    return array_from_doubles(type, shape, raw.to_vector_as<double>());
}

// ---------------------------------------------------------------------------------------------
// Case runners
// ---------------------------------------------------------------------------------------------

/// What a runner sees: the set's directory and the kernels of the chosen backend.
struct run_context {
    fs::path dir;
    backend_kind backend = backend_kind::scalar;
    const snn::cpu::kernel_table* table = nullptr;
    snn::cpu::execution exec{};
};

using case_outputs = std::map<std::string, npy_array>;
using case_runner = case_outputs (*)(const json& c, const run_context& ctx);

// ----- SpikingJelly multi-step neurons (sj/) -------------------------------------------------

/// Everything the `neuron`, `dtype` and `policy` fields of an sj case say, in library terms.
struct sj_setup {
    snn::cpu::precision_id precision{};
    snn::cpu::charge_id charge{};
    snn::neuron_params params;
    dtype type = dtype::float32;
    bool parametric = false;
    float plif_w = 0.0f;  // PLIF: the float32 parameter w
};

snn::cpu::charge_id sj_charge(const json& neuron) {
    const std::string model = string_field(neuron, "model", "neuron");
    if (model == "if") return snn::cpu::charge_id::if_;
    if (model != "lif" && model != "plif")
        throw snn::invalid_argument("neuron.model", "expected if, lif or plif, got '" + model + "'");
    const bool decay_input = bool_field(neuron, "decay_input", "neuron");
    if (model == "lif") return decay_input ? snn::cpu::charge_id::lif_decay_input : snn::cpu::charge_id::lif;
    return decay_input ? snn::cpu::charge_id::plif_decay_input : snn::cpu::charge_id::plif;
}

/// float64 and float32 map directly; float16 needs the policy's `scalars` rule, because torch
/// CPU and CUDA round Python scalars differently against half tensors (spikingjelly.md §16).
snn::cpu::precision_id sj_precision(dtype type, const json& policy) {
    switch (type) {
        case dtype::float64: return snn::cpu::precision_id::f64;
        case dtype::float32: return snn::cpu::precision_id::f32;
        case dtype::float16: {
            const std::string scalars = string_field(policy, "scalars", "policy");
            if (scalars == "torch-cpu") return snn::cpu::precision_id::b16_torch_cpu;
            if (scalars == "torch-cuda") return snn::cpu::precision_id::b16_torch_cuda;
            throw snn::invalid_argument("policy.scalars", "float16 with scalars '" + scalars +
                                                              "' is not supported (expected torch-cpu or torch-cuda)");
        }
        default: throw snn::invalid_argument("dtype", "unsupported");
    }
}

/// FMA contraction (CuPy/Triton) folds `/ tau` into the multiply-add, whatever `division` says.
snn::division_kind sj_division(const json& policy) {
    const std::string contraction = string_field(policy, "contraction", "policy");
    if (contraction == "fma" || contraction == "fma-fast-math") return snn::division_kind::fused;
    if (contraction != "none")
        throw snn::invalid_argument("policy.contraction", "expected none, fma or fma-fast-math, got '" + contraction + "'");
    const std::string division = string_field(policy, "division", "policy");
    if (division == "true") return snn::division_kind::true_division;
    if (division == "reciprocal") return snn::division_kind::reciprocal;
    throw snn::invalid_argument("policy.division", "expected true or reciprocal, got '" + division + "'");
}

/// Surrogate name and parameters: SpikingJelly's defaults, overridden by what the case gives.
void sj_surrogate(const json& surrogate, snn::neuron_params& params) {
    const std::string name = string_field(surrogate, "name", "neuron.surrogate");
    params.dynamic.surrogate = snn::surrogate_from_name(name);
    params.surrogate = snn::default_surrogate_params(params.dynamic.surrogate);
    const std::pair<const char*, double*> slots[] = {
        {"alpha", &params.surrogate.alpha}, {"beta", &params.surrogate.beta}, {"w", &params.surrogate.w},
        {"c", &params.surrogate.c},         {"leak", &params.surrogate.leak}, {"k", &params.surrogate.k},
    };
    for (const auto& item : surrogate.items()) {
        if (item.key() == "name") continue;
        double* slot = nullptr;
        for (const auto& s : slots)
            if (item.key() == s.first) slot = s.second;
        if (!slot)
            throw snn::invalid_argument("neuron.surrogate." + item.key(),
                                        "unknown surrogate parameter (known: alpha, beta, w, c, leak, k)");
        *slot = number_field(surrogate, item.key(), "neuron.surrogate");
    }
}

sj_setup sj_parse(const json& c) {
    const json& neuron = field(c, "neuron", "case");
    const json& policy = field(c, "policy", "case");
    sj_setup s;
    s.type = dtype_from_name(string_field(c, "dtype", "case"));
    s.precision = sj_precision(s.type, policy);
    s.charge = sj_charge(neuron);
    s.parametric = s.charge == snn::cpu::charge_id::plif || s.charge == snn::cpu::charge_id::plif_decay_input;

    snn::neuron_params& p = s.params;
    p.v_threshold = number_field(neuron, "v_threshold", "neuron");
    const json& v_reset = field(neuron, "v_reset", "neuron");
    if (v_reset.is_null()) {
        p.dynamic.reset = snn::reset_kind::soft;
    } else {
        p.dynamic.reset = snn::reset_kind::hard;
        p.v_reset = number_field(neuron, "v_reset", "neuron");
    }
    p.dynamic.detach_reset = bool_field(neuron, "detach_reset", "neuron");
    p.dynamic.fire = snn::fire_kind::greater_equal;  // SpikingJelly fires on h - v_th >= 0
    p.dynamic.division = sj_division(policy);
    sj_surrogate(field(neuron, "surrogate", "neuron"), p);

    if (s.charge == snn::cpu::charge_id::lif || s.charge == snn::cpu::charge_id::lif_decay_input) {
        p.tau = number_field(neuron, "tau", "neuron");
    } else if (s.parametric) {
        // SpikingJelly stores w = -ln(init_tau - 1) as a float32 Parameter, then the module is
        // cast to the dtype: even the float64 cases see the float32-rounded w.
        s.plif_w = static_cast<float>(snn::plif_w_from_tau(number_field(neuron, "tau", "neuron")));
        p.w = static_cast<double>(s.plif_w);
    }
    return s;
}

/// The five input arrays of an sj case, checked against its `shape` [T, N...].
struct sj_inputs {
    npy_array x, v0, grad_spike, grad_v;
};

sj_inputs sj_load(const json& c, const run_context& ctx, dtype type, const shape_t& shape) {
    const shape_t neuron_shape(shape.begin() + 1, shape.end());
    return {load_input(ctx.dir, c, "x", type, shape), load_input(ctx.dir, c, "v0", type, neuron_shape),
            load_input(ctx.dir, c, "grad_spike", type, shape), load_input(ctx.dir, c, "grad_v", type, shape)};
}

/// Forward (training) then backward of one SpikingJelly neuron case on the chosen kernels.
/// Outputs: spike, v_seq, grad_x, grad_v0, and for PLIF w and grad_w ([1], in the case dtype).
case_outputs run_sj_neuron(const json& c, const run_context& ctx) {
    const sj_setup s = sj_parse(c);
    const shape_t shape = shape_field(c, "shape", "case");
    if (shape.empty() || shape[0] == 0) throw snn::invalid_argument("shape", "needs a time dimension T > 0, got " + json(shape).dump());
    const shape_t neuron_shape(shape.begin() + 1, shape.end());
    std::int64_t neurons = 1;
    for (std::int64_t d : neuron_shape) neurons *= d;
    const std::int64_t steps = shape[0];

    const snn::cpu::element_sizes sizes = snn::cpu::sizes_of(s.precision);
    if (snn::io::dtype_size(s.type) != sizes.storage)
        throw snn::invalid_argument("dtype", "the precision's storage elements are " + std::to_string(sizes.storage) + " bytes");
    const sj_inputs in = sj_load(c, ctx, s.type, shape);

    const kernel_buffer x = to_kernel_buffer(in.x, sizes.storage);
    const kernel_buffer v_init = to_kernel_buffer(in.v0, sizes.state);
    const kernel_buffer grad_spike = to_kernel_buffer(in.grad_spike, sizes.storage);
    const kernel_buffer grad_v = to_kernel_buffer(in.grad_v, sizes.storage);
    kernel_buffer spike(steps * neurons, sizes.storage), v_seq(steps * neurons, sizes.storage);
    kernel_buffer h_seq(steps * neurons, sizes.saved), v_last(neurons, sizes.state);
    kernel_buffer grad_x(steps * neurons, sizes.storage), grad_v0(neurons, sizes.state);
    double grad_w = 0.0;

    const snn::cpu::kernel_entry& kernels = ctx.table->at(s.precision, s.charge);
    snn::cpu::erased_forward_args f;
    f.steps = steps;
    f.neurons = neurons;
    f.x = x.data();
    f.v_init = v_init.data();
    f.spike = spike.data();
    f.v_seq = v_seq.data();
    f.v_last = v_last.data();
    f.h_seq = h_seq.data();
    kernels.forward_training(s.params, f, ctx.exec);

    snn::cpu::erased_backward_args b;
    b.steps = steps;
    b.neurons = neurons;
    b.grad_spike = grad_spike.data();
    b.grad_v_seq = grad_v.data();
    b.h_seq = h_seq.data();
    b.x = x.data();
    b.v_seq = v_seq.data();
    b.v_init = v_init.data();
    b.grad_x = grad_x.data();
    b.grad_v_init = grad_v0.data();
    b.grad_w = s.parametric ? &grad_w : nullptr;
    kernels.backward(s.params, b, ctx.exec);

    case_outputs out;
    out.emplace("spike", from_kernel_buffer(spike, s.type, shape));
    out.emplace("v_seq", from_kernel_buffer(v_seq, s.type, shape));
    out.emplace("grad_x", from_kernel_buffer(grad_x, s.type, shape));
    out.emplace("grad_v0", from_kernel_buffer(grad_v0, s.type, neuron_shape));
    if (s.parametric) {
        out.emplace("w", array_from_doubles(s.type, {1}, {static_cast<double>(s.plif_w)}));
        out.emplace("grad_w", array_from_doubles(s.type, {1}, {grad_w}));
    }
    return out;
}

// ----- Lynxi float16 (lynxi/), see golden_lynxi.cpp ------------------------------------------

case_outputs run_lynxi(const json& c, const run_context& ctx) { return snn_golden::lynxi::run_case(c, ctx.dir, ctx.table->isa); }
// ----- Lava / Loihi (lava/): tools/golden_lava.cpp ------------------------------------------

case_outputs run_lava_case(const json& c, const run_context& ctx) {
    using snn_golden_lava::backend;
    const backend b = ctx.backend == backend_kind::cuda ? backend::cuda : ctx.backend == backend_kind::simd ? backend::simd : backend::scalar;
    return snn_golden_lava::run_case(c, ctx.dir, b);
}

// ----- registry ------------------------------------------------------------------------------

/// The kind of a case: sj cases name their neuron under `neuron`; the other sets say `kind`.
std::string case_kind(const json& c) {
    if (c.contains("neuron")) return "spikingjelly_neuron";
    const auto kind = c.find("kind");
    if (kind == c.end() || !kind->is_string()) throw snn::invalid_argument("kind", "the case has neither 'neuron' nor a string 'kind'");
    return kind->get<std::string>();
}

/// Runners by case kind. A kind missing here is skipped: add an entry when snn supports it
/// (lava's slayer_cuba, ...).
const std::map<std::string, case_runner>& runners() {
    static const std::map<std::string, case_runner> table = {
        {"spikingjelly_neuron", &run_sj_neuron},
        {"bidl_lif", &run_lynxi},
        {"bidl_lifplus_cobe", &run_lynxi},
        {"sj_lynxi_if", &run_lynxi},
        {"sj_lynxi_lif", &run_lynxi},
        {"bidl_tempadd", &run_lynxi},
        {"torch_mean_T", &run_lynxi},
        {"bidl_sum_div_T", &run_lynxi},
        {"slayer_cuba", &run_lava_case}, {"lava_lif_bitacc", &run_lava_case}, {"lava_dense_lif", &run_lava_case},
        {"netx_chain", &run_lava_case}, {"sj_cuba", &run_lava_case},
    };
    return table;
}

// ---------------------------------------------------------------------------------------------
// Comparing a case's outputs
// ---------------------------------------------------------------------------------------------

snn_golden::compare_rule parse_rule(const json& r, const std::string& output) {
    const std::string where = "compare." + output;
    snn_golden::compare_rule rule;
    if (r.is_string()) {
        if (r != "exact") throw snn::invalid_argument(where, "unknown rule " + r.dump());
        return rule;
    }
    if (!r.is_object()) throw snn::invalid_argument(where, "must be \"exact\" or an object, got " + r.dump());
    int kinds = 0;
    for (const auto& item : r.items()) {
        const std::string& key = item.key();
        if (key == "agreeing_only") {
            rule.agreeing_only = bool_field(r, key, where);
        } else if (key == "skip") {
            rule.kind = snn_golden::rule_kind::skip;
            rule.skip_reason = item.value().is_string() ? item.value().get<std::string>() : item.value().dump();
            ++kinds;
        } else if (key == "ulp" || key == "scaled" || key == "spike_flips") {
            rule.kind = key == "ulp" ? snn_golden::rule_kind::ulp
                        : key == "scaled" ? snn_golden::rule_kind::scaled
                                          : snn_golden::rule_kind::spike_flips;
            rule.tolerance = number_field(r, key, where);
            if (!(rule.tolerance >= 0.0)) throw snn::invalid_argument(where + "." + key, "must be >= 0");
            ++kinds;
        } else {
            throw snn::invalid_argument(where + "." + key, "unknown rule (known: exact, ulp, scaled, spike_flips, skip, agreeing_only)");
        }
    }
    if (kinds != 1) throw snn::invalid_argument(where, "needs exactly one of ulp, scaled, spike_flips, skip; got " + r.dump());
    return rule;
}

/// "[t, n1, n2]" for flat index `flat` of an array of `shape`.
std::string index_text(const shape_t& shape, std::int64_t flat) {
    std::vector<std::int64_t> idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        if (shape[d] > 0) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
    }
    std::string s = "[";
    for (std::size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
    return s + "]";
}

/// One element as text: enough digits to tell neighbouring values of its dtype apart, and for
/// bit-level rules the bit pattern too.
std::string element_text(const npy_array& a, std::int64_t i, bool with_bits) {
    const snn_golden::element_values v = snn_golden::read_elements(a);
    const auto k = static_cast<std::size_t>(i);
    const int digits = a.type() == dtype::float16 ? 5 : a.type() == dtype::float32 ? 9 : 17;
    char text[80];
    std::snprintf(text, sizeof text, "%.*g", digits, v.value[k]);
    std::string s = text;
    if (with_bits && snn_golden::detail::is_float_type(a.type())) {
        std::snprintf(text, sizeof text, " (0x%0*llx)", static_cast<int>(2 * snn::io::dtype_size(a.type())),
                      static_cast<unsigned long long>(v.bits[k]));
        s += text;
    }
    return s;
}

std::string score_text(const snn_golden::compare_rule& rule, double score) {
    char text[64];
    if (std::isinf(score)) return "NaN mismatch";
    if (rule.kind == snn_golden::rule_kind::scaled) std::snprintf(text, sizeof text, "scaled error %.3g", score);
    else std::snprintf(text, sizeof text, "%.0f ulp", score);
    return text;
}

/// "OUTPUT RULE: 3 of 259 elements fail; worst [t, n] got G expected E (7 ulp)".
std::string failure_text(const std::string& output, const json& rule_json, const snn_golden::compare_rule& rule,
                         const snn_golden::compare_result& r, const npy_array& got, const npy_array& expected) {
    std::string s = output + " " + rule_json.dump() + ": ";
    const bool bits = rule.kind == snn_golden::rule_kind::exact || rule.kind == snn_golden::rule_kind::ulp;
    if (rule.kind == snn_golden::rule_kind::spike_flips) {
        s += r.note;
    } else {
        s += std::to_string(r.failed) + " of " + std::to_string(r.checked) + " elements fail";
    }
    if (r.worst_index >= 0) {
        s += rule.kind == snn_golden::rule_kind::spike_flips ? "; first at " : "; worst at ";
        s += index_text(got.shape(), r.worst_index) + " got " + element_text(got, r.worst_index, bits) + " expected " +
             element_text(expected, r.worst_index, bits);
        if (rule.kind != snn_golden::rule_kind::spike_flips) s += " (" + score_text(rule, r.worst_score) + ")";
    }
    return s;
}

/// Outcome of one case.
struct case_outcome {
    enum class status { passed, failed, skipped } result = status::passed;
    std::vector<std::string> messages;  // failing outputs or the error (failed), or why (skipped)
    std::vector<std::string> details;   // per-output summaries for --verbose
};

/// Per neuron, whether the computed spike train equals the expected one (for agreeing_only);
/// computed once per case, only when some rule asks for it.
std::vector<bool> spike_agreement(const case_outputs& got, const std::map<std::string, npy_array>& expected) {
    const auto g = got.find("spike");
    const auto e = expected.find("spike");
    if (g == got.end() || e == expected.end())
        throw snn::invalid_argument("compare", "agreeing_only needs a 'spike' output to tell which neurons agree");
    return snn_golden::agreeing_neurons(g->second, e->second);
}

/// Checks every output the manifest lists against the computed one, under its rule.
void compare_outputs(const json& c, const fs::path& dir, const case_outputs& got, case_outcome& outcome) {
    const json& outputs = field(c, "outputs", "case");
    // No `compare` table (the lava/ set): every output is deterministic and compared exactly.
    static const json exact_rule = "exact";
    const json* compare = c.contains("compare") ? &c.at("compare") : nullptr;
    std::map<std::string, npy_array> expected;
    for (const auto& item : outputs.items())
        expected.emplace(item.key(), read_case_array(dir, string_field(outputs, item.key(), "outputs"), "outputs." + item.key()));

    std::vector<bool> neuron_agrees;
    bool have_agreement = false;
    for (const auto& [name, exp] : expected) {
        const json& rule_json = compare ? field(*compare, name, "compare") : exact_rule;
        const snn_golden::compare_rule rule = parse_rule(rule_json, name);
        if (rule.kind == snn_golden::rule_kind::skip) {
            outcome.details.push_back(name + " skipped (" + rule.skip_reason + ")");
            continue;
        }
        const auto computed = got.find(name);
        if (computed == got.end()) throw snn::invalid_argument("outputs." + name, "this tool does not compute it");
        std::vector<bool> mask;
        if (rule.agreeing_only) {
            if (!have_agreement) neuron_agrees = spike_agreement(got, expected);
            have_agreement = true;
            mask = snn_golden::agreeing_elements(neuron_agrees, exp.size());
        }
        snn_golden::compare_result r;
        try {
            r = snn_golden::compare_arrays(rule, computed->second, exp, rule.agreeing_only ? &mask : nullptr);
        } catch (const snn::invalid_argument& e) {
            throw snn::invalid_argument("outputs." + name, message_of(e));
        }
        if (!r.passed) outcome.messages.push_back(failure_text(name, rule_json, rule, r, computed->second, exp));
        if (!r.compared) outcome.details.push_back(name + " not compared (" + r.note + ")");
        else if (rule.kind == snn_golden::rule_kind::spike_flips) outcome.details.push_back(name + " " + r.note);
        else outcome.details.push_back(name + " " + (r.passed ? "ok" : "FAIL") + " max " + score_text(rule, r.max_score) +
                                       " over " + std::to_string(r.checked) + " elements");
    }
    if (!outcome.messages.empty()) outcome.result = case_outcome::status::failed;
}

/// --dump: each computed output under OUTDIR with the manifest's relative file name (or
/// CASE/OUTPUT.npy for an output the manifest does not list). Paths that would leave OUTDIR are
/// refused, since the manifest is input we do not control.
void dump_outputs(const json& c, const fs::path& dump_dir, const case_outputs& got) {
    const json& outputs = field(c, "outputs", "case");
    for (const auto& [name, array] : got) {
        const fs::path relative = outputs.contains(name) ? fs::path(string_field(outputs, name, "outputs"))
                                                         : fs::path(c.at("name").get<std::string>()) / (name + ".npy");
        for (const auto& part : relative)
            if (part == "..") throw snn::invalid_argument("outputs." + name, "path '" + relative.string() + "' leaves the dump directory");
        if (relative.is_absolute()) throw snn::invalid_argument("outputs." + name, "absolute path '" + relative.string() + "'");
        const fs::path path = dump_dir / relative;
        fs::create_directories(path.parent_path());
        snn::io::write_npy(path.string(), array);
    }
}

case_outcome run_case(const json& c, const run_context& ctx, const options& opt) {
    case_outcome outcome;
    try {
        const std::string kind = case_kind(c);
        const auto runner = runners().find(kind);
        if (runner == runners().end()) {
            outcome.result = case_outcome::status::skipped;
            outcome.messages.push_back("kind '" + kind + "' is not supported yet");
            return outcome;
        }
        const case_outputs got = runner->second(c, ctx);
        if (!opt.dump_dir.empty()) dump_outputs(c, opt.dump_dir, got);
        compare_outputs(c, ctx.dir, got, outcome);
    } catch (const std::exception& e) {
        outcome.result = case_outcome::status::failed;
        outcome.messages.assign(1, std::string("error: ") + e.what());
    }
    return outcome;
}

/// "c003 [float32/cuda/cupy]": the name and whichever of dtype, device, backend the case gives.
std::string case_label(const json& c) {
    std::string tags;
    for (const char* key : {"dtype", "device", "backend"}) {
        const auto it = c.find(key);
        if (it != c.end() && it->is_string()) tags += (tags.empty() ? "" : "/") + it->get<std::string>();
    }
    const std::string name = c.at("name").get<std::string>();
    return tags.empty() ? name : name + " [" + tags + "]";
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : separator) + p;
    return s;
}

// ---------------------------------------------------------------------------------------------
// Backend selection and main
// ---------------------------------------------------------------------------------------------

const snn::cpu::kernel_table& select_kernels(const options& o) {
    switch (o.backend) {
        case backend_kind::scalar: return snn::cpu::select_isa("scalar");
        case backend_kind::simd:
            try {
                return snn::cpu::select_isa(o.isa.empty() ? "simd" : o.isa);
            } catch (const snn::invalid_argument& e) {
                throw usage_error("--isa", e.what());
            }
        case backend_kind::cuda:
#if SNN_GOLDEN_HAS_CUDA
            try {
                return snn::cuda::staged_kernel_table();
            } catch (const snn::io_error& e) {
                throw usage_error("--backend", e.what());
            }
#else
            throw usage_error("--backend", "this build has no CUDA backend (configure with SNN_ENABLE_CUDA on a machine with nvcc)");
#endif
    }
    throw usage_error("--backend", "unknown");
}

int run(const options& opt) {
    const json manifest = load_manifest(opt.dir);
    run_context ctx;
    ctx.dir = opt.dir;
    ctx.backend = opt.backend;
    ctx.table = &select_kernels(opt);
    if (opt.verbose)
        std::cout << "snn-golden: " << opt.dir.string() << ": kernels '" << ctx.table->isa << "' (CPU runs: "
                  << snn::cpu::available_isas() << ")\n";

    int passed = 0, failed = 0, skipped = 0;
    for (const json& c : manifest.at("cases")) {
        if (!case_matches(c, opt.filter)) continue;
        const case_outcome o = run_case(c, ctx, opt);
        switch (o.result) {
            case case_outcome::status::passed:
                ++passed;
                if (opt.verbose) std::cout << "pass " << case_label(c) << ": " << join(o.details, "; ") << "\n";
                break;
            case case_outcome::status::failed:
                ++failed;
                std::cout << "FAIL " << case_label(c) << ": " << join(o.messages, " | ") << "\n";
                break;
            case case_outcome::status::skipped:
                ++skipped;
                if (opt.verbose) std::cout << "skip " << case_label(c) << ": " << join(o.messages, "; ") << "\n";
                break;
        }
    }
    std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped" << std::endl;
    return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const options opt = parse_arguments(argc, argv);
        if (opt.help) {
            std::cout << usage_text;
            return 0;
        }
        return run(opt);
    } catch (const usage_error& e) {
        std::cerr << "snn-golden: " << e.what() << "\n(snn-golden --help for usage)\n";
        return 2;
    } catch (const fatal_error& e) {
        std::cerr << "snn-golden: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {  // anything else outside a case: a manifest-level problem
        std::cerr << "snn-golden: " << e.what() << "\n";
        return 2;
    }
}
