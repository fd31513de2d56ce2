// Lynxi float16 kernels on CUDA (run on a GPU machine): CUDA == CPU scalar bit for bit on the
// whole configuration sweep (every LIFPlus option, Lif modes and levels, SJ IF/LIF, aggregations,
// both torch devices), the float32 Lif, the device-pointer API on a user stream and inside a
// CUDA graph, and argument errors raised before any launch.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "snn/emu/lynxi/cuda_staged.hpp"
#include "snn/emu/lynxi/dispatch.hpp"
#include "snn/emu/lynxi/multistep.cuh"
#include "support/lynxi_sweep.hpp"

namespace ly = snn::emu::lynxi;
using snn::binary16;

namespace {

bool device_present() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

}  // namespace

TEST_CASE("lynxi CUDA: a device is present") { REQUIRE(device_present()); }

TEST_CASE("lynxi CUDA equals the CPU scalar kernels bit for bit on the whole sweep") {
    REQUIRE(device_present());
    const auto reference = snn_test::lynxi::sweep(ly::select_isa("scalar"));
    const auto gpu = snn_test::lynxi::sweep(ly::cuda::staged_kernel_table());
    REQUIRE(gpu.size() == reference.size());
    for (std::size_t k = 0; k < gpu.size(); ++k) {
        INFO(gpu[k].label);
        CHECK(snn_test::lynxi::first_difference(gpu[k], reference[k]) == -1);
    }
}

TEST_CASE("lynxi CUDA: float32 BIDL Lif equals the CPU's") {
    REQUIRE(device_present());
    constexpr std::int64_t T = 9, N = 1000;
    const std::vector<binary16> x16 = snn_test::lynxi::sweep_inputs(7, T * N);
    std::vector<float> x(x16.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = x16[i].to_float() * 1.37f;
    std::vector<float> v_cpu(x.size()), v_gpu(x.size());
    ly::bidl_lif_params p;
    p.alpha = ly::soma_param(0.9);
    p.beta = ly::soma_param(-0.05);
    ly::bidl_lif_args<float> a;
    a.steps = T;
    a.neurons = N;
    a.x = x.data();
    a.v = v_cpu.data();
    ly::select_isa("scalar").bidl_lif_float32(p, a, {});
    a.v = v_gpu.data();
    ly::cuda::staged_kernel_table().bidl_lif_float32(p, a, {});
    int differ = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!(v_cpu[i] == v_gpu[i] || (v_cpu[i] != v_cpu[i] && v_gpu[i] != v_gpu[i]))) ++differ;
    CHECK(differ == 0);
}

TEST_CASE("lynxi CUDA: device pointers on a user stream and in a CUDA graph") {
    REQUIRE(device_present());
    constexpr std::int64_t T = 16, N = 4099;
    const std::vector<binary16> x = snn_test::lynxi::sweep_inputs(11, T * N);
    std::vector<binary16> expected(x.size()), got(x.size());
    ly::sj_lynxi_params p;
    p.leaky = true;
    p.tau = 3.0;
    p.v_reset = -0.3;
    p.device = ly::torch_device::cuda;
    ly::sj_lynxi_args<binary16> a;
    a.steps = T;
    a.neurons = N;
    a.x = x.data();
    a.v = expected.data();
    ly::select_isa("scalar").sj_lynxi(p, a, {});

    binary16 *dx = nullptr, *dv = nullptr;
    REQUIRE(cudaMalloc(&dx, x.size() * sizeof(binary16)) == cudaSuccess);
    REQUIRE(cudaMalloc(&dv, x.size() * sizeof(binary16)) == cudaSuccess);
    REQUIRE(cudaMemcpy(dx, x.data(), x.size() * sizeof(binary16), cudaMemcpyHostToDevice) == cudaSuccess);
    cudaStream_t stream;
    REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
    ly::sj_lynxi_args<binary16> d;
    d.steps = T;
    d.neurons = N;
    d.x = dx;
    d.v = dv;

    CHECK(ly::cuda::sj_lynxi_forward(p, d, stream) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
    REQUIRE(cudaMemcpy(got.data(), dv, got.size() * sizeof(binary16), cudaMemcpyDeviceToHost) == cudaSuccess);
    int differ = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i].bits != expected[i].bits && !(got[i].is_nan() && expected[i].is_nan())) ++differ;
    CHECK(differ == 0);

    // Captured into a graph: no allocation or synchronisation inside the call.
    REQUIRE(cudaMemset(dv, 0, got.size() * sizeof(binary16)) == cudaSuccess);
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    REQUIRE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal) == cudaSuccess);
    CHECK(ly::cuda::sj_lynxi_forward(p, d, stream) == cudaSuccess);
    REQUIRE(cudaStreamEndCapture(stream, &graph) == cudaSuccess);
    REQUIRE(cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess);
    REQUIRE(cudaGraphLaunch(exec, stream) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
    REQUIRE(cudaMemcpy(got.data(), dv, got.size() * sizeof(binary16), cudaMemcpyDeviceToHost) == cudaSuccess);
    differ = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i].bits != expected[i].bits && !(got[i].is_nan() && expected[i].is_nan())) ++differ;
    CHECK(differ == 0);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(stream);
    cudaFree(dx);
    cudaFree(dv);
}

TEST_CASE("lynxi CUDA: bad arguments are thrown before any launch") {
    ly::bidl_lif_params p;
    ly::bidl_lif_args<binary16> a;
    a.steps = 4;
    a.neurons = 8;
    binary16 out[32];
    a.v = out;  // x is null
    try {
        (void)ly::cuda::bidl_lif_forward(p, a, nullptr);
        FAIL("no exception");
    } catch (const snn::invalid_argument& e) {
        CHECK(e.argument() == "x");
    }
    ly::lifplus_params lp;
    lp.options.input = ly::input_accumulation::cub;
    lp.options.reversal_voltage = true;
    ly::lifplus_args<binary16> la;
    CHECK_THROWS_AS((void)ly::cuda::lifplus_forward(lp, la, nullptr), snn::invalid_argument);
    // No launch happened: nothing pending on the device.
    CHECK(cudaGetLastError() == cudaSuccess);
}
