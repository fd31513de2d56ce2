"""Builds snn_torch._C ahead of time (never at import). Run through build.sh, which first builds
the CPU dispatch library this links; directly:

    SNN_TORCH_DISPATCH_LIB=/path/libsnn_torch_dispatch.a python3 setup.py build_ext --inplace

Environment:
    SNN_TORCH_DISPATCH_LIB  the static library from bench/torch/CMakeLists.txt (required)
    SNN_TORCH_CUDA          auto (default: when torch has CUDA and nvcc is found), 1, 0
    SNN_TORCH_BUILD_DIR     where generated sources go (default: <repo>/build/torch)
    TORCH_CUDA_ARCH_LIST    CUDA targets (default: the visible GPUs, else "9.0+PTX")
"""
import os
import pathlib
import sys

from setuptools import setup
import torch
from torch.utils import cpp_extension

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CSRC = HERE / "csrc"
BUILD = pathlib.Path(os.environ.get("SNN_TORCH_BUILD_DIR", ROOT / "build" / "torch")).resolve()

PRECISIONS = {"f32": "snn::precision::f32", "f16_storage": "snn::precision::f16_storage"}
CHARGES = {
    "if_": "snn::charge::if_",
    "lif_decay_input": "snn::charge::lif<true>",
    "lif": "snn::charge::lif<false>",
    "plif_decay_input": "snn::charge::plif<true>",
    "plif": "snn::charge::plif<false>",
}


def want_cuda():
    choice = os.environ.get("SNN_TORCH_CUDA", "auto").lower()
    if choice in ("0", "off", "no", "false"):
        return False
    has = torch.version.cuda is not None and cpp_extension.CUDA_HOME is not None
    if choice in ("1", "on", "yes", "true"):
        if not has:
            sys.exit("SNN_TORCH_CUDA=1 but torch has no CUDA (torch.version.cuda is None) or nvcc was not found (CUDA_HOME)")
        return True
    return has


def generated_cuda_units():
    """One unit per (precision, charge): nvcc compiles them in parallel (ninja)."""
    gen = BUILD / "gen"
    gen.mkdir(parents=True, exist_ok=True)
    units = []
    for pname, ptype in PRECISIONS.items():
        for cname, ctype in CHARGES.items():
            path = gen / f"snn_torch_cuda_{pname}_{cname}.cu"
            text = f'#include "snn_torch_cuda.cuh"\nSNN_TORCH_CUDA_UNIT({pname}, {cname}, {ptype}, {ctype})\n'
            if not path.exists() or path.read_text() != text:  # unchanged files keep their objects
                path.write_text(text)
            units.append(str(path))
    return units


# SNN_TORCH_DISPATCH_LIB=none builds without the CPU kernels (CUDA only: for machines without
# xsimd); CPU tensors then raise a ValueError saying so.
dispatch_lib = os.environ.get("SNN_TORCH_DISPATCH_LIB")
if not dispatch_lib or (dispatch_lib != "none" and not pathlib.Path(dispatch_lib).is_file()):
    sys.exit("SNN_TORCH_DISPATCH_LIB must name libsnn_torch_dispatch.a (build it with bench/torch/build.sh) or be 'none'")
extra_objects = [] if dispatch_lib == "none" else [dispatch_lib]

include_dirs = [str(ROOT / "include"), str(CSRC)]
cxx_flags = ["-O2", "-Wall"] + ([] if dispatch_lib == "none" else ["-DSNN_TORCH_WITH_CPU_KERNELS=1"])
if int(torch.__version__.split(".")[0]) < 2:
    cxx_flags.append("-std=c++17")  # torch 1.x's default is C++14; snn needs 17 (torch 2 picks 17 or newer itself)
sources = [str(CSRC / "snn_torch.cpp")]
if want_cuda():
    if not os.environ.get("TORCH_CUDA_ARCH_LIST") and not torch.cuda.is_available():
        os.environ["TORCH_CUDA_ARCH_LIST"] = "9.0+PTX"  # H100/H200 plus PTX for newer GPUs
    sources += [str(CSRC / "snn_torch_cuda_table.cu")] + generated_cuda_units()
    extension = cpp_extension.CUDAExtension(
        "snn_torch._C",
        sources,
        include_dirs=include_dirs,
        define_macros=[("SNN_TORCH_WITH_CUDA", "1")],
        extra_compile_args={"cxx": cxx_flags + ["-DSNN_TORCH_WITH_CUDA=1"], "nvcc": ["-O3", "-Xcompiler=-Wall"]},
        extra_objects=extra_objects,
        extra_link_args=["-pthread"],
    )
    print("snn_torch: building with CUDA", torch.version.cuda, "for", os.environ.get("TORCH_CUDA_ARCH_LIST", "the visible GPUs"))
else:
    extension = cpp_extension.CppExtension(
        "snn_torch._C",
        sources,
        include_dirs=include_dirs,
        extra_compile_args={"cxx": cxx_flags},
        extra_objects=extra_objects,
        extra_link_args=["-pthread"],
    )
    print("snn_torch: building without CUDA (CPU kernels only)")

setup(
    name="snn_torch",
    version="0.1.0",
    packages=["snn_torch"],
    ext_modules=[extension],
    cmdclass={"build_ext": cpp_extension.BuildExtension},
)
