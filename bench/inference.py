"""The coefficient table's cost as a multiple of one loss + gradient pass, from one run.

    python bench/inference.py                        # d = 8, 64, 512; n*d = 2**24, float64
    python bench/inference.py --dims 64 --cov-types nonrobust HC0 cluster

For each d: the median time (of --repeat, after a warm-up) of one loss + gradient pass as
the estimator runs it (the yardstick), and of ``coef_table`` for each covariance type
(validation of X and y, the Hessian pass, the meat's pass where the type has one, the
p x p algebra). Target: <= 3 passes at d <= 512.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np

from gpulogreg import LogisticRegression
from gpulogreg.benchmark import machine, timer
from gpulogreg.loss.objective import LogisticLoss

TARGET = 3.0  # coef_table / one loss + gradient pass, at d <= 512


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, nargs="+", default=[8, 64, 512])
    parser.add_argument("--elements", type=int, default=1 << 24, help="n*d")
    parser.add_argument("--cov-types", nargs="+", default=["nonrobust", "HC0", "cluster"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"# coef_table vs one loss + gradient pass; {machine()}; "
          f"{platform.processor() or platform.machine()}; float64, n*d = {args.elements}; "
          f"median of {args.repeat}")
    print("| d | n | pass ms | " + " | ".join(f"{c} ms (x pass)" for c in args.cov_types)
          + " | target |")
    print("|---|---|---|" + "---|" * len(args.cov_types) + "---|")
    median_ms = timer(np)
    for d in args.dims:
        n = args.elements // d
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, d))
        y = (X @ (rng.normal(size=d) / np.sqrt(d)) + rng.logistic(size=n) > 0).astype(int)
        groups = rng.integers(0, 100, n)
        model = LogisticRegression(C=np.inf).fit(X, y)
        loss = LogisticLoss(X, y.astype(float), C=np.inf)
        x = np.append(model.coef_[0], model.intercept_)
        one = median_ms(lambda: loss.loss_gradient(x), 1, args.repeat)
        cells = []
        for cov_type in args.cov_types:
            extra = {"groups": groups} if cov_type == "cluster" else {}
            ms = median_ms(lambda: model.coef_table(X, y, cov_type=cov_type, **extra), 1,
                           args.repeat)
            cells.append(f"{ms:.1f} ({ms / one:.2f}x)")
        print(f"| {d} | {n:,} | {one:.2f} | " + " | ".join(cells)
              + f" | <= {TARGET:g}x at d <= 512 |")


if __name__ == "__main__":
    main()
