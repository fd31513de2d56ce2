#pragma once
/// \file
/// Materialising conversions between time layouts. Every pair of layouts differs by swapping
/// two adjacent groups of axes, so every conversion is a batch of matrix transposes whose
/// entries are single elements or whole F-element rows:
///
///   [T, N, F] -> [N, F, T]   one   [T, N*F] -> [N*F, T] transpose of elements
///   [N, F, T] -> [T, N, F]   one   [N*F, T] -> [T, N*F] transpose of elements
///   [N, T, F] -> [T, N, F]   one   [N, T] -> [T, N] transpose of F-element rows
///   [T, N, F] -> [N, T, F]   one   [T, N] -> [N, T] transpose of F-element rows
///   [N, T, F] -> [N, F, T]   N     [T, F] -> [F, T] transposes of elements
///   [N, F, T] -> [N, T, F]   N     [F, T] -> [T, F] transposes of elements
///
/// Transposes go tile by tile (tall, narrow tiles that keep few cache lines in flight) and,
/// within a tile, by square blocks transposed in vector registers. The kernels see only bytes:
/// an entry of 1, 2, 4 or 8 bytes (a float, a binary16, or a whole F = 2 row of floats) takes
/// the vector path, anything else is moved by memcpy. Every copy is bitwise, so any trivially
/// copyable element type round-trips exactly, NaN payloads included.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "snn/config.hpp"
#include "snn/core/error.hpp"
#include "snn/layout/mapping.hpp"
#include "snn/layout/sequence_view.hpp"

// Compilers do not turn a strided transpose loop into register shuffles by themselves, so
// square blocks are transposed with GCC/Clang generic vectors: portable source that becomes
// unpck/shuf/perm on SSE2, AVX2 or AVX-512, whichever the translation unit targets. nvcc's
// front end does not take them, and other compilers get scalar blocks; defining
// SNN_LAYOUT_VECTOR_TRANSPOSE to 0 forces the scalar blocks (to compare against, say).
#ifndef SNN_LAYOUT_VECTOR_TRANSPOSE
#if defined(__has_builtin) && !defined(__CUDACC__)
#if __has_builtin(__builtin_shufflevector)
#define SNN_LAYOUT_VECTOR_TRANSPOSE 1
#endif
#endif
#endif
#ifndef SNN_LAYOUT_VECTOR_TRANSPOSE
#define SNN_LAYOUT_VECTOR_TRANSPOSE 0
#endif

namespace snn::layout {

namespace detail {

using byte_pointer = unsigned char*;
using const_byte_pointer = const unsigned char*;

/// dst[b][c][r] = src[b][r][c] for b < batches, r < rows, c < columns, where each entry is
/// `entry_bytes` bytes (one element, or a row of F elements).
struct transpose_plan {
    std::int64_t batches;
    std::int64_t rows;
    std::int64_t columns;
    std::int64_t entry_bytes;
};

inline transpose_plan plan_conversion(storage_order from, storage_order to, std::int64_t time_steps,
                                      std::int64_t batch_size, std::int64_t features,
                                      std::int64_t element_bytes) {
    using order = storage_order;
    const std::int64_t T = time_steps, N = batch_size, F = features, e = element_bytes;
    if (from == to) return {1, 1, T * N * F, e};  // a single row: a plain copy
    if (from == order::time_batch_feature && to == order::batch_feature_time)
        return {1, T, N * F, e};
    if (from == order::batch_feature_time && to == order::time_batch_feature)
        return {1, N * F, T, e};
    if (from == order::batch_time_feature && to == order::time_batch_feature)
        return {1, N, T, F * e};
    if (from == order::time_batch_feature && to == order::batch_time_feature)
        return {1, T, N, F * e};
    if (from == order::batch_time_feature && to == order::batch_feature_time) return {N, T, F, e};
    return {N, F, T, e};  // batch_feature_time -> batch_time_feature
}

/// Throws unless the byte ranges [src, src + bytes) and [dst, dst + bytes) are disjoint.
inline void check_disjoint(const void* src, const void* dst, std::int64_t bytes) {
    // Compare addresses as integers: relational operators on pointers into different arrays
    // are unspecified.
    const auto source_begin = reinterpret_cast<std::uintptr_t>(src);
    const auto destination_begin = reinterpret_cast<std::uintptr_t>(dst);
    const auto length = static_cast<std::uintptr_t>(bytes);
    const bool overlap =
        source_begin < destination_begin + length && destination_begin < source_begin + length;
    require(!overlap, "dst", "overlaps src (layout conversions cannot run in place)");
}

}  // namespace detail

// The kernels below compile differently for each instruction set (vector widths, block
// sizes), so they live in an inline namespace named after it: a translation unit built with
// -mavx512f then cannot lend its out-of-line copies to one built for baseline x86-64 when
// the linker merges template instances. Callers still write snn::layout::convert.
#if !SNN_LAYOUT_VECTOR_TRANSPOSE
#define SNN_LAYOUT_KERNELS kernels_scalar
#elif defined(__AVX512BW__)
#define SNN_LAYOUT_KERNELS kernels_avx512bw
#elif defined(__AVX512F__)
#define SNN_LAYOUT_KERNELS kernels_avx512f
#elif defined(__AVX2__)
#define SNN_LAYOUT_KERNELS kernels_avx2
#elif defined(__AVX__)
#define SNN_LAYOUT_KERNELS kernels_avx
#else
#define SNN_LAYOUT_KERNELS kernels_vector128
#endif

namespace detail {
inline namespace SNN_LAYOUT_KERNELS {

// Widest vector the target has; a wider generic vector would be split into scalar code.
#if defined(__AVX512F__)
inline constexpr std::int64_t vector_bytes = 64;
#elif defined(__AVX__)
inline constexpr std::int64_t vector_bytes = 32;
#else
inline constexpr std::int64_t vector_bytes = 16;
#endif

/// Edge of the square blocks transposed in registers: one vector of entries per block row, at
/// most 16 rows so a block fits the register file. 1 means no vector path for this size.
template <std::int64_t EntryBytes>
constexpr std::int64_t block_edge() {
    constexpr bool has_lane_type =
        EntryBytes == 1 || EntryBytes == 2 || EntryBytes == 4 || EntryBytes == 8;
    if (!SNN_LAYOUT_VECTOR_TRANSPOSE || !has_lane_type) return 1;
    return vector_bytes / EntryBytes > 16 ? 16 : vector_bytes / EntryBytes;
}

/// Blocks narrower than a 16-byte vector would go through partial registers, which is slower
/// than the scalar copies that replace them.
template <std::int64_t EntryBytes, std::int64_t Edge>
constexpr bool fills_a_vector() {
    return SNN_LAYOUT_VECTOR_TRANSPOSE && Edge >= 2 && Edge * EntryBytes >= 16;
}

#if SNN_LAYOUT_VECTOR_TRANSPOSE
#define SNN_LAYOUT_UNROLL _Pragma("GCC unroll 16")

template <std::int64_t Bytes>
struct lane_of_size {};
template <>
struct lane_of_size<1> {
    using type = std::uint8_t;
};
template <>
struct lane_of_size<2> {
    using type = std::uint16_t;
};
template <>
struct lane_of_size<4> {
    using type = std::uint32_t;
};
template <>
struct lane_of_size<8> {
    using type = std::uint64_t;
};

/// Perfect shuffle of two rows: low = a0 b0 a1 b1 ..., high = the same from the upper halves.
template <class Vector, std::size_t Lanes, std::size_t... Lane>
SNN_ALWAYS_INLINE void interleave(const Vector& a, const Vector& b, Vector& low, Vector& high,
                                  std::index_sequence<Lane...>) {
    low = __builtin_shufflevector(a, b, (Lane % 2 == 0 ? Lane / 2 : Lanes + Lane / 2)...);
    high = __builtin_shufflevector(
        a, b, (Lane % 2 == 0 ? Lanes / 2 + Lane / 2 : Lanes + Lanes / 2 + Lane / 2)...);
}

/// Transposes one Edge x Edge block of EntryBytes-byte entries: entry (r, c) at
/// src + (r * src_stride + c) * EntryBytes goes to dst + (c * dst_stride + r) * EntryBytes.
template <std::int64_t EntryBytes, std::int64_t Edge>
SNN_ALWAYS_INLINE void transpose_block(const_byte_pointer src, std::int64_t src_stride,
                                       byte_pointer dst, std::int64_t dst_stride) {
    using lane = typename lane_of_size<EntryBytes>::type;
    typedef lane row_vector __attribute__((vector_size(Edge * EntryBytes)));
    constexpr std::int64_t half = Edge / 2;
    constexpr int rounds = Edge == 16 ? 4 : Edge == 8 ? 3 : Edge == 4 ? 2 : 1;

    // Everything is fully unrolled so the rows live in registers, not in a stack array.
    row_vector rows[Edge];
    SNN_LAYOUT_UNROLL
    for (std::int64_t r = 0; r < Edge; ++r)
        std::memcpy(&rows[r], src + r * src_stride * EntryBytes, sizeof(row_vector));
    // log2(Edge) rounds of perfect shuffles of row i with row i + Edge/2 transpose the block.
    SNN_LAYOUT_UNROLL
    for (int round = 0; round < rounds; ++round) {
        row_vector shuffled[Edge];
        SNN_LAYOUT_UNROLL
        for (std::int64_t i = 0; i < half; ++i)
            interleave<row_vector, Edge>(rows[i], rows[i + half], shuffled[2 * i],
                                         shuffled[2 * i + 1], std::make_index_sequence<Edge>());
        SNN_LAYOUT_UNROLL
        for (std::int64_t r = 0; r < Edge; ++r)
            rows[r] = shuffled[r];
    }
    SNN_LAYOUT_UNROLL
    for (std::int64_t r = 0; r < Edge; ++r)
        std::memcpy(dst + r * dst_stride * EntryBytes, &rows[r], sizeof(row_vector));
}
#endif

/// memcpy for a run-time byte count, without a library call for the short entries (whole
/// F-rows of a few elements) that dominate when F is small.
SNN_ALWAYS_INLINE void copy_entry(byte_pointer dst, const_byte_pointer src, std::int64_t bytes) {
    if (bytes >= 64) {
        std::memcpy(dst, src, static_cast<std::size_t>(bytes));
        return;
    }
    std::int64_t copied = 0;
    for (; copied + 8 <= bytes; copied += 8)
        std::memcpy(dst + copied, src + copied, 8);
    if (copied + 4 <= bytes) {
        std::memcpy(dst + copied, src + copied, 4);
        copied += 4;
    }
    for (; copied < bytes; ++copied)
        dst[copied] = src[copied];
}

/// Transposes src rows [row_begin, row_end) x columns [column_begin, column_end) of a
/// [rows, columns] matrix of EntryBytes-byte entries into the [columns, rows] matrix dst,
/// entry by entry. EntryBytes == 0 means the entry size is the run-time `entry_bytes`.
template <std::int64_t EntryBytes>
void transpose_region(const_byte_pointer __restrict src, byte_pointer __restrict dst,
                      std::int64_t rows, std::int64_t columns, std::int64_t entry_bytes,
                      std::int64_t row_begin, std::int64_t row_end, std::int64_t column_begin,
                      std::int64_t column_end) {
    const std::int64_t size = EntryBytes > 0 ? EntryBytes : entry_bytes;
    for (std::int64_t column = column_begin; column < column_end; ++column) {
        for (std::int64_t row = row_begin; row < row_end; ++row) {
            byte_pointer to = dst + (column * rows + row) * size;
            const_byte_pointer from = src + (row * columns + column) * size;
            if constexpr (EntryBytes > 0) {
                std::memcpy(to, from, EntryBytes);
            } else {
                copy_entry(to, from, size);
            }
        }
    }
}

/// The same region in Edge x Edge register blocks; the ragged strips that do not fill a block
/// go through half-size blocks (so T = 4..15 still gets vector code), the last few entries
/// through fixed-size memcpy.
template <std::int64_t EntryBytes, std::int64_t Edge>
void transpose_region_in_blocks(const_byte_pointer __restrict src, byte_pointer __restrict dst,
                                std::int64_t rows, std::int64_t columns, std::int64_t row_begin,
                                std::int64_t row_end, std::int64_t column_begin,
                                std::int64_t column_end) {
#if SNN_LAYOUT_VECTOR_TRANSPOSE
    if constexpr (fills_a_vector<EntryBytes, Edge>()) {
        const std::int64_t block_row_end = row_begin + (row_end - row_begin) / Edge * Edge;
        const std::int64_t block_column_end =
            column_begin + (column_end - column_begin) / Edge * Edge;
        // Down the rows first: the destination rows of a block column are then written in
        // long contiguous bursts and finished before the next ones start.
        for (std::int64_t column = column_begin; column < block_column_end; column += Edge)
            for (std::int64_t row = row_begin; row < block_row_end; row += Edge)
                transpose_block<EntryBytes, Edge>(src + (row * columns + column) * EntryBytes,
                                                  columns, dst + (column * rows + row) * EntryBytes,
                                                  rows);
        transpose_region_in_blocks<EntryBytes, Edge / 2>(
            src, dst, rows, columns, row_begin, block_row_end, block_column_end, column_end);
        transpose_region_in_blocks<EntryBytes, Edge / 2>(src, dst, rows, columns, block_row_end,
                                                         row_end, column_begin, column_end);
        return;
    }
#endif
    transpose_region<EntryBytes>(src, dst, rows, columns, EntryBytes, row_begin, row_end,
                                 column_begin, column_end);
}

/// [Rows, columns] -> [columns, Rows] for two or three rows: too few for a register block, but
/// with Rows known at compile time each destination row is one short run that compilers can
/// vectorise as an interleaving store.
template <std::int64_t EntryBytes, std::int64_t Rows>
void transpose_few_rows(const_byte_pointer __restrict src, byte_pointer __restrict dst,
                        std::int64_t columns) {
    for (std::int64_t column = 0; column < columns; ++column)
        for (std::int64_t row = 0; row < Rows; ++row)
            std::memcpy(dst + (column * Rows + row) * EntryBytes,
                        src + (row * columns + column) * EntryBytes, EntryBytes);
}

/// [rows, Columns] -> [Columns, rows] for two or three columns (see transpose_few_rows).
template <std::int64_t EntryBytes, std::int64_t Columns>
void transpose_few_columns(const_byte_pointer __restrict src, byte_pointer __restrict dst,
                           std::int64_t rows) {
    for (std::int64_t row = 0; row < rows; ++row)
        for (std::int64_t column = 0; column < Columns; ++column)
            std::memcpy(dst + (column * rows + row) * EntryBytes,
                        src + (row * Columns + column) * EntryBytes, EntryBytes);
}

// Tiles of about 64 KiB, one cache line of source columns wide and up to 1024 source rows
// tall (wider when there are fewer rows). A tile reads whole source lines and writes each
// destination row in one long burst, so neither side has more than a few dozen lines in
// flight, which is what counts when a power-of-two stride maps them all to one cache set.
// (Measured for T = 32, N * F = 2^20 floats on a Zen 4 and a recent Xeon: square 64x64 tiles
// ran up to 1.8x slower in the [N * F, T] -> [T, N * F] direction.)
inline constexpr std::int64_t tile_bytes = 65536;
inline constexpr std::int64_t tile_rows = 1024;

inline std::int64_t tile_columns(std::int64_t rows, std::int64_t entry_bytes,
                                 std::int64_t line_of_entries) {
    const std::int64_t tile_entries = std::max(tile_bytes / entry_bytes, line_of_entries);
    const std::int64_t columns =
        std::max<std::int64_t>(tile_entries / std::min(rows, tile_rows), 1);
    return (columns + line_of_entries - 1) / line_of_entries * line_of_entries;
}

/// [rows, columns] -> [columns, rows] for entries of a size known at compile time.
template <std::int64_t EntryBytes>
void transpose_entries(const_byte_pointer __restrict src, byte_pointer __restrict dst,
                       std::int64_t rows, std::int64_t columns) {
    if (rows == 2) return transpose_few_rows<EntryBytes, 2>(src, dst, columns);
    if (rows == 3) return transpose_few_rows<EntryBytes, 3>(src, dst, columns);
    if (columns == 2) return transpose_few_columns<EntryBytes, 2>(src, dst, rows);
    if (columns == 3) return transpose_few_columns<EntryBytes, 3>(src, dst, rows);

    constexpr std::int64_t edge = block_edge<EntryBytes>();
    constexpr std::int64_t line_of_entries =
        std::max<std::int64_t>(EntryBytes >= 64 ? 1 : 64 / EntryBytes, edge);
    const std::int64_t columns_per_tile = tile_columns(rows, EntryBytes, line_of_entries);
    for (std::int64_t row_begin = 0; row_begin < rows; row_begin += tile_rows) {
        const std::int64_t row_end = std::min(row_begin + tile_rows, rows);
        for (std::int64_t column_begin = 0; column_begin < columns;
             column_begin += columns_per_tile) {
            const std::int64_t column_end = std::min(column_begin + columns_per_tile, columns);
            // Start from the largest block that fits, rather than recursing down to it.
            const std::int64_t shorter_side =
                std::min(row_end - row_begin, column_end - column_begin);
            if (shorter_side >= 16) {
                transpose_region_in_blocks<EntryBytes, std::min<std::int64_t>(edge, 16)>(
                    src, dst, rows, columns, row_begin, row_end, column_begin, column_end);
            } else if (shorter_side >= 8) {
                transpose_region_in_blocks<EntryBytes, std::min<std::int64_t>(edge, 8)>(
                    src, dst, rows, columns, row_begin, row_end, column_begin, column_end);
            } else {
                transpose_region_in_blocks<EntryBytes, std::min<std::int64_t>(edge, 4)>(
                    src, dst, rows, columns, row_begin, row_end, column_begin, column_end);
            }
        }
    }
}

/// [rows, columns] -> [columns, rows] for entries of any size `entry_bytes` (whole F-rows of
/// an odd byte count), in the same tiles as transpose_entries.
inline void transpose_odd_entries(const_byte_pointer __restrict src, byte_pointer __restrict dst,
                                  std::int64_t rows, std::int64_t columns,
                                  std::int64_t entry_bytes) {
    const std::int64_t line_of_entries = entry_bytes >= 64 ? 1 : 64 / entry_bytes;
    const std::int64_t columns_per_tile = tile_columns(rows, entry_bytes, line_of_entries);
    for (std::int64_t row_begin = 0; row_begin < rows; row_begin += tile_rows) {
        const std::int64_t row_end = std::min(row_begin + tile_rows, rows);
        for (std::int64_t column_begin = 0; column_begin < columns;
             column_begin += columns_per_tile) {
            const std::int64_t column_end = std::min(column_begin + columns_per_tile, columns);
            transpose_region<0>(src, dst, rows, columns, entry_bytes, row_begin, row_end,
                                column_begin, column_end);
        }
    }
}

inline void run_plan(const_byte_pointer src, byte_pointer dst, const transpose_plan& plan) {
    const std::int64_t matrix_bytes = plan.rows * plan.columns * plan.entry_bytes;
    if (plan.rows == 1 || plan.columns == 1) {  // transposing a vector moves nothing
        std::memcpy(dst, src, static_cast<std::size_t>(plan.batches * matrix_bytes));
        return;
    }
    for (std::int64_t batch = 0; batch < plan.batches; ++batch) {
        const_byte_pointer source_matrix = src + batch * matrix_bytes;
        byte_pointer destination_matrix = dst + batch * matrix_bytes;
        switch (plan.entry_bytes) {
            case 1:
                transpose_entries<1>(source_matrix, destination_matrix, plan.rows, plan.columns);
                break;
            case 2:
                transpose_entries<2>(source_matrix, destination_matrix, plan.rows, plan.columns);
                break;
            case 4:
                transpose_entries<4>(source_matrix, destination_matrix, plan.rows, plan.columns);
                break;
            case 8:
                transpose_entries<8>(source_matrix, destination_matrix, plan.rows, plan.columns);
                break;
            // Common sizes without a vector lane still get a fixed-size copy instead of a call.
            case 12:
                transpose_entries<12>(source_matrix, destination_matrix, plan.rows, plan.columns);
                break;
            case 16:
                transpose_entries<16>(source_matrix, destination_matrix, plan.rows, plan.columns);
                break;
            case 32:
                transpose_entries<32>(source_matrix, destination_matrix, plan.rows, plan.columns);
                break;
            default:
                transpose_odd_entries(source_matrix, destination_matrix, plan.rows, plan.columns,
                                      plan.entry_bytes);
        }
    }
}

template <class Element>
void convert_unchecked(const Element* src, storage_order from, Element* dst, storage_order to,
                       std::int64_t time_steps, std::int64_t batch_size, std::int64_t features) {
    static_assert(std::is_trivially_copyable_v<Element>,
                  "layout conversions copy bytes, so the element type must be trivially copyable");
    // Elements are moved as their object representations, which unsigned char may access.
    run_plan(reinterpret_cast<const_byte_pointer>(src), reinterpret_cast<byte_pointer>(dst),
             plan_conversion(from, to, time_steps, batch_size, features,
                             static_cast<std::int64_t>(sizeof(Element))));
}

template <class Element>
void convert_pointers(const Element* src, storage_order from, Element* dst, storage_order to,
                      std::int64_t time_steps, std::int64_t batch_size, std::int64_t features) {
    require(src != nullptr, "src", "must not be null");
    require(dst != nullptr, "dst", "must not be null");
    check_extents(time_steps, batch_size, features, sizeof(Element));
    check_disjoint(src, dst,
                   time_steps * batch_size * features * static_cast<std::int64_t>(sizeof(Element)));
    convert_unchecked(src, from, dst, to, time_steps, batch_size, features);
}

}  // namespace SNN_LAYOUT_KERNELS
}  // namespace detail

inline namespace SNN_LAYOUT_KERNELS {

/// Copies `src` into `dst`, whatever their layouts; both must have the same T, N and F and
/// must not overlap. Round trips are bitwise exact.
template <class SourceElement, class SourceLayout, class DestinationElement,
          class DestinationLayout>
void convert(const sequence_view<SourceElement, SourceLayout>& src,
             const sequence_view<DestinationElement, DestinationLayout>& dst) {
    static_assert(std::is_same_v<std::remove_const_t<SourceElement>, DestinationElement>,
                  "convert: dst must hold mutable elements of src's type");
    require(src.data() != nullptr, "src", "is an empty view (null data)");
    require(dst.data() != nullptr, "dst", "is an empty view (null data)");
    require(src.mapping().same_extents(dst.mapping()), "dst",
            "extents " + detail::extents_text(dst.time_steps(), dst.batch_size(), dst.features()) +
                " differ from src's " +
                detail::extents_text(src.time_steps(), src.batch_size(), src.features()));
    // Non-empty views were checked on construction, so the extents are valid.
    detail::check_disjoint(src.data(), dst.data(),
                           src.size() * static_cast<std::int64_t>(sizeof(DestinationElement)));
    detail::convert_unchecked<DestinationElement>(src.data(), SourceLayout::order, dst.data(),
                                                  DestinationLayout::order, src.time_steps(),
                                                  src.batch_size(), src.features());
}

/// src [T, N, F] (SpikingJelly) -> dst [N, F, T] (Lava-DL).
template <class Element>
void time_major_to_time_minor(const Element* src, Element* dst, std::int64_t time_steps,
                              std::int64_t batch_size, std::int64_t features) {
    detail::convert_pointers(src, time_major::order, dst, time_minor::order, time_steps, batch_size,
                             features);
}

/// src [N, F, T] (Lava-DL) -> dst [T, N, F] (SpikingJelly).
template <class Element>
void time_minor_to_time_major(const Element* src, Element* dst, std::int64_t time_steps,
                              std::int64_t batch_size, std::int64_t features) {
    detail::convert_pointers(src, time_minor::order, dst, time_major::order, time_steps, batch_size,
                             features);
}

/// src [N, T, F] (BIDL batch-first) -> dst [T, N, F].
template <class Element>
void batch_major_to_time_major(const Element* src, Element* dst, std::int64_t time_steps,
                               std::int64_t batch_size, std::int64_t features) {
    detail::convert_pointers(src, batch_major::order, dst, time_major::order, time_steps,
                             batch_size, features);
}

/// src [T, N, F] -> dst [N, T, F] (BIDL batch-first).
template <class Element>
void time_major_to_batch_major(const Element* src, Element* dst, std::int64_t time_steps,
                               std::int64_t batch_size, std::int64_t features) {
    detail::convert_pointers(src, time_major::order, dst, batch_major::order, time_steps,
                             batch_size, features);
}

/// src [N, T, F] (BIDL batch-first) -> dst [N, F, T] (Lava-DL).
template <class Element>
void batch_major_to_time_minor(const Element* src, Element* dst, std::int64_t time_steps,
                               std::int64_t batch_size, std::int64_t features) {
    detail::convert_pointers(src, batch_major::order, dst, time_minor::order, time_steps,
                             batch_size, features);
}

/// src [N, F, T] (Lava-DL) -> dst [N, T, F] (BIDL batch-first).
template <class Element>
void time_minor_to_batch_major(const Element* src, Element* dst, std::int64_t time_steps,
                               std::int64_t batch_size, std::int64_t features) {
    detail::convert_pointers(src, time_minor::order, dst, batch_major::order, time_steps,
                             batch_size, features);
}

}  // namespace SNN_LAYOUT_KERNELS

}  // namespace snn::layout
