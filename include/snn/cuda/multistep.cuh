#pragma once
/// \file
/// Fused multi-step neuron kernels on CUDA: the whole time loop in one kernel, forward for
/// inference, forward for training and backward through time, from the same per-step code as
/// the CPU (neuron/neuron.hpp, neuron/time_step.hpp).
///
/// API in CUB's manner: explicit stream, no allocation and no synchronisation inside, scratch
/// memory through a workspace-size query (PLIF's grad_w), CUDA errors returned, bad arguments
/// thrown as `snn::invalid_argument` before anything is launched. All pointers are device
/// pointers. Capturable in CUDA graphs.
///
/// Reference precisions (f32, f64, binary16 emulation, f16/bf16 storage) use correctly rounded
/// _rn operations that nvcc never contracts: results equal the CPU scalar reference bit for bit
/// (forward; backward with rational surrogates). `precision::f32_fast` lets nvcc fuse.
///
/// Each thread runs W neighbouring neurons (W = tuning::vector_bytes / the widest element it
/// moves: 4 float32 neurons; 8 float16 ones in inference, 4 when the float32 h_seq is saved or
/// read) through the whole sequence with 128-bit loads and stores, issuing the
/// loads of several time steps before the arithmetic of the first. That path needs N % W == 0
/// and every buffer aligned to its vector width (torch's and cudaMalloc's allocations are);
/// otherwise the same kernels run with W = 1. Both give the same bits.
///
/// Spikes can be written in the storage dtype (`spike`), as bytes (`spike_u8`) and bit-packed
/// (`spike_bits`, 32 neurons per word), in any combination. Backward never reads spikes: it
/// recomputes the Heaviside step from the pre-spike membrane, so any format the forward wrote
/// (bit-packed included) is enough for a following layer and for backward.
///
/// Recompute mode: forward_training may save only membrane checkpoints (`v_checkpoints`, one
/// [N] row every K = tuning::checkpoint_interval steps) instead of h_seq ([T, N]); backward
/// then re-runs each K-step segment forward from its checkpoint and the input x, keeping the
/// segment in registers. Same bits as the stored mode (the same step code recomputes the same
/// values); T*N*sizeof(saved) bytes less memory, and fewer bytes moved in total (x is re-read
/// instead of h_seq, and h_seq is never written).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <cuda_runtime.h>
#include <cub/block/block_reduce.cuh>

#include "snn/cuda/tuning.cuh"
#include "snn/neuron/multistep_args.hpp"
#include "snn/neuron/neuron.hpp"
#include "snn/neuron/time_step.hpp"

namespace snn {
namespace cuda {

namespace detail {

/// The widest plain type of `Bytes` bytes a thread can move in one instruction (two for 32).
template <int Bytes> struct raw_word;
template <> struct raw_word<1> { using type = std::uint8_t; };
template <> struct raw_word<2> { using type = std::uint16_t; };
template <> struct raw_word<4> { using type = std::uint32_t; };
template <> struct raw_word<8> { using type = uint2; };
template <> struct raw_word<16> { using type = uint4; };

/// W consecutive elements of one [T, N] row, moved with as few wide accesses as possible.
template <class T, int W>
struct packet {
    static constexpr int bytes = static_cast<int>(sizeof(T)) * W;
    static constexpr int word_bytes = bytes > 16 ? 16 : bytes;
    static constexpr int words = bytes / word_bytes;
    using word = typename raw_word<word_bytes>::type;
    static_assert(bytes % word_bytes == 0, "packet size must be a multiple of its access width");

    T lane[W];

    __device__ SNN_ALWAYS_INLINE static packet load(const T* p) {
        word w[words];
#pragma unroll
        for (int i = 0; i < words; ++i) w[i] = reinterpret_cast<const word*>(p)[i];
        packet r;
        std::memcpy(r.lane, w, sizeof w);
        return r;
    }
    __device__ SNN_ALWAYS_INLINE void store(T* p) const {
        word w[words];
        std::memcpy(w, lane, sizeof w);
#pragma unroll
        for (int i = 0; i < words; ++i) reinterpret_cast<word*>(p)[i] = w[i];
    }
};

template <class T>
inline bool aligned_for(const T* p, std::size_t alignment) {
    return p == nullptr || reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

/// Alignment one packet of W elements of T needs (at most 16: wider packets are several 16-byte accesses).
template <class T>
constexpr std::size_t packet_alignment(int w) {
    const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(w);
    return bytes > 16 ? 16 : bytes;
}

/// Neurons per thread: vector_bytes of the widest [T, N] element the kernel touches (the
/// storage dtype; in training and backward also the saved h_seq, float32 for half storage).
template <class Config, class Tuning, bool SavesState>
constexpr int lanes_per_thread() {
    constexpr int storage = static_cast<int>(sizeof(typename Config::storage_type));
    constexpr int saved = static_cast<int>(sizeof(typename Config::saved_type));
    constexpr int widest = SavesState && saved > storage ? saved : storage;
    constexpr int w = Tuning::vector_bytes / widest;
    static_assert(w >= 1 && (w & (w - 1)) == 0 && w <= 32, "vector_bytes / sizeof(storage) must be a power of two <= 32");
    return w;
}

/// W values of an [N] state buffer (from p) in the compute type.
template <class C, class St, int W>
__device__ SNN_ALWAYS_INLINE void load_lanes(const St* p, C (&lanes)[W]) {
    const auto values = packet<St, W>::load(p);
#pragma unroll
    for (int j = 0; j < W; ++j) lanes[j] = vec_ops<C>::load(&values.lane[j]);
}

/// W compute-type values stored to an [N] state buffer (at p).
template <class C, class St, int W>
__device__ SNN_ALWAYS_INLINE void store_lanes(St* p, const C (&lanes)[W]) {
    packet<St, W> values;
#pragma unroll
    for (int j = 0; j < W; ++j) vec_ops<C>::store(&values.lane[j], lanes[j]);
    values.store(p);
}

/// PLIF: the block's sum of the threads' dL/dk terms, by a fixed-shape tree (CUB), written to
/// block_grad_k[blockIdx.x]; reduce_grad_w then adds the blocks in a fixed order. The same bits
/// on every run, unlike atomicAdd. Nothing for the other charges.
template <class Config, int Threads>
__device__ SNN_ALWAYS_INLINE void write_block_grad_k(double grad_k, double* block_grad_k) {
    if constexpr (Config::charge_policy::is_parametric) {
        using reduce = cub::BlockReduce<double, Threads>;
        __shared__ typename reduce::TempStorage scratch;
        const double block_sum = reduce(scratch).Sum(grad_k);
        if (threadIdx.x == 0) block_grad_k[blockIdx.x] = block_sum;
    } else {
        (void)grad_k;
        (void)block_grad_k;
    }
}

/// Backward through step t for W lanes (shared by the stored and recompute kernels): dL/dx[t]
/// stored to grad_x, dL/dH[t] carried in grad_h_next, PLIF's dL/dk terms added to grad_k.
/// h and v_prev are H[t] and V[t-1] in the compute type; gs, gv, x the step's packets.
template <class Config, int W>
__device__ SNN_ALWAYS_INLINE void backward_step_lanes(const typename Config::constants_type& k, bool last_step, bool has_grad_v_seq,
                                                      bool has_grad_v_last, const typename Config::compute_type (&h)[W],
                                                      const packet<typename Config::storage_type, W>& gs,
                                                      const packet<typename Config::storage_type, W>& gv,
                                                      const packet<typename Config::storage_type, W>& x,
                                                      const typename Config::compute_type (&v_prev)[W],
                                                      const typename Config::compute_type (&grad_v_last)[W],
                                                      typename Config::compute_type (&grad_h_next)[W], double& grad_k,
                                                      typename Config::storage_type* grad_x) {
    using C = typename Config::compute_type;
    using ts = time_step<Config>;
    packet<typename Config::storage_type, W> gx;
#pragma unroll
    for (int j = 0; j < W; ++j) {
        const C g_v = ts::grad_v(k, last_step, has_grad_v_seq, vec_ops<C>::load(&gv.lane[j]), has_grad_v_last, grad_v_last[j], grad_h_next[j]);
        const auto r = ts::template backward_values<C>(k, h[j], vec_ops<C>::load(&gs.lane[j]), g_v, vec_ops<C>::load(&x.lane[j]), v_prev[j]);
        vec_ops<C>::store(&gx.lane[j], r.grad_x);
        if constexpr (Config::charge_policy::is_parametric) grad_k += static_cast<double>(r.grad_k_term);
        grad_h_next[j] = r.grad_h;
    }
    gx.store(grad_x);
}

/// dL/dv_init = the paths from step 0's charge, stored when the caller asked for it.
template <class Config, int W>
__device__ SNN_ALWAYS_INLINE void store_grad_v_init(const typename Config::constants_type& k, typename Config::state_type* grad_v_init,
                                                    const typename Config::compute_type (&grad_h_next)[W]) {
    if (grad_v_init == nullptr) return;
    typename Config::compute_type g[W];  // [W]
#pragma unroll
    for (int j = 0; j < W; ++j) g[j] = neuron_step<Config>::grad_v_from_next(grad_h_next[j], k);
    store_lanes(grad_v_init, g);
}

}  // namespace detail

namespace kernel {

/// Forward through all T steps for W neurons per thread. Threads past N still take part in the
/// warp shuffles of the bit-packed output (they compute on zeros and store nothing).
template <class Config, bool Training, int W, int Prefetch, int Threads, int CheckpointInterval>
__global__ void __launch_bounds__(Threads) forward(const typename Config::constants_type k, const forward_args<Config> a) {
    using C = typename Config::compute_type;
    using S = typename Config::storage_type;
    using St = typename Config::state_type;
    using Sv = typename Config::saved_type;
    using step = neuron_step<Config>;
    static_assert(32 % W == 0, "W must divide a 32-bit word of spikes");
    constexpr int lanes_per_word = 32 / W;  // threads whose spikes share one bit-packed word

    const std::int64_t N = a.neurons;
    const std::int64_t T = a.steps;
    const std::int64_t n0 = (static_cast<std::int64_t>(blockIdx.x) * Threads + threadIdx.x) * W;  // first neuron of this thread
    const bool active = n0 < N;  // N % W == 0 when W > 1
    const int lane = static_cast<int>(threadIdx.x & 31);
    const std::int64_t words = (N + 31) / 32;

    C v[W];  // [W] membrane
    if (active && a.v_init) {
        detail::load_lanes(a.v_init + n0, v);
    } else {
#pragma unroll
        for (int j = 0; j < W; ++j) v[j] = time_step<Config>::initial_membrane(k);
    }
    const S* __restrict__ x_seq = a.x;              // [T, N]
    S* __restrict__ spike_seq = a.spike;            // [T, N]
    std::uint8_t* __restrict__ spike_u8 = a.spike_u8;  // [T, N]
    std::uint32_t* __restrict__ spike_bits = a.spike_bits;  // [T, ceil(N/32)]
    S* __restrict__ v_seq = a.v_seq;                // [T, N]
    Sv* __restrict__ h_seq = a.h_seq;               // [T, N]
    St* __restrict__ v_checkpoints = a.v_checkpoints;  // [ceil(T/K), N]
    static_assert(CheckpointInterval % Prefetch == 0, "checkpoint_interval must be a multiple of forward_prefetch_steps (0: no recompute mode)");
    int chunk_in_segment = 0;
    std::int64_t checkpoint_row = 0;
    S spike_one, spike_zero;
    vec_ops<C>::store(&spike_one, C(1));
    vec_ops<C>::store(&spike_zero, C(0));

    for (std::int64_t t0 = 0; t0 < T; t0 += Prefetch) {
        if constexpr (Training && CheckpointInterval > 0) {
            if (v_checkpoints && chunk_in_segment == 0 && active) detail::store_lanes(v_checkpoints + checkpoint_row * N + n0, v);
            if (chunk_in_segment == 0) ++checkpoint_row;
            if (++chunk_in_segment == CheckpointInterval / Prefetch) chunk_in_segment = 0;
        }
        // Loads of Prefetch steps first: they do not depend on the membrane.
        detail::packet<S, W> x[Prefetch];
#pragma unroll
        for (int u = 0; u < Prefetch; ++u) {
            if (active && t0 + u < T) x[u] = detail::packet<S, W>::load(x_seq + (t0 + u) * N + n0);
            else
#pragma unroll
                for (int j = 0; j < W; ++j) x[u].lane[j] = S{};
        }
#pragma unroll
        for (int u = 0; u < Prefetch; ++u) {
            const std::int64_t t = t0 + u;
            if (t >= T) break;  // uniform across the grid
            const std::int64_t idx = t * N + n0;  // [T, N], 64-bit: T*N may exceed 2^31
            detail::packet<S, W> spike, v_out;
            detail::packet<Sv, W> h_out;
            std::uint32_t fired = 0;  // bit j: neuron n0 + j spiked
#pragma unroll
            for (int j = 0; j < W; ++j) {
                C h;
                const C s = step::forward(vec_ops<C>::load(&x[u].lane[j]), v[j], h, k);
                // A spike is exactly 0 or 1: pick the stored constant instead of converting
                // (saves a float->half conversion per neuron and step in half storage).
                spike.lane[j] = s != C(0) ? spike_one : spike_zero;
                vec_ops<C>::store(&v_out.lane[j], v[j]);
                vec_ops<C>::store(&h_out.lane[j], h);
                fired |= static_cast<std::uint32_t>(s != C(0)) << j;
            }
            if (active) {
                if (spike_seq) spike.store(spike_seq + idx);
                if (spike_u8) {
                    detail::packet<std::uint8_t, W> bytes;
#pragma unroll
                    for (int j = 0; j < W; ++j) bytes.lane[j] = static_cast<std::uint8_t>((fired >> j) & 1u);
                    bytes.store(spike_u8 + idx);
                }
                if (v_seq) v_out.store(v_seq + idx);
                if constexpr (Training)
                    if (h_seq) h_out.store(h_seq + idx);
            }
            if (spike_bits) {
                // Thread `lane` holds bits [W*(lane % lanes_per_word), +W) of word n0 / 32.
                std::uint32_t word = fired << (W * (lane % lanes_per_word));
#pragma unroll
                for (int offset = lanes_per_word / 2; offset > 0; offset /= 2) word |= __shfl_xor_sync(0xFFFFFFFFu, word, offset);
                if (active && lane % lanes_per_word == 0) spike_bits[t * words + n0 / 32] = word;
            }
        }
    }
    if (active && a.v_last) detail::store_lanes(a.v_last + n0, v);
}

/// Backward through all T steps (last to first) for W neurons per thread; PLIF's dL/dk terms
/// summed per thread in double, then per block with a fixed-shape tree.
template <class Config, int W, int Prefetch, int Threads>
__global__ void __launch_bounds__(Threads) backward(const typename Config::constants_type k, const backward_args<Config> a,
                                                    double* block_grad_k) {
    using C = typename Config::compute_type;
    using S = typename Config::storage_type;
    using Sv = typename Config::saved_type;
    using Charge = typename Config::charge_policy;
    using ts = time_step<Config>;

    const std::int64_t N = a.neurons;
    const std::int64_t T = a.steps;
    const std::int64_t n0 = (static_cast<std::int64_t>(blockIdx.x) * Threads + threadIdx.x) * W;
    double grad_k = 0.0;
    if (n0 < N) {
        C grad_h_next[W];  // [W] dL/dH[t+1]
        C grad_v_last[W];  // [W] dL/dv_last
#pragma unroll
        for (int j = 0; j < W; ++j) grad_h_next[j] = grad_v_last[j] = C(0);
        if (a.grad_v_last) detail::load_lanes(a.grad_v_last + n0, grad_v_last);
        const Sv* __restrict__ h_seq = a.h_seq;             // [T, N]
        const S* __restrict__ grad_spike = a.grad_spike;    // [T, N]
        const S* __restrict__ grad_v_seq = a.grad_v_seq;    // [T, N] or null
        const S* __restrict__ x_seq = a.x;                  // [T, N] (PLIF with decay_input)
        const S* __restrict__ v_seq = a.v_seq;              // [T, N] (PLIF)
        S* __restrict__ grad_x = a.grad_x;                  // [T, N]
        const bool has_grad_v_seq = grad_v_seq != nullptr;

        for (std::int64_t c0 = 0; c0 < T; c0 += Prefetch) {
            detail::packet<Sv, W> h[Prefetch];
            detail::packet<S, W> gs[Prefetch], gv[Prefetch], x[Prefetch];
            C v_prev[Prefetch][W];
#pragma unroll
            for (int u = 0; u < Prefetch; ++u) {
                const std::int64_t t = T - 1 - c0 - u;
                if (t < 0) break;
                const std::int64_t idx = t * N + n0;
                h[u] = detail::packet<Sv, W>::load(h_seq + idx);
                gs[u] = detail::packet<S, W>::load(grad_spike + idx);
                if (has_grad_v_seq) gv[u] = detail::packet<S, W>::load(grad_v_seq + idx);
                else
#pragma unroll
                    for (int j = 0; j < W; ++j) gv[u].lane[j] = S{};
                if constexpr (Charge::is_parametric) {
                    if constexpr (Charge::decay_input) x[u] = detail::packet<S, W>::load(x_seq + idx);
                    else
#pragma unroll
                        for (int j = 0; j < W; ++j) x[u].lane[j] = S{};
                    if (t > 0) {
                        const auto p = detail::packet<S, W>::load(v_seq + idx - N);
#pragma unroll
                        for (int j = 0; j < W; ++j) v_prev[u][j] = vec_ops<C>::load(&p.lane[j]);
                    } else if (a.v_init) {
                        detail::load_lanes(a.v_init + n0, v_prev[u]);
                    } else {
#pragma unroll
                        for (int j = 0; j < W; ++j) v_prev[u][j] = ts::initial_membrane(k);
                    }
                } else {
#pragma unroll
                    for (int j = 0; j < W; ++j) {
                        x[u].lane[j] = S{};
                        v_prev[u][j] = C(0);
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < Prefetch; ++u) {
                const std::int64_t t = T - 1 - c0 - u;
                if (t < 0) break;
                C h_lanes[W];  // [W] H[t]
#pragma unroll
                for (int j = 0; j < W; ++j) h_lanes[j] = vec_ops<C>::load(&h[u].lane[j]);
                detail::backward_step_lanes<Config, W>(k, t + 1 == T, has_grad_v_seq, a.grad_v_last != nullptr, h_lanes, gs[u], gv[u], x[u],
                                                       v_prev[u], grad_v_last, grad_h_next, grad_k, grad_x + t * N + n0);
            }
        }
        detail::store_grad_v_init<Config, W>(k, a.grad_v_init ? a.grad_v_init + n0 : nullptr, grad_h_next);
    }
    detail::write_block_grad_k<Config, Threads>(grad_k, block_grad_k);
}

/// Backward in recompute mode: for each K-step segment, last to first, re-run the forward from
/// the segment's checkpoint (H and V[t-1] kept in registers), then backward through it.
template <class Config, int W, int K, int Threads>
__global__ void __launch_bounds__(Threads) backward_recompute(const typename Config::constants_type k, const backward_args<Config> a,
                                                              double* block_grad_k) {
    using C = typename Config::compute_type;
    using S = typename Config::storage_type;
    using St = typename Config::state_type;
    using step = neuron_step<Config>;

    const std::int64_t N = a.neurons;
    const std::int64_t T = a.steps;
    const std::int64_t n0 = (static_cast<std::int64_t>(blockIdx.x) * Threads + threadIdx.x) * W;
    double grad_k = 0.0;
    if (n0 < N) {
        C grad_h_next[W], grad_v_last[W];  // [W]
#pragma unroll
        for (int j = 0; j < W; ++j) grad_h_next[j] = grad_v_last[j] = C(0);
        if (a.grad_v_last) detail::load_lanes(a.grad_v_last + n0, grad_v_last);
        const S* __restrict__ x_seq = a.x;                // [T, N]
        const S* __restrict__ grad_spike = a.grad_spike;  // [T, N]
        const S* __restrict__ grad_v_seq = a.grad_v_seq;  // [T, N] or null
        const St* __restrict__ checkpoints = a.v_checkpoints;  // [ceil(T/K), N]
        S* __restrict__ grad_x = a.grad_x;                // [T, N]
        const bool has_grad_v_seq = grad_v_seq != nullptr;
        const std::int64_t segments = (T + K - 1) / K;

        for (std::int64_t seg = segments - 1; seg >= 0; --seg) {
            const std::int64_t t0 = seg * K;
            const int len = static_cast<int>(T - t0 < K ? T - t0 : K);
            detail::packet<S, W> x[K], gs[K], gv[K];
#pragma unroll
            for (int u = 0; u < K; ++u) {
                if (u >= len) break;
                const std::int64_t idx = (t0 + u) * N + n0;
                x[u] = detail::packet<S, W>::load(x_seq + idx);
                gs[u] = detail::packet<S, W>::load(grad_spike + idx);
                if (has_grad_v_seq) gv[u] = detail::packet<S, W>::load(grad_v_seq + idx);
                else
#pragma unroll
                    for (int j = 0; j < W; ++j) gv[u].lane[j] = S{};
            }
            C h[K][W], v_prev[K][W];  // [K, W] pre-spike membrane and membrane before each step
            {
                C v[W];  // [W] membrane before step t0
                detail::load_lanes(checkpoints + seg * N + n0, v);
#pragma unroll
                for (int u = 0; u < K; ++u) {
                    if (u >= len) break;
#pragma unroll
                    for (int j = 0; j < W; ++j) {
                        // The stored mode reads V[t-1] back from v_seq (storage dtype), except
                        // before step 0 (v_init, state dtype): round the same way.
                        S rounded;
                        vec_ops<C>::store(&rounded, v[j]);
                        v_prev[u][j] = t0 + u == 0 ? v[j] : vec_ops<C>::load(&rounded);
                        (void)step::forward(vec_ops<C>::load(&x[u].lane[j]), v[j], h[u][j], k);
                    }
                }
            }
#pragma unroll
            for (int u = K - 1; u >= 0; --u) {
                if (u >= len) continue;
                const std::int64_t t = t0 + u;
                detail::backward_step_lanes<Config, W>(k, t + 1 == T, has_grad_v_seq, a.grad_v_last != nullptr, h[u], gs[u], gv[u], x[u], v_prev[u],
                                                       grad_v_last, grad_h_next, grad_k, grad_x + t * N + n0);
            }
        }
        detail::store_grad_v_init<Config, W>(k, a.grad_v_init ? a.grad_v_init + n0 : nullptr, grad_h_next);
    }
    detail::write_block_grad_k<Config, Threads>(grad_k, block_grad_k);
}

/// dL/dw = (sum of the block partials) * k * (1 - k), summed in a fixed order by one block.
template <int Threads>
__global__ void __launch_bounds__(Threads) reduce_grad_w(const double* block_grad_k, std::int64_t blocks, double k, double* grad_w) {
    double sum = 0.0;
    for (std::int64_t b = threadIdx.x; b < blocks; b += Threads) sum += block_grad_k[b];
    using reduce = cub::BlockReduce<double, Threads>;
    __shared__ typename reduce::TempStorage scratch;
    const double total = reduce(scratch).Sum(sum);
    if (threadIdx.x == 0) *grad_w = total * (1.0 - k) * k;
}

}  // namespace kernel

namespace detail {

inline unsigned grid_for(std::int64_t threads_needed, int threads) {
    const std::int64_t blocks = (threads_needed + threads - 1) / threads;
    require(blocks <= 0x7FFFFFFF, "neurons", "too many neurons for one grid (more than 2^31 blocks)");
    return static_cast<unsigned>(blocks);
}

/// True when the W-lane path applies: N % W == 0 and every buffer aligned for W-element packets.
template <class Config, int W>
bool forward_vectorisable(const forward_args<Config>& a) {
    using S = typename Config::storage_type;
    using St = typename Config::state_type;
    using Sv = typename Config::saved_type;
    if (W == 1) return true;
    return a.neurons % W == 0 && aligned_for(a.x, packet_alignment<S>(W)) && aligned_for(a.spike, packet_alignment<S>(W)) &&
           aligned_for(a.v_seq, packet_alignment<S>(W)) && aligned_for(a.spike_u8, packet_alignment<std::uint8_t>(W)) &&
           aligned_for(a.h_seq, packet_alignment<Sv>(W)) && aligned_for(a.v_init, packet_alignment<St>(W)) &&
           aligned_for(a.v_last, packet_alignment<St>(W)) && aligned_for(a.v_checkpoints, packet_alignment<St>(W));
}

template <class Config, int W>
bool backward_vectorisable(const backward_args<Config>& a) {
    using S = typename Config::storage_type;
    using St = typename Config::state_type;
    using Sv = typename Config::saved_type;
    if (W == 1) return true;
    return a.neurons % W == 0 && aligned_for(a.grad_spike, packet_alignment<S>(W)) && aligned_for(a.grad_v_seq, packet_alignment<S>(W)) &&
           aligned_for(a.h_seq, packet_alignment<Sv>(W)) && aligned_for(a.x, packet_alignment<S>(W)) &&
           aligned_for(a.v_seq, packet_alignment<S>(W)) && aligned_for(a.grad_x, packet_alignment<S>(W)) &&
           aligned_for(a.grad_v_last, packet_alignment<St>(W)) && aligned_for(a.v_init, packet_alignment<St>(W)) &&
           aligned_for(a.grad_v_init, packet_alignment<St>(W)) && aligned_for(a.v_checkpoints, packet_alignment<St>(W));
}

template <class Config, bool Training, class Tuning>
cudaError_t launch_forward(const neuron_params& params, const forward_args<Config>& args, cudaStream_t stream) {
    snn::detail::check_forward(args, Training, snn::detail::backend_features::extended);
    require(Tuning::checkpoint_interval > 0 || args.v_checkpoints == nullptr, "v_checkpoints", "this tuning has no recompute mode (checkpoint_interval 0)");
    const auto k = prepare_constants<Config>(params);
    constexpr int threads = Tuning::forward_threads;
    constexpr int prefetch = Tuning::forward_prefetch_steps;
    constexpr int interval = Tuning::checkpoint_interval;
    constexpr int w = lanes_per_thread<Config, Tuning, Training>();
    static_assert(threads % 32 == 0, "whole warps: the bit-packed output shuffles across the warp");
    if (forward_vectorisable<Config, w>(args)) {
        kernel::forward<Config, Training, w, prefetch, threads, interval>
            <<<grid_for((args.neurons + w - 1) / w, threads), threads, 0, stream>>>(k, args);
    } else {
        kernel::forward<Config, Training, 1, prefetch, threads, interval><<<grid_for(args.neurons, threads), threads, 0, stream>>>(k, args);
    }
    return cudaGetLastError();
}

}  // namespace detail

/// Forward without saving anything for backward (h_seq ignored).
template <class Config, class Tuning = multistep_tuning<typename Config::precision_policy>>
cudaError_t forward_inference(const neuron_params& params, const forward_args<Config>& args, cudaStream_t stream) {
    return detail::launch_forward<Config, false, Tuning>(params, args, stream);
}

/// Forward that also writes h_seq (and v_seq, required for PLIF) for backward.
template <class Config, class Tuning = multistep_tuning<typename Config::precision_policy>>
cudaError_t forward_training(const neuron_params& params, const forward_args<Config>& args, cudaStream_t stream) {
    return detail::launch_forward<Config, true, Tuning>(params, args, stream);
}

/// Rows of the recompute mode's `v_checkpoints` buffer ([rows, N] of state_type) for T steps.
template <class Config, class Tuning = multistep_tuning<typename Config::precision_policy>>
constexpr std::int64_t checkpoint_rows(std::int64_t steps) {
    static_assert(Tuning::checkpoint_interval > 0, "this tuning has no recompute mode");
    return (steps + Tuning::checkpoint_interval - 1) / Tuning::checkpoint_interval;
}

/// Bytes of device scratch `backward` needs (0 except PLIF with grad_w requested): one double
/// per block of the one-neuron-per-thread launch, enough for either path.
template <class Config, class Tuning = multistep_tuning<typename Config::precision_policy>>
std::size_t backward_workspace_bytes(const backward_args<Config>& args) {
    if constexpr (Config::charge_policy::is_parametric) {
        if (args.grad_w == nullptr || args.neurons <= 0) return 0;
        constexpr int threads = Tuning::backward_threads;
        return static_cast<std::size_t>((args.neurons + threads - 1) / threads) * sizeof(double);
    } else {
        (void)args;
        return 0;
    }
}

/// Backward through time. `grad_w` (PLIF) is a device pointer to one double; `workspace` must
/// hold backward_workspace_bytes(args) bytes (may be null when that is 0).
template <class Config, class Tuning = multistep_tuning<typename Config::precision_policy>>
cudaError_t backward(const neuron_params& params, const backward_args<Config>& args, void* workspace, std::size_t workspace_bytes,
                     cudaStream_t stream) {
    snn::detail::check_backward(args, snn::detail::backend_features::extended);
    require(Tuning::checkpoint_interval > 0 || args.v_checkpoints == nullptr, "v_checkpoints", "this tuning has no recompute mode (checkpoint_interval 0)");
    const std::size_t needed = backward_workspace_bytes<Config, Tuning>(args);
    require(workspace_bytes >= needed && (needed == 0 || workspace != nullptr), "workspace",
            "needs " + std::to_string(needed) + " bytes (backward_workspace_bytes), got " + std::to_string(workspace_bytes));
    const auto k = prepare_constants<Config>(params);
    constexpr int threads = Tuning::backward_threads;
    constexpr int prefetch = Tuning::backward_prefetch_steps;
    constexpr int w = detail::lanes_per_thread<Config, Tuning, true>();
    double* partials = needed ? static_cast<double*>(workspace) : nullptr;
    unsigned blocks = 0;
    if (args.v_checkpoints) {
        if constexpr (Tuning::checkpoint_interval > 0) {
            constexpr int wr = Tuning::recompute_lanes;
            constexpr int interval = Tuning::checkpoint_interval;
            if (detail::backward_vectorisable<Config, wr>(args)) {
                blocks = detail::grid_for((args.neurons + wr - 1) / wr, threads);
                kernel::backward_recompute<Config, wr, interval, threads><<<blocks, threads, 0, stream>>>(k, args, partials);
            } else {
                blocks = detail::grid_for(args.neurons, threads);
                kernel::backward_recompute<Config, 1, interval, threads><<<blocks, threads, 0, stream>>>(k, args, partials);
            }
        }
    } else if (detail::backward_vectorisable<Config, w>(args)) {
        blocks = detail::grid_for((args.neurons + w - 1) / w, threads);
        kernel::backward<Config, w, prefetch, threads><<<blocks, threads, 0, stream>>>(k, args, partials);
    } else {
        blocks = detail::grid_for(args.neurons, threads);
        kernel::backward<Config, 1, prefetch, threads><<<blocks, threads, 0, stream>>>(k, args, partials);
    }
    cudaError_t error = cudaGetLastError();
    if (error != cudaSuccess) return error;
    if (needed) {
        constexpr int reduce_threads = Tuning::reduce_threads;
        kernel::reduce_grad_w<reduce_threads><<<1, reduce_threads, 0, stream>>>(partials, blocks, static_cast<double>(k.k), args.grad_w);
        error = cudaGetLastError();
    }
    return error;
}

}  // namespace cuda
}  // namespace snn
