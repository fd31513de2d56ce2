// snn-bench-lava: throughput of the integer Loihi CUBA neuron (slayer rule: lava-dl's CPU
// integer path) against snn's float32 LIF kernel, CPU, same run, same sizes.
//   snn-bench-lava [--neurons N] [--reps R]
// Integer CUBA: scalar int64 kernel and the SIMD kernel (double lanes, this binary's
// instruction set). float32 LIF: the best SIMD kernel of snn_dispatch (forward_training +
// backward, tau 2, hard reset, ATan), single thread. Rows: median ms per call and ns per
// neuron-step.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "snn/cpu/dispatch.hpp"
#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/cuba_simd.hpp"
#include "snn/emu/lava/loihi_lif_simd.hpp"

namespace {

template <class F>
double median_ms(int reps, F&& f) {
    f();  // warm-up
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        const auto a = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t N = std::int64_t{1} << 16;
    int reps = 7;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--neurons" && i + 1 < argc) N = std::stoll(argv[++i]);
        else if (a == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: snn-bench-lava [--neurons N] [--reps R]\n");
            return 2;
        }
    }
    const snn::cpu::kernel_table& lif_table = snn::cpu::select_isa("simd");
    std::printf("snn-bench-lava: N = %lld, single thread; float32 LIF kernels '%s'; integer SIMD %s x %zu lanes\n",
                static_cast<long long>(N), lif_table.isa, xsimd::default_arch::name(), snn::lava::double_lanes<xsimd::default_arch>::width);
    std::printf("%-34s %5s %10s %12s %8s\n", "kernel", "T", "median ms", "ns/neuron-step", "vs LIF");
    const auto k = snn::lava::slayer_constants(1.25, 0.25, 0.03);
    snn::neuron_params lif;  // defaults: tau 2, v_th 1, hard reset 0
    for (const std::int64_t T : {8, 32, 128}) {
        const auto tn = static_cast<std::size_t>(T * N);
        std::vector<float> x(tn), spike(tn), voltage(tn), current(tn), gs(tn), gx(tn), h(tn), vseq(tn);
        std::mt19937 rng(1);
        std::uniform_int_distribution<int> grid(-8, 40);
        for (auto& e : x) e = static_cast<float>(grid(rng)) / 32.0f;
        for (auto& e : gs) e = static_cast<float>(grid(rng)) / 64.0f;
        snn::lava::cuba_forward_args f;
        f.steps = T;
        f.neurons = N;
        f.x = x.data();
        f.spike = spike.data();
        f.voltage = voltage.data();  // what the backward needs
        snn::lava::cuba_backward_args b;
        b.steps = T;
        b.neurons = N;
        b.voltage = voltage.data();
        b.grad_spike = gs.data();
        b.grad_x = gx.data();
        const auto& e = lif_table.at(snn::cpu::precision_id::f32, snn::cpu::charge_id::lif_decay_input);
        snn::cpu::erased_forward_args lf;
        lf.steps = T;
        lf.neurons = N;
        lf.x = x.data();
        lf.spike = spike.data();
        lf.h_seq = h.data();
        snn::cpu::erased_backward_args lb;
        lb.steps = T;
        lb.neurons = N;
        lb.grad_spike = gs.data();
        lb.h_seq = h.data();
        lb.grad_x = gx.data();
        snn::cpu::execution one;
        one.threads = 1;
        const double lif_fwd = median_ms(reps, [&] { e.forward_training(lif, lf, one); });
        const double lif_bwd = median_ms(reps, [&] { e.backward(lif, lb, one); });
        const double int_scalar = median_ms(reps, [&] { snn::lava::cuba_forward_scalar<snn::lava::slayer_rule>(k, f); });
        const double int_simd = median_ms(reps, [&] { snn::lava::cuba_forward_simd<snn::lava::slayer_rule>(k, f); });
        const double int_bwd = median_ms(reps, [&] { snn::lava::cuba_backward(k, b); });
        const double per = 1e6 / static_cast<double>(T * N);
        const auto row = [&](const char* name, double ms, double ref) {
            std::printf("%-34s %5lld %10.3f %12.3f %7.2fx\n", name, static_cast<long long>(T), ms, ms * per, ms / ref);
        };
        row("float32 LIF forward (training)", lif_fwd, lif_fwd);
        row("integer CUBA forward, scalar", int_scalar, lif_fwd);
        row("integer CUBA forward, SIMD", int_simd, lif_fwd);
        row("float32 LIF backward", lif_bwd, lif_bwd);
        row("integer CUBA backward (float32)", int_bwd, lif_bwd);
        row("float32 LIF forward+backward", lif_fwd + lif_bwd, lif_fwd + lif_bwd);
        row("integer CUBA forward(SIMD)+backward", int_simd + int_bwd, lif_fwd + lif_bwd);
        // This binary's SIMD instruction set is not the one the unit tests run: check it too.
        std::vector<float> spike2(tn), voltage2(tn);
        snn::lava::cuba_forward_scalar<snn::lava::slayer_rule>(k, f);
        f.spike = spike2.data();
        f.voltage = voltage2.data();
        snn::lava::cuba_forward_simd<snn::lava::slayer_rule>(k, f);
        const bool same = std::memcmp(spike.data(), spike2.data(), tn * 4) == 0 && std::memcmp(voltage.data(), voltage2.data(), tn * 4) == 0;
        std::printf("%-34s %5lld %s\n", "CUBA SIMD == scalar (bits)", static_cast<long long>(T), same ? "yes" : "NO");
        std::vector<std::int32_t> a_in(tn), u1(static_cast<std::size_t>(N)), v1(u1.size()), u2(u1.size()), v2(u1.size()), vs1(tn), vs2(tn);
        for (std::size_t i = 0; i < tn; ++i) a_in[i] = static_cast<std::int32_t>(grid(rng)) * 40;
        snn::lava::loihi_lif_params lp;
        lp.du = 409;
        lp.dv = 123;
        lp.vth = 2000;
        snn::lava::loihi_lif_args la;
        la.steps = T;
        la.neurons = N;
        la.a_in = a_in.data();
        la.u = u1.data(), la.v = v1.data(), la.v_seq = vs1.data();
        const double lif_int = median_ms(reps, [&] { std::fill(u1.begin(), u1.end(), 0), std::fill(v1.begin(), v1.end(), 0), snn::lava::loihi_lif_forward(lp, la); });
        la.u = u2.data(), la.v = v2.data(), la.v_seq = vs2.data();
        const double lif_simd = median_ms(reps, [&] { std::fill(u2.begin(), u2.end(), 0), std::fill(v2.begin(), v2.end(), 0), snn::lava::loihi_lif_forward_simd(lp, la); });
        row("Lava bit-accurate LIF, scalar", lif_int, lif_fwd);
        row("Lava bit-accurate LIF, SIMD", lif_simd, lif_fwd);
        std::printf("%-34s %5lld %s\n", "LIF SIMD == scalar (bits)", static_cast<long long>(T), vs1 == vs2 && u1 == u2 ? "yes" : "NO");
    }
    return 0;
}
