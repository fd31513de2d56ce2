// Host-pointer wrappers of the CUDA synapse ops for the tests (see synapse_staged.hpp).
#include "synapse_staged.hpp"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "snn/cuda/synapse.cuh"

namespace snn_test {
namespace {

void check_cuda(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw std::runtime_error(std::string("synapse_staged: ") + what + ": " + cudaGetErrorString(e));
}

/// Device copies of host buffers, freed on destruction; outputs are copied back by finish().
class staging {
public:
    staging() { check_cuda(cudaStreamCreate(&stream_), "cudaStreamCreate"); }
    ~staging() {
        for (void* p : allocations_) cudaFree(p);
        if (handle_ != nullptr) cublasDestroy(handle_);
        cudaStreamDestroy(stream_);
    }
    staging(const staging&) = delete;
    staging& operator=(const staging&) = delete;

    cudaStream_t stream() const { return stream_; }
    cublasHandle_t handle() {
        if (handle_ == nullptr) snn::cuda::synapse_detail::check_cublas(cublasCreate(&handle_), "cublasCreate");
        return handle_;
    }

    /// Device copy of `count` elements at `host` (null stays null).
    template <class U>
    U* in(const U* host, std::int64_t count) {
        if (host == nullptr) return nullptr;
        U* device = allocate<U>(count);
        check_cuda(cudaMemcpy(device, host, bytes<U>(count), cudaMemcpyHostToDevice), "copy in");
        return device;
    }

    /// Device buffer copied back to `host` by finish(); its initial contents are the host's
    /// when `copy_in` (accumulating and updated outputs), else all-ones bytes (NaN / -1), so an output left unwritten shows.
    template <class U>
    U* out(U* host, std::int64_t count, bool copy_in) {
        if (host == nullptr) return nullptr;
        U* device = allocate<U>(count);
        if (copy_in) check_cuda(cudaMemcpy(device, host, bytes<U>(count), cudaMemcpyHostToDevice), "copy in");
        else check_cuda(cudaMemset(device, 0xFF, bytes<U>(count)), "memset");  // NaN / -1: unwritten outputs show
        copy_back_.push_back([device, host, count] { check_cuda(cudaMemcpy(host, device, bytes<U>(count), cudaMemcpyDeviceToHost), "copy out"); });
        return device;
    }

    /// Uninitialised device scratch of `bytes` bytes (null when 0).
    void* scratch(std::size_t bytes) { return bytes == 0 ? nullptr : allocate<unsigned char>(static_cast<std::int64_t>(bytes)); }

    void finish(cudaError_t launched) {
        check_cuda(launched, "launch");
        check_cuda(cudaStreamSynchronize(stream_), "synchronise");
        for (auto& copy : copy_back_) copy();
    }

private:
    template <class U>
    static std::size_t bytes(std::int64_t count) { return static_cast<std::size_t>(count) * sizeof(U); }
    template <class U>
    U* allocate(std::int64_t count) {
        void* p = nullptr;
        check_cuda(cudaMalloc(&p, bytes<U>(count)), "cudaMalloc");
        allocations_.push_back(p);
        return static_cast<U*>(p);
    }

    cudaStream_t stream_ = nullptr;
    cublasHandle_t handle_ = nullptr;
    std::vector<void*> allocations_;
    std::vector<std::function<void()>> copy_back_;
};

snn::cuda::gemm_math math_of(bool tf32) { return tf32 ? snn::cuda::gemm_math::tf32 : snn::cuda::gemm_math::fp32; }

}  // namespace

bool cuda_device_present() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

template <class T>
void dense_forward_cuda(const snn::synapse::dense_forward_args<T>& h, bool tf32) {
    staging s;
    const std::int64_t M = h.rows, K = h.in_features, O = h.out_features;
    auto d = h;
    d.x = s.in(h.x, M * K);
    d.weight = s.in(h.weight, O * K);
    d.bias = s.in(h.bias, O);
    d.y = s.out(h.y, M * O, false);
    s.finish(snn::cuda::dense_forward(s.handle(), d, s.stream(), math_of(tf32)));
}

template <class T>
void dense_backward_cuda(const snn::synapse::dense_backward_args<T>& h, bool tf32) {
    staging s;
    const std::int64_t M = h.rows, K = h.in_features, O = h.out_features;
    auto d = h;
    d.grad_y = s.in(h.grad_y, M * O);
    d.x = s.in(h.x, M * K);
    d.weight = s.in(h.weight, O * K);
    d.grad_x = s.out(h.grad_x, M * K, false);
    d.grad_weight = s.out(h.grad_weight, O * K, h.accumulate);
    d.grad_bias = s.out(h.grad_bias, O, h.accumulate);
    s.finish(snn::cuda::dense_backward(s.handle(), d, s.stream(), math_of(tf32)));
}

template <class T>
void dense_spike_forward_cuda(const snn::synapse::dense_spike_forward_args<T>& h) {
    staging s;
    const std::int64_t M = h.rows, K = h.in_features, O = h.out_features;
    auto d = h;
    d.spikes = s.in(h.spikes, M * K);
    d.spike_bits = s.in(h.spike_bits, M * ((K + 31) / 32));
    d.weight_t = s.in(h.weight_t, K * O);
    d.bias = s.in(h.bias, O);
    d.y = s.out(h.y, M * O, false);
    s.finish(snn::cuda::dense_spike_forward(d, s.stream()));
}

template <class T>
std::size_t conv2d_workspace_bytes_cuda(const snn::synapse::conv2d_shape& shape, std::int64_t images_per_chunk) {
    return snn::cuda::conv2d_workspace_bytes<T>(shape, images_per_chunk);
}

template <class T>
void conv2d_forward_cuda(const snn::synapse::conv2d_forward_args<T>& h, std::size_t workspace_bytes, bool tf32) {
    staging s;
    const auto& sh = h.shape;
    auto d = h;
    d.x = s.in(h.x, sh.batch * sh.in_channels * sh.in_height * sh.in_width);
    d.weight = s.in(h.weight, sh.weight_size());
    d.bias = s.in(h.bias, sh.out_channels);
    d.y = s.out(h.y, sh.batch * sh.out_channels * sh.out_height() * sh.out_width(), false);
    void* workspace = s.scratch(workspace_bytes);
    s.finish(snn::cuda::conv2d_forward(s.handle(), d, workspace, workspace_bytes, s.stream(), math_of(tf32)));
}

template <class T>
void conv2d_backward_cuda(const snn::synapse::conv2d_backward_args<T>& h, std::size_t workspace_bytes, bool tf32) {
    staging s;
    const auto& sh = h.shape;
    const std::int64_t x_size = sh.batch * sh.in_channels * sh.in_height * sh.in_width;
    auto d = h;
    d.grad_y = s.in(h.grad_y, sh.batch * sh.out_channels * sh.out_height() * sh.out_width());
    d.x = s.in(h.x, x_size);
    d.weight = s.in(h.weight, sh.weight_size());
    d.grad_x = s.out(h.grad_x, x_size, false);
    d.grad_weight = s.out(h.grad_weight, sh.weight_size(), h.accumulate);
    d.grad_bias = s.out(h.grad_bias, sh.out_channels, h.accumulate);
    void* workspace = s.scratch(workspace_bytes);
    s.finish(snn::cuda::conv2d_backward(s.handle(), d, workspace, workspace_bytes, s.stream(), math_of(tf32)));
}

template <class T>
void pool2d_forward_cuda(const snn::synapse::pool2d_forward_args<T>& h) {
    staging s;
    const auto& sh = h.shape;
    const std::int64_t planes = sh.batch * sh.channels;
    auto d = h;
    d.x = s.in(h.x, planes * sh.in_height * sh.in_width);
    d.y = s.out(h.y, planes * sh.out_height() * sh.out_width(), false);
    d.indices = s.out(h.indices, planes * sh.out_height() * sh.out_width(), false);
    s.finish(snn::cuda::pool2d_forward(d, s.stream()));
}

template <class T>
void pool2d_backward_cuda(const snn::synapse::pool2d_backward_args<T>& h) {
    staging s;
    const auto& sh = h.shape;
    const std::int64_t planes = sh.batch * sh.channels;
    auto d = h;
    d.grad_y = s.in(h.grad_y, planes * sh.out_height() * sh.out_width());
    d.indices = s.in(h.indices, planes * sh.out_height() * sh.out_width());
    d.grad_x = s.out(h.grad_x, planes * sh.in_height * sh.in_width, false);
    s.finish(snn::cuda::pool2d_backward(d, s.stream()));
}

template <class T>
void batch_norm_forward_cuda(const snn::synapse::batch_norm_forward_args<T>& h) {
    staging s;
    const std::int64_t C = h.channels, total = h.batch * h.channels * h.spatial;
    auto d = h;
    d.x = s.in(h.x, total);
    d.gamma = s.in(h.gamma, C);
    d.beta = s.in(h.beta, C);
    d.running_mean = s.out(h.running_mean, C, true);
    d.running_var = s.out(h.running_var, C, true);
    d.y = s.out(h.y, total, false);
    d.saved_mean = s.out(h.saved_mean, C, false);
    d.saved_invstd = s.out(h.saved_invstd, C, false);
    s.finish(snn::cuda::batch_norm_forward(d, s.stream()));
}

template <class T>
void batch_norm_backward_cuda(const snn::synapse::batch_norm_backward_args<T>& h) {
    staging s;
    const std::int64_t C = h.channels, total = h.batch * h.channels * h.spatial;
    auto d = h;
    d.grad_y = s.in(h.grad_y, total);
    d.x = s.in(h.x, total);
    d.gamma = s.in(h.gamma, C);
    d.saved_mean = s.in(h.saved_mean, C);
    d.saved_invstd = s.in(h.saved_invstd, C);
    d.running_mean = s.in(h.running_mean, C);
    d.running_var = s.in(h.running_var, C);
    d.grad_x = s.out(h.grad_x, total, false);
    d.grad_gamma = s.out(h.grad_gamma, C, h.accumulate);
    d.grad_beta = s.out(h.grad_beta, C, h.accumulate);
    s.finish(snn::cuda::batch_norm_backward(d, s.stream()));
}

#define SNN_STAGED_INSTANTIATE(T)                                                               \
    template void dense_forward_cuda<T>(const snn::synapse::dense_forward_args<T>&, bool);      \
    template void dense_backward_cuda<T>(const snn::synapse::dense_backward_args<T>&, bool);    \
    template void dense_spike_forward_cuda<T>(const snn::synapse::dense_spike_forward_args<T>&); \
    template std::size_t conv2d_workspace_bytes_cuda<T>(const snn::synapse::conv2d_shape&, std::int64_t); \
    template void conv2d_forward_cuda<T>(const snn::synapse::conv2d_forward_args<T>&, std::size_t, bool);  \
    template void conv2d_backward_cuda<T>(const snn::synapse::conv2d_backward_args<T>&, std::size_t, bool); \
    template void pool2d_forward_cuda<T>(const snn::synapse::pool2d_forward_args<T>&);          \
    template void pool2d_backward_cuda<T>(const snn::synapse::pool2d_backward_args<T>&);        \
    template void batch_norm_forward_cuda<T>(const snn::synapse::batch_norm_forward_args<T>&);  \
    template void batch_norm_backward_cuda<T>(const snn::synapse::batch_norm_backward_args<T>&);
SNN_STAGED_INSTANTIATE(float)
SNN_STAGED_INSTANTIATE(double)
#undef SNN_STAGED_INSTANTIATE

}  // namespace snn_test
