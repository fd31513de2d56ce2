#!/usr/bin/env bash
# Builds the snn_torch extension ahead of time (nothing is compiled at import):
#   1. snn's CPU dispatch table as a position-independent static library (CMake, needs xsimd;
#      a carried prefix at <repo>/.deps/usr is used when present);
#   2. the Python module snn_torch/_C*.so next to snn_torch/__init__.py (setup.py through
#      torch.utils.cpp_extension), with the CUDA kernels when torch has CUDA and nvcc exists.
#
#   bench/torch/build.sh                  # PYTHON=python3, SNN_TORCH_CUDA=auto
#   PYTHON=/usr/bin/python3 SNN_TORCH_CUDA=0 bench/torch/build.sh
# Then: PYTHONPATH=bench/torch python3 -c 'import snn_torch'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${PYTHON:-python3}"
build="${SNN_TORCH_BUILD_DIR:-$root/build/torch}"
jobs="${MAX_JOBS:-$(nproc)}"

# The static library must use torch's std::string ABI (snn::invalid_argument carries one).
abi="$("$py" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')"
cmake_args=(-S "$here" -B "$build/dispatch" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS=-D_GLIBCXX_USE_CXX11_ABI=$abi")
[[ -d "$root/.deps/usr" ]] && cmake_args+=("-DCMAKE_PREFIX_PATH=$root/.deps/usr")
command -v ninja > /dev/null && [[ ! -f "$build/dispatch/CMakeCache.txt" ]] && cmake_args+=(-G Ninja)

echo "=== snn_torch: CPU dispatch library ($build/dispatch)"
mkdir -p "$build"
if cmake "${cmake_args[@]}" > "$build/dispatch-configure.log" 2>&1 && cmake --build "$build/dispatch" -j"$jobs"; then
    lib="$(sed -n 's/^library=//p' "$build/dispatch/snn_torch_dispatch.txt")"
    echo "    $(sed -n 's/^isas=//p' "$build/dispatch/snn_torch_dispatch.txt" | tr ';' ' ')"
elif [[ "${SNN_TORCH_REQUIRE_CPU:-0}" == 1 ]]; then
    tail -30 "$build/dispatch-configure.log"
    exit 1
else
    # Typically xsimd is missing (a GPU machine without the carried .deps prefix): build the
    # CUDA kernels anyway; CPU tensors then raise a ValueError saying so.
    tail -5 "$build/dispatch-configure.log"
    echo "*** CPU dispatch library not built: snn_torch gets no CPU kernels (SNN_TORCH_REQUIRE_CPU=1 makes this an error)"
    lib=none
fi

echo "=== snn_torch: Python module ($("$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'))"
cd "$here"
SNN_TORCH_DISPATCH_LIB="$lib" SNN_TORCH_BUILD_DIR="$build" MAX_JOBS="$jobs" \
    "$py" setup.py -q build_ext --inplace --build-temp "$build/ext"
rm -rf "$here/build" "$here"/*.egg-info  # setuptools leftovers; objects live in $build/ext
PYTHONPATH="$here" "$py" -c 'import snn_torch; print("=== snn_torch:", snn_torch.build_info())'
