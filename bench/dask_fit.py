"""Dask: gpulogreg vs dask_ml.linear_model.LogisticRegression (lbfgs) on one LocalCluster.

    python bench/dask_fit.py                       # n=200_000, d=32, 2 workers x 1 thread
    python bench/dask_fit.py -n 1000000 --chunks 8

Same data, persisted on the same workers, and gpulogreg/_bench.py's time-to-solution sweep:
a method's time is that of the loosest tol whose float64 objective is within --gap (1e-6)
relative of the optimum. C is large (1e6) because
dask_ml adds its intercept as a (penalised) column: with a negligible penalty both
libraries minimise the same objective.
"""

from __future__ import annotations

import argparse

import numpy as np

from gpulogreg import LogisticRegression
from gpulogreg.benchmark import print_table, time_to_gap
from gpulogreg.loss.objective import LogisticLoss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200_000)
    parser.add_argument("-d", type=int, default=32)
    parser.add_argument("--chunks", type=int, default=4, help="row chunks")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--C", type=float, default=1e6)
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    import distributed
    from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d))
    X[:, 1:] += 0.5 * X[:, :1]
    y = (X @ (rng.normal(size=args.d) / np.sqrt(args.d)) + 0.3 + rng.logistic(size=args.n)
         > 0).astype(np.float64)
    loss = LogisticLoss(X, y, C=args.C)
    f_star = loss.loss(np.append(*(lambda m: (m.coef_[0], m.intercept_))(
        LogisticRegression(C=args.C, solver="newton-cg", tol=1e-10).fit(X, y))))

    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    rows = -(-args.n // args.chunks)
    Xd, yd = client.persist([da.from_array(X, chunks=(rows, args.d)),
                             da.from_array(y, chunks=(rows,))])
    distributed.wait([Xd, yd])

    def ours(tol):
        m = LogisticRegression(C=args.C, tol=tol, max_iter=10_000).fit(Xd, yd)
        return m.coef_[0], m.intercept_[0]

    def dask_ml(tol):
        m = DaskMLLogisticRegression(C=args.C, solver="lbfgs", tol=tol, max_iter=10_000)
        m.fit(Xd, yd)
        return np.asarray(m.coef_).ravel(), float(np.asarray(m.intercept_).ravel()[0])

    results = {name: time_to_gap(fit, lambda c, b: loss.loss(np.append(c, b)), f_star,
                                 args.gap, args.repeat)
               for name, fit in (("gpulogreg lbfgs (dask)", ours), ("dask_ml lbfgs", dask_ml))}
    client.close()
    cluster.close()

    print(f"# Dask LocalCluster {args.workers} workers x 1 thread; n={args.n} d={args.d} "
          f"{args.chunks} row chunks (persisted); C={args.C:g}; time to objective within "
          f"{args.gap:g} of f* = {f_star:.15g}; dask {dask.__version__}; median of {args.repeat}")
    print_table(results, "dask_ml lbfgs")


if __name__ == "__main__":
    main()
