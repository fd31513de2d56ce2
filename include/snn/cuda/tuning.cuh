#pragma once
/// \file
/// Launch configuration of the CUDA multi-step kernels, kept apart from the kernels (CUB's
/// tuning-table manner): specialise `multistep_tuning` for a precision, or pass another tuning
/// struct as the last template argument of the entry points, to change it.

#include <cstdint>

namespace snn {
namespace cuda {

/// The kernels are memory-bound: each time step of each neuron reads and writes a few elements
/// once. What decides their speed is how many bytes each thread keeps in flight:
///   vector_bytes    bytes of the widest [T, N] element one thread moves per step (16: one 128-bit
///                   load; 4 float32 / 8 float16 neurons per thread). Used when N is a multiple
///                   of the neurons per thread and the buffers are aligned; else 1 neuron a thread.
///   *_prefetch_steps time steps whose loads a thread issues before computing the first of them
///                   (the loads do not depend on the membrane, only the arithmetic does).
/// 256 threads per block keep all of an H100/H200's 132 SMs busy at N = 2^20 and the PLIF
/// block reduction cheap. Measured choices: bench/results/ (snn-bench-cuda --tuning).
template <class Precision>
struct multistep_tuning {
    static constexpr int forward_threads = 256;
    static constexpr int backward_threads = 256;
    static constexpr int reduce_threads = 256;
    static constexpr int vector_bytes = 16;
    static constexpr int forward_prefetch_steps = 4;
    static constexpr int backward_prefetch_steps = 2;
    /// Recompute mode: steps between membrane checkpoints (a multiple of
    /// forward_prefetch_steps), and neurons per thread of its backward, which keeps a whole
    /// segment's pre-spike membranes in registers.
    static constexpr int checkpoint_interval = 8;
    static constexpr int recompute_lanes = 2;
};

/// A tuning with explicit numbers, for benchmarks that compare launch configurations.
template <int Threads, int VectorBytes, int ForwardPrefetch, int BackwardPrefetch, int CheckpointInterval = 8, int RecomputeLanes = 4>
struct explicit_tuning {
    static constexpr int forward_threads = Threads;
    static constexpr int backward_threads = Threads;
    static constexpr int reduce_threads = 256;
    static constexpr int vector_bytes = VectorBytes;
    static constexpr int forward_prefetch_steps = ForwardPrefetch;
    static constexpr int backward_prefetch_steps = BackwardPrefetch;
    static constexpr int checkpoint_interval = CheckpointInterval;
    static constexpr int recompute_lanes = RecomputeLanes;
};

}  // namespace cuda
}  // namespace snn
