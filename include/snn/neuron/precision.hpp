#pragma once
/// \file
/// Precision policies: the element types of every buffer a kernel touches and the arithmetic
/// policy of its math.
///   storage_type  x, spikes, v_seq, gradients            ([T, N] buffers)
///   state_type    v_init, v_last, grad_v_init            ([N] buffers, carried across calls)
///   saved_type    h_seq saved by the training forward for backward
///   compute_type  what one lane of the math holds
/// State and saved values keep full compute precision, so splitting a sequence into chunks
/// (v_last of one call as v_init of the next) gives the same bits as one call.

#include "snn/core/bfloat16.hpp"
#include "snn/core/binary16.hpp"
#include "snn/neuron/arith.hpp"

namespace snn {
namespace precision {

/// float64 throughout (torch `.double()`).
struct f64 {
    using storage_type = double;
    using state_type = double;
    using saved_type = double;
    using compute_type = double;
    using arith = snn::arith::native<double>;
    static constexpr const char* name = "float64";
};

/// float32 throughout (torch float32; bit-exact reference precision).
struct f32 {
    using storage_type = float;
    using state_type = float;
    using saved_type = float;
    using compute_type = float;
    using arith = snn::arith::native<float>;
    static constexpr const char* name = "float32";
};

/// float32 with contraction allowed: on CUDA (and on the host when compiled without
/// -ffp-contract=off) a*b + c may become one fused multiply-add. Faster, not bit-exact.
struct f32_fast {
    using storage_type = float;
    using state_type = float;
    using saved_type = float;
    using compute_type = float;
    using arith = snn::arith::native<float, true>;
    static constexpr const char* name = "float32-fast";
};

/// binary16 storage with float32 compute: halves memory traffic; the state and the saved
/// pre-spike membrane stay float32 so nothing is rounded inside the time loop.
struct f16_storage {
    using storage_type = binary16;
    using state_type = float;
    using saved_type = float;
    using compute_type = float;
    using arith = snn::arith::native<float>;
    static constexpr const char* name = "float16-storage";
};

/// bfloat16 storage with float32 compute (state and saved membrane float32).
struct bf16_storage {
    using storage_type = bfloat16;
    using state_type = float;
    using saved_type = float;
    using compute_type = float;
    using arith = snn::arith::native<float>;
    static constexpr const char* name = "bfloat16-storage";
};

/// Every operation rounded to binary16, as torch computes a `.half()` module; `ScalarRule`
/// says how Python scalars meet half tensors (arith::torch_cpu_scalars / torch_cuda_scalars).
template <class ScalarRule>
struct binary16_emulated {
    using storage_type = binary16;
    using state_type = binary16;
    using saved_type = binary16;
    using compute_type = float;
    using arith = snn::arith::binary16_emulated<ScalarRule>;
    static constexpr const char* name = ScalarRule::rounds_additive_scalar ? "float16-torch-cpu" : "float16-torch-cuda";
};

using b16_torch_cpu = binary16_emulated<snn::arith::torch_cpu_scalars>;
using b16_torch_cuda = binary16_emulated<snn::arith::torch_cuda_scalars>;

}  // namespace precision
}  // namespace snn
