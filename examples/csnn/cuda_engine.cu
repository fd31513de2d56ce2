// The CSNN's float32 engine on CUDA: the same graph as csnn::cpu_network (float_csnn.hpp),
// every tensor on the device, through snn's CUDA ops: conv2d (im2col + cuBLAS), batch norm,
// max pool, dense (cuBLAS), the fused IF kernels forward and BPTT, plus three small kernels of
// the example's own (the T-sum of the first layer's gradient, the rate loss, Adam).
//
// One stream, one cuBLAS handle, buffers allocated when a larger batch first arrives; the
// only synchronisation is at the end of each batch, to hand the loss to the host.

#include "cuda_engine.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <snn/cuda/multistep.cuh>
#include <snn/cuda/synapse.cuh>

namespace csnn {
namespace {

void check_cuda(cudaError_t status, const char* what) {
    if (status != cudaSuccess) throw std::runtime_error(std::string("CUDA: ") + what + " failed: " + cudaGetErrorString(status));
}

/// A device allocation that only grows (cudaFree synchronises the device, so replacing a
/// buffer that queued kernels still read is safe).
template <class T>
class device_array {
public:
    device_array() = default;
    device_array(const device_array&) = delete;
    device_array& operator=(const device_array&) = delete;
    ~device_array() {
        if (data_ != nullptr) cudaFree(data_);
    }
    void reserve(std::size_t count) {
        if (count <= count_) return;
        if (data_ != nullptr) cudaFree(data_);
        data_ = nullptr, count_ = 0;
        check_cuda(cudaMalloc(reinterpret_cast<void**>(&data_), std::max<std::size_t>(count, 1) * sizeof(T)), "cudaMalloc");
        count_ = count;
    }
    T* get() const { return data_; }

private:
    T* data_ = nullptr;
    std::size_t count_ = 0;
};

// dL/da1 [N*C*784] = sum over t of dL/da1_seq [T, N*C*784] (the forward repeats a1 over T),
// summed in t order as the CPU engine does.
__global__ void sum_over_steps(const float* __restrict__ grad_seq, float* __restrict__ grad, std::int64_t steps, std::int64_t per_step) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < per_step; i += stride) {
        float sum = grad_seq[i];
        for (std::int64_t t = 1; t < steps; ++t) sum += grad_seq[t * per_step + i];
        grad[i] = sum;
    }
}

// csnn::rate_mse per image: spikes [T, N, 10] -> loss_per_image [N] (sum of squared errors),
// hit [N], and dL/dspike [T, N, 10] when grad is not null (loss = mean over N*10).
__global__ void rate_mse_per_image(const float* __restrict__ spikes, const std::uint8_t* __restrict__ labels, std::int64_t steps, std::int64_t N,
                                   float* __restrict__ grad, double* __restrict__ loss_per_image, int* __restrict__ hit) {
    const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n >= N) return;
    double rate[class_count];
    for (int k = 0; k < class_count; ++k) rate[k] = 0.0;
    for (std::int64_t t = 0; t < steps; ++t)
        for (int k = 0; k < class_count; ++k) rate[k] += spikes[(t * N + n) * class_count + k];
    const double scale = 2.0 / static_cast<double>(N * class_count * steps);
    double loss = 0.0;
    int best = 0;
    for (int k = 0; k < class_count; ++k) {
        rate[k] /= static_cast<double>(steps);
        if (rate[k] > rate[best]) best = k;
        const double err = rate[k] - (labels[n] == k ? 1.0 : 0.0);
        loss += err * err;
        if (grad != nullptr)
            for (std::int64_t t = 0; t < steps; ++t) grad[(t * N + n) * class_count + k] = static_cast<float>(scale * err);
    }
    loss_per_image[n] = loss;
    hit[n] = best == labels[n] ? 1 : 0;
}

// csnn::adam::step on the flat parameter buffer (the same double arithmetic per element).
__global__ void adam_update(float* __restrict__ value, const float* __restrict__ grad, float* __restrict__ m, float* __restrict__ v, std::int64_t count,
                            double beta1, double beta2, double eps, double step_size, double sqrt_c2) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
        const double g = grad[i];
        const double mi = beta1 * m[i] + (1.0 - beta1) * g;
        const double vi = beta2 * v[i] + (1.0 - beta2) * g * g;
        m[i] = static_cast<float>(mi);
        v[i] = static_cast<float>(vi);
        value[i] -= static_cast<float>(step_size * mi / (sqrt(vi) / sqrt_c2 + eps));
    }
}

unsigned blocks_for(std::int64_t count, int threads) {
    return static_cast<unsigned>(std::min<std::int64_t>((count + threads - 1) / threads, 1 << 16));
}

class cuda_engine final : public float_engine {
public:
    cuda_engine(model& m, bool tf32) : m_(m), C_(m.C), math_(tf32 ? snn::cuda::gemm_math::tf32 : snn::cuda::gemm_math::fp32) {
        int device = 0;
        check_cuda(cudaGetDevice(&device), "cudaGetDevice");
        cudaDeviceProp prop{};
        check_cuda(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
        device_name_ = prop.name;
        check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        if (cublasCreate(&blas_) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cuBLAS: cublasCreate failed");
        // Flat parameter layout: the trainable tensors in model::all() order, then the running
        // statistics; 64-element alignment keeps every tensor 256-byte aligned.
        std::size_t trainable = 0, stats = 0;
        for (tensor* t : m_.all()) {
            std::size_t& end = t->trainable ? trainable : stats;
            offsets_.push_back(end);
            end += (t->value.size() + 63) / 64 * 64;
        }
        param_count_ = trainable;
        params_.reserve(trainable), grads_.reserve(trainable), adam_m_.reserve(trainable), adam_v_.reserve(trainable), stats_.reserve(stats);
        check_cuda(cudaMemsetAsync(params_.get(), 0, trainable * sizeof(float), stream_), "cudaMemset");
        check_cuda(cudaMemsetAsync(grads_.get(), 0, trainable * sizeof(float), stream_), "cudaMemset");
        check_cuda(cudaMemsetAsync(adam_m_.get(), 0, trainable * sizeof(float), stream_), "cudaMemset");
        check_cuda(cudaMemsetAsync(adam_v_.get(), 0, trainable * sizeof(float), stream_), "cudaMemset");
        const auto all = m_.all();
        for (std::size_t i = 0; i < all.size(); ++i)
            check_cuda(cudaMemcpyAsync(device_value(i), all[i]->value.data(), all[i]->value.size() * sizeof(float), cudaMemcpyHostToDevice, stream_),
                       "upload of the parameters");
        check_cuda(cudaStreamSynchronize(stream_), "upload of the parameters");
    }

    ~cuda_engine() override {
        cudaStreamSynchronize(stream_);
        cublasDestroy(blas_);
        cudaStreamDestroy(stream_);
    }

    std::string description() const override {
        return "CUDA, " + device_name_ + ", cuBLAS " + (math_ == snn::cuda::gemm_math::tf32 ? "TF32" : "float32") + " GEMMs";
    }

    double train_step(const float* x, const std::uint8_t* labels, std::int64_t n, double lr, int& correct) override {
        prepare(n, true);
        upload_batch(x, labels, n);
        forward(n, bn_mode::train, true);
        loss_kernel(n, true);
        backward(n);
        adam_step(lr);
        return finish(n, correct);
    }

    double evaluate_batch(const float* x, const std::uint8_t* labels, std::int64_t n, bn_mode mode, int& correct) override {
        prepare(n, false);
        upload_batch(x, labels, n);
        forward(n, mode, false);
        loss_kernel(n, false);
        return finish(n, correct);
    }

    void download() override {
        const auto all = m_.all();
        for (std::size_t i = 0; i < all.size(); ++i)
            check_cuda(cudaMemcpyAsync(all[i]->value.data(), device_value(i), all[i]->value.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_),
                       "download of the parameters");
        check_cuda(cudaStreamSynchronize(stream_), "download of the parameters");
    }

private:
    // Indices into model::all().
    enum : std::size_t { conv1_w, bn1_gamma, bn1_beta, bn1_mean, bn1_var, conv2_w, bn2_gamma, bn2_beta, bn2_mean, bn2_var, fc1_w, fc2_w };

    float* device_value(std::size_t i) const { return (m_.all()[i]->trainable ? params_.get() : stats_.get()) + offsets_[i]; }
    float* device_grad(std::size_t i) const { return grads_.get() + offsets_[i]; }

    snn::synapse::conv2d_shape conv_shape(std::int64_t batch, std::int64_t in_c, std::int64_t side) const {
        snn::synapse::conv2d_shape s;
        s.batch = batch, s.in_channels = in_c, s.in_height = side, s.in_width = side, s.out_channels = C_;
        s.kernel_h = s.kernel_w = 3, s.pad_h = s.pad_w = 1;
        return s;
    }
    snn::synapse::pool2d_shape pool_shape(std::int64_t batch, std::int64_t side) const {
        snn::synapse::pool2d_shape s;
        s.batch = batch, s.channels = C_, s.in_height = side, s.in_width = side, s.kernel_h = s.kernel_w = 2;
        return s;
    }

    /// Buffers for a batch of N images (grown, never shrunk). Sequences are time-folded
    /// [T*N, ...]; the sizes mirror csnn::workspace.
    void prepare(std::int64_t N, bool training) {
        auto sz = [](std::int64_t e) { return static_cast<std::size_t>(e); };
        const std::int64_t TN = steps * N, L1 = C_ * 784, L2 = C_ * 196, L3 = C_ * 49, H = C_ * 16;
        x_.reserve(sz(N * 784)), labels_.reserve(sz(N)), loss_.reserve(sz(N)), hit_.reserve(sz(N));
        c1_.reserve(sz(N * L1)), a1_.reserve(sz(N * L1));
        a1_seq_.reserve(sz(TN * L1)), s1_.reserve(sz(TN * L1));
        p1_.reserve(sz(TN * L2)), p1_idx_.reserve(sz(TN * L2));
        c2_.reserve(sz(TN * L2)), a2_.reserve(sz(TN * L2)), s2_.reserve(sz(TN * L2));
        p2_.reserve(sz(TN * L3)), p2_idx_.reserve(sz(TN * L3));
        d3_.reserve(sz(TN * H)), s3_.reserve(sz(TN * H));
        d4_.reserve(sz(TN * class_count)), s4_.reserve(sz(TN * class_count));
        for (auto* b : {&bn1_mean_, &bn1_invstd_, &bn2_mean_, &bn2_invstd_}) b->reserve(sz(C_));
        conv_ws_bytes_ = std::max(snn::cuda::conv2d_workspace_bytes<float>(conv_shape(N, 1, 28)), snn::cuda::conv2d_workspace_bytes<float>(conv_shape(TN, C_, 14)));
        conv_ws_.reserve(conv_ws_bytes_);
        host_loss_.resize(sz(N)), host_hit_.resize(sz(N));
        if (!training) return;
        h1_.reserve(sz(TN * L1)), h2_.reserve(sz(TN * L2)), h3_.reserve(sz(TN * H)), h4_.reserve(sz(TN * class_count));
        g_s4_.reserve(sz(TN * class_count)), g_d4_.reserve(sz(TN * class_count));
        g_s3_.reserve(sz(TN * H)), g_d3_.reserve(sz(TN * H));
        g_p2_.reserve(sz(TN * L3));
        g_s2_.reserve(sz(TN * L2)), g_a2_.reserve(sz(TN * L2)), g_c2_.reserve(sz(TN * L2)), g_p1_.reserve(sz(TN * L2));
        g_s1_.reserve(sz(TN * L1)), g_a1_seq_.reserve(sz(TN * L1)), g_a1_.reserve(sz(N * L1));
    }

    void upload_batch(const float* x, const std::uint8_t* labels, std::int64_t N) {
        check_cuda(cudaMemcpyAsync(x_.get(), x, static_cast<std::size_t>(N) * image_pixels * sizeof(float), cudaMemcpyHostToDevice, stream_), "upload of the images");
        check_cuda(cudaMemcpyAsync(labels_.get(), labels, static_cast<std::size_t>(N), cudaMemcpyHostToDevice, stream_), "upload of the labels");
    }

    void conv_forward(const float* x, std::size_t weight, float* y, const snn::synapse::conv2d_shape& shape) {
        snn::synapse::conv2d_forward_args<float> a;
        a.shape = shape, a.x = x, a.weight = device_value(weight), a.y = y;
        check_cuda(snn::cuda::conv2d_forward(blas_, a, conv_ws_.get(), conv_ws_bytes_, stream_, math_), "conv2d_forward");
    }

    void batch_norm(const float* x, float* y, std::int64_t batch, std::int64_t spatial, std::size_t gamma, float* saved_mean, float* saved_invstd, bn_mode mode) {
        snn::synapse::batch_norm_forward_args<float> a;
        a.batch = batch, a.channels = C_, a.spatial = spatial;
        a.training = mode != bn_mode::running_stats;
        a.x = x, a.y = y, a.gamma = device_value(gamma), a.beta = device_value(gamma + 1);
        if (mode != bn_mode::batch_stats_only) a.running_mean = device_value(gamma + 2), a.running_var = device_value(gamma + 3);
        a.saved_mean = saved_mean, a.saved_invstd = saved_invstd;
        check_cuda(snn::cuda::batch_norm_forward(a, stream_), "batch_norm_forward");
    }

    void fire(const float* x, float* spike, float* h_seq, std::int64_t neurons, bool training) {
        snn::forward_args<if_node> f;
        f.steps = steps, f.neurons = neurons, f.x = x, f.spike = spike;
        if (training) {
            f.h_seq = h_seq;
            check_cuda(snn::cuda::forward_training(neuron_, f, stream_), "IF forward_training");
        } else {
            check_cuda(snn::cuda::forward_inference(neuron_, f, stream_), "IF forward_inference");
        }
    }

    void unfire(const float* grad_spike, const float* h_seq, float* grad_x, std::int64_t neurons) {
        snn::backward_args<if_node> b;
        b.steps = steps, b.neurons = neurons, b.grad_spike = grad_spike, b.h_seq = h_seq, b.grad_x = grad_x;
        const std::size_t bytes = snn::cuda::backward_workspace_bytes(b);
        if (bytes > neuron_ws_bytes_) neuron_ws_.reserve(bytes), neuron_ws_bytes_ = bytes;
        check_cuda(snn::cuda::backward(neuron_, b, neuron_ws_.get(), neuron_ws_bytes_, stream_), "IF backward");
    }

    void pool_forward(const float* x, float* y, std::int64_t* indices, std::int64_t batch, std::int64_t side) {
        snn::synapse::pool2d_forward_args<float> a;
        a.shape = pool_shape(batch, side), a.x = x, a.y = y, a.indices = indices;
        check_cuda(snn::cuda::pool2d_forward(a, stream_), "pool2d_forward");
    }

    void dense_forward(const float* x, std::size_t weight, float* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
        snn::synapse::dense_forward_args<float> a;
        a.rows = rows, a.in_features = in, a.out_features = out, a.x = x, a.weight = device_value(weight), a.y = y;
        check_cuda(snn::cuda::dense_forward(blas_, a, stream_, math_), "dense_forward");
    }

    /// `training`: keep what backward needs (the IF kernels' h_seq).
    void forward(std::int64_t N, bn_mode mode, bool training) {
        const std::int64_t TN = steps * N;
        conv_forward(x_.get(), conv1_w, c1_.get(), conv_shape(N, 1, 28));
        batch_norm(c1_.get(), a1_.get(), N, 784, bn1_gamma, bn1_mean_.get(), bn1_invstd_.get(), mode);
        const std::size_t per_step = static_cast<std::size_t>(N * C_ * 784);
        for (std::int64_t t = 0; t < steps; ++t)
            check_cuda(cudaMemcpyAsync(a1_seq_.get() + static_cast<std::size_t>(t) * per_step, a1_.get(), per_step * sizeof(float), cudaMemcpyDeviceToDevice, stream_),
                       "repeat over T");
        fire(a1_seq_.get(), s1_.get(), h1_.get(), N * C_ * 784, training);
        pool_forward(s1_.get(), p1_.get(), p1_idx_.get(), TN, 28);
        conv_forward(p1_.get(), conv2_w, c2_.get(), conv_shape(TN, C_, 14));
        batch_norm(c2_.get(), a2_.get(), TN, 196, bn2_gamma, bn2_mean_.get(), bn2_invstd_.get(), mode);
        fire(a2_.get(), s2_.get(), h2_.get(), N * C_ * 196, training);
        pool_forward(s2_.get(), p2_.get(), p2_idx_.get(), TN, 14);
        dense_forward(p2_.get(), fc1_w, d3_.get(), TN, C_ * 49, C_ * 16);  // flatten: [T*N, C, 7, 7] is [T*N, C*49]
        fire(d3_.get(), s3_.get(), h3_.get(), N * C_ * 16, training);
        dense_forward(s3_.get(), fc2_w, d4_.get(), TN, C_ * 16, class_count);
        fire(d4_.get(), s4_.get(), h4_.get(), N * class_count, training);
    }

    void backward(std::int64_t N) {
        const std::int64_t TN = steps * N;
        unfire(g_s4_.get(), h4_.get(), g_d4_.get(), N * class_count);
        dense_backward(g_d4_.get(), s3_.get(), fc2_w, g_s3_.get(), TN, C_ * 16, class_count);
        unfire(g_s3_.get(), h3_.get(), g_d3_.get(), N * C_ * 16);
        dense_backward(g_d3_.get(), p2_.get(), fc1_w, g_p2_.get(), TN, C_ * 49, C_ * 16);
        pool_backward(g_p2_.get(), p2_idx_.get(), g_s2_.get(), TN, 14);
        unfire(g_s2_.get(), h2_.get(), g_a2_.get(), N * C_ * 196);
        bn_backward(g_a2_.get(), c2_.get(), TN, 196, bn2_gamma, bn2_mean_.get(), bn2_invstd_.get(), g_c2_.get());
        conv_backward(g_c2_.get(), p1_.get(), conv2_w, g_p1_.get(), conv_shape(TN, C_, 14));
        pool_backward(g_p1_.get(), p1_idx_.get(), g_s1_.get(), TN, 28);
        unfire(g_s1_.get(), h1_.get(), g_a1_seq_.get(), N * C_ * 784);
        const std::int64_t per_step = N * C_ * 784;
        sum_over_steps<<<blocks_for(per_step, 256), 256, 0, stream_>>>(g_a1_seq_.get(), g_a1_.get(), steps, per_step);
        check_cuda(cudaGetLastError(), "sum_over_steps");
        // dL/dc1 [N, C, 28, 28] goes into the first step of a buffer free by now.
        bn_backward(g_a1_.get(), c1_.get(), N, 784, bn1_gamma, bn1_mean_.get(), bn1_invstd_.get(), g_a1_seq_.get());
        conv_backward(g_a1_seq_.get(), x_.get(), conv1_w, nullptr, conv_shape(N, 1, 28));
    }

    void dense_backward(const float* grad_y, const float* x, std::size_t weight, float* grad_x, std::int64_t rows, std::int64_t in, std::int64_t out) {
        snn::synapse::dense_backward_args<float> a;
        a.rows = rows, a.in_features = in, a.out_features = out, a.grad_y = grad_y, a.x = x, a.weight = device_value(weight);
        a.grad_x = grad_x, a.grad_weight = device_grad(weight);
        check_cuda(snn::cuda::dense_backward(blas_, a, stream_, math_), "dense_backward");
    }

    void pool_backward(const float* grad_y, const std::int64_t* indices, float* grad_x, std::int64_t batch, std::int64_t side) {
        snn::synapse::pool2d_backward_args<float> a;
        a.shape = pool_shape(batch, side), a.grad_y = grad_y, a.indices = indices, a.grad_x = grad_x;
        check_cuda(snn::cuda::pool2d_backward(a, stream_), "pool2d_backward");
    }

    void bn_backward(const float* grad_y, const float* x, std::int64_t batch, std::int64_t spatial, std::size_t gamma, const float* saved_mean,
                     const float* saved_invstd, float* grad_x) {
        snn::synapse::batch_norm_backward_args<float> a;
        a.batch = batch, a.channels = C_, a.spatial = spatial, a.grad_y = grad_y, a.x = x, a.gamma = device_value(gamma);
        a.saved_mean = saved_mean, a.saved_invstd = saved_invstd;
        a.grad_x = grad_x, a.grad_gamma = device_grad(gamma), a.grad_beta = device_grad(gamma + 1);
        check_cuda(snn::cuda::batch_norm_backward(a, stream_), "batch_norm_backward");
    }

    void conv_backward(const float* grad_y, const float* x, std::size_t weight, float* grad_x, const snn::synapse::conv2d_shape& shape) {
        snn::synapse::conv2d_backward_args<float> a;
        a.shape = shape, a.grad_y = grad_y, a.x = x, a.weight = device_value(weight), a.grad_x = grad_x, a.grad_weight = device_grad(weight);
        check_cuda(snn::cuda::conv2d_backward(blas_, a, conv_ws_.get(), conv_ws_bytes_, stream_, math_), "conv2d_backward");
    }

    void loss_kernel(std::int64_t N, bool gradient) {
        rate_mse_per_image<<<blocks_for(N, 128), 128, 0, stream_>>>(s4_.get(), labels_.get(), steps, N, gradient ? g_s4_.get() : nullptr, loss_.get(), hit_.get());
        check_cuda(cudaGetLastError(), "rate_mse_per_image");
    }

    void adam_step(double lr) {
        ++optimiser_.step_count;
        const double correction1 = 1.0 - std::pow(optimiser_.beta1, static_cast<double>(optimiser_.step_count));
        const double correction2 = 1.0 - std::pow(optimiser_.beta2, static_cast<double>(optimiser_.step_count));
        const auto count = static_cast<std::int64_t>(param_count_);
        adam_update<<<blocks_for(count, 256), 256, 0, stream_>>>(params_.get(), grads_.get(), adam_m_.get(), adam_v_.get(), count, optimiser_.beta1,
                                                                  optimiser_.beta2, optimiser_.eps, lr / correction1, std::sqrt(correction2));
        check_cuda(cudaGetLastError(), "adam_update");
    }

    /// Waits for the batch and sums the per-image losses in image order (deterministic).
    double finish(std::int64_t N, int& correct) {
        check_cuda(cudaMemcpyAsync(host_loss_.data(), loss_.get(), static_cast<std::size_t>(N) * sizeof(double), cudaMemcpyDeviceToHost, stream_), "loss download");
        check_cuda(cudaMemcpyAsync(host_hit_.data(), hit_.get(), static_cast<std::size_t>(N) * sizeof(int), cudaMemcpyDeviceToHost, stream_), "loss download");
        check_cuda(cudaStreamSynchronize(stream_), "the batch");
        double loss = 0.0;
        correct = 0;
        for (std::int64_t n = 0; n < N; ++n) loss += host_loss_[static_cast<std::size_t>(n)], correct += host_hit_[static_cast<std::size_t>(n)];
        return loss / static_cast<double>(N * class_count);
    }

    model& m_;
    std::int64_t C_;
    snn::cuda::gemm_math math_;
    snn::neuron_params neuron_;  // defaults: v_th 1, hard reset to 0, ATan(alpha 2), detach_reset false
    std::string device_name_;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    adam optimiser_;  // its hyper-parameters and step count; the update runs in adam_update

    std::vector<std::size_t> offsets_;  // per model::all() entry, into params_ or stats_
    std::size_t param_count_ = 0;
    device_array<float> params_, grads_, adam_m_, adam_v_, stats_;

    device_array<float> x_;                                     // [N, 1, 28, 28]
    device_array<std::uint8_t> labels_;                         // [N]
    device_array<double> loss_;                                 // [N]
    device_array<int> hit_;                                     // [N]
    device_array<float> c1_, a1_;                               // [N, C, 28, 28]
    device_array<float> a1_seq_, s1_, h1_;                      // [T*N, C, 28, 28]
    device_array<float> p1_;                                    // [T*N, C, 14, 14]
    device_array<std::int64_t> p1_idx_;                         // [T*N, C, 14, 14]
    device_array<float> c2_, a2_, s2_, h2_;                     // [T*N, C, 14, 14]
    device_array<float> p2_;                                    // [T*N, C*7*7]
    device_array<std::int64_t> p2_idx_;                         // [T*N, C, 7, 7]
    device_array<float> d3_, s3_, h3_;                          // [T*N, C*16]
    device_array<float> d4_, s4_, h4_;                          // [T*N, 10]
    device_array<float> bn1_mean_, bn1_invstd_, bn2_mean_, bn2_invstd_;  // [C]
    device_array<float> g_s4_, g_d4_, g_s3_, g_d3_, g_p2_, g_s2_, g_a2_, g_c2_, g_p1_, g_s1_, g_a1_seq_, g_a1_;
    device_array<unsigned char> conv_ws_, neuron_ws_;
    std::size_t conv_ws_bytes_ = 0, neuron_ws_bytes_ = 0;
    std::vector<double> host_loss_;
    std::vector<int> host_hit_;
};

}  // namespace

bool cuda_device_available() {
    int count = 0;
    const bool ok = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
    cudaGetLastError();  // clear the error a driver-less machine leaves behind
    return ok;
}

std::unique_ptr<float_engine> make_cuda_engine(model& m, bool tf32, std::string& why_not) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    cudaGetLastError();
    if (status != cudaSuccess) {
        why_not = std::string("no CUDA device: ") + cudaGetErrorString(status);
        return nullptr;
    }
    if (count == 0) {
        why_not = "no CUDA device found";
        return nullptr;
    }
    return std::make_unique<cuda_engine>(m, tf32);
}

}  // namespace csnn
