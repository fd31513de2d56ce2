#pragma once
/// \file
/// Build configuration shared by every snn header: version, host/device function markers.

#define SNN_VERSION_MAJOR 0
#define SNN_VERSION_MINOR 1
#define SNN_VERSION_PATCH 0

#if defined(__CUDACC__) || defined(__HIPCC__)
#define SNN_HOST_DEVICE __host__ __device__ __forceinline__
#define SNN_DEVICE __device__ __forceinline__
#define SNN_HOST __host__ inline
#else
#define SNN_HOST_DEVICE inline
#define SNN_DEVICE inline
#define SNN_HOST inline
#endif

#if defined(__CUDA_ARCH__)
#define SNN_IS_DEVICE_CODE 1
#else
#define SNN_IS_DEVICE_CODE 0
#endif

// Forces inlining of the small per-element helpers so that a SIMD translation unit compiled
// with, say, -mavx2 never leaves an out-of-line copy that another translation unit (compiled
// for an older instruction set) might bind to at link time.
#if defined(__CUDACC__)
#define SNN_ALWAYS_INLINE __forceinline__
#elif defined(__GNUC__) || defined(__clang__)
#define SNN_ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define SNN_ALWAYS_INLINE __forceinline
#else
#define SNN_ALWAYS_INLINE inline
#endif
