#pragma once
/// \file
/// What the CUDA synapse ops share: the error type for cuBLAS failures, grid sizing for 64-bit
/// grid-stride loops, and the launch-error check.
///
/// Conventions of every op in snn/cuda/synapse/ (the same as snn/cuda/multistep.cuh): the
/// argument structs are the backend-neutral ones of snn/synapse/*_args.hpp with device
/// pointers; the stream is explicit; nothing is allocated and nothing synchronises; bad
/// arguments throw `snn::invalid_argument` before anything is launched; a failed kernel launch
/// is returned as cudaError_t; a failed cuBLAS call throws `snn::cuda::cublas_error`
/// (cuBLAS has no cudaError_t to return). All indexing is 64-bit.

#include <cstdint>
#include <stdexcept>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "snn/core/error.hpp"
#include "snn/synapse/common.hpp"

namespace snn {
namespace cuda {

/// A cuBLAS call failed; `status()` is its status.
class cublas_error : public std::runtime_error {
public:
    cublas_error(cublasStatus_t status, const std::string& what)
        : std::runtime_error("snn::cuda: cuBLAS " + what + " failed with status " + std::to_string(static_cast<int>(status))),
          status_(status) {}
    cublasStatus_t status() const noexcept { return status_; }

private:
    cublasStatus_t status_;
};

/// Math of the synapse GEMMs: `fp32` is IEEE float32 (cuBLAS's default, CUBLAS_COMPUTE_32F,
/// the setting the field's benchmarks use), `tf32` lets the tensor cores round the inputs to
/// TF32 (10-bit mantissa, float32 accumulation: about 1e-3 relative error). double GEMMs are
/// always FP64.
enum class gemm_math { fp32, tf32 };

namespace synapse_detail {

inline void check_cublas(cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS) throw cublas_error(status, what);
}

/// Blocks for a grid-stride loop over `count` items: enough to fill the GPU, never more than
/// the items need (the loop covers the rest).
inline unsigned grid_blocks(std::int64_t count, int threads) {
    constexpr std::int64_t max_blocks = 1 << 16;
    const std::int64_t blocks = (count + threads - 1) / threads;
    return static_cast<unsigned>(blocks < max_blocks ? blocks : max_blocks);
}

}  // namespace synapse_detail
}  // namespace cuda
}  // namespace snn
