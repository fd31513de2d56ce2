#!/usr/bin/env bash
# snn setup: install what is missing, build, and run.
#
#   ./setup.sh demo   install dependencies, build the release preset, train the Fashion-MNIST CSNN example
#   ./setup.sh test   install dependencies, build + test the release and asan presets, then check
#                     the golden vectors ($SNN_GOLDEN_DIR, or ../shared/golden/sj beside the repo)
#   ./setup.sh torch  also install Debian's PyTorch, build the snn_torch extension (CPU) and
#                     check it against a plain torch loop (bench/torch/harness.py --check-only)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$REPO"

JOBS="$(nproc 2>/dev/null || echo 2)"
PACKAGES=(build-essential cmake libeigen3-dev libxsimd-dev doctest-dev libbenchmark-dev libhdf5-dev
          nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist python3)
# Only for `./setup.sh torch` (bench/torch): Debian's CPU PyTorch and matplotlib for its plots.
TORCH_PACKAGES=(python3-torch python3-matplotlib)
SCRIPT_START=$SECONDS
SECTION_NAME=""
SECTION_START=0

usage() {
    echo "usage: $0 demo|test|torch" >&2
    exit 2
}

end_section() {
    if [[ -n "$SECTION_NAME" ]]; then
        echo "--- ${SECTION_NAME}: done in $((SECONDS - SECTION_START)) s"
        SECTION_NAME=""
    fi
}

section() {
    end_section
    SECTION_NAME="$1"
    SECTION_START=$SECONDS
    echo
    echo "=============================================================================="
    echo "=== $1"
    echo "=============================================================================="
}

# On any failure (set -e), say where it happened.
on_exit() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then
        echo >&2
        echo "*** setup.sh: FAILED (exit ${rc})${SECTION_NAME:+ in section: ${SECTION_NAME}}" \
             "after $((SECONDS - SCRIPT_START)) s" >&2
    fi
}
trap on_exit EXIT

install_dependencies() {
    section "dependencies"
    if ! command -v dpkg >/dev/null 2>&1; then
        echo "dpkg not found: not a Debian-like system; install these yourself: ${PACKAGES[*]}"
        return 0
    fi
    local missing=() pkg status
    for pkg in "${PACKAGES[@]}"; do
        status="$(dpkg -s "$pkg" 2>/dev/null || true)"
        if [[ "$status" != *"Status: install ok installed"* ]]; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "all ${#PACKAGES[@]} packages installed"
        return 0
    fi
    echo "missing: ${missing[*]}"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "not root and sudo not found: install these yourself: ${missing[*]}" >&2
            return 1
        fi
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

# build_preset <preset>: configure and build one CMake preset.
build_preset() {
    section "configure: $1"
    cmake --preset "$1"
    section "build: $1 (-j${JOBS})"
    cmake --build --preset "$1" -j "$JOBS"
}

# test_preset <preset>: run one preset's ctest.
test_preset() {
    section "test: $1"
    ctest --preset "$1" --output-on-failure -j "$JOBS"
}

golden_check() {
    local dir=""
    if [[ -n "${SNN_GOLDEN_DIR:-}" ]]; then
        dir="$SNN_GOLDEN_DIR"
        if [[ ! -d "$dir" ]]; then
            section "golden vectors"
            echo "SNN_GOLDEN_DIR=${dir} is not a directory" >&2
            return 1
        fi
    elif [[ -d "$(dirname "$REPO")/shared/golden/sj" ]]; then
        dir="$(dirname "$REPO")/shared/golden/sj"
    else
        echo
        echo "(no golden vectors: set SNN_GOLDEN_DIR or put shared/golden/sj beside the repo)"
        return 0
    fi

    local tool="build/release/tools/snn-golden"
    if [[ ! -x "$tool" ]]; then
        if [[ ! -f tools/snn_golden.cpp ]]; then
            section "golden vectors"
            echo "SKIPPED: tools/snn_golden.cpp does not exist yet"
            return 0
        fi
        section "golden vectors"
        echo "${tool} was not built" >&2
        return 1
    fi
    local backend isa
    for backend in scalar simd; do
        section "golden vectors: ${dir} --backend ${backend}"
        "$tool" "$dir" --backend "$backend"
    done
    # The Lynxi float16 set beside it (or $SNN_GOLDEN_LYNXI_DIR), scalar and SIMD.
    local lynxi="${SNN_GOLDEN_LYNXI_DIR:-$(dirname "$dir")/lynxi}"
    if [[ -d "$lynxi" ]]; then
        for backend in scalar simd; do
            section "golden vectors: ${lynxi} --backend ${backend}"
            "$tool" "$lynxi" --backend "$backend"
        done
    fi
    # The Lava / Loihi set beside the SpikingJelly one.
    local lava_dir
    lava_dir="$(dirname "$REPO")/shared/golden/lava"
    if [[ -d "$lava_dir" ]]; then
        for backend in scalar simd; do
            section "golden vectors: ${lava_dir} --backend ${backend}"
            "$tool" "$lava_dir" --backend "$backend"
        done
    fi
    # Every compiled instruction set, not only the best one, and the sanitizer build too.
    for isa in sse2 avx2 avx512; do
        if "$tool" "$dir" --isa "$isa" > /tmp/snn-golden-$$.txt 2>&1; then
            section "golden vectors: ${dir} --isa ${isa}"
            tail -n 1 /tmp/snn-golden-$$.txt
        elif grep -q "isa" /tmp/snn-golden-$$.txt && ! grep -q "failed" /tmp/snn-golden-$$.txt; then
            echo "(--isa ${isa}: not available here)"
        else
            cat /tmp/snn-golden-$$.txt
            rm -f /tmp/snn-golden-$$.txt
            return 1
        fi
    done
    rm -f /tmp/snn-golden-$$.txt
    if [[ -x build/asan/tools/snn-golden ]]; then
        section "golden vectors under ASan+UBSan: ${dir} --backend simd"
        build/asan/tools/snn-golden "$dir" --backend simd
    fi
}

[[ $# -eq 1 ]] || usage
case "$1" in
    demo)
        install_dependencies
        build_preset release
        section "demo: snn-example-fashion-mnist-csnn (trains a CSNN on Fashion-MNIST: CUDA when a GPU is present, else the CPU)"
        example="build/release/examples/snn-example-fashion-mnist-csnn"
        if [[ ! -x "$example" ]]; then
            echo "${example} was not built (is examples/fashion_mnist_csnn.cpp there, and Eigen found?)" >&2
            false
        fi
        mkdir -p build/demo
        "$example" --out build/demo
        echo "curves: build/demo/csnn_curves.svg; model: build/demo/csnn_manifest.txt (+ .npy)"
        ;;
    test)
        install_dependencies
        build_preset release
        test_preset release
        build_preset asan
        test_preset asan
        golden_check
        ;;
    torch)
        PACKAGES+=("${TORCH_PACKAGES[@]}")
        install_dependencies
        section "build: bench/torch (snn_torch, CPU)"
        PYTHON=/usr/bin/python3 SNN_TORCH_CUDA=0 MAX_JOBS="$JOBS" bench/torch/build.sh
        section "check: bench/torch/harness.py --device cpu --check-only"
        /usr/bin/python3 bench/torch/harness.py build/torch/check --device cpu --check-only
        ;;
    *)
        usage
        ;;
esac
end_section
echo
echo "=== setup.sh $1: OK in $((SECONDS - SCRIPT_START)) s"
