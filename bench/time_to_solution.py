"""Time to solution: wall time to reach an objective within ``--gap`` (1e-6) relative of the
float64 optimum, for each gpulogreg solver and the baselines, measured in one run.

    python bench/time_to_solution.py                      # CPU: n=1e6, d=64, float64
    python bench/time_to_solution.py --device cuda         # + torch.optim.LBFGS when installed

The optimum f* is the best objective any method reaches with a tight tolerance; the
sweep over tol is bench/_protocol.py's (no early stop credited, no tight tol charged).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout too

from _protocol import print_table, time_to_gap  # noqa: E402
from gpulogreg import LogisticRegression, _backend  # noqa: E402
from gpulogreg._loss import LogisticLoss  # noqa: E402


def make_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 1:] += 0.5 * X[:, :1]  # correlated features, as real data have
    w = rng.normal(size=d) / np.sqrt(d)
    y = (X @ w + 0.3 + rng.logistic(size=n) > 0).astype(np.float64)
    return X, y


def sklearn_fit(X, y, C, tol):
    from sklearn.linear_model import LogisticRegression as Sk

    m = Sk(C=C, tol=tol, max_iter=100_000).fit(X, y)
    return m.coef_[0], m.intercept_[0]


def ours_fit(solver, xp):
    def fit(X, y, C, tol):
        m = LogisticRegression(C=C, solver=solver, tol=tol, max_iter=100_000).fit(X, y)
        return _backend.to_numpy(m.coef_[0]), float(_backend.to_numpy(m.intercept_)[0])
    return fit


def torch_lbfgs_fit(X, y, C, tol):
    """A plain torch.optim.LBFGS loop on the same objective (strong-Wolfe line search)."""
    import torch

    Xt, yt = torch.from_dlpack(X), torch.from_dlpack(y)
    n, d = Xt.shape
    w = torch.zeros(d, dtype=torch.float64, device=Xt.device, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, device=Xt.device, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=100_000, tolerance_grad=tol,
                            tolerance_change=0.0, history_size=10,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            Xt @ w.to(Xt.dtype) + b.to(Xt.dtype), yt) + (w @ w) / (2 * C * n)
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().cpu().numpy(), float(b.detach().cpu())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("-d", type=int, default=64)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--solvers", nargs="+", default=["lbfgs", "newton-cg", "gd"],
                        help="gpulogreg solvers to time (gd is slow on correlated data)")
    args = parser.parse_args(argv)

    X, y = make_data(args.n, args.d)
    loss64 = LogisticLoss(X, y, C=args.C)

    def objective(coef, intercept):
        return loss64.loss(np.append(coef, intercept))

    methods = {}
    if args.device == "cuda":
        if not _backend.gpu_available():
            sys.exit("--device cuda: CuPy with a CUDA device is not available")
        import cupy as xp

        Xd, yd = xp.asarray(X), xp.asarray(y)
        sync = xp.cuda.Device().synchronize
        for solver in args.solvers:
            methods[f"gpulogreg {solver} (cupy)"] = (ours_fit(solver, xp), Xd, yd)
        try:
            import torch  # noqa: F401

            methods["torch.optim.LBFGS (cuda)"] = (torch_lbfgs_fit, Xd, yd)
        except ImportError:
            pass
    else:
        sync = lambda: None  # noqa: E731
        for solver in args.solvers:
            methods[f"gpulogreg {solver} (numpy)"] = (ours_fit(solver, np), X, y)
    methods["scikit-learn lbfgs (cpu)"] = (sklearn_fit, X, y)

    f_star = min(objective(*ours_fit("newton-cg", np)(X, y, args.C, 1e-10)),
                 objective(*sklearn_fit(X, y, args.C, 1e-10)))
    print(f"# time to objective within {args.gap:g} of f* = {f_star:.15g}; n={args.n} d={args.d} "
          f"C={args.C} float64; device {args.device}; numpy {np.__version__}")
    results = {name: time_to_gap(lambda tol, fit=fit, Xm=Xm, ym=ym: fit(Xm, ym, args.C, tol),
                                 objective, f_star, args.gap, args.repeat, sync)
               for name, (fit, Xm, ym) in methods.items()}
    print_table(results, "scikit-learn lbfgs (cpu)")


if __name__ == "__main__":
    main()
