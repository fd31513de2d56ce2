#!/usr/bin/env python3
"""Checks snn's fused multi-step kernels through PyTorch against a plain torch loop, then times
multi-step LIF (tau 2, decay_input, v_th 1, hard reset to 0, ATan(2)) forward (no grad) and
forward+backward for several T against: torch eager (the loop below), torch.compile of the
same loop, SpikingJelly's multi-step LIF implementations (when `spikingjelly` imports), snn
through autograd (snn_torch.multistep) and snn kernel-level (raw calls, preallocated buffers).

    python3 harness.py OUT_DIR                       # CUDA if available, float32 + float16
    python3 harness.py OUT_DIR --device cpu          # torch CPU vs snn's SIMD kernels
    python3 harness.py OUT_DIR --check-only

Writes OUT_DIR/check.csv, OUT_DIR/timings.csv (with a '#' header: device, torch, CUDA, date,
commit, copy bandwidth), OUT_DIR/timings.png and OUT_DIR/summary.txt; prints the tables.
Needs snn_torch built (bench/torch/build.sh) and importable (PYTHONPATH=bench/torch).
Works with torch 1.13 (no torch.compile: reported as skipped) and torch 2.x.
"""
import argparse
import csv
import datetime
import functools
import inspect
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The neuron that is timed: SpikingJelly's LIFNode(tau=2., decay_input=True, v_threshold=1.,
# v_reset=0., surrogate_function=ATan(alpha=2.), detach_reset=False), multi-step.
TIMED = dict(kind="lif", tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, detach_reset=False, surrogate="atan", alpha=2.0)

# ------------------------------------------------------------------------------------------
# The plain torch multi-step neuron: the obvious Python loop, SpikingJelly's op order (its
# torch path), surrogate gradients as torch.autograd.Functions.
# ------------------------------------------------------------------------------------------


class ATanSpike(torch.autograd.Function):
    """Heaviside forward; backward (1/(1 + (pi/2*alpha*z)^2) * alpha/2) * g, SpikingJelly's order."""

    @staticmethod
    def forward(ctx, z, alpha):
        ctx.save_for_backward(z)
        ctx.alpha = alpha
        return (z >= 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        u = z * (math.pi / 2 * ctx.alpha)
        t = u * u + 1
        return (t.reciprocal() * (ctx.alpha / 2)) * grad, None


class SigmoidSpike(torch.autograd.Function):
    """Heaviside forward; backward ((g*(1-s))*s)*alpha with s = sigmoid(alpha*z)."""

    @staticmethod
    def forward(ctx, z, alpha):
        ctx.save_for_backward(z)
        ctx.alpha = alpha
        return (z >= 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        s = torch.sigmoid(z * ctx.alpha)
        return ((grad * (1 - s)) * s) * ctx.alpha, None


SURROGATES = {"atan": ATanSpike, "sigmoid": SigmoidSpike}


def torch_multistep(x_seq, kind="lif", tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, detach_reset=False,
                    surrogate="atan", alpha=2.0, v_init=None, w=None, keep_h=False):
    """Returns (spike_seq [T, N...], v_last [N...]) and, with keep_h, the pre-spike h_seq."""
    spike_fn = SURROGATES[surrogate]
    v_rest = 0.0 if v_reset is None else v_reset
    v = torch.full_like(x_seq[0], v_rest) if v_init is None else v_init
    k = torch.sigmoid(w) if kind == "plif" else None
    spikes, hs = [], []
    for t in range(x_seq.shape[0]):
        x = x_seq[t]
        if kind == "if":
            h = v + x
        elif kind == "lif":
            h = v + (x - (v - v_rest)) / tau if decay_input else v - (v - v_rest) / tau + x
        else:
            h = v + (x - (v - v_rest)) * k if decay_input else v - (v - v_rest) * k + x
        s = spike_fn.apply(h - v_threshold, alpha)
        s_reset = s.detach() if detach_reset else s
        v = h - s_reset * v_threshold if v_reset is None else s_reset * v_reset + (1.0 - s_reset) * h
        spikes.append(s)
        if keep_h:
            hs.append(h.detach())
    if keep_h:
        return torch.stack(spikes), v, torch.stack(hs)
    return torch.stack(spikes), v


# ------------------------------------------------------------------------------------------
# Environment.
# ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=7"], capture_output=True, text=True,
                             timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get("SNN_GIT_COMMIT", "unknown")


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name} ({torch.get_num_threads()} torch threads)"


@functools.lru_cache(maxsize=None)
def driver_version():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


# ------------------------------------------------------------------------------------------
# Timing.
# ------------------------------------------------------------------------------------------


class Timer:
    """Median time of `fn` in ms: CUDA events around each repetition on CUDA (launches queue
    ahead, nothing synchronises between repetitions), perf_counter on the CPU. Repeats until
    `budget_s` is spent (at least min_reps, at most max_reps) after `warmup` calls."""

    def __init__(self, device, warmup, min_reps, max_reps, budget_s):
        self.device = device
        self.warmup, self.min_reps, self.max_reps, self.budget_s = warmup, min_reps, max_reps, budget_s

    def __call__(self, fn, before=None):
        before = before or (lambda: None)
        cuda = self.device.type == "cuda"
        for _ in range(self.warmup):
            before()
            fn()
        if cuda:
            torch.cuda.synchronize(self.device)
        times, events = [], []
        start_wall = time.perf_counter()
        reps = 0
        while reps < self.max_reps and (reps < self.min_reps or time.perf_counter() - start_wall < self.budget_s):
            before()
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                events.append((start, end))
                if len(events) % 16 == 0:  # keep the wall-clock budget honest
                    torch.cuda.synchronize(self.device)
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
            reps += 1
        if cuda:
            torch.cuda.synchronize(self.device)
            times = [s.elapsed_time(e) for s, e in events]
        return statistics.median(times), reps


def copy_bandwidth(device, timer):
    """Bytes read + written per second by a plain tensor copy (the roofline reference)."""
    n = (1 << 28) if device.type == "cuda" else (1 << 25)  # 1 GiB / 128 MiB of float32
    src = torch.ones(n, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    ms, _ = timer(lambda: dst.copy_(src))
    return 2 * n * 4 / (ms * 1e-3)


# ------------------------------------------------------------------------------------------
# Check: snn (through snn_torch.multistep) against the plain loop, identical inputs.
# ------------------------------------------------------------------------------------------

CHECK_CASES = [
    ("lif_tau2_hard_atan", dict(kind="lif", tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, detach_reset=False,
                                surrogate="atan", alpha=2.0)),
    ("lif_tau3_soft_nodecay_sigmoid_detach", dict(kind="lif", tau=3.0, decay_input=False, v_threshold=0.8, v_reset=None,
                                                  detach_reset=True, surrogate="sigmoid", alpha=4.0)),
    ("lif_tau2.5_hard-0.2_atan3", dict(kind="lif", tau=2.5, decay_input=True, v_threshold=1.0, v_reset=-0.2, detach_reset=False,
                                       surrogate="atan", alpha=3.0)),
    ("if_hard_atan", dict(kind="if", tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, detach_reset=False, surrogate="atan",
                          alpha=2.0)),
    ("plif_tau2_hard_atan", dict(kind="plif", init_tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, detach_reset=False,
                                 surrogate="atan", alpha=2.0)),
    ("plif_tau2.5_soft_nodecay_sigmoid", dict(kind="plif", init_tau=2.5, decay_input=False, v_threshold=1.0, v_reset=None,
                                              detach_reset=False, surrogate="sigmoid", alpha=4.0)),
]

# Tolerances: |snn - reference| <= atol + rtol * |reference|. float16 here is half storage with
# float32 arithmetic, so its reference is the same loop in float32 on the same (half) inputs;
# results are rounded to half once, hence half-precision tolerances on the stored values.
TOLERANCE = {
    torch.float32: dict(v=(1e-6, 1e-5), grad=(1e-6, 1e-5), grad_w=1e-4),
    torch.float16: dict(v=(1e-6, 1e-5), grad=(1e-3, 1e-3), grad_w=1e-3),
}


def make_neuron(snn_torch, p):
    tau = p.get("tau", 2.0)
    return snn_torch.Neuron(p["kind"], tau, p["decay_input"], p["v_threshold"], p["v_reset"], p["detach_reset"], p["surrogate"],
                            p["alpha"], "auto")


def loop_kwargs(p):
    return {k: p[k] for k in ("kind", "decay_input", "v_threshold", "v_reset", "detach_reset", "surrogate", "alpha")} | (
        {"tau": p["tau"]} if "tau" in p else {})


def check_case(snn_torch, device, dtype, name, p, T, N, seed):
    """Returns a list of result dicts (one per compared quantity)."""
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(T, N, generator=gen) * 1.5 + 0.5).to(dtype).to(device)
    g = torch.randn(T, N, generator=gen).to(dtype).to(device)
    v0 = (torch.randn(N, generator=gen) * 0.5).to(device)
    plif = p["kind"] == "plif"
    w0 = torch.tensor(-math.log(p["init_tau"] - 1.0), device=device) if plif else None

    # snn through autograd
    xs = x.clone().requires_grad_()
    vs = v0.clone().requires_grad_()
    ws = w0.clone().requires_grad_() if plif else None
    spike, v_last = snn_torch.multistep(xs, make_neuron(snn_torch, p), v_init=vs, w=ws)
    torch.autograd.backward(spike, grad_tensors=g)

    # the loop in float32 on the same inputs (for float16: what half storage + float32 math means)
    xr = x.float().clone().requires_grad_()
    vr = v0.clone().requires_grad_()
    wr = w0.clone().requires_grad_() if plif else None
    ref_spike, ref_v, ref_h = torch_multistep(xr, v_init=vr, w=wr, keep_h=True, **loop_kwargs(p))
    torch.autograd.backward(ref_spike, grad_tensors=g.float())

    tol = TOLERANCE[dtype]
    rows = []

    def row(quantity, passed, **info):
        rows.append(dict(device=device.type, dtype=str(dtype).replace("torch.", ""), case=name, quantity=quantity, passed=passed, **info))

    # Spikes: equal except where the reference's h sits on the threshold (a tie that a one-ulp
    # difference in h flips); a neuron whose first mismatch is such a tie is excluded below.
    mismatch = spike.float() != ref_spike
    tie_tol = 4 * torch.finfo(torch.float32).eps * max(1.0, abs(p["v_threshold"]))
    bad_neurons = mismatch.any(dim=0)
    first = mismatch.float().argmax(dim=0)
    h_at_first = ref_h.gather(0, first.unsqueeze(0)).squeeze(0)
    tie_first = (h_at_first - p["v_threshold"]).abs() <= tie_tol
    untied = bad_neurons & ~tie_first
    keep = ~bad_neurons
    row("spike", bool(untied.sum() == 0), mismatches=int(mismatch.sum()), tie_neurons=int((bad_neurons & tie_first).sum()),
        elements=mismatch.numel())

    def compare(quantity, a, b, atol, rtol, mask=None, round_to=None):
        a = a.detach().float()
        b = b.detach().float()
        if round_to is not None:  # what the half output must equal: the float32 value rounded once
            b = b.to(round_to).float()
        if mask is not None:
            a, b = a[..., mask], b[..., mask]
        diff = (a - b).abs()
        ok = bool((diff <= atol + rtol * b.abs()).all()) and bool(torch.isfinite(a).all())
        row(quantity, ok, max_abs_diff=float(diff.max()) if diff.numel() else 0.0, differing=int((a != b).sum()),
            elements=a.numel(), tolerance=f"atol {atol:g} rtol {rtol:g}")

    compare("v_last", v_last, ref_v, *tol["v"], mask=keep)
    compare("grad_x", xs.grad, xr.grad, *tol["grad"], mask=keep, round_to=dtype if dtype != torch.float32 else None)
    compare("grad_v_init", vs.grad, vr.grad, *tol["v"] if dtype == torch.float32 else tol["grad"], mask=keep)
    if plif:
        a, b = float(ws.grad), float(wr.grad)
        rel = abs(a - b) / max(abs(b), 1e-12)
        # the reference sums dL/dk over the tie-excluded neurons too, so only compare without ties
        row("grad_w", rel <= tol["grad_w"] or bool(bad_neurons.any()), snn=a, reference=b, rel_diff=rel,
            tolerance=f"rtol {tol['grad_w']:g}")
    return rows


def check_chunked(snn_torch, device, dtype, T, N, seed):
    """Two calls of a module chained through its membrane (v_last of the first is v_init of
    the second, the gradient flowing back through it) must give the bits of one call over the
    whole sequence: exercises grad_v_last, grad_v_init and the modules' state."""
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(T, N, generator=gen) * 1.5 + 0.5).to(dtype).to(device)
    g = torch.randn(T, N, generator=gen).to(dtype).to(device)
    rows = []
    for kind, module in (("lif", lambda: snn_torch.LIFNode(tau=2.5, surrogate="atan", alpha=2.0)),
                         ("plif", lambda: snn_torch.ParametricLIFNode(init_tau=3.0, surrogate="atan", alpha=2.0))):
        whole, parts = module().to(device), module().to(device)
        xw = x.clone().requires_grad_()
        s_whole = whole(xw)
        torch.autograd.backward(s_whole, grad_tensors=g)
        xp = x.clone().requires_grad_()
        half = T // 2
        s_parts = torch.cat([parts(xp[:half]), parts(xp[half:])])  # the second call starts from parts.v
        torch.autograd.backward(s_parts, grad_tensors=g)
        info = dict(spike_equal=bool(torch.equal(s_parts, s_whole)), v_last_equal=bool(torch.equal(parts.v, whole.v)),
                    grad_x_equal=bool(torch.equal(xp.grad, xw.grad)))
        ok = all(info.values())
        if kind == "plif":  # dL/dw is summed over both calls in another order: equal up to rounding
            a, b = float(parts.w.grad), float(whole.w.grad)
            info["grad_w_rel_diff"] = abs(a - b) / max(abs(b), 1e-12)
            ok = ok and info["grad_w_rel_diff"] <= TOLERANCE[dtype]["grad_w"]
        rows.append(dict(device=device.type, dtype=str(dtype).replace("torch.", ""), case=f"{kind}_module_two_calls_vs_one",
                         quantity="chained", passed=ok, **info))
    # [T, N...] with several trailing dimensions is [T, prod(N...)] flattened
    neuron = make_neuron(snn_torch, TIMED)
    x4 = x[:, : (N // 12) * 12].contiguous()
    flat, v_flat = snn_torch.multistep(x4, neuron)
    shaped, v_shaped = snn_torch.multistep(x4.view(T, 3, 4, -1), neuron)
    ok = bool(torch.equal(shaped.reshape(flat.shape), flat)) and tuple(v_shaped.shape) == (3, 4, x4.shape[1] // 12) and bool(
        torch.equal(v_shaped.reshape(-1), v_flat))
    rows.append(dict(device=device.type, dtype=str(dtype).replace("torch.", ""), case="lif_shape_T_3_4_M_vs_flat", quantity="shape",
                     passed=ok))
    return rows


def native_half_comparison(snn_torch, device, T, N, seed):
    """Informational: snn float16 (float32 arithmetic) against the loop run in torch half
    (every op rounded to half). They differ by design; reported, not checked."""
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(T, N, generator=gen) * 1.5 + 0.5).half().to(device)
    g = torch.randn(T, N, generator=gen).half().to(device)
    xs = x.clone().requires_grad_()
    spike, _ = snn_torch.multistep(xs, make_neuron(snn_torch, TIMED))
    torch.autograd.backward(spike, grad_tensors=g)
    xr = x.clone().requires_grad_()
    ref_spike, _ = torch_multistep(xr, **loop_kwargs(TIMED))
    torch.autograd.backward(ref_spike, grad_tensors=g)
    return dict(device=device.type, dtype="float16", case="lif_tau2_hard_atan_vs_torch_half_loop", quantity="info", passed=True,
                spike_mismatch_fraction=float((spike != ref_spike).float().mean()),
                grad_x_max_abs_diff=float((xs.grad.float() - xr.grad.float()).abs().max()))


def run_checks(snn_torch, device, dtypes, T, N, out_dir):
    rows = []
    for dtype in dtypes:
        for i, (name, p) in enumerate(CHECK_CASES):
            try:
                rows += check_case(snn_torch, device, dtype, name, p, T, N, seed=1234 + i)
            except Exception as error:  # a crash is a failed check, reported with its reason
                rows.append(dict(device=device.type, dtype=str(dtype).replace("torch.", ""), case=name, quantity="run", passed=False,
                                 error=f"{type(error).__name__}: {error}"))
        try:
            rows += check_chunked(snn_torch, device, dtype, T, N, seed=777)
        except Exception as error:
            rows.append(dict(device=device.type, dtype=str(dtype).replace("torch.", ""), case="module_two_calls_vs_one", quantity="run",
                             passed=False, error=f"{type(error).__name__}: {error}"))
        if dtype == torch.float16:
            try:
                rows.append(native_half_comparison(snn_torch, device, T, N, seed=99))
            except Exception as error:  # torch CPU builds without half kernels
                rows.append(dict(device=device.type, dtype="float16", case="lif_vs_torch_half_loop", quantity="info", passed=True,
                                 note=f"skipped: {type(error).__name__}: {error}"))
    rows += check_bad_inputs(snn_torch, device)
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(os.path.join(out_dir, "check.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n== check: snn vs the plain torch loop on {device.type}, T={T}, N={N}")
    for r in rows:
        detail = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("device", "dtype", "case", "quantity", "passed"))
        print(f"  {'ok  ' if r['passed'] else 'FAIL'} {r['dtype']:8s} {r['case']:38s} {r['quantity']:12s} {detail}")
    failed = [r for r in rows if not r["passed"]]
    print(f"  {len(rows) - len(failed)} passed, {len(failed)} failed")
    return not failed


def check_bad_inputs(snn_torch, device):
    """Bad input must raise TypeError/ValueError naming the argument."""
    n = snn_torch.Neuron("lif", 2.0, True, 1.0, 0.0, False, "atan", 2.0)
    x = torch.zeros(4, 8, device=device)
    cases = [
        ("x float64", TypeError, "x:", lambda: snn_torch.multistep(x.double(), n)),
        ("x int32", TypeError, "x:", lambda: snn_torch.multistep(x.int(), n)),
        ("x non-contiguous", ValueError, "x:", lambda: snn_torch.multistep(torch.zeros(8, 4, device=device).t(), n)),
        ("x 0-d", ValueError, "x:", lambda: snn_torch.multistep(torch.zeros((), device=device), n)),
        ("x empty", ValueError, "x:", lambda: snn_torch.multistep(torch.zeros(0, 8, device=device), n)),
        ("v_init shape", ValueError, "v_init:", lambda: snn_torch.multistep(x, n, v_init=torch.zeros(7, device=device))),
        ("spike dtype", TypeError, "spike:", lambda: n.forward(x, torch.zeros(4, 8, device=device, dtype=torch.float16))),
        ("h_seq shape", ValueError, "h_seq:", lambda: n.forward(x, torch.zeros_like(x), h_seq=torch.zeros(4, 9, device=device))),
        ("v_last float16", TypeError, "v_last:", lambda: n.forward(x, torch.zeros_like(x), v_last=torch.zeros(8, device=device).half())),
        ("tau <= 1", ValueError, "tau:", lambda: snn_torch.Neuron("lif", 1.0, True, 1.0, 0.0, False, "atan", 2.0)),
        ("surrogate name", ValueError, "surrogate:", lambda: snn_torch.Neuron("lif", 2.0, True, 1.0, 0.0, False, "atanh", 2.0)),
        ("kind", ValueError, "kind:", lambda: snn_torch.Neuron("alif", 2.0, True, 1.0, 0.0, False, "atan", 2.0)),
        ("plif without w", TypeError, "w:", lambda: snn_torch.multistep(x, snn_torch.Neuron("plif"))),
        ("grad_w on LIF", ValueError, "grad_w:", lambda: n.backward(x, x, torch.zeros_like(x), grad_w=torch.zeros(1, dtype=torch.float64, device=device))),
    ]
    if device.type == "cuda":
        cases.append(("spike on cpu", ValueError, "spike:", lambda: n.forward(x, torch.zeros(4, 8))))
    rows = []
    for label, kind, needle, fn in cases:
        try:
            fn()
            rows.append(dict(device=device.type, dtype="-", case="bad input: " + label, quantity="error", passed=False, note="no error raised"))
        except Exception as error:
            ok = isinstance(error, kind) and needle in str(error)
            rows.append(dict(device=device.type, dtype="-", case="bad input: " + label, quantity="error", passed=ok,
                             note=f"{type(error).__name__}: {str(error).splitlines()[0][:90]}"))
    return rows


# ------------------------------------------------------------------------------------------
# Timed implementations. Each returns (fwd_fn, fwdbwd_fn, before_fwdbwd) for one (T, dtype),
# or raises to be reported as a skipped row.
# ------------------------------------------------------------------------------------------


def timed_loop(x, fn):
    def fwd():
        with torch.no_grad():
            fn(x)

    xr = x.clone().requires_grad_()
    g = torch.ones_like(x)  # dense, preallocated: no expand/copy kernels in the timed region

    def fwdbwd():
        s = fn(xr)
        torch.autograd.backward(s, grad_tensors=g)

    def before():
        xr.grad = None

    return fwd, fwdbwd, before


def eager_impl(x):
    kwargs = loop_kwargs(TIMED)
    return timed_loop(x, lambda t: torch_multistep(t, **kwargs)[0])


def compile_impl(x):
    if not hasattr(torch, "compile"):
        raise RuntimeError(f"torch.compile needs torch 2 (this is {torch.__version__})")
    import torch._dynamo as dynamo
    dynamo.reset()  # fresh caches per (T, dtype): no recompilation limit, honest compile time
    kwargs = loop_kwargs(TIMED)
    compiled = torch.compile(lambda t: torch_multistep(t, **kwargs)[0])
    return timed_loop(x, compiled)


def snn_impl(snn_torch):
    def make(x):
        neuron = make_neuron(snn_torch, TIMED)
        return timed_loop(x, lambda t: snn_torch.multistep(t, neuron)[0])
    return make


def snn_kernel_impl(snn_torch):
    def make(x):
        neuron = make_neuron(snn_torch, TIMED)
        spike = torch.empty_like(x)
        h_seq = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        g = torch.ones_like(x)
        grad_x = torch.empty_like(x)

        def fwd():
            neuron.forward(x, spike)

        def fwdbwd():
            neuron.forward(x, spike, h_seq=h_seq)
            neuron.backward(g, h_seq, grad_x)

        return fwd, fwdbwd, None
    return make


# ------------------------------------------------------------------------------------------
# SpikingJelly, in child processes: 2.0.0 picks its LIF implementation from the environment
# variable SJ_LIF_CUDA_IMPLEMENTATION when it is imported (cuda = native extension from a
# source build, triton, torch); older releases take LIFNode(backend=torch|cupy|triton|
# inductor). A child per implementation also keeps one backend's failure from the others.
# ------------------------------------------------------------------------------------------

SJ_IMPLS = ["triton", "torch", "inductor", "cuda", "cupy"]


def sj_child(args):
    """Runs in a child process: times one SpikingJelly implementation, prints JSON rows."""
    impl = args.sj_child
    device = torch.device(args.device)
    rows = []

    def emit(**row):
        print("SJROW " + json.dumps(row), flush=True)

    try:
        from spikingjelly.activation_based import functional as sjf
        from spikingjelly.activation_based import neuron as sjn
        from spikingjelly.activation_based import surrogate as sjs
        import spikingjelly
        version = getattr(spikingjelly, "__version__", None)
        if version is None:
            from importlib import metadata
            version = metadata.version("spikingjelly")
    except Exception as error:
        emit(impl=f"sj-{impl}", status="skipped", note=f"import spikingjelly failed: {type(error).__name__}: {error}")
        return
    legacy = "backend" in inspect.signature(sjn.LIFNode.__init__).parameters
    note = f"spikingjelly {version}"
    if not legacy:
        if impl == "cupy":
            emit(impl="sj-cupy", status="skipped", note=f"{note} has no CuPy backend (its LIF implementations: cuda, triton, torch)")
            return
        if device.type == "cpu" and impl != "torch":
            emit(impl=f"sj-{impl}", status="skipped", note=f"{note} runs only its torch reference on the CPU")
            return
    elif device.type == "cpu" and impl != "torch":
        emit(impl=f"sj-{impl}", status="skipped", note=f"{note}: backend {impl} is CUDA only")
        return

    def make_node():
        kw = dict(tau=TIMED["tau"], decay_input=TIMED["decay_input"], v_threshold=TIMED["v_threshold"], v_reset=TIMED["v_reset"],
                  surrogate_function=sjs.ATan(alpha=TIMED["alpha"]), detach_reset=TIMED["detach_reset"], step_mode="m")
        if legacy:
            kw["backend"] = impl
        node = sjn.LIFNode(**kw).to(device)
        if impl == "inductor" and not legacy:
            import torch._dynamo as dynamo
            dynamo.reset()  # a fresh cache per row: no recompilation limit
            return torch.compile(node)
        return node

    timer = Timer(device, args.warmup, args.min_reps, args.max_reps, args.rep_budget_s)
    for dtype in parse_dtypes(args.dtypes):
        for T in parse_ints(args.T):
            x = torch.rand(T, args.N, device=device, dtype=dtype) * 2
            for mode in ("fwd", "fwdbwd"):
                base = dict(dtype=str(dtype).replace("torch.", ""), mode=mode, T=T, impl=f"sj-{impl}")
                if impl == "inductor" and T > args.compile_max_T:
                    emit(**base, status="skipped", note=f"T > --compile-max-T {args.compile_max_T} (compile time)")
                    continue
                try:
                    node = make_node()
                    used = ""
                    if not legacy and device.type == "cuda" and hasattr(sjf, "neuron_implementation"):
                        info = sjf.neuron_implementation("lif", device, execution="compile" if impl == "inductor" else "eager")
                        used = f", implementation {info.get('implementation')}"
                    fn = lambda t, node=node: node(t)  # noqa: E731
                    fwd, fwdbwd, before_bwd = timed_loop(x, fn)

                    def reset(node=node, before_bwd=before_bwd):
                        sjf.reset_net(node)
                        if before_bwd:
                            before_bwd()

                    t0 = time.perf_counter()
                    ms, reps = timer(fwd if mode == "fwd" else fwdbwd, before=reset)
                    emit(**base, ms=ms, reps=reps, status="ok", note=f"{note}{used}; {time.perf_counter() - t0:.1f} s incl. warm-up")
                except Exception as error:
                    emit(**base, status="skipped", note=f"{note}: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}")
            del x
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def run_sj(args, impl, timeout_s):
    env = dict(os.environ)
    env["SJ_LIF_CUDA_IMPLEMENTATION"] = "auto" if impl in ("inductor", "cupy") else impl
    cmd = [sys.executable, os.path.abspath(__file__), "--sj-child", impl, "--device", args.device, "--dtypes", args.dtypes,
           "--T", args.T, "--N", str(args.N), "--warmup", str(args.warmup), "--min-reps", str(args.min_reps), "--max-reps",
           str(args.max_reps), "--rep-budget-s", str(args.rep_budget_s), "--compile-max-T", str(args.compile_max_T), "out-unused"]
    rows = []
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=max(timeout_s, 1.0))
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as error:
        out = error.stdout.decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
        err, code = f"stopped after {timeout_s:.0f} s (--sj-timeout-s / --deadline-s); rows not reported were not reached", -1
    for line in out.splitlines():
        if line.startswith("SJROW "):
            rows.append(json.loads(line[6:]))
    if code != 0 or not rows:
        tail = (err or "").strip().splitlines()[-1:] or ["no output"]
        rows.append(dict(impl=f"sj-{impl}", status="skipped", note=f"child exited {code}: {tail[0][:200]}"))
    return rows


# ------------------------------------------------------------------------------------------
# Driver.
# ------------------------------------------------------------------------------------------


def parse_ints(text):
    return [int(eval(v, {}, {})) for v in str(text).split(",") if v.strip()]  # accepts 2**20


def parse_dtypes(text):
    names = {"float32": torch.float32, "float16": torch.float16}
    out = []
    for name in text.split(","):
        if name not in names:
            raise SystemExit(f"--dtypes: unknown dtype '{name}' (float32, float16)")
        out.append(names[name])
    return out


def annotate(rows, N, bandwidth):
    """Roofline (the anchor files' definition) and the ratio to snn kernel-level per row."""
    elem = {"float32": 4, "float16": 2}
    for r in rows:
        r["N"] = N
        if "T" in r and "dtype" in r:
            passes = 2 if r["mode"] == "fwd" else 6
            r["roofline_ms"] = passes * r["T"] * N * elem[r["dtype"]] / bandwidth * 1e3
            if r.get("status") == "ok":
                r["frac_roofline"] = r["roofline_ms"] / r["ms"]
    kernel = {(r["dtype"], r["mode"], r["T"]): r["ms"] for r in rows if r["impl"] == "snn-kernel" and r.get("status") == "ok"}
    for r in rows:
        k = (r.get("dtype"), r.get("mode"), r.get("T"))
        if r.get("status") == "ok" and k in kernel:
            r["x_snn_kernel"] = r["ms"] / kernel[k]


def print_row(r):
    print(f"  {r.get('dtype', '-'):8s} T={r.get('T', '-')!s:<4s} {r.get('mode', '-'):7s} {r['impl']:14s} "
          + (f"{r['ms']:10.4f} ms" if r["status"] == "ok" else f"skipped: {r.get('note', '')}"), flush=True)


def time_all(args, snn_torch, device, out_dir, save):
    """Three passes, the most informative first, so that a run cut short keeps them: (1) torch
    eager, snn, snn kernel-level; (2) SpikingJelly; (3) torch.compile, smallest T first, until
    its time budget is spent. `save(rows)` is called after every row."""
    timer = Timer(device, args.warmup, args.min_reps, args.max_reps, args.rep_budget_s)
    bandwidth = copy_bandwidth(device, timer)
    print(f"\n== copy bandwidth (read + write): {bandwidth / 1e9:.1f} GB/s")
    rows = []
    impls = [i for i in args.impls.split(",") if i]
    makers = {"torch-eager": eager_impl}
    if snn_torch is not None:
        makers["snn"] = snn_impl(snn_torch)
        makers["snn-kernel"] = snn_kernel_impl(snn_torch)
    dtypes, Ts = parse_dtypes(args.dtypes), parse_ints(args.T)
    deadline = time.perf_counter() + args.deadline_s

    def late(base):
        """Past --deadline-s: the row is reported skipped instead of measured."""
        if time.perf_counter() < deadline:
            return False
        add(dict(base, status="skipped", note=f"--deadline-s {args.deadline_s:g} reached"))
        return True

    def add(row):
        rows.append(row)
        print_row(row)
        annotate(rows, args.N, bandwidth)
        save(rows, bandwidth)

    def measure(impl, make, x, mode, base, t0):
        try:
            fwd, fwdbwd, before = make(x)
            ms, reps = timer(fwd if mode == "fwd" else fwdbwd, before=before if mode == "fwdbwd" else None)
            note = f"{time.perf_counter() - t0:.1f} s incl. compile" if impl == "torch-compile" else ""
            return dict(base, ms=ms, reps=reps, status="ok", note=note)
        except Exception as error:
            text = str(error).splitlines()[0][:200] if str(error) else ""
            return dict(base, status="skipped", note=f"{type(error).__name__}: {text}")

    print("\n== timing: torch eager, snn, snn kernel-level")
    for dtype in dtypes:
        for T in Ts:
            x = torch.rand(T, args.N, device=device, dtype=dtype) * 2
            for impl in impls:
                if impl in makers:
                    for mode in ("fwd", "fwdbwd"):
                        base = dict(dtype=str(dtype).replace("torch.", ""), mode=mode, T=T, impl=impl)
                        if not late(base):
                            add(measure(impl, makers[impl], x, mode, base, time.perf_counter()))
            del x
            if device.type == "cuda":
                torch.cuda.empty_cache()

    for impl in [i[3:] for i in impls if i.startswith("sj-")]:
        print(f"\n== timing: SpikingJelly {impl} (child process)")
        t0 = time.perf_counter()
        if late(dict(impl=f"sj-{impl}")):
            continue
        for r in run_sj(args, impl, timeout_s=min(args.sj_timeout_s, deadline - t0)):
            add(r)
        print(f"  ({time.perf_counter() - t0:.0f} s)")

    if "torch-compile" in impls:
        print("\n== timing: torch.compile of the loop")
        spent = 0.0
        for T in Ts:
            for dtype in dtypes:
                x = None
                for mode in ("fwd", "fwdbwd"):
                    base = dict(dtype=str(dtype).replace("torch.", ""), mode=mode, T=T, impl="torch-compile")
                    if args.no_compile:
                        add(dict(base, status="skipped", note="--no-compile"))
                    elif T > args.compile_max_T:
                        add(dict(base, status="skipped", note=f"T > --compile-max-T {args.compile_max_T} (compile time)"))
                    elif spent > args.compile_budget_s:
                        add(dict(base, status="skipped", note=f"compile budget {args.compile_budget_s:g} s spent (--compile-budget-s)"))
                    elif not late(base):
                        if x is None:
                            x = torch.rand(T, args.N, device=device, dtype=dtype) * 2
                        t0 = time.perf_counter()
                        add(measure("torch-compile", compile_impl, x, mode, base, t0))
                        spent += time.perf_counter() - t0
                del x
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    return rows, bandwidth


def csv_header(args, device, bandwidth, check_ok):
    return [
        f"snn torch harness: multi-step LIF (tau {TIMED['tau']}, decay_input, v_th {TIMED['v_threshold']}, hard reset "
        f"{TIMED['v_reset']}, ATan({TIMED['alpha']})), N = {args.N}",
        f"device {device_name(device)}" + (f", driver {driver_version()}" if device.type == "cuda" else ""),
        f"torch {torch.__version__}, CUDA {torch.version.cuda}, python {platform.python_version()}",
        f"date {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, commit {git_commit()}",
        f"copy bandwidth (read+write) {bandwidth / 1e9:.1f} GB/s; roofline_ms = (2 fwd | 6 fwd+bwd) x T x N x element size / copy bandwidth",
        f"timing: {'CUDA events' if device.type == 'cuda' else 'perf_counter'}, median of reps after {args.warmup} warm-up calls "
        f"(at least {args.min_reps}, until {args.rep_budget_s:g} s); fwd = no grad; fwdbwd = forward with grad + "
        f"torch.autograd.backward(spikes, grad_tensors=dense g) (snn-kernel: forward_training + backward, preallocated)",
        f"check vs the plain torch loop: {'passed' if check_ok else 'FAILED' if check_ok is not None else 'not run'}",
    ]


def write_csv(path, header, rows):
    fields = ["dtype", "mode", "T", "N", "impl", "ms", "reps", "roofline_ms", "frac_roofline", "x_snn_kernel", "status", "note"]
    with open(path, "w", newline="") as f:
        for line in header:
            f.write("# " + line + "\n")
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.5g}" if isinstance(v, float) else v) for k, v in r.items()})


def write_outputs(args, rows, bandwidth, device, out_dir, check_ok):
    header = csv_header(args, device, bandwidth, check_ok)
    write_csv(os.path.join(out_dir, "timings.csv"), header, rows)
    partial = os.path.join(out_dir, "timings.partial.csv")
    if os.path.exists(partial):
        os.remove(partial)

    lines = ["\n".join("# " + h for h in header), ""]
    ok = [r for r in rows if r.get("status") == "ok"]
    impls = []
    for r in rows:
        if r["impl"] not in impls:
            impls.append(r["impl"])
    for dtype in sorted({r["dtype"] for r in ok}, reverse=True):
        for mode in ("fwd", "fwdbwd"):
            Ts = sorted({r["T"] for r in ok if r["dtype"] == dtype and r["mode"] == mode})
            if not Ts:
                continue
            lines.append(f"{dtype} {mode} (ms; x = over snn-kernel)")
            lines.append(f"  {'impl':14s}" + "".join(f"{'T=' + str(T):>20s}" for T in Ts))
            for impl in impls:
                cells = []
                for T in Ts:
                    match = [r for r in ok if (r["dtype"], r["mode"], r["T"], r["impl"]) == (dtype, mode, T, impl)]
                    if match:
                        r = match[0]
                        ratio = f" ({r['x_snn_kernel']:.2f}x)" if "x_snn_kernel" in r else ""
                        cells.append(f"{r['ms']:.4f}{ratio}")
                    else:
                        cells.append("-")
                if any(c != "-" for c in cells):
                    lines.append(f"  {impl:14s}" + "".join(f"{c:>20s}" for c in cells))
            roof = {r["T"]: r["roofline_ms"] for r in rows if r.get("dtype") == dtype and r.get("mode") == mode and "roofline_ms" in r}
            lines.append(f"  {'roofline':14s}" + "".join(f"{roof.get(T, float('nan')):>20.4f}" for T in Ts))
            lines.append("")
    skipped = [r for r in rows if r.get("status") != "ok"]
    if skipped:
        lines.append("skipped:")
        seen = set()
        for r in skipped:
            key = (r["impl"], r.get("note", ""))
            rest = [f"{s.get('dtype', '')} {s.get('mode', '')} T={s.get('T', '')}" for s in skipped if (s["impl"], s.get("note", "")) == key]
            if key not in seen:
                seen.add(key)
                lines.append(f"  {r['impl']}: {r.get('note', '')}  [{len(rest)} rows]")
        lines.append("")
    # The aims: snn through torch vs the best SpikingJelly row; autograd overhead.
    for dtype in sorted({r["dtype"] for r in ok}, reverse=True):
        for mode in ("fwd", "fwdbwd"):
            for T in sorted({r["T"] for r in ok if r["dtype"] == dtype}):
                sel = {r["impl"]: r["ms"] for r in ok if (r["dtype"], r["mode"], r["T"]) == (dtype, mode, T)}
                sj = {k: v for k, v in sel.items() if k.startswith("sj-")}
                if "snn" in sel and sj:
                    best = min(sj, key=sj.get)
                    lines.append(f"{dtype} {mode} T={T}: snn {sel['snn']:.4f} ms vs best SpikingJelly ({best}) {sj[best]:.4f} ms: "
                                 f"{sj[best] / sel['snn']:.1f}x faster")
    text = "\n".join(lines)
    print("\n" + text)
    with open(os.path.join(out_dir, "summary.txt"), "w") as f:
        f.write(text + "\n")
    plot(rows, os.path.join(out_dir, "timings.png"), header[0])


def plot(rows, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as error:
        print(f"no plot: matplotlib unavailable ({error})")
        return
    ok = [r for r in rows if r.get("status") == "ok"]
    dtypes = sorted({r["dtype"] for r in ok}, reverse=True)
    if not dtypes:
        return
    fig, axes = plt.subplots(len(dtypes), 2, figsize=(12, 4.5 * len(dtypes)), squeeze=False)
    impls = []
    for r in ok:
        if r["impl"] not in impls:
            impls.append(r["impl"])
    for i, dtype in enumerate(dtypes):
        for j, mode in enumerate(("fwd", "fwdbwd")):
            ax = axes[i][j]
            for impl in impls:
                pts = sorted((r["T"], r["ms"]) for r in ok if (r["dtype"], r["mode"], r["impl"]) == (dtype, mode, impl))
                if pts:
                    style = "-o" if impl.startswith("snn") else "--s" if impl.startswith("sj") else ":^"
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=impl)
            roof = sorted({(r["T"], r["roofline_ms"]) for r in rows if r.get("dtype") == dtype and r.get("mode") == mode and "roofline_ms" in r})
            if roof:
                ax.plot([p[0] for p in roof], [p[1] for p in roof], "k-", linewidth=2, alpha=0.4, label="roofline (copy bandwidth)")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("T")
            ax.set_ylabel("ms (median)")
            ax.set_title(f"{dtype} {'forward (no grad)' if mode == 'fwd' else 'forward + backward'}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    cuda_ok = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--device", default="cuda" if cuda_ok else "cpu", choices=["cuda", "cpu"])
    ap.add_argument("--dtypes", default="float32,float16")
    ap.add_argument("--T", default=None, help="comma list (default 8,16,32,64,128 on CUDA, 8,16,32 on the CPU)")
    ap.add_argument("--N", default=None, help="neurons per step (default 2**20 on CUDA, 2**16 on the CPU)")
    ap.add_argument("--impls", default="torch-eager,torch-compile,snn,snn-kernel," + ",".join("sj-" + i for i in SJ_IMPLS))
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile rows")
    ap.add_argument("--compile-max-T", type=int, default=32, help="torch.compile only for T <= this (compile time grows with T)")
    ap.add_argument("--compile-budget-s", type=float, default=150.0, help="stop compiling once this much time went to torch.compile")
    ap.add_argument("--no-sj", action="store_true", help="skip SpikingJelly")
    ap.add_argument("--sj-timeout-s", type=float, default=240.0, help="time limit of one SpikingJelly child process")
    ap.add_argument("--deadline-s", type=float, default=float("inf"),
                    help="timing stops starting rows after this many seconds (later rows: skipped); outputs are still written")
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--check-T", type=int, default=16)
    ap.add_argument("--check-N", type=int, default=4099, help="odd on purpose: SIMD tails and partial CUDA blocks")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-reps", type=int, default=None)
    ap.add_argument("--max-reps", type=int, default=200)
    ap.add_argument("--rep-budget-s", type=float, default=None, help="time spent on repetitions per row (default 0.3 s CUDA, 1 s CPU)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (snn's CPU kernels use the same number)")
    ap.add_argument("--sj-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cuda = args.device == "cuda"
    args.T = args.T or ("8,16,32,64,128" if cuda else "8,16,32")
    args.N = parse_ints(args.N)[0] if args.N else (1 << 20 if cuda else 1 << 16)
    args.min_reps = args.min_reps if args.min_reps is not None else (10 if cuda else 3)
    args.rep_budget_s = args.rep_budget_s if args.rep_budget_s is not None else (0.3 if cuda else 1.0)
    if args.threads:
        torch.set_num_threads(args.threads)
    if cuda and not cuda_ok:
        raise SystemExit("--device cuda: torch sees no CUDA device")
    if args.sj_child:
        sj_child(args)
        return 0
    if args.no_sj:
        args.impls = ",".join(i for i in args.impls.split(",") if not i.startswith("sj"))

    device = torch.device(args.device)
    out_dir = args.out_dir
    os.makedirs(out_dir, exist_ok=True)
    sys.path.insert(0, HERE)
    try:
        import snn_torch
        info = snn_torch.build_info()
        print(f"snn_torch: {info}")
        if cuda and not info["with_cuda"]:
            raise ImportError("snn_torch was built without CUDA")
    except ImportError as error:
        print(f"snn_torch unavailable ({error}): build it with bench/torch/build.sh; snn rows skipped")
        snn_torch = None
    print(f"device: {device_name(device)}; torch {torch.__version__}; CUDA {torch.version.cuda}; commit {git_commit()}")

    check_ok = None
    if not args.no_check and snn_torch is not None:
        check_ok = run_checks(snn_torch, device, parse_dtypes(args.dtypes), args.check_T, args.check_N, out_dir)
    if args.check_only:
        return 0 if check_ok else 1
    def save(rows, bandwidth):  # a run cut short still leaves its rows
        write_csv(os.path.join(out_dir, "timings.partial.csv"), csv_header(args, device, bandwidth, check_ok), rows)

    rows, bandwidth = time_all(args, snn_torch, device, out_dir, save)
    write_outputs(args, rows, bandwidth, device, out_dir, check_ok)
    return 0 if check_ok in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
