// Host-pointer wrappers of the Lynxi CUDA kernels (see snn/emu/lynxi/cuda_staged.hpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "snn/emu/lynxi/cuda_staged.hpp"
#include "snn/emu/lynxi/multistep.cuh"

namespace {

namespace ly = snn::emu::lynxi;

void check_cuda(cudaError_t error, const char* what) {
    if (error != cudaSuccess) throw snn::io_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(error));
}

/// Device copies for one call: inputs uploaded on request, outputs allocated and copied back
/// by finish(); everything freed when the call ends (also on an exception).
class staging {
public:
    staging() = default;
    staging(const staging&) = delete;
    staging& operator=(const staging&) = delete;
    ~staging() {
        for (void* p : allocations_) cudaFree(p);
    }

    template <class T>
    const T* upload(const T* host, std::int64_t count) {
        if (!host || count == 0) return nullptr;
        T* device = allocate<T>(count);
        check_cuda(cudaMemcpy(device, host, bytes(count, sizeof(T)), cudaMemcpyHostToDevice), "cudaMemcpy to device");
        return device;
    }
    template <class T>
    T* output(T* host, std::int64_t count) {
        if (!host || count == 0) return nullptr;
        T* device = allocate<T>(count);
        downloads_.push_back({host, device, bytes(count, sizeof(T))});
        return device;
    }
    ly::soma_param param(const ly::soma_param& p, std::int64_t channels) {
        ly::soma_param d = p;
        d.per_channel = upload(p.per_channel, channels);
        return d;
    }
    ly::membrane_norm norm(const ly::membrane_norm& n, std::int64_t channels) {
        return {upload(n.scale, channels), upload(n.shift, channels)};
    }
    void finish(cudaError_t launched, const char* what) {
        check_cuda(launched, what);
        check_cuda(cudaDeviceSynchronize(), what);
        for (const auto& d : downloads_) check_cuda(cudaMemcpy(d.host, d.device, d.bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
    }

private:
    struct download {
        void* host;
        const void* device;
        std::size_t bytes;
    };
    static std::size_t bytes(std::int64_t count, std::size_t size) { return static_cast<std::size_t>(count) * size; }
    template <class T>
    T* allocate(std::int64_t count) {
        void* p = nullptr;
        check_cuda(cudaMalloc(&p, bytes(count, sizeof(T))), "cudaMalloc");
        allocations_.push_back(p);
        return static_cast<T*>(p);
    }
    std::vector<void*> allocations_;
    std::vector<download> downloads_;
};

cudaError_t launch_lif(const ly::bidl_lif_params& p, const ly::bidl_lif_args<snn::binary16>& a) {
    return ly::cuda::bidl_lif_forward(p, a, nullptr);
}
cudaError_t launch_lif(const ly::bidl_lif_params& p, const ly::bidl_lif_args<float>& a) {
    return ly::cuda::bidl_lif_forward_float32(p, a, nullptr);
}

template <class S>
void staged_bidl_lif(const ly::bidl_lif_params& p, const ly::bidl_lif_args<S>& a, const snn::cpu::execution&) {
    ly::validate(p, a);
    const std::int64_t tn = a.steps * a.neurons, n = a.neurons, c = p.geometry.channels;
    staging s;
    ly::bidl_lif_params dp = p;
    dp.alpha = s.param(p.alpha, c);
    dp.beta = s.param(p.beta, c);
    dp.theta = s.param(p.theta, c);
    dp.v0 = s.param(p.v0, c);
    dp.norm = s.norm(p.norm, c);
    ly::bidl_lif_args<S> d = a;
    d.x = s.upload(a.x, tn);
    d.v_init = s.upload(a.v_init, n);
    d.spike = s.output(a.spike, tn);
    d.out = s.output(a.out, tn);
    d.v_pre = s.output(a.v_pre, tn);
    d.v = s.output(a.v, tn);
    d.v_last = s.output(a.v_last, n);
    s.finish(launch_lif(dp, d), "bidl_lif_forward");
}

void staged_lifplus(const ly::lifplus_params& p, const ly::lifplus_args<snn::binary16>& a, const snn::cpu::execution&) {
    ly::validate(p, a);
    const std::int64_t tn = a.steps * a.neurons, n = a.neurons, c = p.geometry.channels;
    staging s;
    ly::lifplus_params dp = p;
    using param_member = ly::soma_param ly::lifplus_params::*;
    for (const param_member member :
         {&ly::lifplus_params::epsilon, &ly::lifplus_params::v_g, &ly::lifplus_params::tau_recip, &ly::lifplus_params::v0,
          &ly::lifplus_params::epsilon_r, &ly::lifplus_params::v_rr, &ly::lifplus_params::v_ar, &ly::lifplus_params::q_r,
          &ly::lifplus_params::epsilon_w, &ly::lifplus_params::b, &ly::lifplus_params::theta, &ly::lifplus_params::v_theta,
          &ly::lifplus_params::delta_t, &ly::lifplus_params::v_c, &ly::lifplus_params::a, &ly::lifplus_params::v_w,
          &ly::lifplus_params::alpha, &ly::lifplus_params::beta, &ly::lifplus_params::v_leak})
        dp.*member = s.param(p.*member, c);
    dp.norm = s.norm(p.norm, c);
    ly::lifplus_args<snn::binary16> d = a;
    d.x = s.upload(a.x, tn);
    d.v_init = s.upload(a.v_init, n);
    d.g_init = s.upload(a.g_init, n);
    d.y_init = s.upload(a.y_init, n);
    d.r_init = s.upload(a.r_init, n);
    d.w_init = s.upload(a.w_init, n);
    d.cnt_init = s.upload(a.cnt_init, n);
    d.spike = s.output(a.spike, tn);
    d.out = s.output(a.out, tn);
    d.v_pre = s.output(a.v_pre, tn);
    d.v = s.output(a.v, tn);
    d.g = s.output(a.g, tn);
    d.v_last = s.output(a.v_last, n);
    d.g_last = s.output(a.g_last, n);
    d.y_last = s.output(a.y_last, n);
    d.r_last = s.output(a.r_last, n);
    d.w_last = s.output(a.w_last, n);
    d.cnt_last = s.output(a.cnt_last, n);
    s.finish(ly::cuda::lifplus_forward(dp, d, nullptr), "lifplus_forward");
}

void staged_sj_lynxi(const ly::sj_lynxi_params& p, const ly::sj_lynxi_args<snn::binary16>& a, const snn::cpu::execution&) {
    ly::validate(p, a);
    const std::int64_t tn = a.steps * a.neurons, n = a.neurons;
    staging s;
    ly::sj_lynxi_args<snn::binary16> d = a;
    d.x = s.upload(a.x, tn);
    d.v_init = s.upload(a.v_init, n);
    d.spike = s.output(a.spike, tn);
    d.v_pre = s.output(a.v_pre, tn);
    d.v = s.output(a.v, tn);
    d.v_last = s.output(a.v_last, n);
    s.finish(ly::cuda::sj_lynxi_forward(p, d, nullptr), "sj_lynxi_forward");
}

void staged_aggregate(const ly::aggregate_params& p, const ly::aggregate_args<snn::binary16>& a, const snn::cpu::execution&) {
    ly::validate(p, a);
    const std::int64_t tn = a.steps * a.neurons, n = a.neurons;
    staging s;
    ly::aggregate_args<snn::binary16> d = a;
    d.y = s.upload(a.y, tn);
    d.running = s.output(a.running, tn);
    d.result = s.output(a.result, n);
    s.finish(ly::cuda::aggregate(p, d, nullptr), "aggregate");
}

}  // namespace

namespace snn {
namespace emu {
namespace lynxi {
namespace cuda {

const kernel_table& staged_kernel_table() {
    int devices = 0;
    const cudaError_t error = cudaGetDeviceCount(&devices);
    if (error != cudaSuccess || devices == 0)
        throw io_error(std::string("no usable CUDA device: ") + (error != cudaSuccess ? cudaGetErrorString(error) : "none found"));
    static const kernel_table table = [] {
        kernel_table t;
        t.isa = "cuda";
        t.bidl_lif = &staged_bidl_lif<snn::binary16>;
        t.bidl_lif_float32 = &staged_bidl_lif<float>;
        t.lifplus = &staged_lifplus;
        t.sj_lynxi = &staged_sj_lynxi;
        t.aggregate = &staged_aggregate;
        return t;
    }();
    return table;
}

}  // namespace cuda
}  // namespace lynxi
}  // namespace emu
}  // namespace snn
