#pragma once
// Interface between the Python bindings (snn_torch.cpp, compiled by the host compiler with
// torch's headers) and the CUDA launch units (snn_torch_cuda*.cu, compiled by nvcc without
// torch's headers): the type-erased argument structs of snn's CPU dispatch table, plus a
// table of CUDA entry points indexed like it. Streams travel as void* so this header needs
// no CUDA headers.

#include <cstddef>

#include "snn/cpu/dispatch.hpp"
#include "snn/neuron/params.hpp"

namespace snn_torch {

/// CUDA entry points of one (precision, charge). Each picks a static-policy kernel when the
/// run-time choices match the common case (hard reset, no detach, `>=`, reciprocal division,
/// ATan or Sigmoid) and the all-dynamic kernel otherwise. Errors are thrown: bad arguments as
/// snn::invalid_argument, CUDA failures as std::runtime_error naming the call.
struct cuda_entry {
    void (*forward)(const snn::neuron_params&, const snn::cpu::erased_forward_args&, bool training, void* stream) = nullptr;
    std::size_t (*workspace_bytes)(const snn::neuron_params&, const snn::cpu::erased_backward_args&) = nullptr;
    void (*backward)(const snn::neuron_params&, const snn::cpu::erased_backward_args&, void* workspace, std::size_t workspace_bytes,
                     void* stream) = nullptr;
};

/// Defined in snn_torch_cuda_table.cu (only in builds with CUDA).
const cuda_entry& cuda_entry_for(snn::cpu::precision_id precision, snn::cpu::charge_id charge);

}  // namespace snn_torch
