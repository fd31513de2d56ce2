#pragma once
/// \file
/// Spike-input dense on CUDA: the CUDA `snn::cpu::dense_spike_forward` (arguments:
/// snn/synapse/dense_args.hpp, `dense_spike_forward_args` with device pointers). Binary input
/// (`uint8` 0/nonzero, or bit-packed words [rows, ceil(in/32)]) makes y = x W^T + b a sum of
/// the weight rows of the active inputs: y[m, :] = b + sum over active k, ascending, of
/// W^T[k, :], with W^T the in_out layout `[in, out]` (transpose_weight).
///
/// Each output element is bias (or 0) plus its terms added one at a time in ascending k, the
/// order of the CPU op, so the two agree bit for bit; no atomics, so the result never depends
/// on timing. No cuBLAS, no workspace; explicit stream, nothing allocated or synchronised, bad
/// arguments thrown before launch, the launch status returned (snn/cuda/synapse/common.cuh).
///
/// Kernel: a block owns 128 rows (8 warps x 16 rows) and a 128-column (float; 64 for double)
/// tile of y. Input features go by in chunks of 32, one bit word per row: the block stages the
/// chunk's weight tile W^T[32, tile] in shared memory (read coalesced, the next chunk's
/// prefetched into registers while the current one is used), and each warp walks the set bits
/// of each of its rows, adding the staged weight row to that row's accumulators (each lane
/// owns 16 bytes of columns). A row's word is the same for the whole warp, so the bit walk
/// does not diverge. Work is proportional to the spike count plus one pass over W^T per 128
/// rows; whether it beats the cuBLAS GEMM on 0/1 input depends on the density
/// (`snn-bench-layer-cuda --spike-density`).

#include <cstdint>
#include <string>

#include "snn/cuda/synapse/common.cuh"
#include "snn/synapse/dense_args.hpp"

namespace snn {
namespace cuda {
namespace synapse_kernel {

/// Tile geometry of `dense_spike_rows`.
template <class T>
struct spike_tile {
    static constexpr int warps = 8;
    static constexpr int rows_per_warp = 16;
    static constexpr int rows = warps * rows_per_warp;                 // rows of y per block
    static constexpr int columns_per_lane = 16 / static_cast<int>(sizeof(T));  // 16 bytes
    static constexpr int columns = 32 * columns_per_lane;              // columns of y per block
    static constexpr int chunk = 32;                                   // input features per step (one bit word)
    static constexpr int staged_per_thread = chunk * columns / (warps * 32);
};

/// Adds a staged weight-row slice w[0 .. 16 bytes) to a lane's accumulators (one 16-byte
/// shared-memory load).
__device__ inline void add_slice(float (&acc)[4], const float* w) {
    const float4 v = *reinterpret_cast<const float4*>(w);
    acc[0] = acc[0] + v.x;
    acc[1] = acc[1] + v.y;
    acc[2] = acc[2] + v.z;
    acc[3] = acc[3] + v.w;
}
__device__ inline void add_slice(double (&acc)[2], const double* w) {
    const double2 v = *reinterpret_cast<const double2*>(w);
    acc[0] = acc[0] + v.x;
    acc[1] = acc[1] + v.y;
}

/// The spike bit words of a warp's R rows for one chunk of 32 inputs, in two steps so that the
/// loads of the next chunk overlap the work on the current one: `fetch` issues the loads into
/// `raw`, `resolve` turns them into words (bit j of words[r]: input 32 * chunk + j of row
/// row0 + r fires; inputs past `in` and rows past `rows` are silent). Both are called by the
/// whole warp. Packed input: lane r < R fetches row r's word. Bytes: each lane fetches one
/// input of every row and a ballot gathers the bits.
template <bool packed, int R>
struct spike_input {
    const std::uint8_t* bytes;   // [M, K] when !packed
    const std::uint32_t* words;  // [M, ceil(K/32)] when packed
    std::int64_t rows, in, word_count;

    __device__ void fetch(std::int64_t row0, std::int64_t chunk, int lane, std::uint32_t (&raw)[R]) const {
        if constexpr (packed) {
            const std::int64_t m = row0 + lane;
            raw[0] = lane < R && m < rows ? words[m * word_count + chunk] : 0u;
        } else {
            const std::int64_t k = chunk * 32 + lane;
#pragma unroll
            for (int r = 0; r < R; ++r) raw[r] = row0 + r < rows && k < in ? bytes[(row0 + r) * in + k] : 0u;
        }
    }

    __device__ void resolve(std::int64_t chunk, const std::uint32_t (&raw)[R], std::uint32_t (&out)[R]) const {
        if constexpr (packed) {
            const std::int64_t valid = in - chunk * 32;  // bits past K are ignored
            const std::uint32_t mask = valid < 32 ? (std::uint32_t{1} << valid) - 1u : 0xffffffffu;
#pragma unroll
            for (int r = 0; r < R; ++r) out[r] = __shfl_sync(0xffffffffu, raw[0], r) & mask;
        } else {
#pragma unroll
            for (int r = 0; r < R; ++r) out[r] = __ballot_sync(0xffffffffu, raw[r] != 0u);
        }
    }
};

/// y [M, O] = bias + the rows of weight_t [K, O] of the active inputs of each row, in
/// ascending input order. Grid (row blocks, column tiles), block spike_tile<T>::warps * 32.
template <class T, bool packed>
__global__ void __launch_bounds__(spike_tile<T>::warps * 32, 2)
    dense_spike_rows(spike_input<packed, spike_tile<T>::rows_per_warp> spikes, const T* __restrict__ weight_t, const T* __restrict__ bias,
                     T* __restrict__ y, std::int64_t out) {
    using tile = spike_tile<T>;
    constexpr int C = tile::columns, V = tile::columns_per_lane, R = tile::rows_per_warp;
    __shared__ __align__(16) T staged[2][tile::chunk][C];  // two buffers of W^T[32 inputs, C columns]

    const std::int64_t rows = spikes.rows, in = spikes.in;
    const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
    const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.x) * tile::rows + static_cast<std::int64_t>(warp) * R;
    const std::int64_t col0 = static_cast<std::int64_t>(blockIdx.y) * C;
    const std::int64_t chunks = (in + tile::chunk - 1) / tile::chunk;

    // Staging: thread t loads column t % C of inputs t / C, t / C + stride, ... of a chunk
    // (consecutive threads, consecutive addresses); entries past K or O are 0 and never added.
    constexpr int stage_stride = tile::warps * 32 / C;
    const int stage_col = static_cast<int>(threadIdx.x) % C, stage_k = static_cast<int>(threadIdx.x) / C;
    const bool stage_col_valid = col0 + stage_col < out;
    T prefetched[tile::staged_per_thread];
    std::uint32_t raw[R], words[R];
    auto fetch_chunk = [&](std::int64_t chunk) {
#pragma unroll
        for (int i = 0; i < tile::staged_per_thread; ++i) {
            const std::int64_t k = chunk * tile::chunk + stage_k + i * stage_stride;
            prefetched[i] = stage_col_valid && k < in ? weight_t[k * out + col0 + stage_col] : T(0);
        }
        spikes.fetch(row0, chunk, lane, raw);
    };
    auto store_chunk = [&](int buffer) {
#pragma unroll
        for (int i = 0; i < tile::staged_per_thread; ++i) staged[buffer][stage_k + i * stage_stride][stage_col] = prefetched[i];
    };

    T acc[R][V];
#pragma unroll
    for (int v = 0; v < V; ++v) {
        const std::int64_t c = col0 + lane * V + v;
        const T b = bias != nullptr && c < out ? bias[c] : T(0);
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r][v] = b;
    }

    fetch_chunk(0);
    store_chunk(0);
    spikes.resolve(0, raw, words);
    __syncthreads();
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
        const int buffer = static_cast<int>(chunk & 1);
        const bool more = chunk + 1 < chunks;
        if (more) fetch_chunk(chunk + 1);  // in flight while this chunk is added
#pragma unroll
        for (int r = 0; r < R; ++r) {
            std::uint32_t word = words[r];  // the same in every lane: the loop does not diverge
            while (word != 0u) {
                const int k = __ffs(static_cast<int>(word)) - 1;
                word &= word - 1u;
                add_slice(acc[r], &staged[buffer][k][lane * V]);
            }
        }
        // The other buffer was last read in the previous step, closed by its barrier.
        if (more) {
            store_chunk(buffer ^ 1);
            spikes.resolve(chunk + 1, raw, words);
        }
        __syncthreads();
    }

#pragma unroll
    for (int r = 0; r < R; ++r) {
        const std::int64_t m = row0 + r;
        if (m >= rows) break;
#pragma unroll
        for (int v = 0; v < V; ++v) {
            const std::int64_t c = col0 + lane * V + v;
            if (c < out) y[m * out + c] = acc[r][v];
        }
    }
}

}  // namespace synapse_kernel

/// y = bias + sum of the in_out weight rows of the active inputs (see the file comment).
template <class T>
cudaError_t dense_spike_forward(const snn::synapse::dense_spike_forward_args<T>& a, cudaStream_t stream) {
    using namespace snn::synapse::detail;
    using tile = synapse_kernel::spike_tile<T>;
    require_real<T>();
    check(a);
    const std::int64_t row_blocks = (a.rows + tile::rows - 1) / tile::rows;
    const std::int64_t column_tiles = (a.out_features + tile::columns - 1) / tile::columns;
    require(column_tiles <= 65535, "out_features", "too many for one launch (at most 65535 tiles of " + std::to_string(tile::columns) + ")");
    require(row_blocks <= 0x7fffffff, "rows", "too many for one launch");
    // Row blocks vary fastest, so the blocks resident at a time share one column tile of W^T
    // and read it from L2 rather than each from memory.
    const dim3 grid(static_cast<unsigned>(row_blocks), static_cast<unsigned>(column_tiles));
    const std::int64_t words = (a.in_features + 31) / 32;
    constexpr int threads = tile::warps * 32;
    if (a.spike_bits != nullptr) {
        const synapse_kernel::spike_input<true, tile::rows_per_warp> spikes{nullptr, a.spike_bits, a.rows, a.in_features, words};
        synapse_kernel::dense_spike_rows<T, true><<<grid, threads, 0, stream>>>(spikes, a.weight_t, a.bias, a.y, a.out_features);
    } else {
        const synapse_kernel::spike_input<false, tile::rows_per_warp> spikes{a.spikes, nullptr, a.rows, a.in_features, words};
        synapse_kernel::dense_spike_rows<T, false><<<grid, threads, 0, stream>>>(spikes, a.weight_t, a.bias, a.y, a.out_features);
    }
    return cudaGetLastError();
}

}  // namespace cuda
}  // namespace snn
