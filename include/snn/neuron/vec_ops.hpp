#pragma once
/// \file
/// Element operations the per-step neuron math needs beyond + - * /: select, abs,
/// transcendental functions, fused multiply-add, binary16 rounding, loads and stores that
/// convert between storage and compute types. Specialised here for scalar float and double
/// (host and device); cpu/simd_ops.hpp specialises it for xsimd batches, so the same step code
/// runs one neuron at a time or a SIMD register of neurons at a time.

#include <cmath>

#include "snn/config.hpp"
#include "snn/core/bfloat16.hpp"
#include "snn/core/binary16.hpp"

namespace snn {

template <class V>
struct vec_ops;

namespace detail {

template <class Real>
struct scalar_vec_ops {
    using value_type = Real;
    using mask_type = bool;
    static constexpr int width = 1;

    SNN_HOST_DEVICE static Real broadcast(Real c) { return c; }
    SNN_HOST_DEVICE static Real select(bool m, Real a, Real b) { return m ? a : b; }
    SNN_HOST_DEVICE static Real abs(Real a) { return std::fabs(a); }
    SNN_HOST_DEVICE static Real exp(Real a) { return std::exp(a); }
    SNN_HOST_DEVICE static Real log(Real a) { return std::log(a); }
    SNN_HOST_DEVICE static Real erf(Real a) { return std::erf(a); }
    SNN_HOST_DEVICE static Real pow(Real a, Real b) { return std::pow(a, b); }
    SNN_HOST_DEVICE static Real fma(Real a, Real b, Real c) { return std::fma(a, b, c); }
    SNN_HOST_DEVICE static bool mask_and(bool a, bool b) { return a && b; }

    SNN_HOST_DEVICE static Real load(const Real* p) { return *p; }
    SNN_HOST_DEVICE static void store(Real* p, Real v) { *p = v; }
};

}  // namespace detail

template <>
struct vec_ops<double> : detail::scalar_vec_ops<double> {};

template <>
struct vec_ops<float> : detail::scalar_vec_ops<float> {
    using detail::scalar_vec_ops<float>::load;
    using detail::scalar_vec_ops<float>::store;

    SNN_HOST_DEVICE static float round_binary16(float a) { return round_to_binary16(a); }
    SNN_HOST_DEVICE static float load(const binary16* p) { return p->to_float(); }
    /// Rounds to nearest even; exact when the value is already a binary16 value.
    SNN_HOST_DEVICE static void store(binary16* p, float v) { *p = binary16(v); }
    SNN_HOST_DEVICE static float load(const bfloat16* p) { return p->to_float(); }
    SNN_HOST_DEVICE static void store(bfloat16* p, float v) { *p = bfloat16(v); }
    /// float state kept in a float buffer (half storage with float compute).
    SNN_HOST_DEVICE static float load_state(const float* p) { return *p; }
};

}  // namespace snn
