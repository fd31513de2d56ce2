// The README's minimal example, compiled and run by ctest so that it cannot rot.
#include <snn/snn.hpp>
#include <vector>

int main() {
    // SpikingJelly's LIFNode(tau=2, decay_input=True, v_threshold=1, v_reset=0, ATan()) in float32.
    using lif = snn::lif_neuron<snn::precision::f32, snn::surrogate::atan>;
    const std::int64_t T = 8, N = 1 << 20;              // [T, N]: time first, trailing dims flattened
    std::vector<float> x(T * N, 0.6f), spike(T * N), h(T * N);
    std::vector<float> grad_spike(T * N, 1.0f), grad_x(T * N);

    snn::neuron_params params;                        // v_threshold 1, v_reset 0, tau 2, ATan alpha 2
    snn::cpu::forward_args<lif> fwd;
    fwd.steps = T;  fwd.neurons = N;
    fwd.x = x.data();  fwd.spike = spike.data();  fwd.h_seq = h.data();
    snn::cpu::forward_training(params, fwd);         // SIMD, all cores

    snn::cpu::backward_args<lif> bwd;
    bwd.steps = T;  bwd.neurons = N;
    bwd.grad_spike = grad_spike.data();  bwd.h_seq = h.data();  bwd.grad_x = grad_x.data();
    snn::cpu::backward(params, bwd);
}
