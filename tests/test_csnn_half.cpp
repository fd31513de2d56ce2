// The CSNN demo's float16 / Lynxi evaluation (examples/csnn/half_eval.hpp) on tiny random
// networks: every binary16 activation bit-equal to a scalar reference written op by op from
// snn::binary16 (for weights and inputs whose float32 sums are exact, so the GEMMs' summation
// order cannot matter), conv sums within one binary16 ulp of the reference for arbitrary values,
// the two neuron paths (snn's IF with torch CUDA rules, emu/lynxi's lynxi_exchange IFNode) in
// agreement, float16 departing from float32 only at neurons whose float32 membrane is near the
// threshold, and results independent of the thread count.
#if SNN_TEST_HAS_CSNN_EXAMPLE
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "csnn/float_csnn.hpp"
#include "csnn/half_eval.hpp"

using snn::binary16;

namespace {

constexpr std::int64_t T = csnn::steps;

/// Uniform values in [-bound, bound]; with `quantum` > 0 rounded to multiples of it.
void fill_uniform(std::vector<float>& v, std::mt19937& gen, float lo, float hi, float quantum = 0.0f) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float& e : v) {
        e = dist(gen);
        if (quantum > 0.0f) e = std::round(e / quantum) * quantum;
    }
}

/// A C-channel CSNN with random weights (3x torch's init bound for the linear layers, so that
/// they fire) and random batch-norm parameters and statistics. `exact`: weights are multiples
/// of 2^-10 (binary16 values whose products with the test inputs sum exactly in float32).
csnn::model tiny_model(std::int64_t C, std::uint32_t seed, bool exact) {
    csnn::model m(C);
    std::mt19937 gen(seed);
    const float quantum = exact ? 1.0f / 1024.0f : 0.0f;
    const auto bound = [](const csnn::tensor& t, float gain) { return gain / std::sqrt(static_cast<float>(t.fan_in())); };
    fill_uniform(m.conv1_w.value, gen, -bound(m.conv1_w, 1.0f), bound(m.conv1_w, 1.0f), quantum);
    fill_uniform(m.conv2_w.value, gen, -bound(m.conv2_w, 1.0f), bound(m.conv2_w, 1.0f), quantum);
    fill_uniform(m.fc1_w.value, gen, -bound(m.fc1_w, 3.0f), bound(m.fc1_w, 3.0f), quantum);
    fill_uniform(m.fc2_w.value, gen, -bound(m.fc2_w, 3.0f), bound(m.fc2_w, 3.0f), quantum);
    for (csnn::tensor* t : {&m.bn1_gamma, &m.bn2_gamma}) fill_uniform(t->value, gen, 0.5f, 2.0f);
    for (csnn::tensor* t : {&m.bn1_beta, &m.bn2_beta}) fill_uniform(t->value, gen, -0.3f, 0.6f);
    // Running mean near the conv1 output's mean on images uniform in [0, 1] (0.5 * sum of the
    // kernel), so that every channel fires now and then.
    fill_uniform(m.bn1_mean.value, gen, -0.1f, 0.1f);
    for (std::size_t c = 0; c < m.bn1_mean.value.size(); ++c)
        m.bn1_mean.value[c] += 0.5f * std::accumulate(m.conv1_w.value.begin() + static_cast<std::ptrdiff_t>(9 * c), m.conv1_w.value.begin() + static_cast<std::ptrdiff_t>(9 * c + 9), 0.0f);
    fill_uniform(m.bn2_mean.value, gen, 0.0f, 0.4f);
    for (csnn::tensor* t : {&m.bn1_var, &m.bn2_var}) fill_uniform(t->value, gen, 0.05f, 0.5f);
    return m;
}

/// n images [n, 28, 28] in [0, 1]; `exact`: multiples of 1/16 (binary16 values).
std::vector<float> random_images(std::int64_t n, std::uint32_t seed, bool exact) {
    std::vector<float> x(static_cast<std::size_t>(n * csnn::image_pixels));
    std::mt19937 gen(seed);
    fill_uniform(x, gen, 0.0f, 1.0f, exact ? 1.0f / 16.0f : 0.0f);
    return x;
}

// ---- scalar reference: torch's half module, one binary16 rounding per op -----------------------

float f(binary16 h) { return h.to_float(); }

/// Conv2d(3x3, padding 1, no bias) of half tensors: float32 sum of the products in (ci, ki, kj)
/// order, rounded once. x [B, Cin, side, side], w [Cout, Cin, 3, 3] -> [B, Cout, side, side].
std::vector<binary16> conv3x3(const std::vector<binary16>& x, const std::vector<binary16>& w, std::int64_t B, std::int64_t Cin, std::int64_t Cout, std::int64_t side) {
    std::vector<binary16> y(static_cast<std::size_t>(B * Cout * side * side));
    for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t co = 0; co < Cout; ++co)
            for (std::int64_t i = 0; i < side; ++i)
                for (std::int64_t j = 0; j < side; ++j) {
                    float acc = 0.0f;
                    for (std::int64_t ci = 0; ci < Cin; ++ci)
                        for (std::int64_t ki = 0; ki < 3; ++ki)
                            for (std::int64_t kj = 0; kj < 3; ++kj) {
                                const std::int64_t ii = i + ki - 1, jj = j + kj - 1;
                                if (ii < 0 || ii >= side || jj < 0 || jj >= side) continue;
                                acc += f(w[static_cast<std::size_t>(((co * Cin + ci) * 3 + ki) * 3 + kj)]) * f(x[static_cast<std::size_t>(((b * Cin + ci) * side + ii) * side + jj)]);
                            }
                    y[static_cast<std::size_t>(((b * Cout + co) * side + i) * side + j)] = binary16(acc);
                }
    return y;
}

/// nn.Linear without bias: x [B, K], w [O, K] -> [B, O].
std::vector<binary16> linear(const std::vector<binary16>& x, const std::vector<binary16>& w, std::int64_t B, std::int64_t K, std::int64_t O) {
    std::vector<binary16> y(static_cast<std::size_t>(B * O));
    for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t o = 0; o < O; ++o) {
            float acc = 0.0f;
            for (std::int64_t k = 0; k < K; ++k) acc += f(w[static_cast<std::size_t>(o * K + k)]) * f(x[static_cast<std::size_t>(b * K + k)]);
            y[static_cast<std::size_t>(b * O + o)] = binary16(acc);
        }
    return y;
}

/// BatchNorm2d eval of a half tensor with half parameters, in float32, rounded once.
std::vector<binary16> batch_norm(const std::vector<binary16>& x, const csnn::model& m, bool second, std::int64_t B, std::int64_t spatial) {
    const auto& gamma = second ? m.bn2_gamma : m.bn1_gamma;
    const auto& beta = second ? m.bn2_beta : m.bn1_beta;
    const auto& mean = second ? m.bn2_mean : m.bn1_mean;
    const auto& var = second ? m.bn2_var : m.bn1_var;
    std::vector<binary16> y(x.size());
    for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t c = 0; c < m.C; ++c) {
            const auto k = static_cast<std::size_t>(c);
            const float scale = f(binary16(gamma.value[k])) / std::sqrt(f(binary16(var.value[k])) + 1e-5f);
            const float shift = f(binary16(beta.value[k])) - f(binary16(mean.value[k])) * scale;
            for (std::int64_t i = 0; i < spatial; ++i) {
                const auto at = static_cast<std::size_t>((b * m.C + c) * spatial + i);
                y[at] = binary16(f(x[at]) * scale + shift);
            }
        }
    return y;
}

/// IF over x [T, M] from v = 0. `sj`: SpikingJelly's IFNode as torch half on CUDA computes it
/// (h = v + x; spike = heaviside(h - 1.0); v = spike * 0.0 + (1. - spike) * h); otherwise
/// lynxi_exchange's IFNode (v = x + v; spike = v >= 1.0; v = (1. - spike) * v + spike * 0.0).
std::vector<binary16> integrate_and_fire(const std::vector<binary16>& x, std::int64_t M, bool sj) {
    std::vector<binary16> spikes(x.size());
    for (std::int64_t n = 0; n < M; ++n) {
        binary16 v(0.0f);
        for (std::int64_t t = 0; t < T; ++t) {
            const binary16 in = x[static_cast<std::size_t>(t * M + n)];
            binary16 s;
            if (sj) {
                const binary16 h(f(v) + f(in));
                s = binary16(f(binary16(f(h) - 1.0f)) >= 0.0f ? 1.0f : 0.0f);
                v = binary16(f(binary16(f(s) * 0.0f)) + f(binary16(f(binary16(1.0f - f(s))) * f(h))));
            } else {
                const binary16 h(f(in) + f(v));
                s = binary16(f(h) >= 1.0f ? 1.0f : 0.0f);
                v = binary16(f(binary16(f(binary16(1.0f - f(s))) * f(h))) + f(binary16(f(s) * 0.0f)));
            }
            spikes[static_cast<std::size_t>(t * M + n)] = s;
        }
    }
    return spikes;
}

/// MaxPool2d(2) of [planes, side, side].
std::vector<binary16> max_pool(const std::vector<binary16>& x, std::int64_t planes, std::int64_t side) {
    const std::int64_t h = side / 2;
    std::vector<binary16> y(static_cast<std::size_t>(planes * h * h));
    for (std::int64_t p = 0; p < planes; ++p)
        for (std::int64_t i = 0; i < h; ++i)
            for (std::int64_t j = 0; j < h; ++j) {
                binary16 best = x[static_cast<std::size_t>((p * side + 2 * i) * side + 2 * j)];
                for (std::int64_t di = 0; di < 2; ++di)
                    for (std::int64_t dj = 0; dj < 2; ++dj) {
                        const binary16 e = x[static_cast<std::size_t>((p * side + 2 * i + di) * side + 2 * j + dj)];
                        if (f(e) > f(best)) best = e;
                    }
                y[static_cast<std::size_t>((p * h + i) * h + j)] = best;
            }
    return y;
}

std::vector<binary16> halves(const std::vector<float>& v) {
    std::vector<binary16> h(v.size());
    std::transform(v.begin(), v.end(), h.begin(), [](float e) { return binary16(e); });
    return h;
}

/// Every binary16 activation of the module `net.half()` run on `pixels` [n, 28, 28].
struct reference_trace {
    std::vector<binary16> a1, s1, a2, s2, a3, s3, a4, s4;
};

reference_trace reference_forward(const csnn::model& m, const std::vector<float>& pixels, std::int64_t n, bool sj) {
    const std::int64_t C = m.C, TN = T * n;
    reference_trace r;
    const std::vector<binary16> x = halves(pixels);  // img.half()
    std::vector<binary16> x_seq;                     // x.repeat(T, 1, 1, 1)
    for (std::int64_t t = 0; t < T; ++t) x_seq.insert(x_seq.end(), x.begin(), x.end());
    r.a1 = batch_norm(conv3x3(x_seq, halves(m.conv1_w.value), TN, 1, C, 28), m, false, TN, 784);
    r.s1 = integrate_and_fire(r.a1, n * C * 784, sj);
    r.a2 = batch_norm(conv3x3(max_pool(r.s1, TN * C, 28), halves(m.conv2_w.value), TN, C, C, 14), m, true, TN, 196);
    r.s2 = integrate_and_fire(r.a2, n * C * 196, sj);
    r.a3 = linear(max_pool(r.s2, TN * C, 14), halves(m.fc1_w.value), TN, C * 49, C * 16);
    r.s3 = integrate_and_fire(r.a3, n * C * 16, sj);
    r.a4 = linear(r.s3, halves(m.fc2_w.value), TN, C * 16, csnn::class_count);
    r.s4 = integrate_and_fire(r.a4, n * csnn::class_count, sj);
    return r;
}

/// Positions where two binary16 buffers differ in bits.
std::size_t bit_mismatches(const std::vector<binary16>& a, const std::vector<binary16>& b) {
    REQUIRE(a.size() == b.size());
    std::size_t count = 0;
    for (std::size_t i = 0; i < a.size(); ++i) count += a[i].bits != b[i].bits ? 1 : 0;
    return count;
}

double spike_rate(const std::vector<binary16>& s) {
    double sum = 0.0;
    for (binary16 e : s) sum += f(e);
    return sum / static_cast<double>(s.size());
}

}  // namespace

TEST_CASE("csnn half evaluation: every activation bit-exact against a scalar binary16 reference") {
    for (std::int64_t C : {2, 4}) {
        CAPTURE(C);
        const std::int64_t n = 3;
        const csnn::model m = tiny_model(C, 100 + static_cast<std::uint32_t>(C), true);
        const std::vector<float> pixels = random_images(n, 7, true);
        const csnn::half_parameters params(m);
        for (csnn::half_numerics numerics : {csnn::half_numerics::float16_gpu, csnn::half_numerics::lynxi}) {
            CAPTURE(static_cast<int>(numerics));
            const reference_trace ref = reference_forward(m, pixels, n, numerics == csnn::half_numerics::float16_gpu);
            csnn::half_workspace ws;
            csnn::half_network(params, numerics).forward(ws, pixels.data(), n);
            CHECK(bit_mismatches(ws.a1, ref.a1) == 0);
            CHECK(bit_mismatches(ws.s1, ref.s1) == 0);
            CHECK(bit_mismatches(ws.a2, ref.a2) == 0);
            CHECK(bit_mismatches(ws.s2, ref.s2) == 0);
            CHECK(bit_mismatches(ws.a3, ref.a3) == 0);
            CHECK(bit_mismatches(ws.s3, ref.s3) == 0);
            CHECK(bit_mismatches(ws.a4, ref.a4) == 0);
            CHECK(bit_mismatches(ws.s4, ref.s4) == 0);
            for (std::size_t i = 0; i < ws.out.size(); ++i) CHECK(ws.out[i] == f(ref.s4[i]));
            // The network is neither silent nor saturated, so the spikes test something.
            for (const auto* s : {&ref.s1, &ref.s2, &ref.s3}) {
                CAPTURE(s == &ref.s1 ? 1 : s == &ref.s2 ? 2 : 3);
                CHECK(spike_rate(*s) > 0.02);
                CHECK(spike_rate(*s) < 0.9);
            }
            CHECK(spike_rate(ref.s4) > 0.0);
        }
    }
}

TEST_CASE("csnn half evaluation: float16 and Lynxi rows agree bit for bit on an arbitrary network") {
    const std::int64_t C = 4, n = 5;
    const csnn::model m = tiny_model(C, 11, false);
    const std::vector<float> pixels = random_images(n, 12, false);
    const csnn::half_parameters params(m);
    csnn::half_workspace gpu, lynxi;
    csnn::half_network(params, csnn::half_numerics::float16_gpu).forward(gpu, pixels.data(), n);
    csnn::half_network(params, csnn::half_numerics::lynxi).forward(lynxi, pixels.data(), n);
    CHECK(bit_mismatches(gpu.s1, lynxi.s1) == 0);
    CHECK(bit_mismatches(gpu.a2, lynxi.a2) == 0);
    CHECK(bit_mismatches(gpu.s2, lynxi.s2) == 0);
    CHECK(bit_mismatches(gpu.s3, lynxi.s3) == 0);
    CHECK(bit_mismatches(gpu.s4, lynxi.s4) == 0);
    CHECK(spike_rate(gpu.s2) > 0.01);
    CHECK(spike_rate(gpu.s3) > 0.01);
}

TEST_CASE("csnn half evaluation: conv sums of arbitrary values within one binary16 ulp of the sequential float32 sum") {
    // The GEMM's summation order is Eigen's, not the reference's: with inexact float32 sums the
    // rounded binary16 output may differ from the reference (and from cuDNN) by one ulp.
    const std::int64_t C = 8, n = 4;
    const csnn::model m = tiny_model(C, 21, false);
    std::vector<float> pixels = random_images(n, 22, false);
    for (float& p : pixels) p = std::round(p * 255.0f) / 255.0f;  // ToTensor of uint8 pixels
    const csnn::half_parameters params(m);
    csnn::half_workspace ws;
    csnn::half_network(params, csnn::half_numerics::float16_gpu).forward(ws, pixels.data(), n);
    const std::vector<binary16> ref = conv3x3(halves(pixels), halves(m.conv1_w.value), n, 1, C, 28);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const binary16 got(ws.c1[i]);
        if (got.bits == ref[i].bits) continue;
        ++differ;
        const float ulp = std::ldexp(1.0f, std::max(std::ilogb(std::fabs(f(ref[i]))), -14) - 10);
        CHECK(std::fabs(f(got) - f(ref[i])) <= ulp);
    }
    CHECK(differ * 100 <= ref.size());  // rare: at most 1%
}

TEST_CASE("csnn half evaluation: float16 departs from float32 only near the threshold") {
    // Layer 1 sees the same image in both numerics. Its BN output may differ by the binary16
    // roundings of the conv output, the parameters and the result; a spike may differ only from
    // a step at which the float32 membrane lies within the accumulated rounding of the threshold.
    const std::int64_t C = 4, n = 6;
    csnn::model m = tiny_model(C, 31, true);
    const std::vector<float> pixels = random_images(n, 32, true);
    const csnn::half_parameters params(m);
    csnn::half_workspace hws;
    csnn::half_network(params, csnn::half_numerics::float16_gpu).forward(hws, pixels.data(), n);
    csnn::cpu_network float_net{m, snn::neuron_params{}, snn::cpu::execution{1}};
    csnn::workspace fws;
    fws.resize(n, C, false);
    std::copy(pixels.begin(), pixels.end(), fws.x.begin());
    float_net.forward(fws, csnn::bn_mode::running_stats);

    const std::int64_t M = n * C * 784;
    std::int64_t differing_neurons = 0, spikes = 0;
    for (std::int64_t i = 0; i < M; ++i) {
        const float x32 = fws.a1[static_cast<std::size_t>(i)];
        const float x16 = f(hws.a1[static_cast<std::size_t>(i)]);
        // Both conv sums are exact here; the roundings of the conv output, the BN parameters
        // and the BN output are each 2^-11 relative (a margin of 8 on top).
        const auto channel = static_cast<std::size_t>((i / 784) % C);
        const float scale = m.bn1_gamma.value[channel] / std::sqrt(m.bn1_var.value[channel] + 1e-5f);
        const float input_error =
            std::ldexp(1.0f, -8) * (1.0f + std::fabs(x32) + scale * (std::fabs(fws.c1[static_cast<std::size_t>(i)]) + std::fabs(m.bn1_mean.value[channel])));
        REQUIRE(std::fabs(x16 - x32) <= input_error);
        float v = 0.0f;
        for (std::int64_t t = 0; t < T; ++t) {
            const float h = v + x32;  // float32 IF
            const float s32 = h >= 1.0f ? 1.0f : 0.0f;
            const float s16 = f(hws.s1[static_cast<std::size_t>(t * M + i)]);
            REQUIRE(s32 == fws.s1[static_cast<std::size_t>(t * M + i)]);
            spikes += s32 > 0.0f ? 1 : 0;
            if (s16 != s32) {
                // First departure: the float32 membrane is within (t + 1) input errors plus the
                // binary16 roundings of the membrane of the threshold.
                const float tolerance = static_cast<float>(t + 1) * (input_error + std::ldexp(1.0f, -10) * std::max(1.0f, std::fabs(h)));
                CHECK(std::fabs(h - 1.0f) <= tolerance);
                ++differing_neurons;
                break;
            }
            v = s32 > 0.0f ? 0.0f : h;
        }
    }
    CHECK(spikes > M / 20);
    CHECK(differing_neurons * 100 <= M);  // near-threshold neurons are rare
    // Downstream the two differ only through such flips: the output rates mostly agree.
    std::int64_t same = 0;
    for (std::size_t i = 0; i < hws.out.size(); ++i) same += hws.out[i] == fws.s4[i] ? 1 : 0;
    CHECK(same * 10 >= static_cast<std::int64_t>(hws.out.size()) * 8);
}

TEST_CASE("csnn half evaluation: results do not depend on the thread count; bad arguments") {
    const std::int64_t C = 2;
    const csnn::model m = tiny_model(C, 41, false);
    csnn::dataset d;
    d.count = 70;  // three chunks, the last one partial
    std::mt19937 gen(42);
    d.pixels.resize(static_cast<std::size_t>(d.count) * csnn::image_pixels);
    for (auto& p : d.pixels) p = static_cast<std::uint8_t>(gen() % 256);
    for (int i = 0; i < d.count; ++i) d.labels.push_back(static_cast<std::uint8_t>(gen() % 10));
    std::vector<int> order(static_cast<std::size_t>(d.count));
    std::iota(order.begin(), order.end(), 0);
    std::reverse(order.begin(), order.end());
    for (csnn::half_numerics numerics : {csnn::half_numerics::float16_gpu, csnn::half_numerics::lynxi}) {
        const csnn::half_eval_result one = csnn::evaluate_half(m, numerics, d, order, order.size(), 1);
        const csnn::half_eval_result three = csnn::evaluate_half(m, numerics, d, order, order.size(), 3);
        CHECK(one.loss == three.loss);
        CHECK(one.accuracy == three.accuracy);
        CHECK(one.loss > 0.0);
        // The same images one chunk at a time through half_network give the same count.
        csnn::half_workspace ws;
        std::vector<float> x(static_cast<std::size_t>(csnn::half_chunk_images) * csnn::image_pixels);
        std::vector<std::uint8_t> labels;
        long long correct = 0;
        const csnn::half_parameters params(m);
        for (std::size_t first = 0; first < order.size(); first += csnn::half_chunk_images) {
            const auto count = static_cast<std::int64_t>(std::min<std::size_t>(csnn::half_chunk_images, order.size() - first));
            csnn::gather_images(d, order, first, count, x.data(), labels);
            csnn::half_network(params, numerics).forward(ws, x.data(), count);
            int c = 0;
            csnn::rate_mse(ws.out.data(), T, count, labels.data(), nullptr, c);
            correct += c;
        }
        CHECK(one.accuracy == static_cast<double>(correct) / static_cast<double>(d.count));
    }
    CHECK_THROWS_AS(csnn::evaluate_half(m, csnn::half_numerics::lynxi, d, order, order.size() + 1, 1), snn::invalid_argument);
}

#endif  // SNN_TEST_HAS_CSNN_EXAMPLE
