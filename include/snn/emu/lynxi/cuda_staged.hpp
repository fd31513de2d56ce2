#pragma once
/// \file
/// The Lynxi CUDA kernels behind the same table as the CPU dispatch (emu/lynxi/dispatch.hpp),
/// taking *host* pointers: each call copies its inputs (and per-channel parameters) to the
/// device, runs the kernel, copies the outputs back and waits. For tools and tests that
/// compare backends on the same host buffers (snn-golden --backend cuda, the CUDA tests); real
/// workloads call emu/lynxi/multistep.cuh with device pointers.
///
/// Defined in cuda/lynxi_staged.cu (library snn_lynxi_cuda).

#include "snn/emu/lynxi/dispatch.hpp"

namespace snn {
namespace emu {
namespace lynxi {
namespace cuda {

/// The table (isa "cuda"). Throws snn::io_error when no CUDA device is usable; CUDA errors in a
/// call are thrown as snn::io_error naming the call; bad arguments as snn::invalid_argument.
const kernel_table& staged_kernel_table();

}  // namespace cuda
}  // namespace lynxi
}  // namespace emu
}  // namespace snn
