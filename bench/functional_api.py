"""The functional API's cost per call against one ``X @ w``, as ratios from one run.

    python bench/functional_api.py                       # d = 8 and 64, n*d = 2**24, float64
    python bench/functional_api.py --dims 64 --dtype float32

For each d: the median time (of --repeat, after warm-ups) of one ``X @ w`` (a single read of
X by BLAS: the yardstick), of ``gpulogreg.loss_gradient`` with its input checks (one more
pass over X for NaN/inf, and the labels' and weights' checks), with ``check_input=False``,
and of the loss's own pass as the estimator calls it (``LogisticLoss.loss_gradient``).
Targets (issue 26): ``check_input=False`` <= 1.25x ``X @ w`` at d = 64 and <= 2x at d = 8.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np

import gpulogreg
from gpulogreg.benchmark import timer
from gpulogreg.loss import cpu
from gpulogreg.loss.objective import LogisticLoss

TARGETS = {8: 2.0, 64: 1.25}  # issue 26: one check_input=False call / one X @ w


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--elements", type=int, default=1 << 24, help="n*d")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"# functional API per call vs one X @ w; {platform.processor() or platform.machine()}"
          f"; numpy {np.__version__}; {args.dtype}, n*d = {args.elements}; median of "
          f"{args.repeat}; compiled passes: {cpu.enabled()}")
    print("| d | n | X @ w ms | loss_gradient ms (x) | check_input=False ms (x) "
          "| estimator's pass ms (x) | target (check_input=False) |")
    print("|---|---|---|---|---|---|---|")
    median_ms = timer(np)
    for d in args.dims:
        n = args.elements // d
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, d)).astype(args.dtype)
        y = (rng.random(n) < 0.5).astype(args.dtype)
        w = rng.normal(size=d) / np.sqrt(d)
        wd = w.astype(args.dtype)
        matvec = median_ms(lambda: X @ wd, args.warmup, args.repeat)
        checked = median_ms(lambda: gpulogreg.loss_gradient(X, y, w, 0.1), args.warmup,
                            args.repeat)
        fast = median_ms(lambda: gpulogreg.loss_gradient(X, y, w, 0.1, check_input=False),
                         args.warmup, args.repeat)
        loss = LogisticLoss(X, y)
        x = np.append(w, 0.1)
        internal = median_ms(lambda: loss.loss_gradient(x), args.warmup, args.repeat)
        target = TARGETS.get(d)
        print(f"| {d} | {n} | {matvec:.2f} | {checked:.2f} ({checked / matvec:.2f}x) | "
              f"{fast:.2f} ({fast / matvec:.2f}x) | {internal:.2f} ({internal / matvec:.2f}x) | "
              + (f"<= {target}x: {'met' if fast / matvec <= target else 'not met'} |"
                 if target else "- |"))


if __name__ == "__main__":
    main()
