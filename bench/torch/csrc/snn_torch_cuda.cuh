// CUDA launch code of the snn_torch extension, included by the generated per-(precision,
// charge) units snn_torch_cuda_<precision>_<charge>.cu (setup.py writes them so that nvcc
// compiles them in parallel) and by snn_torch_cuda_table.cu. Not a public header.
#pragma once

// torch's extension build defines these for every nvcc unit; they only matter to torch's own
// headers (which these units never include) and would hide the cuda_fp16 operators that snn's
// kernels may use.
#undef __CUDA_NO_HALF_OPERATORS__
#undef __CUDA_NO_HALF_CONVERSIONS__
#undef __CUDA_NO_HALF2_OPERATORS__
#undef __CUDA_NO_BFLOAT16_CONVERSIONS__

#include <cstddef>
#include <stdexcept>
#include <string>

#include <cuda_runtime.h>

#include "snn/cuda/multistep.cuh"
#include "snn_torch_kernels.hpp"

namespace snn_torch {
namespace cuda_detail {

inline void check_cuda(cudaError_t error, const char* what) {
    if (error != cudaSuccess) throw std::runtime_error(std::string("snn_torch: CUDA error in ") + what + ": " + cudaGetErrorString(error));
}

template <class Config>
snn::forward_args<Config> typed(const snn::cpu::erased_forward_args& e) {
    snn::forward_args<Config> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.x = static_cast<const typename Config::storage_type*>(e.x);
    a.v_init = static_cast<const typename Config::state_type*>(e.v_init);
    a.spike = static_cast<typename Config::storage_type*>(e.spike);
    a.v_seq = static_cast<typename Config::storage_type*>(e.v_seq);
    a.v_last = static_cast<typename Config::state_type*>(e.v_last);
    a.h_seq = static_cast<typename Config::saved_type*>(e.h_seq);
    return a;
}

template <class Config>
snn::backward_args<Config> typed(const snn::cpu::erased_backward_args& e) {
    snn::backward_args<Config> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.grad_spike = static_cast<const typename Config::storage_type*>(e.grad_spike);
    a.grad_v_seq = static_cast<const typename Config::storage_type*>(e.grad_v_seq);
    a.grad_v_last = static_cast<const typename Config::state_type*>(e.grad_v_last);
    a.h_seq = static_cast<const typename Config::saved_type*>(e.h_seq);
    a.x = static_cast<const typename Config::storage_type*>(e.x);
    a.v_seq = static_cast<const typename Config::storage_type*>(e.v_seq);
    a.v_init = static_cast<const typename Config::state_type*>(e.v_init);
    a.grad_x = static_cast<typename Config::storage_type*>(e.grad_x);
    a.grad_v_init = static_cast<typename Config::state_type*>(e.grad_v_init);
    a.grad_w = e.grad_w;
    return a;
}

/// Calls `f.template run<Config>()` with the kernel configuration for `p`: static policies for
/// the common SpikingJelly neuron (nothing selected per element), dynamic ones otherwise.
template <class Precision, class Charge, class F>
void visit_config(const snn::neuron_params& p, F& f) {
    const snn::dynamic_choice& d = p.dynamic;
    const bool common = d.reset == snn::reset_kind::hard && !d.detach_reset && d.fire == snn::fire_kind::greater_equal &&
                        d.division == snn::division_kind::reciprocal;
    if (common && d.surrogate == snn::surrogate_kind::atan) {
        f.template run<snn::neuron_config<Charge, snn::fire::greater_equal, snn::reset::hard<false>, snn::surrogate::atan,
                                          snn::division::reciprocal, Precision>>();
    } else if (common && d.surrogate == snn::surrogate_kind::sigmoid) {
        f.template run<snn::neuron_config<Charge, snn::fire::greater_equal, snn::reset::hard<false>, snn::surrogate::sigmoid,
                                          snn::division::reciprocal, Precision>>();
    } else {
        f.template run<snn::neuron_config<Charge, snn::fire::dynamic, snn::reset::dynamic, snn::surrogate::dynamic,
                                          snn::division::dynamic, Precision>>();
    }
}

struct forward_call {
    const snn::neuron_params& p;
    const snn::cpu::erased_forward_args& e;
    bool training;
    cudaStream_t stream;
    template <class Config>
    void run() {
        const auto a = typed<Config>(e);
        if (training) check_cuda(snn::cuda::forward_training<Config>(p, a, stream), "snn::cuda::forward_training");
        else check_cuda(snn::cuda::forward_inference<Config>(p, a, stream), "snn::cuda::forward_inference");
    }
};

struct workspace_call {
    const snn::cpu::erased_backward_args& e;
    std::size_t bytes = 0;
    template <class Config>
    void run() {
        bytes = snn::cuda::backward_workspace_bytes<Config>(typed<Config>(e));
    }
};

struct backward_call {
    const snn::neuron_params& p;
    const snn::cpu::erased_backward_args& e;
    void* workspace;
    std::size_t workspace_bytes;
    cudaStream_t stream;
    template <class Config>
    void run() {
        check_cuda(snn::cuda::backward<Config>(p, typed<Config>(e), workspace, workspace_bytes, stream), "snn::cuda::backward");
    }
};

template <class Precision, class Charge>
void forward_entry(const snn::neuron_params& p, const snn::cpu::erased_forward_args& e, bool training, void* stream) {
    forward_call call{p, e, training, static_cast<cudaStream_t>(stream)};
    visit_config<Precision, Charge>(p, call);
}

template <class Precision, class Charge>
std::size_t workspace_entry(const snn::neuron_params& p, const snn::cpu::erased_backward_args& e) {
    workspace_call call{e};
    visit_config<Precision, Charge>(p, call);
    return call.bytes;
}

template <class Precision, class Charge>
void backward_entry(const snn::neuron_params& p, const snn::cpu::erased_backward_args& e, void* workspace, std::size_t bytes,
                    void* stream) {
    backward_call call{p, e, workspace, bytes, static_cast<cudaStream_t>(stream)};
    visit_config<Precision, Charge>(p, call);
}

template <class Precision, class Charge>
cuda_entry make_entry() {
    cuda_entry entry;
    entry.forward = &forward_entry<Precision, Charge>;
    entry.workspace_bytes = &workspace_entry<Precision, Charge>;
    entry.backward = &backward_entry<Precision, Charge>;
    return entry;
}

}  // namespace cuda_detail
}  // namespace snn_torch

/// Defines snn_torch::cuda_entry_<precision>_<charge>() in a generated unit, e.g.
/// SNN_TORCH_CUDA_UNIT(f32, lif_decay_input, snn::precision::f32, snn::charge::lif<true>).
#define SNN_TORCH_CUDA_UNIT(precision_name, charge_name, Precision, ...)                      \
    namespace snn_torch {                                                                    \
    cuda_entry cuda_entry_##precision_name##_##charge_name() {                               \
        return cuda_detail::make_entry<Precision, __VA_ARGS__>();                            \
    }                                                                                        \
    }
