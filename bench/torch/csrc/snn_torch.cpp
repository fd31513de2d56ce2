// snn_torch._C: snn's fused multi-step neuron kernels on torch tensors, with preallocated
// outputs and no autograd (snn_torch/__init__.py builds the autograd functions on top).
//
// CPU tensors run snn's run-time ISA dispatch table (libsnn_torch_dispatch.a, every policy
// chosen at run time); CUDA tensors run snn/cuda/multistep.cuh on torch's current stream
// (only in builds with SNN_TORCH_WITH_CUDA). Tensors: x, spikes, v_seq and their gradients
// are [T, N...] of float32 or float16 (float16 = snn::precision::f16_storage: half storage,
// float32 compute); membrane state (v_init, v_last and their gradients) [N...] float32; the
// saved pre-spike membrane h_seq [T, N...] float32; grad_w one float64. Every tensor must be
// contiguous and on x's device. Bad input raises TypeError (dtype) or ValueError (the rest),
// the message naming the argument.
#include <torch/extension.h>
#include <pybind11/stl.h>  // std::optional arguments

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#ifdef SNN_TORCH_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

#include "snn/core/error.hpp"
#include "snn/cpu/dispatch.hpp"
#include "snn/neuron/params.hpp"
#include "snn_torch_kernels.hpp"

namespace py = pybind11;

namespace {

using snn::cpu::charge_id;
using snn::cpu::precision_id;

[[noreturn]] void raise_type(const std::string& argument, const std::string& reason) {
    throw py::type_error("snn: " + argument + ": " + reason);
}

std::string shape_text(at::IntArrayRef sizes) {
    std::string s = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
    return s + "]";
}

// ---------------------------------------------------------------------------------------------
// CPU kernel table (run-time ISA selection, once).
// ---------------------------------------------------------------------------------------------
#ifdef SNN_TORCH_WITH_CPU_KERNELS
const snn::cpu::kernel_table* selected_cpu_table = nullptr;  // read and set with the GIL held

const snn::cpu::kernel_table& cpu_table(const char* /*argument*/) {
    if (selected_cpu_table == nullptr) {
        try {
            selected_cpu_table = &snn::cpu::select_isa("simd");
        } catch (const snn::invalid_argument&) {
            selected_cpu_table = &snn::cpu::select_isa("scalar");  // no SIMD ISA compiled in for this CPU
        }
    }
    return *selected_cpu_table;
}
#else
[[noreturn]] const snn::cpu::kernel_table& cpu_table(const char* argument) {
    throw snn::invalid_argument(argument, "is a CPU tensor but snn_torch was built without its CPU kernels (xsimd was missing at build time)");
}
#endif

// ---------------------------------------------------------------------------------------------
// Tensor checks.
// ---------------------------------------------------------------------------------------------

/// What every tensor of one call is checked against: x's (or grad_spike's) device, storage
/// dtype and [T, N...] shape.
struct call_layout {
    at::Device device{at::kCPU};
    at::ScalarType storage = at::kFloat;
    std::vector<std::int64_t> seq_shape;    // [T, N...]
    std::vector<std::int64_t> state_shape;  // [N...]
    std::int64_t steps = 0;
    std::int64_t neurons = 0;
    precision_id precision = precision_id::f32;
};

void check_common(const at::Tensor& t, const char* name, const call_layout& l) {
    if (t.device() != l.device)
        throw snn::invalid_argument(name, "is on " + t.device().str() + " but the input is on " + l.device.str());
    if (!t.is_contiguous()) throw snn::invalid_argument(name, "must be contiguous (call .contiguous())");
}

call_layout layout_of(const at::Tensor& t, const char* name) {
    if (!t.defined()) throw snn::invalid_argument(name, "is required (got None)");
    call_layout l;
    l.device = t.device();
    if (!t.device().is_cpu() && !t.device().is_cuda()) throw snn::invalid_argument(name, "must be a CPU or CUDA tensor, got " + t.device().str());
#ifndef SNN_TORCH_WITH_CUDA
    if (t.device().is_cuda()) throw snn::invalid_argument(name, "is a CUDA tensor but snn_torch was built without CUDA (rebuild with SNN_TORCH_CUDA=1)");
#endif
    if (t.scalar_type() == at::kFloat) l.precision = precision_id::f32;
    else if (t.scalar_type() == at::kHalf) l.precision = precision_id::f16_storage;
    else raise_type(name, std::string("must be float32 or float16, got ") + c10::toString(t.scalar_type()));
    l.storage = t.scalar_type();
    if (t.dim() < 1) throw snn::invalid_argument(name, "needs a leading time dimension: shape [T, N...], got a 0-d tensor");
    if (t.numel() == 0) throw snn::invalid_argument(name, "is empty, shape " + shape_text(t.sizes()));
    if (!t.is_contiguous()) throw snn::invalid_argument(name, "must be contiguous, time-major [T, N...] (call .contiguous())");
    l.seq_shape.assign(t.sizes().begin(), t.sizes().end());
    l.state_shape.assign(t.sizes().begin() + 1, t.sizes().end());
    l.steps = t.size(0);
    l.neurons = t.numel() / l.steps;
    return l;
}

/// A [T, N...] tensor of `dtype` (the storage dtype unless told otherwise).
void check_seq(const at::Tensor& t, const char* name, const call_layout& l, at::ScalarType dtype) {
    if (t.scalar_type() != dtype)
        raise_type(name, std::string("must be ") + c10::toString(dtype) + ", got " + c10::toString(t.scalar_type()));
    if (t.sizes() != at::IntArrayRef(l.seq_shape))
        throw snn::invalid_argument(name, "must have shape " + shape_text(l.seq_shape) + ", got " + shape_text(t.sizes()));
    check_common(t, name, l);
}

/// A float32 [N...] membrane-state tensor.
void check_state(const at::Tensor& t, const char* name, const call_layout& l) {
    if (t.scalar_type() != at::kFloat)
        raise_type(name, std::string("membrane state must be float32 (for float16 inputs too), got ") + c10::toString(t.scalar_type()));
    if (t.sizes() != at::IntArrayRef(l.state_shape))
        throw snn::invalid_argument(name, "must have shape " + shape_text(l.state_shape) + " (x without its time dimension), got " +
                                              shape_text(t.sizes()));
    check_common(t, name, l);
}

template <class T = void>
T* ptr_or_null(const std::optional<at::Tensor>& t) {
    return t.has_value() && t->defined() ? static_cast<T*>(t->data_ptr()) : nullptr;
}

bool given(const std::optional<at::Tensor>& t) { return t.has_value() && t->defined(); }

// ---------------------------------------------------------------------------------------------
// The neuron.
// ---------------------------------------------------------------------------------------------

/// One neuron type: charge (IF, LIF, PLIF), reset, surrogate, division, thresholds. Calls take
/// preallocated tensors; nothing is allocated except PLIF's CUDA workspace.
class Neuron {
public:
    Neuron(const std::string& kind, double tau, bool decay_input, double v_threshold, std::optional<double> v_reset, bool detach_reset,
           const std::string& surrogate, std::optional<double> alpha, const std::string& division)
        : kind_(kind), decay_input_(decay_input), division_(division) {
        if (kind == "if") charge_ = charge_id::if_;
        else if (kind == "lif") charge_ = decay_input ? charge_id::lif_decay_input : charge_id::lif;
        else if (kind == "plif") charge_ = decay_input ? charge_id::plif_decay_input : charge_id::plif;
        else throw snn::invalid_argument("kind", "must be 'if', 'lif' or 'plif', got '" + kind + "'");

        if (!std::isfinite(v_threshold)) throw snn::invalid_argument("v_threshold", "must be finite");
        params_.v_threshold = v_threshold;
        if (v_reset.has_value()) {
            if (!std::isfinite(*v_reset)) throw snn::invalid_argument("v_reset", "must be finite or None (soft reset)");
            params_.v_reset = *v_reset;
            params_.dynamic.reset = snn::reset_kind::hard;
        } else {
            params_.v_reset = 0.0;
            params_.dynamic.reset = snn::reset_kind::soft;
        }
        params_.dynamic.detach_reset = detach_reset;
        params_.dynamic.fire = snn::fire_kind::greater_equal;
        if (kind == "lif" && !(std::isfinite(tau) && tau > 1.0))
            throw snn::invalid_argument("tau", "LIF needs a finite tau > 1, got " + std::to_string(tau));
        params_.tau = kind == "lif" ? tau : 2.0;

        const snn::surrogate_kind sk = snn::surrogate_from_name(surrogate);
        params_.dynamic.surrogate = sk;
        params_.surrogate = snn::default_surrogate_params(sk);
        if (alpha.has_value()) params_.surrogate.alpha = *alpha;
        snn::validate_surrogate(sk, params_.surrogate);

        if (division != "auto" && division != "true_division" && division != "reciprocal" && division != "fused")
            throw snn::invalid_argument("division", "must be 'auto', 'true_division', 'reciprocal' or 'fused', got '" + division + "'");
    }

    /// Forward; `h_seq` given selects the training kernel (which fills it for backward).
    void forward(const at::Tensor& x, const at::Tensor& spike, const std::optional<at::Tensor>& h_seq,
                 const std::optional<at::Tensor>& v_init, const std::optional<at::Tensor>& v_seq,
                 const std::optional<at::Tensor>& v_last, double w) const {
        const call_layout l = layout_of(x, "x");
        check_seq(spike, "spike", l, l.storage);
        if (given(h_seq)) check_seq(*h_seq, "h_seq", l, at::kFloat);
        if (given(v_init)) check_state(*v_init, "v_init", l);
        if (given(v_seq)) check_seq(*v_seq, "v_seq", l, l.storage);
        if (given(v_last)) check_state(*v_last, "v_last", l);
        const bool training = given(h_seq);
        if (training && is_parametric() && !given(v_seq))
            throw snn::invalid_argument("v_seq", "PLIF training needs v_seq (its backward reads it)");

        snn::cpu::erased_forward_args e;
        e.steps = l.steps;
        e.neurons = l.neurons;
        e.x = x.data_ptr();
        e.v_init = ptr_or_null(v_init);
        e.spike = spike.data_ptr();
        e.v_seq = ptr_or_null(v_seq);
        e.v_last = ptr_or_null(v_last);
        e.h_seq = ptr_or_null(h_seq);
        const snn::neuron_params p = params_for(l.device, w);

        if (l.device.is_cpu()) {
            const snn::cpu::kernel_entry& entry = cpu_table("x").at(l.precision, charge_);
            const snn::cpu::execution exec{at::get_num_threads()};
            py::gil_scoped_release no_gil;
            (training ? entry.forward_training : entry.forward_inference)(p, e, exec);
            return;
        }
#ifdef SNN_TORCH_WITH_CUDA
        const c10::cuda::CUDAGuard guard(l.device);
        snn_torch::cuda_entry_for(l.precision, charge_).forward(p, e, training, at::cuda::getCurrentCUDAStream(l.device.index()).stream());
#endif
    }

    /// Backward through time: fills grad_x (and grad_v_init, grad_w when given).
    void backward(const at::Tensor& grad_spike, const at::Tensor& h_seq, const at::Tensor& grad_x,
                  const std::optional<at::Tensor>& grad_v_seq, const std::optional<at::Tensor>& grad_v_last,
                  const std::optional<at::Tensor>& x, const std::optional<at::Tensor>& v_seq, const std::optional<at::Tensor>& v_init,
                  const std::optional<at::Tensor>& grad_v_init, const std::optional<at::Tensor>& grad_w, double w) const {
        const call_layout l = layout_of(grad_spike, "grad_spike");
        check_seq(h_seq, "h_seq", l, at::kFloat);
        check_seq(grad_x, "grad_x", l, l.storage);
        if (given(grad_v_seq)) check_seq(*grad_v_seq, "grad_v_seq", l, l.storage);
        if (given(grad_v_last)) check_state(*grad_v_last, "grad_v_last", l);
        if (given(x)) check_seq(*x, "x", l, l.storage);
        if (given(v_seq)) check_seq(*v_seq, "v_seq", l, l.storage);
        if (given(v_init)) check_state(*v_init, "v_init", l);
        if (given(grad_v_init)) check_state(*grad_v_init, "grad_v_init", l);
        if (given(grad_w)) {
            if (grad_w->scalar_type() != at::kDouble) raise_type("grad_w", std::string("must be float64, got ") + c10::toString(grad_w->scalar_type()));
            if (grad_w->numel() != 1) throw snn::invalid_argument("grad_w", "must hold exactly one element, got " + std::to_string(grad_w->numel()));
            check_common(*grad_w, "grad_w", l);
            if (!is_parametric()) throw snn::invalid_argument("grad_w", "only PLIF has a learnable w");
        }
        if (is_parametric()) {
            if (!given(v_seq)) throw snn::invalid_argument("v_seq", "PLIF backward needs v_seq from the training forward");
            if (decay_input_ && !given(x)) throw snn::invalid_argument("x", "PLIF backward (decay_input) needs the forward input x");
        }

        snn::cpu::erased_backward_args e;
        e.steps = l.steps;
        e.neurons = l.neurons;
        e.grad_spike = grad_spike.data_ptr();
        e.grad_v_seq = ptr_or_null(grad_v_seq);
        e.grad_v_last = ptr_or_null(grad_v_last);
        e.h_seq = h_seq.data_ptr();
        e.x = ptr_or_null(x);
        e.v_seq = ptr_or_null(v_seq);
        e.v_init = ptr_or_null(v_init);
        e.grad_x = grad_x.data_ptr();
        e.grad_v_init = ptr_or_null(grad_v_init);
        e.grad_w = ptr_or_null<double>(grad_w);
        const snn::neuron_params p = params_for(l.device, w);

        if (l.device.is_cpu()) {
            const snn::cpu::kernel_entry& entry = cpu_table("grad_spike").at(l.precision, charge_);
            const snn::cpu::execution exec{at::get_num_threads()};
            py::gil_scoped_release no_gil;
            entry.backward(p, e, exec);
            return;
        }
#ifdef SNN_TORCH_WITH_CUDA
        const c10::cuda::CUDAGuard guard(l.device);
        const snn_torch::cuda_entry& entry = snn_torch::cuda_entry_for(l.precision, charge_);
        const std::size_t bytes = entry.workspace_bytes(p, e);
        // Scratch from torch's caching allocator, ordered on the stream the kernels run on.
        at::Tensor workspace;
        if (bytes) workspace = at::empty({static_cast<std::int64_t>(bytes)}, grad_spike.options().dtype(at::kByte));
        entry.backward(p, e, bytes ? workspace.data_ptr() : nullptr, bytes, at::cuda::getCurrentCUDAStream(l.device.index()).stream());
#endif
    }

    bool is_parametric() const { return charge_ == charge_id::plif_decay_input || charge_ == charge_id::plif; }
    const std::string& kind() const { return kind_; }
    bool decay_input() const { return decay_input_; }
    double tau() const { return params_.tau; }
    double v_threshold() const { return params_.v_threshold; }
    std::optional<double> v_reset() const {
        if (params_.dynamic.reset == snn::reset_kind::soft) return std::nullopt;
        return params_.v_reset;
    }
    bool detach_reset() const { return params_.dynamic.detach_reset; }
    std::string surrogate() const { return snn::surrogate_name(params_.dynamic.surrogate); }
    double alpha() const { return params_.surrogate.alpha; }
    const std::string& division() const { return division_; }

    /// The division a device uses: "auto" is what torch eager does there (IEEE division on the
    /// CPU, multiplication by float32(1/tau) on CUDA), so results match the plain loop.
    std::string division_on(const at::Device& device) const {
        if (division_ != "auto") return division_;
        return device.is_cuda() ? "reciprocal" : "true_division";
    }

    std::string repr() const {
        std::string r = "snn_torch.Neuron(kind='" + kind_ + "'";
        if (kind_ == "lif") r += ", tau=" + std::to_string(params_.tau);
        if (kind_ != "if") r += std::string(", decay_input=") + (decay_input_ ? "True" : "False");
        r += ", v_threshold=" + std::to_string(params_.v_threshold);
        r += ", v_reset=" + (v_reset().has_value() ? std::to_string(*v_reset()) : std::string("None"));
        r += std::string(", detach_reset=") + (detach_reset() ? "True" : "False");
        r += ", surrogate='" + surrogate() + "', alpha=" + std::to_string(alpha()) + ", division='" + division_ + "')";
        return r;
    }

private:
    snn::neuron_params params_for(const at::Device& device, double w) const {
        snn::neuron_params p = params_;
        const std::string d = division_on(device);
        p.dynamic.division = d == "reciprocal" ? snn::division_kind::reciprocal
                             : d == "fused"    ? snn::division_kind::fused
                                               : snn::division_kind::true_division;
        if (is_parametric()) {
            if (!std::isfinite(w)) throw snn::invalid_argument("w", "must be finite, got " + std::to_string(w));
            p.w = w;
        }
        return p;
    }

    std::string kind_;
    bool decay_input_ = true;
    std::string division_;
    charge_id charge_ = charge_id::lif_decay_input;
    snn::neuron_params params_;
};

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.doc() = "snn's fused multi-step neuron kernels (IF, LIF, PLIF) on torch tensors, preallocated outputs, no autograd";

    py::class_<Neuron>(m, "Neuron")
        .def(py::init<const std::string&, double, bool, double, std::optional<double>, bool, const std::string&, std::optional<double>,
                      const std::string&>(),
             py::arg("kind") = "lif", py::arg("tau") = 2.0, py::arg("decay_input") = true, py::arg("v_threshold") = 1.0,
             py::arg("v_reset") = 0.0, py::arg("detach_reset") = false, py::arg("surrogate") = "sigmoid", py::arg("alpha") = py::none(),
             py::arg("division") = "auto")
        .def("forward", &Neuron::forward, py::arg("x"), py::arg("spike"), py::arg("h_seq") = py::none(), py::arg("v_init") = py::none(),
             py::arg("v_seq") = py::none(), py::arg("v_last") = py::none(), py::arg("w") = 0.0,
             "Forward over x [T, N...] into spike; with h_seq (float32 [T, N...]) the training kernel, which fills it")
        .def("backward", &Neuron::backward, py::arg("grad_spike"), py::arg("h_seq"), py::arg("grad_x"), py::arg("grad_v_seq") = py::none(),
             py::arg("grad_v_last") = py::none(), py::arg("x") = py::none(), py::arg("v_seq") = py::none(), py::arg("v_init") = py::none(),
             py::arg("grad_v_init") = py::none(), py::arg("grad_w") = py::none(), py::arg("w") = 0.0,
             "Backward through time into grad_x (and grad_v_init, grad_w: one float64, PLIF)")
        .def_property_readonly("kind", &Neuron::kind)
        .def_property_readonly("is_parametric", &Neuron::is_parametric)
        .def_property_readonly("decay_input", &Neuron::decay_input)
        .def_property_readonly("tau", &Neuron::tau)
        .def_property_readonly("v_threshold", &Neuron::v_threshold)
        .def_property_readonly("v_reset", &Neuron::v_reset)
        .def_property_readonly("detach_reset", &Neuron::detach_reset)
        .def_property_readonly("surrogate", &Neuron::surrogate)
        .def_property_readonly("alpha", &Neuron::alpha)
        .def_property_readonly("division", &Neuron::division)
        .def("division_on", [](const Neuron& n, const std::string& device) { return n.division_on(at::Device(device)); }, py::arg("device"))
        .def("__repr__", &Neuron::repr);

#ifdef SNN_TORCH_WITH_CPU_KERNELS
    m.def("cpu_isa", [] { return std::string(cpu_table("isa").isa); }, "Instruction set of the CPU kernels in use");
#else
    m.def("cpu_isa", [] { return std::string("none (built without CPU kernels)"); });
#endif
#ifdef SNN_TORCH_WITH_CPU_KERNELS
    m.def("available_cpu_isas", [] { return snn::cpu::available_isas(); }, "Compiled instruction sets this CPU can run, best first");
    m.def(
        "select_cpu_isa", [](const std::string& isa) { selected_cpu_table = &snn::cpu::select_isa(isa); }, py::arg("isa"),
        "Use the CPU kernels of one instruction set ('scalar', 'sse2', 'avx2', 'avx512', 'simd' = best)");
    m.attr("with_cpu_kernels") = true;
#else
    m.def("available_cpu_isas", [] { return std::string(); });
    m.attr("with_cpu_kernels") = false;
#endif
#ifdef SNN_TORCH_WITH_CUDA
    m.attr("with_cuda") = true;
#else
    m.attr("with_cuda") = false;
#endif
}
