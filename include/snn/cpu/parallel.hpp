#pragma once
/// \file
/// Minimal fork-join over a range of blocks with std::thread. The partition into blocks is
/// fixed by the caller (independent of the thread count), so results that reduce per block
/// are the same for any number of threads.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace snn {
namespace cpu {

/// Where and how wide CPU kernels run.
struct execution {
    int threads = 0;  ///< 0: one per hardware thread; 1: the calling thread only
};

namespace detail {

inline int resolve_threads(const execution& exec) {
    if (exec.threads > 0) return exec.threads;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
}

/// Calls body(first_block, last_block) on contiguous block ranges, one per worker thread.
/// `min_blocks_per_thread` keeps small problems on the calling thread.
template <class Body>
void parallel_blocks(std::int64_t block_count, const execution& exec, std::int64_t min_blocks_per_thread, Body&& body) {
    const std::int64_t wanted = std::max<std::int64_t>(1, std::min<std::int64_t>(resolve_threads(exec), block_count / std::max<std::int64_t>(1, min_blocks_per_thread)));
    if (wanted <= 1) {
        body(std::int64_t{0}, block_count);
        return;
    }
    std::vector<std::thread> workers;
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(wanted));
    workers.reserve(static_cast<std::size_t>(wanted - 1));
    const std::int64_t per = block_count / wanted;
    const std::int64_t extra = block_count % wanted;
    std::int64_t begin = 0;
    for (std::int64_t w = 0; w < wanted; ++w) {
        const std::int64_t end = begin + per + (w < extra ? 1 : 0);
        auto run = [&body, &errors, w, begin, end] {
            try {
                body(begin, end);
            } catch (...) {
                errors[static_cast<std::size_t>(w)] = std::current_exception();
            }
        };
        if (w + 1 == wanted) run();
        else workers.emplace_back(run);
        begin = end;
    }
    for (auto& t : workers) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace detail
}  // namespace cpu
}  // namespace snn
