#!/usr/bin/env bash
# The one prepared GPU check (issue 23): correctness first, then every GPU table, in about
# 8 minutes on one H100/H200, each step under a time limit of its own so that a hang costs
# only its step. Run it on a machine with CuPy and a CUDA GPU, from the repository root:
#
#     bash bench/device_check.sh OUT_DIR
#
# It writes into OUT_DIR (and prints as it goes):
#   versions.txt           GPU (nvidia-smi), Python, NumPy, CuPy, scikit-learn, PyTorch
#   pytest_gpu.txt         python -m pytest -m gpu: every gpu-marked test, one-pass kernels
#                          against the general path and the reference included
#   passes.md              loss+gradient and Hessian-product passes against the floor (one read
#                          of X at the copy bandwidth of this run) for d in {8, 64, 512},
#                          float32 and float64, n*d = 2^30: ours two-pass, ours one-pass
#                          (switched on for the bench only), naive CuPy, PyTorch autograd;
#                          and the one-pass gradient's difference from the two-pass one
#   time_to_solution.md    time to a 1e-6 objective gap at n = 10^7, d = 64, float32: our
#                          solvers on CuPy, torch.optim.LBFGS on the same GPU, scikit-learn
#                          1.9's lbfgs on CuPy arrays (array_api_dispatch=True), and
#                          scikit-learn on the CPU
#   streaming.md           a host X streamed through the GPU against the pinned H2D bandwidth
#   cv.md                  LogisticRegressionCV (10 Cs x 5 folds) on CuPy against one fit
#   summary.txt            each step's exit status and seconds
# Targets (issue 23): one-pass loss+grad <= 1.10x the floor, hessp <= 1.15x (d in [8, 512]);
# time to solution >= 3x faster than PyTorch L-BFGS and scikit-learn on CuPy; streamed
# >= 0.9x the H2D bandwidth. The one-pass switch (gpulogreg.loss.cuda.ONE_PASS) is flipped
# in the code only where passes.md shows the kernels correct and faster.
set -uo pipefail
out="${1:?usage: bash bench/device_check.sh OUT_DIR}"
mkdir -p "$out"
cd "$(dirname "$0")/.."
export SCIPY_ARRAY_API=1  # scikit-learn's array API dispatch (its GPU lbfgs) needs it
export PYTHONUNBUFFERED=1
: > "$out/summary.txt"

step() {  # step NAME SECONDS FILE COMMAND...
    local name=$1 limit=$2 file=$3 start rc
    shift 3
    start=$(date +%s)
    echo "== $name (limit ${limit} s) -> $file"
    timeout "$limit" "$@" > >(tee "$out/$file") 2>&1
    rc=$?
    echo "$name rc=$rc $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
}

pip install -q --no-deps --no-build-isolation -e . > "$out/install.txt" 2>&1 \
    || { echo "install failed: see $out/install.txt"; exit 1; }
{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv
    python3 -c "import sys, numpy, cupy, sklearn; print(sys.version.split()[0], 'numpy',
numpy.__version__, 'cupy', cupy.__version__, 'sklearn', sklearn.__version__)"
    python3 -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())" \
        || echo "torch: not installed"
} > "$out/versions.txt" 2>&1
cat "$out/versions.txt"

step "pytest -m gpu" 180 pytest_gpu.txt python3 -m pytest -m gpu -q -p no:cacheprovider -rfE
step "passes vs floor" 80 passes.md python3 bench/gradient_floor.py --device cuda \
    --dims 8 64 512 --elements $((1 << 30)) --warmup 5 --repeat 20
step "time to solution" 120 time_to_solution.md python3 bench/time_to_solution.py \
    --device cuda -n 10000000 -d 64 --dtype float32 --repeat 1
step "streaming" 45 streaming.md python3 bench/streaming.py --gib 4 --chunk-mib 64 256 \
    --repeat 3
step "cross-validation" 60 cv.md python3 bench/multiclass_cv.py --device cuda -n 1000000 \
    -d 64 --dtype float32 --repeat 1 --skip-sklearn
cat "$out/summary.txt"
