#!/usr/bin/env bash
# One call on a GPU machine: builds snn_torch (CPU dispatch library + CUDA extension), installs
# carried wheels (<repo>/.whl/*.whl, e.g. spikingjelly and loguru) when present, then checks
# snn against the plain torch loop and times everything for float32 and float16 on CUDA.
#
#   bench/torch/run_on_gpu.sh OUT_DIR [extra harness.py arguments, e.g. --compile-max-T 32]
#
# Writes under OUT_DIR: device.txt, build.log, harness.log, check.csv, timings.csv,
# timings.png, summary.txt. Meant to finish within about 6 minutes on an H200 (build ~1.5 min):
# torch.compile (the slow part) is limited to T <= 16 and 60 s, SpikingJelly's inductor path
# to T <= 16, each SpikingJelly child to 120 s, and the timing to 270 s (rows not started by
# then are reported as skipped); a hard limit of SNN_TORCH_TIMEOUT_S (default 480) seconds is
# the last resort (then only timings.partial.csv remains). Later arguments override these, e.g.
# --compile-max-T 32 --compile-budget-s 300 --deadline-s 900 (with SNN_TORCH_TIMEOUT_S=1200).
# At most 8 files land in OUT_DIR (the device tool returns no more). The commit is read from git, or from SNN_GIT_COMMIT
# where the tree has no .git.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: bench/torch/run_on_gpu.sh OUT_DIR [harness arguments]}"
shift
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
export PYTHONUNBUFFERED=1
py="${PYTHON:-python3}"
start=$SECONDS

echo "=== device"
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    "$py" -c 'import torch, platform; print("torch", torch.__version__, "cuda", torch.version.cuda, "python", platform.python_version(), "gpus", torch.cuda.device_count())'
    command -v nvcc > /dev/null && nvcc --version | tail -2
} 2>&1 | tee "$out/device.txt"

if compgen -G ".whl/*.whl" > /dev/null; then
    echo "=== carried wheels: $(ls .whl | tr '\n' ' ')"
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || echo "*** wheel install failed: SpikingJelly rows will be reported as skipped"
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi

echo "=== build (log: $out/build.log)"
if ! SNN_TORCH_CUDA=1 MAX_JOBS="$(nproc)" PYTHON="$py" bench/torch/build.sh > "$out/build.log" 2>&1; then
    tail -60 "$out/build.log"
    echo "=== run_on_gpu.sh: BUILD FAILED after $((SECONDS - start)) s"
    exit 1
fi
grep "^=== snn_torch:" "$out/build.log" | tail -1
echo "    build took $((SECONDS - start)) s"

echo "=== check + timing (log: $out/harness.log)"
status=0
timeout "${SNN_TORCH_TIMEOUT_S:-480}" "$py" bench/torch/harness.py "$out" --device cuda --dtypes float32,float16 \
    --compile-max-T 16 --compile-budget-s 60 --sj-timeout-s 120 --deadline-s 270 "$@" 2>&1 | tee "$out/harness.log" || status=$?
[[ -f "$out/timings.partial.csv" ]] && echo "*** harness stopped early: rows so far in $out/timings.partial.csv"
echo "=== run_on_gpu.sh: $([[ $status -eq 0 ]] && echo OK || echo "FAILED ($status)") after $((SECONDS - start)) s"
exit $status
