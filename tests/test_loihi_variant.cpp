// Tests for the Loihi variant of the CSNN demo (examples/csnn/loihi_variant.hpp): the weight
// quantiser and its straight-through gradient, SpikingJelly's CubaLIFNode backward on a case
// worked by hand, the batched Lava evaluator against the library's scalar snn::lava::run_lava,
// the exact equality of the training forward and the Lava deployment once Lava's per-layer
// latency is flushed, the NetX round trip, and the errors of bad model files.
//
// The example needs Eigen (synapse ops) and zlib's header (its dataset reader); without them
// there is nothing to test.

#if SNN_HAS_EIGEN && __has_include(<zlib.h>)

#if SNN_TEST_HAS_NETX
#define SNN_EXAMPLE_WITH_NETX 1
#endif

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "../examples/csnn/loihi_variant.hpp"

namespace lv = csnn::loihi;
namespace fs = std::filesystem;

namespace {

/// A C-channel model whose every block fires on short inputs: the demo's initial weights
/// doubled and shifted up a little (mixed signs stay, so Lava's Dense runs in MIXED mode).
lv::model active_model(std::int64_t C, std::uint32_t seed) {
    lv::model m(C, 4);
    m.initialise(seed);
    for (csnn::tensor& w : m.weights)
        for (float& v : w.value) v = 2.0f * v + 0.05f;
    return m;
}

/// Poisson spikes of random grey images: [N, window, 784], the first `steps` steps carry input.
std::vector<float> random_input(std::int64_t N, std::int64_t steps, std::int64_t window, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> pixel(0, 255);
    std::vector<float> input(static_cast<std::size_t>(N * window * csnn::image_pixels), 0.0f);
    std::vector<std::uint8_t> image(csnn::image_pixels);
    for (std::int64_t n = 0; n < N; ++n) {
        for (auto& p : image) p = static_cast<std::uint8_t>(pixel(gen));
        lv::poisson_encode(image.data(), steps, gen, input.data() + n * window * csnn::image_pixels);
    }
    return input;
}

fs::path temp_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("snn_test_loihi_variant_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST_CASE("Loihi variant: quantize_8b forward and its straight-through gradient mask") {
    csnn::tensor w("w", {6});
    w.value = {0.3f, 4.0f, -5.0f, 1.0f / 64.0f, 3.0f / 64.0f, -0.3f};
    std::vector<float> q;
    lv::quantize_weights(w, q);
    // 2 * round_half_even(32 w) / 64, SpikingJelly's clamp [-256, 255] / 64.
    CHECK(q[0] == 20.0f / 64.0f);
    CHECK(q[1] == 255.0f / 64.0f);  // SpikingJelly keeps 255; lava-dl's export clamps to 254
    CHECK(q[2] == -4.0f);
    CHECK(q[3] == 0.0f);             // 0.5 rounds to even 0
    CHECK(q[4] == 4.0f / 64.0f);     // 1.5 rounds to even 2
    CHECK(q[5] == -20.0f / 64.0f);
    // The gradient passes where round(32 w) lies in [-128, 127] (the clamp range), not beyond.
    CHECK(lv::quantizer_passes_gradient(0.3f));
    CHECK(lv::quantizer_passes_gradient(3.98f));    // round(127.36) = 127
    CHECK_FALSE(lv::quantizer_passes_gradient(3.99f));  // round(127.68) = 128: clamped
    CHECK(lv::quantizer_passes_gradient(-4.0f));
    CHECK_FALSE(lv::quantizer_passes_gradient(-4.02f));

    // Through a whole backward: a weight beyond the clamp gets no gradient, the others do.
    lv::model m = active_model(2, 5);
    m.weights[0].value[0] = 10.0f;
    lv::trainer net(m, 1);
    const std::int64_t N = 2, T = 6;
    net.input() = random_input(N, T, T, 3);
    net.forward(N, T, true);
    std::vector<float> grad(N * csnn::class_count);
    const std::uint8_t labels[] = {1, 7};
    int correct = 0;
    lv::rate_cross_entropy(net.counts().data(), N, T, labels, grad.data(), correct);
    net.backward(grad.data());
    CHECK(m.weights[0].grad[0] == 0.0f);
    double others = 0.0;
    for (std::size_t i = 1; i < m.weights[0].grad.size(); ++i) others += std::fabs(m.weights[0].grad[i]);
    CHECK(others > 0.0);
    // The exported mantissa of that weight is lava-dl's 254, SpikingJelly trains with 255.
    CHECK(lv::to_netx(m).layers[0].weight[0] == 254);
}

TEST_CASE("Loihi variant: SpikingJelly's CubaLIFNode backward on a two-step case worked by hand") {
    // IF as CUBA: i_keep 0, v_keep 1. Step 0: V = 0.5, no spike; step 1: V = 1.25, spike.
    const float theta = 1.0f, alpha = lv::surrogate_alpha;
    const float voltage[] = {0.5f, 1.25f}, spike[] = {0.0f, 1.0f}, grad_spike[] = {0.25f, 1.0f};
    float grad_x[2];
    std::vector<float> scratch;
    lv::sj_cuba_backward(2, 1, voltage, spike, grad_spike, grad_x, theta, 0.0f, 1.0f, scratch);
    const auto surrogate = [&](float v) {
        const double s = 1.0 / (1.0 + std::exp(-alpha * (v - theta)));
        return alpha * s * (1.0 - s);
    };
    // Step 1 (last): nothing comes back from step 2, so dL/dV1 = grad_spike * surrogate.
    const double g_v1 = 1.0 * surrogate(1.25f);
    // Step 0: the post-reset V0 = (1 - s0) V0 feeds V1 with weight 1; s0 = 0 so it passes
    // whole, and the spike gets -V0 * dL/dV1 besides its own gradient.
    const double g_s0 = 0.25 - g_v1 * 0.5;
    const double g_v0 = g_s0 * surrogate(0.5f) + g_v1;
    CHECK(grad_x[1] == doctest::Approx(g_v1).epsilon(1e-6));
    CHECK(grad_x[0] == doctest::Approx(g_v0).epsilon(1e-6));
}

TEST_CASE("Loihi variant: the batched Lava evaluator is bit for bit snn::lava::run_lava") {
    lv::model m = active_model(2, 11);
    lv::lava_batch_runner runner(lv::to_netx(m), 2);
    const std::int64_t N = 3, T = 6, window = T + lv::block_count;
    const std::vector<float> input = random_input(N, T, window, 21);
    // Throws on the first differing spike of any layer.
    const std::int64_t compared = lv::verify_against_run_lava(runner, input.data(), N, window);
    CHECK(compared == N * window * (2 * 784 + 2 * 196 + 2 * 196 + 2 * 49 + 128 + 10));
    // And the comparison is not vacuous: the output layer spikes.
    const auto& out = runner.run(input.data(), N, window).back();
    double output_spikes = 0.0;
    for (float s : out) output_spikes += s;
    CHECK(output_spikes > 0.0);
}

TEST_CASE("Loihi variant: with Lava's latency flushed, the deployment sees the training forward's spikes") {
    // BlockContainer runs without inter-layer delay, Lava with one step per block: fed T input
    // steps and block_count empty ones, Lava's output counts equal the training forward's over
    // T steps exactly (thresholds on the 1/64 grid, no weight at 255/64, states within 24 bits).
    lv::model m = active_model(2, 17);
    const std::int64_t N = 4, T = 8, window = T + lv::block_count;
    const std::vector<float> padded = random_input(N, T, window, 29);
    lv::trainer net(m, 2);
    net.input().resize(static_cast<std::size_t>(N * T * csnn::image_pixels));
    for (std::int64_t n = 0; n < N; ++n)
        std::copy(padded.begin() + n * window * csnn::image_pixels, padded.begin() + (n * window + T) * csnn::image_pixels,
                  net.input().begin() + n * T * csnn::image_pixels);
    net.forward(N, T, false);
    lv::lava_batch_runner runner(lv::to_netx(m), 2);
    const auto& out = runner.run(padded.data(), N, window).back();
    double total = 0.0;
    for (std::int64_t n = 0; n < N; ++n)
        for (int k = 0; k < csnn::class_count; ++k) {
            float lava_count = 0.0f, lava_first_t = 0.0f;
            for (std::int64_t t = 0; t < window; ++t) {
                lava_count += out[static_cast<std::size_t>((n * window + t) * csnn::class_count + k)];
                if (t < lv::block_count) lava_first_t += out[static_cast<std::size_t>((n * window + t) * csnn::class_count + k)];
            }
            CHECK(lava_count == net.counts()[static_cast<std::size_t>(n * csnn::class_count + k)]);
            CHECK(lava_first_t == 0.0f);  // nothing reaches the output before block_count steps
            total += lava_count;
        }
    CHECK(total > 0.0);
}

#if SNN_TEST_HAS_NETX
TEST_CASE("Loihi variant: the NetX export reads back identical, a corrupt file is refused") {
    const fs::path dir = temp_dir("netx");
    lv::model m = active_model(3, 23);
    const snn::lava::network_desc net = lv::to_netx(m);
    const std::string path = (dir / lv::netx_file_name).string();
    const snn::lava::network_desc back = lv::export_and_reread(net, path);
    REQUIRE(back.layers.size() == 7);
    CHECK(back.layers[4].kind == snn::lava::layer_kind::flatten);
    CHECK(back.layers[1].conv.stride_h == 2);
    CHECK(back.layers[6].neuron.v_th_mant == 64);
    CHECK(back.layers[6].neuron.i_decay == std::vector<std::int32_t>{4096});
    // Truncate the file: reading it must fail with an error, not a crash or a wrong network.
    const auto size = fs::file_size(path);
    fs::resize_file(path, size / 2);
    CHECK_THROWS(snn::io::read_netx(path, {1, 28, 28}));
    fs::remove_all(dir);
}
#endif

TEST_CASE("Loihi variant: saved weights load back, and missing, corrupt or mismatched files give clear errors") {
    const fs::path dir = temp_dir("files");
    lv::model m = active_model(2, 31);
    m.save(dir.string());
    const auto [channels, steps] = lv::model::saved_shape(dir.string());
    CHECK(channels == 2);
    CHECK(steps == 4);
    lv::model back(2, 4);
    back.load(dir.string());
    for (int l = 0; l < lv::block_count; ++l) CHECK(back.weights[static_cast<std::size_t>(l)].value == m.weights[static_cast<std::size_t>(l)].value);

    const auto message = [&](auto&& f) {
        try {
            f();
        } catch (const csnn::usage_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    // A model of another width: the shape is named, and so is the option.
    lv::model wider(3, 4);
    const std::string wrong_shape = message([&] { wider.load(dir.string()); });
    CHECK(wrong_shape.find("--loihi-load") == 0);
    CHECK(wrong_shape.find("conv_fc.0.synapse.weight.npy") != std::string::npos);
    CHECK(wrong_shape.find("shape") != std::string::npos);
    // A corrupt .npy file.
    { std::ofstream(dir / "conv_fc.5.synapse.weight.npy", std::ios::binary | std::ios::trunc) << "not a numpy file"; }
    const std::string corrupt = message([&] { back.load(dir.string()); });
    CHECK(corrupt.find("--loihi-load") == 0);
    CHECK(corrupt.find("conv_fc.5.synapse.weight.npy") != std::string::npos);
    // The float CSNN's manifest is not a Loihi variant's.
    { std::ofstream(dir / lv::files.manifest, std::ios::trunc) << "snn-fashion-mnist-csnn 1\nchannels 2\nsteps 4\n"; }
    const std::string foreign = message([&] { lv::model::saved_shape(dir.string()); });
    CHECK(foreign.find("not a model manifest") != std::string::npos);
    fs::remove_all(dir);
    const std::string missing = message([&] { lv::model::saved_shape(dir.string()); });
    CHECK(missing.find("cannot open") != std::string::npos);
}

#endif  // SNN_HAS_EIGEN && zlib.h
