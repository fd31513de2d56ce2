#pragma once
/// \file
/// Integer synapses of Lava's fixed-point models and of slayer's blocks (reference/lava.md
/// §4, §6, §7.2): dense and 2-D convolution accumulation of integer weight mantissas over
/// binary or graded spikes, Lava Dense's effective weights and weight exponent, and the
/// one-step (plus optional axonal) delivery delay both worlds share.
///
/// Conventions: weights are integer mantissas in torch order (dense [out, in], conv
/// [out, in/groups, kH, kW]); spike maps are [C, H, W] (torch order); a spike through w adds
/// w << 6 to the receiving neuron's current (in slayer's state units) or w to Lava's a_in.

#include <cstdint>
#include <string>
#include <vector>

#include "snn/core/error.hpp"
#include "snn/core/fixed_point.hpp"
#include "snn/emu/lava/quantize.hpp"

namespace snn {
namespace lava {

/// acc[o] = sum_j W[o, j] * s[j] (binary: W[o, j] where s[j] != 0), int64, no saturation
/// (Lava's Python model has none).
inline void dense_accumulate(const std::int32_t* weights, std::int64_t out, std::int64_t in, const std::int32_t* spikes, bool graded,
                             std::int64_t* acc) {
    for (std::int64_t o = 0; o < out; ++o) acc[o] = 0;
    for (std::int64_t j = 0; j < in; ++j) {
        if (spikes[j] == 0) continue;
        const std::int64_t s = graded ? spikes[j] : 1;
        for (std::int64_t o = 0; o < out; ++o) acc[o] += static_cast<std::int64_t>(weights[o * in + j]) * s;
    }
}

/// Geometry of a 2-D convolution in torch's terms ((H, W) pairs).
struct conv2d_geometry {
    std::int64_t in_channels = 0, out_channels = 0, groups = 1;
    std::int64_t in_h = 0, in_w = 0;
    std::int64_t kernel_h = 1, kernel_w = 1;
    std::int64_t stride_h = 1, stride_w = 1;
    std::int64_t pad_h = 0, pad_w = 0;
    std::int64_t dilation_h = 1, dilation_w = 1;

    std::int64_t out_h() const { return (in_h + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
    std::int64_t out_w() const { return (in_w + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
    std::int64_t weight_count() const { return out_channels * (in_channels / groups) * kernel_h * kernel_w; }

    void check() const {
        require(in_channels > 0 && out_channels > 0, "channels", "must be positive");
        require(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, "groups",
                "must divide in and out channels (" + std::to_string(in_channels) + ", " + std::to_string(out_channels) + ")");
        require(in_h > 0 && in_w > 0, "input shape", "must be positive");
        require(kernel_h > 0 && kernel_w > 0, "kernelSize", "must be positive");
        require(stride_h > 0 && stride_w > 0, "stride", "must be positive");
        require(pad_h >= 0 && pad_w >= 0, "padding", "must be >= 0");
        require(dilation_h > 0 && dilation_w > 0, "dilation", "must be positive");
        require(out_h() > 0 && out_w() > 0, "kernelSize", "larger than the padded input");
    }
};

/// torch-order cross-correlation (what slayer's conv3d computes and what Lava's Conv computes
/// after NetX flips the kernel): acc[o, y, x] over spikes [C, H, W], int64.
inline void conv2d_accumulate(const conv2d_geometry& g, const std::int32_t* weights, const std::int32_t* spikes, bool graded,
                              std::int64_t* acc) {
    const std::int64_t oh = g.out_h(), ow = g.out_w();
    const std::int64_t in_per_group = g.in_channels / g.groups, out_per_group = g.out_channels / g.groups;
    for (std::int64_t o = 0; o < g.out_channels; ++o) {
        const std::int64_t group = o / out_per_group;
        for (std::int64_t y = 0; y < oh; ++y)
            for (std::int64_t x = 0; x < ow; ++x) {
                std::int64_t sum = 0;
                for (std::int64_t ci = 0; ci < in_per_group; ++ci) {
                    const std::int64_t c = group * in_per_group + ci;
                    for (std::int64_t ky = 0; ky < g.kernel_h; ++ky) {
                        const std::int64_t iy = y * g.stride_h - g.pad_h + ky * g.dilation_h;
                        if (iy < 0 || iy >= g.in_h) continue;
                        for (std::int64_t kx = 0; kx < g.kernel_w; ++kx) {
                            const std::int64_t ix = x * g.stride_w - g.pad_w + kx * g.dilation_w;
                            if (ix < 0 || ix >= g.in_w) continue;
                            const std::int32_t s = spikes[(c * g.in_h + iy) * g.in_w + ix];
                            if (s == 0) continue;
                            const std::int64_t w = weights[((o * in_per_group + ci) * g.kernel_h + ky) * g.kernel_w + kx];
                            sum += graded ? w * s : w;
                        }
                    }
                }
                acc[(o * oh + y) * ow + x] = sum;
            }
    }
}

/// Lava Dense (`PyDenseModelBitAcc`) configuration: weights as given to the process, turned
/// into effective weights once (clip and truncate by sign mode), and the weight exponent.
struct lava_dense_config {
    std::int64_t out = 0, in = 0;
    std::vector<std::int32_t> weights_effective;  ///< [out, in]
    int weight_exp = 0;
    bool graded = false;  ///< num_message_bits > 0: payloads multiply the weights
    sign_mode mode = sign_mode::mixed;
};

/// Builds the effective weights. `mode_override` null: Lava derives the sign mode from W.
inline lava_dense_config make_lava_dense(const std::int32_t* weights, std::int64_t out, std::int64_t in, int num_weight_bits,
                                         int weight_exp, bool graded, const sign_mode* mode_override = nullptr) {
    require(out > 0 && in > 0, "weights", "need a non-empty [out, in] matrix");
    require(weights != nullptr, "weights", "null pointer");
    require(num_weight_bits >= 0 && num_weight_bits <= 8, "num_weight_bits", "must be in [0, 8], got " + std::to_string(num_weight_bits));
    require(weight_exp > -32 && weight_exp < 32, "weight_exp", "must be in (-32, 32), got " + std::to_string(weight_exp));
    lava_dense_config d;
    d.out = out;
    d.in = in;
    d.weight_exp = weight_exp;
    d.graded = graded;
    d.mode = mode_override ? *mode_override : determine_sign_mode(weights, out * in);
    d.weights_effective.resize(static_cast<std::size_t>(out * in));
    for (std::int64_t i = 0; i < out * in; ++i)
        d.weights_effective[static_cast<std::size_t>(i)] = lava_effective_weight(weights[i], d.mode, num_weight_bits);
    return d;
}

/// a = (W_eff . s) shifted by weight_exp (floor for negative exponents), as int32 (the Dense
/// output port's dtype; the wrap only matters beyond 2^31).
inline void lava_dense_output(const lava_dense_config& d, const std::int32_t* spikes, std::int32_t* a, std::vector<std::int64_t>& scratch) {
    scratch.resize(static_cast<std::size_t>(d.out));
    dense_accumulate(d.weights_effective.data(), d.out, d.in, spikes, d.graded, scratch.data());
    for (std::int64_t o = 0; o < d.out; ++o) a[o] = fixed::wrap_int32(fixed::shift_by_exponent(scratch[static_cast<std::size_t>(o)], d.weight_exp));
}

/// RingBuffer -> Dense over T steps: a[t] = Dense(s[t - 1]), a[0] = 0. s [T, in], a [T, out].
inline void lava_dense_sequence(const lava_dense_config& d, std::int64_t steps, const std::int32_t* s, std::int32_t* a) {
    std::vector<std::int64_t> scratch;
    for (std::int64_t o = 0; o < d.out && steps > 0; ++o) a[o] = 0;
    for (std::int64_t t = 1; t < steps; ++t) lava_dense_output(d, s + (t - 1) * d.in, a + t * d.out, scratch);
}

}  // namespace lava
}  // namespace snn
