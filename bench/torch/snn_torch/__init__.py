"""snn's fused multi-step neuron kernels for PyTorch, built ahead of time (bench/torch/build.sh).

Tensors are time-major and contiguous: x [T, N...] of float32 or float16 (float16 means
snn::precision::f16_storage: half storage, float32 arithmetic, float32 membrane state and
saved pre-spike membrane). CPU tensors run snn's SIMD kernels (run-time ISA dispatch), CUDA
tensors snn's CUDA kernels on torch's current stream (when built with CUDA).

Three levels:
  * modules ``IFNode``, ``LIFNode``, ``ParametricLIFNode`` (multi-step, SpikingJelly's
    constructor arguments and semantics; ``surrogate`` is a name, ``alpha`` its parameter);
  * ``multistep(x, neuron, v_init=None, w=None, return_v_seq=False)`` -> ``(spike_seq, v_last[,
    v_seq])``, differentiable in x, v_init and (PLIF) w through ``torch.autograd.Function``;
  * ``Neuron.forward`` / ``Neuron.backward``: the raw kernels with preallocated outputs, no
    autograd, no allocation (PLIF's CUDA workspace aside).

``Neuron(kind='lif'|'if'|'plif', tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0
(None = soft reset), detach_reset=False, surrogate='sigmoid', alpha=None (the surrogate's
SpikingJelly default), division='auto')``. ``division='auto'`` divides by tau the way torch
eager does on the tensor's device (IEEE division on the CPU, multiplication by float32(1/tau)
on CUDA), so float32 results equal a plain torch loop bit for bit with rational surrogates
(ATan); 'fused' is the faster FMA form of SpikingJelly's CuPy/Triton kernels.
"""
import math

import torch

from . import _C

Neuron = _C.Neuron

__all__ = ["Neuron", "multistep", "IFNode", "LIFNode", "ParametricLIFNode", "build_info"]


def build_info():
    """What this build contains: CUDA or not, the CPU instruction set in use."""
    return {
        "with_cuda": bool(_C.with_cuda),
        "with_cpu_kernels": bool(_C.with_cpu_kernels),
        "cpu_isa": _C.cpu_isa(),
        "available_cpu_isas": _C.available_cpu_isas(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
    }


class _MultiStep(torch.autograd.Function):
    """Fused forward (training kernel, saves h_seq) and backward through time."""

    @staticmethod
    def forward(ctx, x, v_init, w, neuron, return_v_seq):
        ctx.set_materialize_grads(False)  # unused outputs cost no zero-filled gradient
        plif = neuron.is_parametric
        # snn takes k = sigmoid(w) as a host constant: reading w is a device sync on CUDA.
        w_value = float(w.detach()) if plif else 0.0
        spike = torch.empty_like(x)
        h_seq = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        v_seq = torch.empty_like(x) if (return_v_seq or plif) else None
        v_last = torch.empty(x.shape[1:], dtype=torch.float32, device=x.device)
        neuron.forward(x, spike, h_seq=h_seq, v_init=v_init, v_seq=v_seq, v_last=v_last, w=w_value)
        ctx.neuron = neuron
        ctx.w_value = w_value
        ctx.return_v_seq = return_v_seq
        ctx.w_meta = (w.shape, w.dtype) if w is not None else None
        ctx.save_for_backward(
            h_seq,
            x if (plif and neuron.decay_input) else None,
            v_seq if plif else None,
            v_init if plif else None,
        )
        return (spike, v_last, v_seq) if return_v_seq else (spike, v_last)

    @staticmethod
    def backward(ctx, grad_spike, grad_v_last, *grad_rest):
        neuron = ctx.neuron
        h_seq, x, v_seq, v_init = ctx.saved_tensors
        grad_v_seq = grad_rest[0] if ctx.return_v_seq else None
        storage = grad_spike.dtype if grad_spike is not None else (grad_v_seq.dtype if grad_v_seq is not None else None)
        if storage is None:  # only v_last reached the loss
            storage = x.dtype if x is not None else (v_seq.dtype if v_seq is not None else torch.float32)
        if grad_spike is None:
            grad_spike = torch.zeros(h_seq.shape, dtype=storage, device=h_seq.device)
        grad_spike = grad_spike.contiguous()
        if grad_v_seq is not None:
            grad_v_seq = grad_v_seq.contiguous()
        if grad_v_last is not None:
            grad_v_last = grad_v_last.contiguous()
        grad_x = torch.empty(h_seq.shape, dtype=grad_spike.dtype, device=h_seq.device)
        need_x, need_v, need_w = ctx.needs_input_grad[:3]
        grad_v_init = torch.empty(h_seq.shape[1:], dtype=torch.float32, device=h_seq.device) if need_v else None
        grad_w = torch.empty(1, dtype=torch.float64, device=h_seq.device) if need_w else None
        neuron.backward(grad_spike, h_seq, grad_x, grad_v_seq=grad_v_seq, grad_v_last=grad_v_last, x=x, v_seq=v_seq,
                        v_init=v_init, grad_v_init=grad_v_init, grad_w=grad_w, w=ctx.w_value)
        if need_w:
            shape, dtype = ctx.w_meta
            grad_w = grad_w.to(dtype).reshape(shape)
        return (grad_x if need_x else None), grad_v_init, grad_w, None, None


def multistep(x, neuron, v_init=None, w=None, return_v_seq=False):
    """Runs ``neuron`` over x [T, N...]; returns ``(spike_seq, v_last)`` or, with return_v_seq,
    ``(spike_seq, v_last, v_seq)``. v_init (float32 [N...], default v_reset, 0 for soft reset)
    is the membrane before step 0; w (one-element tensor) is PLIF's learnable parameter,
    k = sigmoid(w). Differentiable in x, v_init and w when grad mode is on and any of them
    requires grad; otherwise the inference kernel runs and saves nothing."""
    if not isinstance(neuron, Neuron):
        raise TypeError(f"snn: neuron: must be a snn_torch.Neuron, got {type(neuron).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"snn: x: must be a torch.Tensor, got {type(x).__name__}")
    if neuron.is_parametric:
        if not isinstance(w, torch.Tensor) or w.numel() != 1 or not w.is_floating_point():
            raise TypeError("snn: w: PLIF needs w, a one-element floating-point tensor (k = sigmoid(w))")
    elif w is not None:
        raise ValueError(f"snn: w: only PLIF has a learnable w (this neuron is '{neuron.kind}')")
    if v_init is not None:
        if not isinstance(v_init, torch.Tensor):
            raise TypeError(f"snn: v_init: must be a torch.Tensor or None, got {type(v_init).__name__}")
        if v_init.dtype != torch.float32 and v_init.is_floating_point():
            v_init = v_init.float()  # the membrane state is float32 for float16 inputs too
        v_init = v_init.contiguous()
    tracked = [t for t in (x, v_init, w) if t is not None]
    if torch.is_grad_enabled() and any(t.requires_grad for t in tracked):
        return _MultiStep.apply(x, v_init, w, neuron, bool(return_v_seq))
    spike = torch.empty_like(x)
    v_last = torch.empty(x.shape[1:], dtype=torch.float32, device=x.device) if x.dim() >= 1 else None
    v_seq = torch.empty_like(x) if return_v_seq else None
    neuron.forward(x, spike, v_init=v_init, v_seq=v_seq, v_last=v_last, w=float(w) if neuron.is_parametric else 0.0)
    return (spike, v_last, v_seq) if return_v_seq else (spike, v_last)


class _MultiStepNode(torch.nn.Module):
    """Multi-step neuron module: forward(x_seq [T, N...]) -> spike_seq; keeps the membrane in
    ``self.v`` (float32 [N...], with its graph) for the next call until ``reset()``."""

    def __init__(self, neuron, store_v_seq):
        super().__init__()
        self.neuron = neuron
        self.store_v_seq = store_v_seq
        self.v = None
        self.v_seq = None

    def _w(self):
        return None

    def forward(self, x_seq):
        out = multistep(x_seq, self.neuron, v_init=self.v, w=self._w(), return_v_seq=self.store_v_seq)
        self.v = out[1]
        self.v_seq = out[2] if self.store_v_seq else None
        return out[0]

    def reset(self):
        self.v = None
        self.v_seq = None

    def extra_repr(self):
        return repr(self.neuron)


class IFNode(_MultiStepNode):
    def __init__(self, v_threshold=1.0, v_reset=0.0, surrogate="sigmoid", alpha=None, detach_reset=False, division="auto",
                 store_v_seq=False):
        super().__init__(Neuron("if", 2.0, True, v_threshold, v_reset, detach_reset, surrogate, alpha, division), store_v_seq)


class LIFNode(_MultiStepNode):
    def __init__(self, tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, surrogate="sigmoid", alpha=None,
                 detach_reset=False, division="auto", store_v_seq=False):
        super().__init__(Neuron("lif", tau, decay_input, v_threshold, v_reset, detach_reset, surrogate, alpha, division), store_v_seq)


class ParametricLIFNode(_MultiStepNode):
    """PLIF: k = sigmoid(w) learnable, w initialised to -ln(init_tau - 1) (SpikingJelly's)."""

    def __init__(self, init_tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, surrogate="sigmoid", alpha=None,
                 detach_reset=False, division="auto", store_v_seq=False):
        if not (math.isfinite(init_tau) and init_tau > 1.0):
            raise ValueError(f"snn: init_tau: must be finite and > 1, got {init_tau}")
        super().__init__(Neuron("plif", 2.0, decay_input, v_threshold, v_reset, detach_reset, surrogate, alpha, division),
                         store_v_seq)
        self.w = torch.nn.Parameter(torch.tensor(-math.log(init_tau - 1.0)))

    def _w(self):
        return self.w
