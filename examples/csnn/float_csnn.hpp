#pragma once
/// \file
/// SpikingJelly's conv_fashion_mnist CSNN in float32 on the CPU: the forward/BPTT through the
/// library's synapse ops (Eigen) and fused IF kernels. The CUDA version (cuda_engine.cu) runs
/// the same graph on the GPU.
///
/// The network (SpikingJelly activation_based/examples/conv_fashion_mnist.py, `CSNN`):
///   {Conv2d(3x3, padding 1, no bias) - BatchNorm2d - IFNode - MaxPool2d(2)} x 2   28 -> 14 -> 7
///   Flatten - Linear(C*7*7, C*4*4, no bias) - IFNode - Linear(C*4*4, 10, no bias) - IFNode
/// with IFNode(surrogate ATan(alpha 2), v_threshold 1, hard reset to 0, detach_reset False, the
/// example's defaults), T = 4 steps, the image fed directly (the same static input at each
/// step), output = firing rate averaged over T, loss = MSE(rate, one-hot).
///
/// One deliberate difference from the Python example: the first conv + batch norm run once on
/// [N, ...] and the result is repeated over T (the input is static, so every step sees the same
/// values; SpikingJelly computes the same thing T times). Batch mean and biased variance are
/// identical; only the running variance's unbiased correction uses n = N*H*W instead of
/// T*N*H*W (a factor 1 + O(1/(N*H*W))).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <snn/cpu/multistep.hpp>
#include <snn/synapse/cpu.hpp>

#include "model.hpp"

namespace csnn {

struct workspace {
    std::int64_t n = 0;
    std::vector<float> x;                         // [N, 1, 28, 28]
    std::vector<float> c1, a1;                    // [N, C, 28, 28] conv1, bn1 (a1 is repeated over T)
    std::vector<float> a1_seq, s1, h1;            // [T*N, C, 28, 28]
    std::vector<float> p1;                        // [T*N, C, 14, 14]
    std::vector<std::int64_t> p1_idx;             // [T*N, C, 14, 14]
    std::vector<float> c2, a2, s2, h2;            // [T*N, C, 14, 14]
    std::vector<float> p2;                        // [T*N, C*7*7]
    std::vector<std::int64_t> p2_idx;             // [T*N, C, 7, 7]
    std::vector<float> d3, s3, h3;                // [T*N, C*16]
    std::vector<float> d4, s4, h4;                // [T*N, 10]
    std::vector<float> bn1_mean, bn1_invstd, bn2_mean, bn2_invstd;  // [C]
    // gradients
    std::vector<float> g_s4, g_d4, g_s3, g_d3, g_p2, g_s2, g_a2, g_c2, g_p1, g_s1, g_a1_seq, g_a1;

    void resize(std::int64_t batch, std::int64_t C, bool training) {
        n = batch;
        auto sz = [](std::int64_t e) { return static_cast<std::size_t>(e); };
        const std::int64_t TN = steps * batch, L1 = C * 784, L2 = C * 196, L3 = C * 49, H = C * 16;
        x.resize(sz(batch * 784));
        c1.resize(sz(batch * L1)), a1.resize(sz(batch * L1));
        a1_seq.resize(sz(TN * L1)), s1.resize(sz(TN * L1)), h1.resize(sz(TN * L1));
        p1.resize(sz(TN * L2)), p1_idx.resize(sz(TN * L2));
        c2.resize(sz(TN * L2)), a2.resize(sz(TN * L2)), s2.resize(sz(TN * L2)), h2.resize(sz(TN * L2));
        p2.resize(sz(TN * L3)), p2_idx.resize(sz(TN * L3));
        d3.resize(sz(TN * H)), s3.resize(sz(TN * H)), h3.resize(sz(TN * H));
        d4.resize(sz(TN * class_count)), s4.resize(sz(TN * class_count)), h4.resize(sz(TN * class_count));
        bn1_mean.resize(sz(C)), bn1_invstd.resize(sz(C)), bn2_mean.resize(sz(C)), bn2_invstd.resize(sz(C));
        if (!training) return;
        g_s4.resize(sz(TN * class_count)), g_d4.resize(sz(TN * class_count));
        g_s3.resize(sz(TN * H)), g_d3.resize(sz(TN * H));
        g_p2.resize(sz(TN * L3));
        g_s2.resize(sz(TN * L2)), g_a2.resize(sz(TN * L2)), g_c2.resize(sz(TN * L2)), g_p1.resize(sz(TN * L2));
        g_s1.resize(sz(TN * L1)), g_a1_seq.resize(sz(TN * L1)), g_a1.resize(sz(batch * L1));
    }
};


struct cpu_network {
    model& m;
    snn::neuron_params neuron;  // defaults: v_th 1, hard reset to 0, ATan(alpha 2), detach_reset false
    snn::cpu::execution exec;

    snn::synapse::conv2d_shape conv_shape(std::int64_t batch, std::int64_t in_c, std::int64_t side) const {
        snn::synapse::conv2d_shape s;
        s.batch = batch, s.in_channels = in_c, s.in_height = side, s.in_width = side, s.out_channels = m.C;
        s.kernel_h = s.kernel_w = 3, s.pad_h = s.pad_w = 1;
        return s;
    }
    snn::synapse::pool2d_shape pool_shape(std::int64_t batch, std::int64_t side) const {
        snn::synapse::pool2d_shape s;
        s.batch = batch, s.channels = m.C, s.in_height = side, s.in_width = side, s.kernel_h = s.kernel_w = 2;
        return s;
    }

    void batch_norm(const float* x, float* y, std::int64_t batch, std::int64_t side, tensor& gamma, tensor& beta, tensor& mean, tensor& var,
                    float* saved_mean, float* saved_invstd, bn_mode mode) const {
        snn::synapse::batch_norm_forward_args<float> a;
        a.batch = batch, a.channels = m.C, a.spatial = side * side;
        a.training = mode != bn_mode::running_stats;
        a.x = x, a.y = y, a.gamma = gamma.value.data(), a.beta = beta.value.data();
        if (mode != bn_mode::batch_stats_only) a.running_mean = mean.value.data(), a.running_var = var.value.data();
        a.saved_mean = saved_mean, a.saved_invstd = saved_invstd;
        snn::cpu::batch_norm_forward(a, exec);
    }

    void fire(const float* x, float* spike, float* h_seq, std::int64_t neurons_per_step, bool training) const {
        snn::forward_args<if_node> f;
        f.steps = steps, f.neurons = neurons_per_step, f.x = x, f.spike = spike;
        if (training) {
            f.h_seq = h_seq;
            snn::cpu::forward_training(neuron, f, snn::cpu::backend::simd, exec);
        } else {
            snn::cpu::forward_inference(neuron, f, snn::cpu::backend::simd, exec);
        }
    }

    void unfire(const float* grad_spike, const float* h_seq, float* grad_x, std::int64_t neurons_per_step) const {
        snn::backward_args<if_node> b;
        b.steps = steps, b.neurons = neurons_per_step, b.grad_spike = grad_spike, b.h_seq = h_seq, b.grad_x = grad_x;
        snn::cpu::backward(neuron, b, snn::cpu::backend::simd, exec);
    }

    /// Forward of ws.n images in ws.x; the output spikes are ws.s4 [T, N, 10].
    void forward(workspace& ws, bn_mode mode) const {
        const std::int64_t N = ws.n, TN = steps * N, C = m.C;
        const bool training = mode != bn_mode::running_stats;
        snn::synapse::conv2d_forward_args<float> conv1;
        conv1.shape = conv_shape(N, 1, 28), conv1.x = ws.x.data(), conv1.weight = m.conv1_w.value.data(), conv1.y = ws.c1.data();
        snn::cpu::conv2d_forward(conv1, exec);
        batch_norm(ws.c1.data(), ws.a1.data(), N, 28, m.bn1_gamma, m.bn1_beta, m.bn1_mean, m.bn1_var, ws.bn1_mean.data(), ws.bn1_invstd.data(), mode);
        for (std::int64_t t = 0; t < steps; ++t) std::copy(ws.a1.begin(), ws.a1.end(), ws.a1_seq.begin() + t * N * C * 784);
        fire(ws.a1_seq.data(), ws.s1.data(), ws.h1.data(), N * C * 784, training);

        snn::synapse::pool2d_forward_args<float> pool1;
        pool1.shape = pool_shape(TN, 28), pool1.x = ws.s1.data(), pool1.y = ws.p1.data(), pool1.indices = ws.p1_idx.data();
        snn::cpu::pool2d_forward(pool1, exec);
        snn::synapse::conv2d_forward_args<float> conv2;
        conv2.shape = conv_shape(TN, C, 14), conv2.x = ws.p1.data(), conv2.weight = m.conv2_w.value.data(), conv2.y = ws.c2.data();
        snn::cpu::conv2d_forward(conv2, exec);
        batch_norm(ws.c2.data(), ws.a2.data(), TN, 14, m.bn2_gamma, m.bn2_beta, m.bn2_mean, m.bn2_var, ws.bn2_mean.data(), ws.bn2_invstd.data(), mode);
        fire(ws.a2.data(), ws.s2.data(), ws.h2.data(), N * C * 196, training);

        snn::synapse::pool2d_forward_args<float> pool2;
        pool2.shape = pool_shape(TN, 14), pool2.x = ws.s2.data(), pool2.y = ws.p2.data(), pool2.indices = ws.p2_idx.data();
        snn::cpu::pool2d_forward(pool2, exec);
        // Flatten: [T*N, C, 7, 7] is already [T*N, C*49] in memory.
        snn::synapse::dense_forward_args<float> fc1;
        fc1.rows = TN, fc1.in_features = C * 49, fc1.out_features = C * 16, fc1.x = ws.p2.data(), fc1.weight = m.fc1_w.value.data(), fc1.y = ws.d3.data();
        snn::cpu::dense_forward(fc1, exec);
        fire(ws.d3.data(), ws.s3.data(), ws.h3.data(), N * C * 16, training);
        snn::synapse::dense_forward_args<float> fc2;
        fc2.rows = TN, fc2.in_features = C * 16, fc2.out_features = class_count, fc2.x = ws.s3.data(), fc2.weight = m.fc2_w.value.data(), fc2.y = ws.d4.data();
        snn::cpu::dense_forward(fc2, exec);
        fire(ws.d4.data(), ws.s4.data(), ws.h4.data(), N * class_count, training);
    }

    /// BPTT from dL/ds4 in ws.g_s4 down to every parameter's grad (overwritten).
    void backward(workspace& ws) const {
        const std::int64_t N = ws.n, TN = steps * N, C = m.C;
        unfire(ws.g_s4.data(), ws.h4.data(), ws.g_d4.data(), N * class_count);
        snn::synapse::dense_backward_args<float> fc2;
        fc2.rows = TN, fc2.in_features = C * 16, fc2.out_features = class_count, fc2.grad_y = ws.g_d4.data(), fc2.x = ws.s3.data();
        fc2.weight = m.fc2_w.value.data(), fc2.grad_x = ws.g_s3.data(), fc2.grad_weight = m.fc2_w.grad.data();
        snn::cpu::dense_backward(fc2, exec);
        unfire(ws.g_s3.data(), ws.h3.data(), ws.g_d3.data(), N * C * 16);
        snn::synapse::dense_backward_args<float> fc1;
        fc1.rows = TN, fc1.in_features = C * 49, fc1.out_features = C * 16, fc1.grad_y = ws.g_d3.data(), fc1.x = ws.p2.data();
        fc1.weight = m.fc1_w.value.data(), fc1.grad_x = ws.g_p2.data(), fc1.grad_weight = m.fc1_w.grad.data();
        snn::cpu::dense_backward(fc1, exec);

        snn::synapse::pool2d_backward_args<float> pool2;
        pool2.shape = pool_shape(TN, 14), pool2.grad_y = ws.g_p2.data(), pool2.indices = ws.p2_idx.data(), pool2.grad_x = ws.g_s2.data();
        snn::cpu::pool2d_backward(pool2, exec);
        unfire(ws.g_s2.data(), ws.h2.data(), ws.g_a2.data(), N * C * 196);
        snn::synapse::batch_norm_backward_args<float> bn2;
        bn2.batch = TN, bn2.channels = C, bn2.spatial = 196, bn2.grad_y = ws.g_a2.data(), bn2.x = ws.c2.data(), bn2.gamma = m.bn2_gamma.value.data();
        bn2.saved_mean = ws.bn2_mean.data(), bn2.saved_invstd = ws.bn2_invstd.data();
        bn2.grad_x = ws.g_c2.data(), bn2.grad_gamma = m.bn2_gamma.grad.data(), bn2.grad_beta = m.bn2_beta.grad.data();
        snn::cpu::batch_norm_backward(bn2, exec);
        snn::synapse::conv2d_backward_args<float> conv2;
        conv2.shape = conv_shape(TN, C, 14), conv2.grad_y = ws.g_c2.data(), conv2.x = ws.p1.data(), conv2.weight = m.conv2_w.value.data();
        conv2.grad_x = ws.g_p1.data(), conv2.grad_weight = m.conv2_w.grad.data();
        snn::cpu::conv2d_backward(conv2, exec);

        snn::synapse::pool2d_backward_args<float> pool1;
        pool1.shape = pool_shape(TN, 28), pool1.grad_y = ws.g_p1.data(), pool1.indices = ws.p1_idx.data(), pool1.grad_x = ws.g_s1.data();
        snn::cpu::pool2d_backward(pool1, exec);
        unfire(ws.g_s1.data(), ws.h1.data(), ws.g_a1_seq.data(), N * C * 784);
        // The repeat over T in the forward sums the gradients of the T copies.
        const std::size_t per_step = static_cast<std::size_t>(N * C * 784);
        std::copy(ws.g_a1_seq.begin(), ws.g_a1_seq.begin() + static_cast<std::ptrdiff_t>(per_step), ws.g_a1.begin());
        for (std::int64_t t = 1; t < steps; ++t)
            for (std::size_t i = 0; i < per_step; ++i) ws.g_a1[i] += ws.g_a1_seq[static_cast<std::size_t>(t) * per_step + i];
        snn::synapse::batch_norm_backward_args<float> bn1;
        bn1.batch = N, bn1.channels = C, bn1.spatial = 784, bn1.grad_y = ws.g_a1.data(), bn1.x = ws.c1.data(), bn1.gamma = m.bn1_gamma.value.data();
        bn1.saved_mean = ws.bn1_mean.data(), bn1.saved_invstd = ws.bn1_invstd.data();
        bn1.grad_gamma = m.bn1_gamma.grad.data(), bn1.grad_beta = m.bn1_beta.grad.data();
        bn1.grad_x = ws.g_a1_seq.data();  // dL/dc1 [N, C, 28, 28] into the first step of a buffer free by now
        snn::cpu::batch_norm_backward(bn1, exec);
        snn::synapse::conv2d_backward_args<float> conv1;
        conv1.shape = conv_shape(N, 1, 28), conv1.grad_y = ws.g_a1_seq.data(), conv1.x = ws.x.data(), conv1.grad_weight = m.conv1_w.grad.data();
        snn::cpu::conv2d_backward(conv1, exec);
    }
};


class cpu_engine final : public float_engine {
public:
    cpu_engine(model& m, int threads) : m_(m), net_{m, snn::neuron_params{}, snn::cpu::execution{threads}}, threads_(threads) {}
    std::string description() const override {
        return "CPU, " + (threads_ > 0 ? std::to_string(threads_) : std::string("all")) + " threads, SIMD kernels";
    }
    double train_step(const float* x, const std::uint8_t* labels, std::int64_t n, double lr, int& correct) override {
        ws_.resize(n, m_.C, true);
        std::copy(x, x + n * image_pixels, ws_.x.begin());
        net_.forward(ws_, bn_mode::train);
        const double loss = rate_mse(ws_.s4.data(), steps, n, labels, ws_.g_s4.data(), correct);
        net_.backward(ws_);
        optimiser_.step(m_.all(), lr);
        return loss;
    }
    double evaluate_batch(const float* x, const std::uint8_t* labels, std::int64_t n, bn_mode mode, int& correct) override {
        ws_.resize(n, m_.C, false);
        std::copy(x, x + n * image_pixels, ws_.x.begin());
        net_.forward(ws_, mode);
        return rate_mse(ws_.s4.data(), steps, n, labels, nullptr, correct);
    }
    void download() override {}

private:
    model& m_;
    cpu_network net_;
    workspace ws_;
    adam optimiser_;
    int threads_;
};

}  // namespace csnn
