#pragma once
/// \file
/// Arithmetic policies: how each elementary operation of the neuron math rounds, and how a
/// Python-style scalar constant meets a tensor value. Reproducing a reference bit for bit is a
/// matter of doing the same operations in the same order with the same rounding, so the step
/// code (neuron/step.hpp) is written only in terms of these functions.
///
/// Naming: `add(a, b)` is tensor-op-tensor; `add_s(a, c)` is tensor-op-scalar with the scalar on
/// the right; `rsub_s(c, a)` is `c - a`; `s_div(c, a)` is `c / a`, which torch evaluates as
/// `reciprocal(a) * c` (two roundings).

#include <type_traits>

#include "snn/config.hpp"
#include "snn/core/binary16.hpp"
#include "snn/neuron/vec_ops.hpp"

namespace snn {
namespace arith {

namespace detail {

/// Correctly rounded +, -, *, / that a compiler may not fuse into a multiply-add. On the host,
/// -ffp-contract=off (set by the snn::snn target) guarantees that for plain operators; CUDA
/// contracts by default (--fmad=true), so device code uses the _rn intrinsics, which nvcc never
/// contracts. `Contract` = true gives plain operators everywhere (the fast, FMA-allowed mode).
template <bool Contract>
struct ieee {
    template <class V> SNN_HOST_DEVICE static V add(V a, V b) {
#if SNN_IS_DEVICE_CODE
        if constexpr (!Contract && std::is_same_v<V, float>) return __fadd_rn(a, b);
        if constexpr (!Contract && std::is_same_v<V, double>) return __dadd_rn(a, b);
#endif
        return a + b;
    }
    template <class V> SNN_HOST_DEVICE static V sub(V a, V b) {
#if SNN_IS_DEVICE_CODE
        if constexpr (!Contract && std::is_same_v<V, float>) return __fsub_rn(a, b);
        if constexpr (!Contract && std::is_same_v<V, double>) return __dsub_rn(a, b);
#endif
        return a - b;
    }
    template <class V> SNN_HOST_DEVICE static V mul(V a, V b) {
#if SNN_IS_DEVICE_CODE
        if constexpr (!Contract && std::is_same_v<V, float>) return __fmul_rn(a, b);
        if constexpr (!Contract && std::is_same_v<V, double>) return __dmul_rn(a, b);
#endif
        return a * b;
    }
    template <class V> SNN_HOST_DEVICE static V div(V a, V b) {
#if SNN_IS_DEVICE_CODE
        if constexpr (std::is_same_v<V, float>) return __fdiv_rn(a, b);
        if constexpr (std::is_same_v<V, double>) return __ddiv_rn(a, b);
#endif
        return a / b;
    }
};

}  // namespace detail

/// IEEE arithmetic in `Real` (float or double): every operation rounds once to `Real`, scalars
/// are rounded to `Real` once. This is torch's float32/float64 tensor arithmetic. With
/// `Contract` the compiler may fuse a*b + c (CUDA's default; faster, not bit-exact).
template <class Real, bool Contract = false>
struct native {
    using real_type = Real;
    using scalar_type = Real;
    static constexpr bool emulates_binary16 = false;
    static constexpr bool allows_contraction = Contract;
    using op = detail::ieee<Contract>;

    template <class V> SNN_HOST_DEVICE static V constant(scalar_type c) { return vec_ops<V>::broadcast(c); }

    template <class V> SNN_HOST_DEVICE static V add(V a, V b) { return op::add(a, b); }
    template <class V> SNN_HOST_DEVICE static V sub(V a, V b) { return op::sub(a, b); }
    template <class V> SNN_HOST_DEVICE static V mul(V a, V b) { return op::mul(a, b); }
    template <class V> SNN_HOST_DEVICE static V div(V a, V b) { return op::div(a, b); }
    template <class V> SNN_HOST_DEVICE static V neg(V a) { return -a; }
    template <class V> SNN_HOST_DEVICE static V abs(V a) { return vec_ops<V>::abs(a); }
    template <class V> SNN_HOST_DEVICE static V recip(V a) { return op::div(constant<V>(Real(1)), a); }
    template <class V> SNN_HOST_DEVICE static V fma(V a, V b, V c) { return vec_ops<V>::fma(a, b, c); }

    template <class V> SNN_HOST_DEVICE static V add_s(V a, scalar_type c) { return op::add(a, constant<V>(c)); }
    template <class V> SNN_HOST_DEVICE static V sub_s(V a, scalar_type c) { return op::sub(a, constant<V>(c)); }
    template <class V> SNN_HOST_DEVICE static V mul_s(V a, scalar_type c) { return op::mul(a, constant<V>(c)); }
    template <class V> SNN_HOST_DEVICE static V div_s(V a, scalar_type c) { return op::div(a, constant<V>(c)); }
    template <class V> SNN_HOST_DEVICE static V rsub_s(scalar_type c, V a) { return op::sub(constant<V>(c), a); }
    template <class V> SNN_HOST_DEVICE static V s_div(scalar_type c, V a) { return mul_s(recip(a), c); }

    template <class V> SNN_HOST_DEVICE static V exp(V a) { return vec_ops<V>::exp(a); }
    template <class V> SNN_HOST_DEVICE static V pow_s(V a, scalar_type c) { return vec_ops<V>::pow(a, constant<V>(c)); }
    /// torch: 1 / (1 + exp(-a))
    template <class V> SNN_HOST_DEVICE static V sigmoid(V a) {
        return op::div(constant<V>(Real(1)), op::add(constant<V>(Real(1)), vec_ops<V>::exp(-a)));
    }

    template <class V> SNN_HOST_DEVICE static auto ge_s(V a, scalar_type c) { return a >= constant<V>(c); }
    template <class V> SNN_HOST_DEVICE static auto gt_s(V a, scalar_type c) { return a > constant<V>(c); }
    template <class V> SNN_HOST_DEVICE static auto lt_s(V a, scalar_type c) { return a < constant<V>(c); }
    template <class V> SNN_HOST_DEVICE static auto le_s(V a, scalar_type c) { return a <= constant<V>(c); }
};

/// How a Python float scalar meets a float16 tensor in torch 2.x (measured exhaustively, see
/// the README's numerics section): on the CPU, `t + c` and `t - c` round `c` to binary16 first
/// and `t / c` is a true division; on CUDA `+`/`-` use float32(c) and `t / c` multiplies by
/// float32(1/c). Products use float32(c) and comparisons binary16(c) on both.
struct torch_cpu_scalars {
    static constexpr bool rounds_additive_scalar = true;
    static constexpr bool divides_by_reciprocal = false;
};
struct torch_cuda_scalars {
    static constexpr bool rounds_additive_scalar = false;
    static constexpr bool divides_by_reciprocal = true;
};

/// binary16 arithmetic as torch's `.half()` tensors perform it: each operation is computed in
/// float32 from binary16 operands and rounded once to binary16 (values are carried in float
/// registers but are always binary16 values).
template <class ScalarRule>
struct binary16_emulated {
    using real_type = float;
    using scalar_type = float;
    using scalar_rule = ScalarRule;
    static constexpr bool emulates_binary16 = true;
    static constexpr bool allows_contraction = false;
    using op = detail::ieee<false>;

    template <class V> SNN_HOST_DEVICE static V round(V a) { return vec_ops<V>::round_binary16(a); }
    SNN_HOST_DEVICE static float additive(float c) {
        return ScalarRule::rounds_additive_scalar ? round_to_binary16(c) : c;
    }

    /// A scalar converted to the tensor dtype (masked_fill, ones_like...): rounded to binary16.
    template <class V> SNN_HOST_DEVICE static V constant(scalar_type c) { return vec_ops<V>::broadcast(round_to_binary16(c)); }

    template <class V> SNN_HOST_DEVICE static V add(V a, V b) { return round(op::add(a, b)); }
    template <class V> SNN_HOST_DEVICE static V sub(V a, V b) { return round(op::sub(a, b)); }
    template <class V> SNN_HOST_DEVICE static V mul(V a, V b) { return round(op::mul(a, b)); }
    template <class V> SNN_HOST_DEVICE static V div(V a, V b) { return round(op::div(a, b)); }
    template <class V> SNN_HOST_DEVICE static V neg(V a) { return -a; }
    template <class V> SNN_HOST_DEVICE static V abs(V a) { return vec_ops<V>::abs(a); }
    template <class V> SNN_HOST_DEVICE static V recip(V a) { return round(op::div(vec_ops<V>::broadcast(1.0f), a)); }
    template <class V> SNN_HOST_DEVICE static V fma(V a, V b, V c) { return round(vec_ops<V>::fma(a, b, c)); }

    template <class V> SNN_HOST_DEVICE static V add_s(V a, scalar_type c) { return round(op::add(a, vec_ops<V>::broadcast(additive(c)))); }
    template <class V> SNN_HOST_DEVICE static V sub_s(V a, scalar_type c) { return round(op::sub(a, vec_ops<V>::broadcast(additive(c)))); }
    template <class V> SNN_HOST_DEVICE static V rsub_s(scalar_type c, V a) { return round(op::sub(vec_ops<V>::broadcast(additive(c)), a)); }
    template <class V> SNN_HOST_DEVICE static V mul_s(V a, scalar_type c) { return round(op::mul(a, vec_ops<V>::broadcast(c))); }
    template <class V> SNN_HOST_DEVICE static V div_s(V a, scalar_type c) {
        if constexpr (ScalarRule::divides_by_reciprocal) {
            return round(op::mul(a, vec_ops<V>::broadcast(1.0f / c)));
        } else {
            return round(op::div(a, vec_ops<V>::broadcast(c)));
        }
    }
    template <class V> SNN_HOST_DEVICE static V s_div(scalar_type c, V a) { return mul_s(recip(a), c); }

    template <class V> SNN_HOST_DEVICE static V exp(V a) { return round(vec_ops<V>::exp(a)); }
    template <class V> SNN_HOST_DEVICE static V pow_s(V a, scalar_type c) { return round(vec_ops<V>::pow(a, vec_ops<V>::broadcast(c))); }
    template <class V> SNN_HOST_DEVICE static V sigmoid(V a) {
        const V one = vec_ops<V>::broadcast(1.0f);
        return round(op::div(one, op::add(one, vec_ops<V>::exp(-a))));
    }

    template <class V> SNN_HOST_DEVICE static auto ge_s(V a, scalar_type c) { return a >= vec_ops<V>::broadcast(round_to_binary16(c)); }
    template <class V> SNN_HOST_DEVICE static auto gt_s(V a, scalar_type c) { return a > vec_ops<V>::broadcast(round_to_binary16(c)); }
    template <class V> SNN_HOST_DEVICE static auto lt_s(V a, scalar_type c) { return a < vec_ops<V>::broadcast(round_to_binary16(c)); }
    template <class V> SNN_HOST_DEVICE static auto le_s(V a, scalar_type c) { return a <= vec_ops<V>::broadcast(round_to_binary16(c)); }
};

}  // namespace arith
}  // namespace snn
