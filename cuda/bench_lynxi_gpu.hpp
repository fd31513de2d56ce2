#pragma once
// GPU half of snn-bench-lynxi (bench/bench_lynxi.cpp): BIDL Lif spike mode over [T, N] with the
// binary16 emulation (emu/lynxi/multistep.cuh), float32 and hand-written native __half
// intrinsics (same op order), timed with CUDA events.
#include <cstdint>
#include <string>
#include <vector>

namespace snn_bench_lynxi {

struct gpu_row {
    std::string variant;
    double milliseconds = 0.0;  // median kernel time
    std::string note;
};

/// Empty when no CUDA device is usable (the reason in `why`).
std::vector<gpu_row> gpu_rows(std::int64_t steps, std::int64_t neurons, int repeats, std::string& why);

}  // namespace snn_bench_lynxi
