#!/usr/bin/env bash
# Builds and checks the CUDA backend on a GPU machine in one go:
#   cuda/run_on_gpu.sh [GOLDEN_DIR] [OUT_DIR] [LYNXI_GOLDEN_DIR]
# configure (preset cuda) + build, CUDA tests (parity with the CPU reference, determinism,
# graph capture, 2^31-element indexing), snn-golden --backend cuda on GOLDEN_DIR (default
# ../shared/golden/sj, else the vendored subset), compute-sanitizer memcheck and racecheck,
# then the kernel benchmark (with SpikingJelly's anchor times when $SNN_ANCHOR or
# ../shared/reference/anchor-bench-sj-lif-h200.csv exists). Logs and the benchmark CSV go to
# OUT_DIR (default build/cuda/out).
# Lynxi float16: snn_lynxi_cuda_tests, snn-golden LYNXI_GOLDEN_DIR --backend cuda (default
# .deps/golden_lynxi, else ../shared/golden/lynxi, else the vendored subset), memcheck, snn-bench-lynxi.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
golden="${1:-../shared/golden/sj}"
[[ -d "$golden" ]] || golden="tests/data/golden/sj"
out="${2:-build/cuda/out}"
mkdir -p "$out"
status=0
step() { echo; echo "=== $*"; }
run() { "$@" || { echo "*** FAILED: $*"; status=1; }; }

step "device"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
step "configure + build"
run cmake --preset cuda > "$out/configure.txt" 2>&1 || tail -30 "$out/configure.txt"
run cmake --build --preset cuda -j"$(nproc)" --target snn_cuda_tests snn_lynxi_cuda_tests snn-golden snn-bench-cuda snn-bench-lynxi snn-bench-lava-cuda snn_synapse_cuda_tests snn-bench-layer-cuda > "$out/build.txt" 2>&1 || tail -40 "$out/build.txt"
bin=build/cuda
step "CUDA tests"; run "$bin/cuda/snn_cuda_tests" 2>&1 | tee "$out/cuda_tests.txt" | tail -15
step "CUDA tests: 2^31 elements"; SNN_CUDA_BIG=1 run "$bin/cuda/snn_cuda_tests" -tc="*2^31*" 2>&1 | tail -4
step "snn-golden $golden --backend cuda"; run "$bin/tools/snn-golden" "$golden" --backend cuda 2>&1 | tee "$out/golden_cuda.txt" | tail -5
lynxi="${3:-${SNN_GOLDEN_LYNXI_DIR:-.deps/golden_lynxi}}"; [[ -d "$lynxi" ]] || lynxi="../shared/golden/lynxi"; [[ -d "$lynxi" ]] || lynxi="tests/data/golden/lynxi"
step "Lynxi: CUDA tests, snn-golden $lynxi --backend cuda, memcheck, benchmark"
run "$bin/cuda/snn_lynxi_cuda_tests" 2>&1 | tee "$out/lynxi_cuda_tests.txt" | tail -4
run "$bin/tools/snn-golden" "$lynxi" --backend cuda 2>&1 | tee "$out/golden_lynxi_cuda.txt" | tail -5
run compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/tools/snn-golden" tests/data/golden/lynxi --backend cuda 2>&1 | tail -3 | tee "$out/memcheck_lynxi.txt"
run "$bin/bench/snn-bench-lynxi" 2>&1 | tee "$out/bench_lynxi.txt"
lava_golden=".deps/golden_lava"; [[ -d "$lava_golden" ]] || lava_golden="tests/data/golden/lava"
step "snn-golden $lava_golden --backend cuda (Loihi)"; run "$bin/tools/snn-golden" "$lava_golden" --backend cuda 2>&1 | tee "$out/golden_lava_cuda.txt" | tail -5
step "compute-sanitizer memcheck (golden subsets, determinism, graph)"
run compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/tools/snn-golden" tests/data/golden/lava --backend cuda 2>&1 | tail -3 | tee "$out/memcheck_lava.txt"
run compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/tools/snn-golden" tests/data/golden/sj --backend cuda 2>&1 | tail -3 | tee "$out/memcheck.txt"
run compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/cuda/snn_cuda_tests" -tc="*same bits*,*graph*,*workspace*,*spikes as dtype*,*bfloat16*,*recompute*" 2>&1 | tail -3 | tee -a "$out/memcheck.txt"
step "compute-sanitizer racecheck"
run compute-sanitizer --tool racecheck --error-exitcode 9 "$bin/cuda/snn_cuda_tests" -tc="*same bits*,*graph*,*spikes as dtype*,*recompute*" 2>&1 | tail -3 | tee "$out/racecheck.txt"
# SpikingJelly's anchor numbers (same GPU model) for the speed-up column, when present.
anchor="${SNN_ANCHOR:-../shared/reference/anchor-bench-sj-lif-h200.csv}"
anchor_args=()
[[ -f "$anchor" ]] && anchor_args=(--anchor "$anchor")
step "benchmark"; run "$bin/cuda/snn-bench-cuda" --tuning "${anchor_args[@]}" --csv "$out/bench_cuda.csv" 2>&1 | tee "$out/bench_cuda.txt"
step "benchmark: Loihi integer CUBA vs float32 LIF"; run "$bin/cuda/snn-bench-lava-cuda" --csv "$out/bench_lava_cuda.csv" 2>&1 | tee "$out/bench_lava_cuda.txt"
step "synapse ops vs CPU, memcheck, layer benchmark (Linear + LIF)"; run "$bin/cuda/snn_synapse_cuda_tests" 2>&1 | tee "$out/synapse_cuda_tests.txt" | tail -4; run compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/cuda/snn_synapse_cuda_tests" 2>&1 | tail -3 | tee "$out/memcheck_synapse.txt"; layer_anchor=../shared/reference/anchor-bench-sj-on-config-h200.csv; layer_args=(); [[ -f "$layer_anchor" ]] && layer_args=(--anchor "$layer_anchor"); run "$bin/cuda/snn-bench-layer-cuda" "${layer_args[@]}" --csv "$out/bench_layer_cuda.csv" 2>&1 | tee "$out/bench_layer_cuda.txt"
echo; echo "=== run_on_gpu.sh: $([[ $status -eq 0 ]] && echo OK || echo FAILED)"
exit $status
