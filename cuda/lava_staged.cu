// Host-pointer wrappers of the Loihi CUDA kernels (snn/cuda/lava_staged.hpp): copy in, run on a
// private stream, copy out, wait. For snn-golden --backend cuda and the CUDA parity tests.

#include "snn/cuda/lava_staged.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "snn/cuda/lava_cuba.cuh"

namespace snn {
namespace cuda {
namespace {

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw io_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

/// A device copy of `count` host elements at `host` (null host: nothing allocated); `write_back`
/// copies the device data back to `host` on sync().
class staged_buffer {
public:
    staged_buffer() = default;
    staged_buffer(const staged_buffer&) = delete;
    staged_buffer& operator=(const staged_buffer&) = delete;
    ~staged_buffer() {
        if (device_) cudaFree(device_);
    }

    template <class T>
    T* stage(const T* host, std::size_t count, cudaStream_t stream, bool copy_in = true) {
        if (!host || count == 0) return nullptr;
        bytes_ = count * sizeof(T);
        check(cudaMalloc(&device_, bytes_), "cudaMalloc");
        if (copy_in) check(cudaMemcpyAsync(device_, host, bytes_, cudaMemcpyHostToDevice, stream), "copy to device");
        return static_cast<T*>(device_);
    }
    template <class T>
    T* stage_out(T* host, std::size_t count, cudaStream_t stream, bool copy_in = false) {
        host_out_ = host;
        return stage(static_cast<const T*>(host), count, stream, copy_in);
    }
    void copy_back(cudaStream_t stream) {
        if (device_ && host_out_) check(cudaMemcpyAsync(host_out_, device_, bytes_, cudaMemcpyDeviceToHost, stream), "copy to host");
    }

private:
    void* device_ = nullptr;
    void* host_out_ = nullptr;
    std::size_t bytes_ = 0;
};

class stream_guard {
public:
    stream_guard() { check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }
    stream_guard(const stream_guard&) = delete;
    stream_guard& operator=(const stream_guard&) = delete;
    ~stream_guard() { cudaStreamDestroy(stream_); }
    cudaStream_t get() const { return stream_; }

private:
    cudaStream_t stream_{};
};

}  // namespace

void lava_cuba_forward_staged(lava::cuba_rule_id rule, const lava::cuba_constants& k, const lava::cuba_forward_args& h) {
    lava::check_cuba_forward(k, h);
    lava::detail::check_decay_values(h.i_decay, h.channels, "i_decay");
    lava::detail::check_decay_values(h.v_decay, h.channels, "v_decay");
    if (h.steps == 0 || h.neurons == 0) return;
    const stream_guard stream;
    const auto tn = static_cast<std::size_t>(h.steps * h.neurons), n = static_cast<std::size_t>(h.neurons);
    const auto channels = static_cast<std::size_t>(h.channels);
    staged_buffer x, spike, current, voltage, u, v, bias, i_decay, v_decay;
    lava::cuba_forward_args d = h;
    d.x = x.stage(h.x, tn, stream.get());
    d.spike = spike.stage_out(h.spike, tn, stream.get());
    d.current = current.stage_out(h.current, tn, stream.get());
    d.voltage = voltage.stage_out(h.voltage, tn, stream.get());
    d.u_state = u.stage_out(h.u_state, n, stream.get(), true);
    d.v_state = v.stage_out(h.v_state, n, stream.get(), true);
    d.bias = bias.stage(h.bias, channels, stream.get());
    d.i_decay = i_decay.stage(h.i_decay, channels, stream.get());
    d.v_decay = v_decay.stage(h.v_decay, channels, stream.get());
    lava::with_cuba_rule(rule, [&](auto r) { check(lava_cuba_forward<decltype(r)>(k, d, stream.get()), "CUBA forward"); });
    for (staged_buffer* b : {&spike, &current, &voltage, &u, &v}) b->copy_back(stream.get());
    check(cudaStreamSynchronize(stream.get()), "CUBA forward (synchronize)");
}

void lava_cuba_backward_staged(const lava::cuba_constants& k, const lava::cuba_backward_args& h) {
    lava::check_cuba_backward(k, h);
    lava::detail::check_decay_values(h.i_decay, h.channels, "i_decay");
    lava::detail::check_decay_values(h.v_decay, h.channels, "v_decay");
    if (h.steps == 0 || h.neurons == 0) return;
    const stream_guard stream;
    const auto tn = static_cast<std::size_t>(h.steps * h.neurons), n = static_cast<std::size_t>(h.neurons);
    const auto channels = static_cast<std::size_t>(h.channels);
    staged_buffer voltage, current, grad_spike, grad_voltage, grad_current, grad_x, grad_i, grad_v, i_decay, v_decay;
    lava::cuba_backward_args d = h;
    d.voltage = voltage.stage(h.voltage, tn, stream.get());
    d.current = current.stage(h.current, tn, stream.get());
    d.grad_spike = grad_spike.stage(h.grad_spike, tn, stream.get());
    d.grad_voltage = grad_voltage.stage(h.grad_voltage, tn, stream.get());
    d.grad_current = grad_current.stage(h.grad_current, tn, stream.get());
    d.grad_x = grad_x.stage_out(h.grad_x, tn, stream.get());
    d.grad_i_decay = grad_i.stage_out(h.grad_i_decay, n, stream.get());
    d.grad_v_decay = grad_v.stage_out(h.grad_v_decay, n, stream.get());
    d.i_decay = i_decay.stage(h.i_decay, channels, stream.get());
    d.v_decay = v_decay.stage(h.v_decay, channels, stream.get());
    check(lava_cuba_backward(k, d, stream.get()), "CUBA backward");
    for (staged_buffer* b : {&grad_x, &grad_i, &grad_v}) b->copy_back(stream.get());
    check(cudaStreamSynchronize(stream.get()), "CUBA backward (synchronize)");
}

void lava_loihi_lif_staged(const lava::loihi_lif_params& p, const lava::loihi_lif_args& h) {
    lava::check_loihi_lif(p, h);
    if (h.steps == 0 || h.neurons == 0) return;
    const stream_guard stream;
    const auto tn = static_cast<std::size_t>(h.steps * h.neurons), n = static_cast<std::size_t>(h.neurons);
    staged_buffer a_in, u, v, u_seq, v_seq, spike, bias_mant, bias_exp, du, dv;
    lava::loihi_lif_args d = h;
    d.a_in = a_in.stage(h.a_in, tn, stream.get());
    d.u = u.stage_out(h.u, n, stream.get(), true);
    d.v = v.stage_out(h.v, n, stream.get(), true);
    d.u_seq = u_seq.stage_out(h.u_seq, tn, stream.get());
    d.v_seq = v_seq.stage_out(h.v_seq, tn, stream.get());
    d.spike = spike.stage_out(h.spike, tn, stream.get());
    d.bias_mant = bias_mant.stage(h.bias_mant, n, stream.get());
    d.bias_exp = bias_exp.stage(h.bias_exp, n, stream.get());
    d.du = du.stage(h.du, n, stream.get());
    d.dv = dv.stage(h.dv, n, stream.get());
    check(lava_loihi_lif_forward(p, d, stream.get()), "Loihi LIF");
    for (staged_buffer* b : {&u, &v, &u_seq, &v_seq, &spike}) b->copy_back(stream.get());
    check(cudaStreamSynchronize(stream.get()), "Loihi LIF (synchronize)");
}

}  // namespace cuda
}  // namespace snn
