"""Multinomial passes and LogisticRegressionCV, every figure from one run (issue 15's tables).

    python bench/multiclass_cv.py                      # CPU: n = 1M, d = 64, float64
    python bench/multiclass_cv.py -n 200000 --skip-sklearn
    python bench/multiclass_cv.py --device cuda        # the same on CuPy (sklearn on the CPU)

The data are made where the fits run (CuPy's generator with --device cuda). Each table row
is printed as soon as it is measured.

1. One loss+gradient pass (and one Hessian-vector product) of the multinomial model with
   ``--classes`` classes against the binomial pass on the same X (median of ``--repeat``).
2. ``LogisticRegressionCV`` with ``--cs`` Cs x ``--folds`` folds (StratifiedKFold, accuracy,
   tol 1e-4, lbfgs) against one ``LogisticRegression`` fit of ours with the same solver and
   tol, and against scikit-learn's ``LogisticRegressionCV`` with the same grid and splits
   (unless ``--skip-sklearn``); whether both chose the same C.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings

import numpy as np

from gpulogreg import LogisticRegression, LogisticRegressionCV, benchmark
from gpulogreg.benchmark import timer
from gpulogreg.loss.models import Multinomial
from gpulogreg.loss.objective import LogisticLoss


def make_data(n, d, k, dtype, seed=0, xp=np):
    """``(X, y_bin, y_multi)`` in namespace ``xp``, made there (CuPy: on the GPU)."""
    if xp is np:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, d))
        X[:, 1:] += 0.5 * X[:, :1]  # correlated features, as real data have
        W = rng.normal(size=(d, k)) / np.sqrt(d)
        y_multi = np.argmax(X @ W + rng.gumbel(size=(n, k)), axis=1)
        y_bin = (X @ W[:, 0] + 0.3 + rng.logistic(size=n) > 0).astype(np.int64)
        return X.astype(dtype, copy=False), y_bin, y_multi
    rng = xp.random.default_rng(seed)  # the same model, from the device's generator
    X = rng.standard_normal((n, d), dtype=np.float64)
    X[:, 1:] += 0.5 * X[:, :1]
    W = rng.standard_normal((d, k), dtype=np.float64) / np.sqrt(d)
    gumbel = -xp.log(-xp.log(xp.clip(rng.random((n, k)), 1e-12, 1 - 1e-12)))
    y_multi = xp.argmax(X @ W + gumbel, axis=1)
    u = xp.clip(rng.random(n), 1e-12, 1 - 1e-12)
    y_bin = (X @ W[:, 0] + 0.3 + xp.log(u / (1 - u)) > 0).astype(np.int64)
    return X.astype(dtype, copy=False), y_bin, y_multi


def passes(xp, X, y_bin, y_multi, k, warmup, repeat):
    time_ms = timer(xp)
    rng = np.random.default_rng(1)
    d = X.shape[1]
    binary = LogisticLoss(X, xp.asarray(y_bin.astype(X.dtype)), C=1.0)
    multi = LogisticLoss(X, xp.asarray(y_multi.astype(X.dtype)), C=1.0, model=Multinomial(k))
    cb = xp.asarray(rng.normal(size=d + 1) / 8)
    cm = xp.asarray(rng.normal(size=(d + 1) * k) / 8)
    row = {"binary": time_ms(lambda: binary.loss_gradient(cb), warmup, repeat),
           "multi": time_ms(lambda: multi.loss_gradient(cm), warmup, repeat)}
    _, _, hb = binary.gradient_hessp(cb)
    _, _, hm = multi.gradient_hessp(cm)
    row["hessp binary"] = time_ms(lambda: float(hb(cb)[0]), warmup, repeat)
    row["hessp multi"] = time_ms(lambda: float(hm(cm)[0]), warmup, repeat)
    return row


def timed(fit):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit()
    return time.perf_counter() - start, model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("-d", type=int, default=64)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--cs", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--solver", default="lbfgs")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        if not benchmark.gpu_available():
            sys.exit(f"--device cuda: {benchmark.gpu_status()[1]}")
        import cupy as xp
    else:
        xp = np
    X, y_bin, y_multi = make_data(args.n, args.d, args.classes, args.dtype, xp=xp)
    print(f"# gpulogreg multinomial and LogisticRegressionCV on {benchmark.device_name(xp)}; "
          f"{platform.processor() or platform.machine()}; numpy {np.__version__}"
          + (f", cupy {xp.__version__}" if xp is not np else "")
          + f"; n={args.n} d={args.d} {args.dtype}")

    row = passes(xp, X, y_bin, y_multi, args.classes, args.warmup, args.repeat)
    print(f"\n| pass (median of {args.repeat}) | binomial ms | multinomial k={args.classes} ms |"
          " ratio | target (issue 26) |\n|---|---|---|---|---|")
    for name, b, m in (("loss + gradient", row["binary"], row["multi"]),
                       ("Hessian-vector product", row["hessp binary"], row["hessp multi"])):
        print(f"| {name} | {b:.1f} | {m:.1f} | {m / b:.2f}x | "
              + (f"<= 2x: {'met' if m / b <= 2 else 'not met'} |" if name[0] == "l" else "- |"),
              flush=True)

    params = {"solver": args.solver, "tol": 1e-4, "max_iter": 1000}
    one, _ = timed(lambda: LogisticRegression(**params).fit(X, xp.asarray(y_bin)))  # warm-up
    one, single = timed(lambda: LogisticRegression(**params).fit(X, xp.asarray(y_bin)))
    print(f"\n| binomial, {args.cs} Cs x {args.folds} folds | seconds | x one fit of ours |"
          "\n|---|---|---|")
    print(f"| gpulogreg LogisticRegression, one fit ({int(single.n_iter_[0])} iterations) | "
          f"{one:.2f} | 1.00x |", flush=True)
    grid = {"Cs": args.cs, "cv": args.folds, "scoring": "accuracy", "l1_ratios": (0,),
            "use_legacy_attributes": False, **params}
    # warm-up (imports, kernel compilation, memory pools): a small grid on the same data
    timed(lambda: LogisticRegressionCV(**{**grid, "Cs": 2, "cv": 2}).fit(X, xp.asarray(y_bin)))
    cv_s, cv = timed(lambda: LogisticRegressionCV(**grid).fit(X, xp.asarray(y_bin)))
    print(f"| gpulogreg LogisticRegressionCV ({int(np.sum(cv.n_iter_))} iterations in all, "
          f"{int(np.max(cv.n_iter_))} at most, C_={cv.C_:.4g}) | {cv_s:.2f} | "
          f"{cv_s / one:.2f}x (target <= 5x: {'met' if cv_s / one <= 5 else 'not met'}) |",
          flush=True)
    if not args.skip_sklearn:
        from sklearn.linear_model import LogisticRegressionCV as SkCV

        X_host, y_host = benchmark.to_numpy(X), benchmark.to_numpy(y_bin)
        sk_s, sk = timed(lambda: SkCV(**grid).fit(X_host, y_host))
        print(f"| scikit-learn LogisticRegressionCV ({int(np.sum(sk.n_iter_))} iterations in "
              f"all, C_={sk.C_:.4g}) | {sk_s:.2f} | {sk_s / one:.2f}x |")
        print(f"\ngpulogreg / scikit-learn LogisticRegressionCV: {cv_s / sk_s:.2f}x (target <= "
              f"0.2x: {'met' if cv_s / sk_s <= 0.2 else 'not met'}); same C_: "
              f"{np.isclose(sk.C_, cv.C_)}")


if __name__ == "__main__":
    main()
