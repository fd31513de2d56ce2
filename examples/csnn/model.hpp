#pragma once
/// \file
/// The float32 CSNN's parameters (torch state_dict names), model files, and the engine
/// interface the CPU (float_csnn.hpp) and CUDA (cuda_engine.cu) implementations share.
/// Free of CPU kernel headers so that nvcc can compile the CUDA engine against it.

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <snn/neuron/neuron.hpp>

#include "common.hpp"

namespace csnn {

using if_node = snn::if_neuron<snn::precision::f32, snn::surrogate::atan>;

constexpr std::int64_t steps = 4;  // T, as in the example
inline const model_files float_model_files{"csnn_manifest.txt", "snn-fashion-mnist-csnn 1"};

struct model {
    std::int64_t C;
    tensor conv1_w, bn1_gamma, bn1_beta, bn1_mean, bn1_var;
    tensor conv2_w, bn2_gamma, bn2_beta, bn2_mean, bn2_var;
    tensor fc1_w, fc2_w;

    explicit model(std::int64_t channels)
        : C(channels),
          conv1_w("conv1.weight", {C, 1, 3, 3}),
          bn1_gamma("bn1.weight", {C}),
          bn1_beta("bn1.bias", {C}),
          bn1_mean("bn1.running_mean", {C}, false),
          bn1_var("bn1.running_var", {C}, false),
          conv2_w("conv2.weight", {C, C, 3, 3}),
          bn2_gamma("bn2.weight", {C}),
          bn2_beta("bn2.bias", {C}),
          bn2_mean("bn2.running_mean", {C}, false),
          bn2_var("bn2.running_var", {C}, false),
          fc1_w("fc1.weight", {C * 16, C * 49}),
          fc2_w("fc2.weight", {class_count, C * 16}) {}

    std::vector<tensor*> all() { return {&conv1_w, &bn1_gamma, &bn1_beta, &bn1_mean, &bn1_var, &conv2_w, &bn2_gamma, &bn2_beta, &bn2_mean, &bn2_var, &fc1_w, &fc2_w}; }

    /// torch's defaults: U(+-1/sqrt(fan_in)) for conv/linear, gamma 1, beta 0, running mean 0,
    /// running var 1 (drawn from std::mt19937: the same distribution as torch, not the same bits).
    void initialise(std::uint32_t seed) {
        std::mt19937 gen(seed);
        for (tensor* t : {&conv1_w, &conv2_w, &fc1_w, &fc2_w}) torch_default_init(*t, gen);
        for (tensor* t : {&bn1_gamma, &bn2_gamma, &bn1_var, &bn2_var}) std::fill(t->value.begin(), t->value.end(), 1.0f);
    }

    void save(const std::string& dir) { save_tensors(dir, float_model_files, {{"channels", C}, {"steps", steps}}, all()); }

    /// The channel count of the model saved in `dir` (its manifest's header).
    static std::int64_t saved_channels(const std::string& dir) {
        const auto header = read_manifest_header(dir, float_model_files, {"channels", "steps"}, 1024);
        if (header[1] != steps) throw usage_error("--load: '" + dir + "/" + float_model_files.manifest + "': steps must be " + std::to_string(steps));
        return header[0];
    }

    void load(const std::string& dir) {
        load_tensors(dir, all(), std::to_string(C) + " channels");
        for (const tensor* t : {&bn1_var, &bn2_var})
            for (float v : t->value)
                if (v < 0.0f) throw usage_error("--load: '" + dir + "/" + t->name + ".npy' holds a negative variance");
    }
};

/// How a forward pass treats batch norm: batch statistics with or without updating the running
/// ones (training / probe), or the running statistics (evaluation).
enum class bn_mode { train, batch_stats_only, running_stats };

/// How a batch is run; the CPU and CUDA engines implement it.
class float_engine {
public:
    virtual ~float_engine() = default;
    /// e.g. "CPU, 2 threads" or "CUDA, NVIDIA H200".
    virtual std::string description() const = 0;
    /// Forward, BPTT and one Adam step on n images x [n, 1, 28, 28]; returns the loss.
    virtual double train_step(const float* x, const std::uint8_t* labels, std::int64_t n, double lr, int& correct) = 0;
    /// Forward only; returns the loss.
    virtual double evaluate_batch(const float* x, const std::uint8_t* labels, std::int64_t n, bn_mode mode, int& correct) = 0;
    /// Brings the parameters (and running statistics) back into the host model.
    virtual void download() = 0;
};

/// Loss and accuracy over `order[0..count)` in batches, without training.
inline eval_result evaluate(float_engine& engine, const dataset& d, const std::vector<int>& order, std::size_t count, std::int64_t batch, bn_mode mode) {
    std::vector<std::uint8_t> labels;
    std::vector<float> x(static_cast<std::size_t>(batch) * image_pixels);
    double loss_sum = 0.0;
    long long correct_sum = 0;
    for (std::size_t first = 0; first < count; first += static_cast<std::size_t>(batch)) {
        const auto n = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(batch), count - first));
        gather_images(d, order, first, n, x.data(), labels);
        int correct = 0;
        loss_sum += engine.evaluate_batch(x.data(), labels.data(), n, mode, correct) * static_cast<double>(n);
        correct_sum += correct;
    }
    return {loss_sum / static_cast<double>(count), static_cast<double>(correct_sum) / static_cast<double>(count)};
}

}  // namespace csnn
