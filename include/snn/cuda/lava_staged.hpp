#pragma once
/// \file
/// Host-pointer wrappers of the Loihi kernels on CUDA (snn/cuda/lava_cuba.cuh): each call copies
/// its inputs to the device, runs the kernel on its own stream, copies the outputs back and
/// waits. For tools and tests that compare backends on the same host buffers (snn-golden
/// --backend cuda, the CUDA parity tests); training code calls lava_cuba.cuh with device
/// pointers. Defined in cuda/lava_staged.cu (library snn_cuda_lava).

#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/loihi_lif.hpp"

namespace snn {
namespace cuda {

/// CUBA forward under `rule`; `host_args` holds host pointers. CUDA failures throw snn::io_error.
void lava_cuba_forward_staged(lava::cuba_rule_id rule, const lava::cuba_constants& k, const lava::cuba_forward_args& host_args);

/// CUBA backward; `host_args` holds host pointers.
void lava_cuba_backward_staged(const lava::cuba_constants& k, const lava::cuba_backward_args& host_args);

/// Lava bit-accurate LIF; `host_args` holds host pointers.
void lava_loihi_lif_staged(const lava::loihi_lif_params& p, const lava::loihi_lif_args& host_args);

}  // namespace cuda
}  // namespace snn
