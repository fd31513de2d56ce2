// Device-pointer scenarios for the CUDA tests (kept in a .cu; the doctest cases are in
// test_cuda.cpp): 64-bit indexing beyond 2^31 elements, deterministic PLIF grad_w, CUDA graph
// capture, workspace checking.
#include "cuda_test_helpers.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include <cuda_runtime.h>

#include <snn/cuda/multistep.cuh>

namespace {

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw snn::io_error(std::string(what) + ": " + cudaGetErrorString(e));
}

template <class T>
struct device_array {
    T* ptr = nullptr;
    explicit device_array(std::size_t n) { check(cudaMalloc(&ptr, n * sizeof(T)), "cudaMalloc"); }
    ~device_array() { cudaFree(ptr); }
    device_array(const device_array&) = delete;
    device_array& operator=(const device_array&) = delete;
};

__global__ void fill_pattern(float* x, std::int64_t count, std::int64_t neurons) {
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
         i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t n = i % neurons;
        x[i] = 0.25f + 0.125f * static_cast<float>(n % 7);  // per-neuron constant current
    }
}

__global__ void convert_on_device(std::uint32_t start, std::uint32_t stride, std::int64_t count, std::uint16_t* to_half, std::uint32_t* back) {
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::uint32_t bits = start + static_cast<std::uint32_t>(i) * stride;
        to_half[i] = snn::binary16_bits_from_float(__uint_as_float(bits));
        back[i] = __float_as_uint(snn::float_from_binary16_bits(static_cast<std::uint16_t>(bits & 0xFFFFu)));
    }
}

using lif = snn::lif_neuron<snn::precision::f32>;
using plif = snn::plif_neuron<snn::precision::f32>;

}  // namespace

namespace snn_cuda_test {

bool device_present() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

std::string big_index_forward(std::int64_t steps, std::int64_t neurons) {
    const std::int64_t count = steps * neurons;
    device_array<float> x(static_cast<std::size_t>(count)), spike(static_cast<std::size_t>(count)), v_last(static_cast<std::size_t>(neurons));
    fill_pattern<<<4096, 256>>>(x.ptr, count, neurons);
    check(cudaGetLastError(), "fill");
    snn::neuron_params p;
    snn::forward_args<lif> a;
    a.steps = steps;
    a.neurons = neurons;
    a.x = x.ptr;
    a.spike = spike.ptr;
    a.v_last = v_last.ptr;
    check(snn::cuda::forward_inference<lif>(p, a, nullptr), "forward_inference");
    check(cudaDeviceSynchronize(), "sync");
    // Reference for the last 7 neurons on the CPU (the pattern repeats every 7 neurons).
    std::vector<float> last_row(7), gpu_v(7);
    check(cudaMemcpy(last_row.data(), spike.ptr + (count - 7), 7 * sizeof(float), cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(gpu_v.data(), v_last.ptr + (neurons - 7), 7 * sizeof(float), cudaMemcpyDeviceToHost), "copy");
    for (int j = 0; j < 7; ++j) {
        const std::int64_t n = neurons - 7 + j;
        const float xv = 0.25f + 0.125f * static_cast<float>(n % 7);
        float v = 0.0f, s = 0.0f;
        for (std::int64_t t = 0; t < steps; ++t) {
            const float h = v + (xv - (v - 0.0f)) / 2.0f;
            s = (h - 1.0f >= 0.0f) ? 1.0f : 0.0f;
            v = s * 0.0f + (1.0f - s) * h;
        }
        if (s != last_row[static_cast<std::size_t>(j)] || std::memcmp(&v, &gpu_v[static_cast<std::size_t>(j)], sizeof v) != 0)
            return "neuron " + std::to_string(n) + ": spike " + std::to_string(last_row[static_cast<std::size_t>(j)]) + " (expected " +
                   std::to_string(s) + "), v_last " + std::to_string(gpu_v[static_cast<std::size_t>(j)]) + " (expected " + std::to_string(v) + ")";
    }
    return "";
}

std::vector<double> plif_grad_w_runs(int runs, std::int64_t steps, std::int64_t neurons) {
    const std::size_t tn = static_cast<std::size_t>(steps * neurons);
    std::vector<float> host(tn);
    for (std::size_t i = 0; i < tn; ++i) host[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.0f - 0.3f;
    device_array<float> x(tn), spike(tn), v_seq(tn), h(tn), gs(tn), gx(tn);
    device_array<double> grad_w(1);
    check(cudaMemcpy(x.ptr, host.data(), tn * sizeof(float), cudaMemcpyHostToDevice), "copy");
    check(cudaMemcpy(gs.ptr, host.data(), tn * sizeof(float), cudaMemcpyHostToDevice), "copy");
    snn::neuron_params p;
    p.w = 0.3;
    snn::forward_args<plif> f;
    f.steps = steps;
    f.neurons = neurons;
    f.x = x.ptr;
    f.spike = spike.ptr;
    f.v_seq = v_seq.ptr;
    f.h_seq = h.ptr;
    check(snn::cuda::forward_training<plif>(p, f, nullptr), "forward_training");
    snn::backward_args<plif> b;
    b.steps = steps;
    b.neurons = neurons;
    b.grad_spike = gs.ptr;
    b.h_seq = h.ptr;
    b.x = x.ptr;
    b.v_seq = v_seq.ptr;
    b.grad_x = gx.ptr;
    b.grad_w = grad_w.ptr;
    const std::size_t bytes = snn::cuda::backward_workspace_bytes(b);
    device_array<unsigned char> workspace(bytes);
    std::vector<double> out;
    for (int r = 0; r < runs; ++r) {
        check(snn::cuda::backward<plif>(p, b, workspace.ptr, bytes, nullptr), "backward");
        double w = 0;
        check(cudaMemcpy(&w, grad_w.ptr, sizeof w, cudaMemcpyDeviceToHost), "copy");
        out.push_back(w);
    }
    return out;
}

std::string graph_capture_matches_direct(std::int64_t steps, std::int64_t neurons) {
    const std::size_t tn = static_cast<std::size_t>(steps * neurons);
    std::vector<float> host(tn);
    for (std::size_t i = 0; i < tn; ++i) host[i] = static_cast<float>((i * 40503u) % 997) / 400.0f;
    device_array<float> x(tn), spike(tn), h(tn), gx(tn), spike2(tn), gx2(tn);
    check(cudaMemcpy(x.ptr, host.data(), tn * sizeof(float), cudaMemcpyHostToDevice), "copy");
    snn::neuron_params p;
    snn::forward_args<lif> f;
    f.steps = steps;
    f.neurons = neurons;
    f.x = x.ptr;
    f.spike = spike.ptr;
    f.h_seq = h.ptr;
    snn::backward_args<lif> b;
    b.steps = steps;
    b.neurons = neurons;
    b.grad_spike = x.ptr;
    b.h_seq = h.ptr;
    b.grad_x = gx.ptr;
    check(snn::cuda::forward_training<lif>(p, f, nullptr), "forward");
    check(snn::cuda::backward<lif>(p, b, nullptr, 0, nullptr), "backward");
    check(cudaDeviceSynchronize(), "sync");

    cudaStream_t stream;
    check(cudaStreamCreate(&stream), "stream");
    f.spike = spike2.ptr;
    b.grad_x = gx2.ptr;
    cudaGraph_t graph;
    check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "begin capture");
    check(snn::cuda::forward_training<lif>(p, f, stream), "forward (captured)");
    check(snn::cuda::backward<lif>(p, b, nullptr, 0, stream), "backward (captured)");
    check(cudaStreamEndCapture(stream, &graph), "end capture");
    cudaGraphExec_t exec;
    check(cudaGraphInstantiate(&exec, graph, 0), "instantiate");
    check(cudaGraphLaunch(exec, stream), "launch");
    check(cudaStreamSynchronize(stream), "sync");
    std::vector<float> a(tn), c(tn);
    check(cudaMemcpy(a.data(), spike.ptr, tn * 4, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(c.data(), spike2.ptr, tn * 4, cudaMemcpyDeviceToHost), "copy");
    std::string result = std::memcmp(a.data(), c.data(), tn * 4) == 0 ? "" : "spikes differ";
    check(cudaMemcpy(a.data(), gx.ptr, tn * 4, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(c.data(), gx2.ptr, tn * 4, cudaMemcpyDeviceToHost), "copy");
    if (std::memcmp(a.data(), c.data(), tn * 4) != 0) result += " grad_x differs";
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(stream);
    return result;
}

std::string binary16_conversions_match_host() {
    // Every float bit pattern with stride 61 (about 7e7 values: all exponents, NaN, inf,
    // subnormals, ties), converted on the device and on the host.
    const std::uint32_t stride = 61;
    const std::int64_t count = (std::int64_t{1} << 32) / stride;
    device_array<std::uint16_t> to_half(static_cast<std::size_t>(count));
    device_array<std::uint32_t> back(static_cast<std::size_t>(count));
    convert_on_device<<<4096, 256>>>(0u, stride, count, to_half.ptr, back.ptr);
    check(cudaDeviceSynchronize(), "convert");
    std::vector<std::uint16_t> h(static_cast<std::size_t>(count));
    std::vector<std::uint32_t> b(static_cast<std::size_t>(count));
    check(cudaMemcpy(h.data(), to_half.ptr, h.size() * 2, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(b.data(), back.ptr, b.size() * 4, cudaMemcpyDeviceToHost), "copy");
    for (std::int64_t i = 0; i < count; ++i) {
        const std::uint32_t bits = static_cast<std::uint32_t>(i) * stride;
        float f;
        std::memcpy(&f, &bits, 4);
        if (h[static_cast<std::size_t>(i)] != snn::binary16_bits_from_float(f))
            return "float->binary16 differs for float bits " + std::to_string(bits);
        const float g = snn::float_from_binary16_bits(static_cast<std::uint16_t>(bits & 0xFFFFu));
        std::uint32_t gb;
        std::memcpy(&gb, &g, 4);
        const bool both_nan = std::isnan(g);
        if (!both_nan && gb != b[static_cast<std::size_t>(i)]) return "binary16->float differs for " + std::to_string(bits & 0xFFFFu);
    }
    return "";
}

spike_outputs lif_spike_formats(const std::vector<float>& x, std::int64_t steps, std::int64_t neurons, int offset) {
    const std::size_t tn = static_cast<std::size_t>(steps * neurons), n = static_cast<std::size_t>(neurons);
    const std::size_t words = static_cast<std::size_t>((neurons + 31) / 32) * static_cast<std::size_t>(steps);
    const std::size_t pad = static_cast<std::size_t>(offset);
    device_array<float> dx(tn + pad), spike(tn + pad), v_last(n + pad);
    device_array<std::uint8_t> bytes(tn + pad);
    device_array<std::uint32_t> bits(words);
    check(cudaMemcpy(dx.ptr + pad, x.data(), tn * 4, cudaMemcpyHostToDevice), "copy");
    check(cudaMemset(spike.ptr, 0xFF, (tn + pad) * 4), "poison");
    check(cudaMemset(bytes.ptr, 0xFF, tn + pad), "poison");
    check(cudaMemset(bits.ptr, 0xFF, words * 4), "poison");
    snn::neuron_params p;
    snn::forward_args<lif> a;
    a.steps = steps;
    a.neurons = neurons;
    a.x = dx.ptr + pad;
    a.spike = spike.ptr + pad;
    a.spike_u8 = bytes.ptr + pad;
    a.spike_bits = bits.ptr;
    a.v_last = v_last.ptr + pad;
    check(snn::cuda::forward_inference<lif>(p, a, nullptr), "forward_inference");
    check(cudaDeviceSynchronize(), "sync");
    spike_outputs out;
    out.spike.resize(tn);
    out.bytes.resize(tn);
    out.bits.resize(words);
    out.v_last.resize(n);
    check(cudaMemcpy(out.spike.data(), spike.ptr + pad, tn * 4, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(out.bytes.data(), bytes.ptr + pad, tn, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(out.bits.data(), bits.ptr, words * 4, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(out.v_last.data(), v_last.ptr + pad, n * 4, cudaMemcpyDeviceToHost), "copy");
    return out;
}

namespace {

template <class Config>
bf16_run bf16_run_config(const std::vector<std::uint16_t>& x, const std::vector<std::uint16_t>& grad_spike, std::int64_t steps,
                         std::int64_t neurons) {
    using S = snn::bfloat16;
    static_assert(sizeof(S) == 2, "bfloat16 is 16 bits");
    const std::size_t tn = static_cast<std::size_t>(steps * neurons);
    device_array<S> dx(tn), gs(tn), spike(tn), v_seq(tn), gx(tn);
    device_array<float> h(tn);
    device_array<double> grad_w(1);
    check(cudaMemcpy(dx.ptr, x.data(), tn * 2, cudaMemcpyHostToDevice), "copy");
    check(cudaMemcpy(gs.ptr, grad_spike.data(), tn * 2, cudaMemcpyHostToDevice), "copy");
    snn::neuron_params p;
    p.w = 0.3;
    snn::forward_args<Config> f;
    f.steps = steps;
    f.neurons = neurons;
    f.x = dx.ptr;
    f.spike = spike.ptr;
    f.v_seq = v_seq.ptr;
    f.h_seq = h.ptr;
    check(snn::cuda::forward_training<Config>(p, f, nullptr), "forward_training");
    snn::backward_args<Config> b;
    b.steps = steps;
    b.neurons = neurons;
    b.grad_spike = gs.ptr;
    b.h_seq = h.ptr;
    b.x = dx.ptr;
    b.v_seq = v_seq.ptr;
    b.grad_x = gx.ptr;
    if constexpr (Config::charge_policy::is_parametric) b.grad_w = grad_w.ptr;
    const std::size_t bytes = snn::cuda::backward_workspace_bytes(b);
    device_array<unsigned char> workspace(bytes ? bytes : 1);
    check(snn::cuda::backward<Config>(p, b, workspace.ptr, bytes, nullptr), "backward");
    check(cudaDeviceSynchronize(), "sync");
    bf16_run r;
    r.spike.resize(tn);
    r.v_seq.resize(tn);
    r.grad_x.resize(tn);
    r.h_seq.resize(tn);
    check(cudaMemcpy(r.spike.data(), spike.ptr, tn * 2, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(r.v_seq.data(), v_seq.ptr, tn * 2, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(r.grad_x.data(), gx.ptr, tn * 2, cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(r.h_seq.data(), h.ptr, tn * 4, cudaMemcpyDeviceToHost), "copy");
    if constexpr (Config::charge_policy::is_parametric) check(cudaMemcpy(&r.grad_w, grad_w.ptr, sizeof(double), cudaMemcpyDeviceToHost), "copy");
    return r;
}

}  // namespace

bf16_run bf16_forward_backward(bool plif_neuron, const std::vector<std::uint16_t>& x, const std::vector<std::uint16_t>& grad_spike,
                               std::int64_t steps, std::int64_t neurons) {
    if (plif_neuron) return bf16_run_config<snn::plif_neuron<snn::precision::bf16_storage>>(x, grad_spike, steps, neurons);
    return bf16_run_config<snn::lif_neuron<snn::precision::bf16_storage>>(x, grad_spike, steps, neurons);
}

namespace {

template <class Config>
std::string recompute_case(std::int64_t steps, std::int64_t neurons) {
    using S = typename Config::storage_type;
    using St = typename Config::state_type;
    using Sv = typename Config::saved_type;
    const std::size_t tn = static_cast<std::size_t>(steps * neurons), n = static_cast<std::size_t>(neurons);
    std::vector<S> host(tn), host_g(tn), host_gv(tn);
    for (std::size_t i = 0; i < tn; ++i) {
        host[i] = S(static_cast<float>((i * 2654435761u) % 1000) / 400.0f - 0.4f);
        host_g[i] = S(static_cast<float>((i * 40503u) % 977) / 500.0f - 1.0f);
        host_gv[i] = S(static_cast<float>((i * 97u) % 101) / 200.0f - 0.25f);
    }
    std::vector<St> host_v0(n), host_gl(n);
    for (std::size_t i = 0; i < n; ++i) {
        host_v0[i] = St(static_cast<float>(i % 13) / 20.0f);
        host_gl[i] = St(static_cast<float>(i % 7) / 10.0f - 0.3f);
    }
    const std::int64_t rows = snn::cuda::checkpoint_rows<Config>(steps);
    device_array<S> x(tn), gs(tn), gv(tn), spike(tn), v_seq(tn), gx1(tn), gx2(tn);
    device_array<Sv> h(tn);
    device_array<St> v0(n), gl(n), ckpt(static_cast<std::size_t>(rows) * n), gvi1(n), gvi2(n);
    device_array<double> gw(2);
    check(cudaMemcpy(x.ptr, host.data(), tn * sizeof(S), cudaMemcpyHostToDevice), "copy");
    check(cudaMemcpy(gs.ptr, host_g.data(), tn * sizeof(S), cudaMemcpyHostToDevice), "copy");
    check(cudaMemcpy(gv.ptr, host_gv.data(), tn * sizeof(S), cudaMemcpyHostToDevice), "copy");
    check(cudaMemcpy(v0.ptr, host_v0.data(), n * sizeof(St), cudaMemcpyHostToDevice), "copy");
    check(cudaMemcpy(gl.ptr, host_gl.data(), n * sizeof(St), cudaMemcpyHostToDevice), "copy");
    snn::neuron_params p;
    p.w = -0.2;
    snn::forward_args<Config> f;
    f.steps = steps;
    f.neurons = neurons;
    f.x = x.ptr;
    f.v_init = v0.ptr;
    f.spike = spike.ptr;
    f.v_seq = v_seq.ptr;
    f.h_seq = h.ptr;
    f.v_checkpoints = ckpt.ptr;
    check(snn::cuda::forward_training<Config>(p, f, nullptr), "forward_training");
    snn::backward_args<Config> b;
    b.steps = steps;
    b.neurons = neurons;
    b.grad_spike = gs.ptr;
    b.grad_v_seq = gv.ptr;
    b.grad_v_last = gl.ptr;
    b.h_seq = h.ptr;
    b.x = x.ptr;
    b.v_seq = v_seq.ptr;
    b.v_init = v0.ptr;
    b.grad_x = gx1.ptr;
    b.grad_v_init = gvi1.ptr;
    if constexpr (Config::charge_policy::is_parametric) b.grad_w = gw.ptr;
    std::size_t bytes = snn::cuda::backward_workspace_bytes(b);
    device_array<unsigned char> workspace(bytes ? bytes : 1);
    check(snn::cuda::backward<Config>(p, b, workspace.ptr, bytes, nullptr), "backward (stored)");
    snn::backward_args<Config> r = b;
    r.h_seq = nullptr;
    r.v_seq = nullptr;
    r.v_init = nullptr;
    r.v_checkpoints = ckpt.ptr;
    r.grad_x = gx2.ptr;
    r.grad_v_init = gvi2.ptr;
    if constexpr (Config::charge_policy::is_parametric) r.grad_w = gw.ptr + 1;
    bytes = snn::cuda::backward_workspace_bytes(r);
    check(snn::cuda::backward<Config>(p, r, workspace.ptr, bytes, nullptr), "backward (recompute)");
    check(cudaDeviceSynchronize(), "sync");
    std::vector<S> a(tn), c(tn);
    check(cudaMemcpy(a.data(), gx1.ptr, tn * sizeof(S), cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(c.data(), gx2.ptr, tn * sizeof(S), cudaMemcpyDeviceToHost), "copy");
    std::string result;
    if (std::memcmp(a.data(), c.data(), tn * sizeof(S)) != 0) result += "grad_x differs; ";
    std::vector<St> d(n), e(n);
    check(cudaMemcpy(d.data(), gvi1.ptr, n * sizeof(St), cudaMemcpyDeviceToHost), "copy");
    check(cudaMemcpy(e.data(), gvi2.ptr, n * sizeof(St), cudaMemcpyDeviceToHost), "copy");
    if (std::memcmp(d.data(), e.data(), n * sizeof(St)) != 0) result += "grad_v_init differs; ";
    if constexpr (Config::charge_policy::is_parametric) {
        double w[2];
        check(cudaMemcpy(w, gw.ptr, sizeof w, cudaMemcpyDeviceToHost), "copy");
        if (!(std::fabs(w[0] - w[1]) <= 1e-9 * std::fabs(w[0])) || !std::isfinite(w[0]))
            result += "grad_w " + std::to_string(w[1]) + " vs " + std::to_string(w[0]) + "; ";
    }
    return result;
}

}  // namespace

std::string recompute_matches_stored(bool plif_neuron, bool half, std::int64_t steps, std::int64_t neurons) {
    using snn::precision::f16_storage;
    using snn::precision::f32;
    if (plif_neuron)
        return half ? recompute_case<snn::plif_neuron<f16_storage>>(steps, neurons) : recompute_case<snn::plif_neuron<f32>>(steps, neurons);
    return half ? recompute_case<snn::lif_neuron<f16_storage>>(steps, neurons) : recompute_case<snn::lif_neuron<f32>>(steps, neurons);
}

void backward_with_small_workspace() {
    snn::backward_args<plif> b;
    b.steps = 2;
    b.neurons = 1000;
    static float dummy[2000];
    double grad_w = 0;
    b.grad_spike = dummy;
    b.h_seq = dummy;
    b.x = dummy;
    b.v_seq = dummy;
    b.grad_x = dummy;
    b.grad_w = &grad_w;
    snn::neuron_params p;
    (void)snn::cuda::backward<plif>(p, b, nullptr, 8, nullptr);  // throws before any launch
}

}  // namespace snn_cuda_test
