#pragma once
// Timing helpers shared by the CUDA benchmark programs: a CUDA-call check that ends the
// program with the failing call named, and the median of CUDA-event times after a warm-up.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cuda_runtime.h>

namespace snn_bench {

/// Ends the program (exit 1) naming `what` and the CUDA error, prefixed with `program`.
inline void check_cuda(const char* program, cudaError_t e, const char* what) {
    if (e != cudaSuccess) {
        std::fprintf(stderr, "%s: %s: %s\n", program, what, cudaGetErrorString(e));
        std::exit(1);
    }
}

/// Median of `reps` timings of `launch` (CUDA events on the default stream), after one
/// untimed warm-up call.
template <class F>
float median_ms(const char* program, int reps, F&& launch) {
    cudaEvent_t start, stop;
    check_cuda(program, cudaEventCreate(&start), "event");
    check_cuda(program, cudaEventCreate(&stop), "event");
    launch();
    check_cuda(program, cudaDeviceSynchronize(), "warm-up");
    std::vector<float> times;
    for (int r = 0; r < reps; ++r) {
        check_cuda(program, cudaEventRecord(start), "record");
        launch();
        check_cuda(program, cudaEventRecord(stop), "record");
        check_cuda(program, cudaEventSynchronize(stop), "sync");
        float ms = 0;
        check_cuda(program, cudaEventElapsedTime(&ms, start, stop), "elapsed");
        times.push_back(ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace snn_bench
