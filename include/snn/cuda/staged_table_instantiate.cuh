// Instantiates snn::cuda::staged_kernel_table() (see staged_table.hpp). Not a header: include
// it from exactly one .cu file of a program.
#include <cstring>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "snn/cuda/multistep.cuh"
#include "snn/cuda/staged_table.hpp"

namespace {

void check_cuda(cudaError_t error, const char* what) {
    if (error != cudaSuccess) throw snn::io_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(error));
}

/// A device copy of a host buffer (or an output buffer) that frees itself.
class device_buffer {
public:
    device_buffer() = default;
    explicit device_buffer(std::size_t bytes) : bytes_(bytes) {
        if (bytes) check_cuda(cudaMalloc(&ptr_, bytes), "cudaMalloc");
    }
    device_buffer(const void* host, std::size_t bytes) : device_buffer(host ? bytes : 0) {
        if (host && bytes) check_cuda(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
    }
    device_buffer(const device_buffer&) = delete;
    device_buffer& operator=(const device_buffer&) = delete;
    ~device_buffer() {
        if (ptr_) cudaFree(ptr_);
    }
    void* get() const { return ptr_; }
    void copy_to(void* host) const {
        if (host && ptr_) check_cuda(cudaMemcpy(host, ptr_, bytes_, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
    }

private:
    void* ptr_ = nullptr;
    std::size_t bytes_ = 0;
};

/// The table's neurons choose surrogate, reset, fire and division at run time, so each lane
/// carries every policy's code: one time step at a time (no prefetch unrolling) and no
/// recompute mode keep the kernels small. The vectorised path is still taken (N % W == 0).
struct staged_tuning {
    static constexpr int forward_threads = 256;
    static constexpr int backward_threads = 256;
    static constexpr int reduce_threads = 256;
    static constexpr int vector_bytes = 16;
    static constexpr int forward_prefetch_steps = 1;
    static constexpr int backward_prefetch_steps = 1;
    static constexpr int checkpoint_interval = 0;
    static constexpr int recompute_lanes = 1;
};

template <class Precision, class Charge>
using staged_config = snn::neuron_config<Charge, snn::fire::dynamic, snn::reset::dynamic, snn::surrogate::dynamic, snn::division::dynamic, Precision>;

template <class Config, bool Training>
void staged_forward(const snn::neuron_params& p, const snn::cpu::erased_forward_args& e, const snn::cpu::execution&) {
    using S = typename Config::storage_type;
    using St = typename Config::state_type;
    using Sv = typename Config::saved_type;
    snn::detail::check_extents(e.steps, e.neurons);
    const std::size_t tn = static_cast<std::size_t>(e.steps * e.neurons), n = static_cast<std::size_t>(e.neurons);
    const device_buffer x(e.x, tn * sizeof(S)), v_init(e.v_init, n * sizeof(St));
    const device_buffer spike(e.spike ? tn * sizeof(S) : 0), v_seq(e.v_seq ? tn * sizeof(S) : 0);
    const device_buffer v_last(e.v_last ? n * sizeof(St) : 0), h_seq(Training && e.h_seq ? tn * sizeof(Sv) : 0);
    snn::forward_args<Config> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.x = static_cast<const S*>(x.get());
    a.v_init = static_cast<const St*>(v_init.get());
    a.spike = static_cast<S*>(spike.get());
    a.v_seq = static_cast<S*>(v_seq.get());
    a.v_last = static_cast<St*>(v_last.get());
    a.h_seq = static_cast<Sv*>(h_seq.get());
    if constexpr (Training) check_cuda(snn::cuda::forward_training<Config, staged_tuning>(p, a, nullptr), "forward_training launch");
    else check_cuda(snn::cuda::forward_inference<Config, staged_tuning>(p, a, nullptr), "forward_inference launch");
    check_cuda(cudaDeviceSynchronize(), "forward");
    spike.copy_to(e.spike);
    v_seq.copy_to(e.v_seq);
    v_last.copy_to(e.v_last);
    if (Training) h_seq.copy_to(e.h_seq);
}

template <class Config>
void staged_backward(const snn::neuron_params& p, const snn::cpu::erased_backward_args& e, const snn::cpu::execution&) {
    using S = typename Config::storage_type;
    using St = typename Config::state_type;
    using Sv = typename Config::saved_type;
    snn::detail::check_extents(e.steps, e.neurons);
    const std::size_t tn = static_cast<std::size_t>(e.steps * e.neurons), n = static_cast<std::size_t>(e.neurons);
    const device_buffer grad_spike(e.grad_spike, tn * sizeof(S)), grad_v_seq(e.grad_v_seq, tn * sizeof(S));
    const device_buffer grad_v_last(e.grad_v_last, n * sizeof(St)), h_seq(e.h_seq, tn * sizeof(Sv));
    const device_buffer x(e.x, tn * sizeof(S)), v_seq(e.v_seq, tn * sizeof(S)), v_init(e.v_init, n * sizeof(St));
    const device_buffer grad_x(e.grad_x ? tn * sizeof(S) : 0), grad_v_init(e.grad_v_init ? n * sizeof(St) : 0);
    const device_buffer grad_w(e.grad_w ? sizeof(double) : 0);
    snn::backward_args<Config> a;
    a.steps = e.steps;
    a.neurons = e.neurons;
    a.grad_spike = static_cast<const S*>(grad_spike.get());
    a.grad_v_seq = static_cast<const S*>(grad_v_seq.get());
    a.grad_v_last = static_cast<const St*>(grad_v_last.get());
    a.h_seq = static_cast<const Sv*>(h_seq.get());
    a.x = static_cast<const S*>(x.get());
    a.v_seq = static_cast<const S*>(v_seq.get());
    a.v_init = static_cast<const St*>(v_init.get());
    a.grad_x = static_cast<S*>(grad_x.get());
    a.grad_v_init = static_cast<St*>(grad_v_init.get());
    a.grad_w = static_cast<double*>(grad_w.get());
    const device_buffer workspace(snn::cuda::backward_workspace_bytes<Config, staged_tuning>(a));
    check_cuda(snn::cuda::backward<Config, staged_tuning>(p, a, workspace.get(), snn::cuda::backward_workspace_bytes<Config, staged_tuning>(a), nullptr), "backward launch");
    check_cuda(cudaDeviceSynchronize(), "backward");
    grad_x.copy_to(e.grad_x);
    grad_v_init.copy_to(e.grad_v_init);
    grad_w.copy_to(e.grad_w);
}

template <class Precision, class Charge>
snn::cpu::kernel_entry staged_entry() {
    using Config = staged_config<Precision, Charge>;
    return {&staged_forward<Config, false>, &staged_forward<Config, true>, &staged_backward<Config>};
}

template <class Precision>
void fill_staged_row(snn::cpu::kernel_entry (&row)[snn::cpu::charge_id_count]) {
    row[static_cast<int>(snn::cpu::charge_id::if_)] = staged_entry<Precision, snn::charge::if_>();
    row[static_cast<int>(snn::cpu::charge_id::lif_decay_input)] = staged_entry<Precision, snn::charge::lif<true>>();
    row[static_cast<int>(snn::cpu::charge_id::lif)] = staged_entry<Precision, snn::charge::lif<false>>();
    row[static_cast<int>(snn::cpu::charge_id::plif_decay_input)] = staged_entry<Precision, snn::charge::plif<true>>();
    row[static_cast<int>(snn::cpu::charge_id::plif)] = staged_entry<Precision, snn::charge::plif<false>>();
}

snn::cpu::kernel_table make_staged_table() {
    snn::cpu::kernel_table table;
    table.isa = "cuda";
    using snn::cpu::precision_id;
    fill_staged_row<snn::precision::f64>(table.entries[static_cast<int>(precision_id::f64)]);
    fill_staged_row<snn::precision::f32>(table.entries[static_cast<int>(precision_id::f32)]);
    fill_staged_row<snn::precision::f16_storage>(table.entries[static_cast<int>(precision_id::f16_storage)]);
    fill_staged_row<snn::precision::b16_torch_cpu>(table.entries[static_cast<int>(precision_id::b16_torch_cpu)]);
    fill_staged_row<snn::precision::b16_torch_cuda>(table.entries[static_cast<int>(precision_id::b16_torch_cuda)]);
    return table;
}

}  // namespace

namespace snn {
namespace cuda {

std::string device_description() {
    int count = 0;
    const cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess) return std::string("no usable CUDA device: ") + cudaGetErrorString(error);
    if (count == 0) return "no CUDA device";
    int device = 0, driver = 0, runtime = 0;
    cudaGetDevice(&device);
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, device);
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + "), driver " +
           std::to_string(driver / 1000) + "." + std::to_string((driver % 1000) / 10) + ", runtime " + std::to_string(runtime / 1000) +
           "." + std::to_string((runtime % 1000) / 10);
}

const cpu::kernel_table& staged_kernel_table() {
    int count = 0;
    const cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess || count == 0) throw io_error("CUDA backend: " + device_description());
    static const cpu::kernel_table table = make_staged_table();
    return table;
}

}  // namespace cuda
}  // namespace snn
