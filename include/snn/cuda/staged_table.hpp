#pragma once
/// \file
/// The CUDA kernels behind the same type-erased table as the CPU dispatch (cpu/dispatch.hpp),
/// taking *host* pointers: every call copies its inputs to the device, runs the kernels on a
/// stream, copies the outputs back and waits. Meant for tools and tests that compare backends
/// on the same host buffers (snn-golden --backend cuda, the CUDA parity tests), not for
/// training loops — those call snn/cuda/multistep.cuh with device pointers.
///
/// Defined in a CUDA translation unit that includes snn/cuda/staged_table_instantiate.cuh.

#include <string>

#include "snn/cpu/dispatch.hpp"

namespace snn {
namespace cuda {

/// The table (entries [precision][charge], dynamic policies). Throws snn::io_error when no
/// CUDA device is usable; CUDA errors in a call are thrown as snn::io_error naming the call.
const cpu::kernel_table& staged_kernel_table();

/// "NVIDIA H100 80GB HBM3 (sm_90), driver 13.0, runtime 13.0" or why no device is usable.
std::string device_description();

}  // namespace cuda
}  // namespace snn
