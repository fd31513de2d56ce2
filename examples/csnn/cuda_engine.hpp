#pragma once
/// \file
/// The CSNN's float32 engine on CUDA (cuda_engine.cu), behind plain C++ declarations so the
/// demo's main program stays a C++ file.

#include <memory>
#include <string>

#include "model.hpp"

namespace csnn {

/// Whether a CUDA device can be used (a driver and at least one GPU).
bool cuda_device_available();

/// The engine on the current CUDA device with the model's values uploaded, or null with the
/// reason in `why_not` when no device can be used. `tf32` lets the convolution and linear
/// GEMMs use TF32 tensor cores (float32 accumulation) instead of IEEE float32.
std::unique_ptr<float_engine> make_cuda_engine(model& m, bool tf32, std::string& why_not);

}  // namespace csnn
