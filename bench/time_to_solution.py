"""Time to solution: wall time to reach an objective within ``--gap`` (1e-6) relative of the
float64 optimum, for each gpulogreg solver and its peers, every problem measured in one run.

    python bench/time_to_solution.py                         # the seven CPU problems below
    python bench/time_to_solution.py --problems 1Mx64 2Mx8   # some of them
    python bench/time_to_solution.py --device cuda -n 10000000 -d 64 --dtype float32

Peers on the CPU: scikit-learn lbfgs, newton-cholesky and newton-cg; torch.optim.LBFGS and
glum when installed (same objective: mean log-loss + ||w||^2 / (2 C n)). On ``--device cuda``
our solvers run on CuPy against torch.optim.LBFGS and scikit-learn 1.9's lbfgs on CuPy arrays
(``array_api_dispatch=True``) on the same GPU (and scikit-learn on the CPU). The optimum f* is the best objective of our newton-cholesky and scikit-learn's at
tol=1e-10, evaluated in float64 (float32 data are widened for it); the sweep over tol is
gpulogreg/_bench.py's (no early stop credited, no tight tol charged).

``mem`` is the peak of memory allocated during one fit (tracemalloc: NumPy, scikit-learn
and glum allocations; not PyTorch's) as a multiple of the bytes of X.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tracemalloc
import warnings

import numpy as np

from gpulogreg import LogisticRegression, benchmark
from gpulogreg.benchmark import time_to_gap
from gpulogreg.loss.objective import LogisticLoss

# issue 14's table: name -> (n, d, dtype)
PROBLEMS = {
    "1Mx64": (1_000_000, 64, "float64"),
    "1Mx64-f32": (1_000_000, 64, "float32"),
    "2Mx8": (2_000_000, 8, "float64"),
    "2Mx8-f32": (2_000_000, 8, "float32"),
    "100kx512": (100_000, 512, "float64"),
    "100kx512-f32": (100_000, 512, "float32"),
    "20kx2000": (20_000, 2000, "float64"),
}
OURS = ("lbfgs", "newton-cg", "newton-cholesky")
SKLEARN = ("lbfgs", "newton-cholesky", "newton-cg")


def make_data(n, d, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 1:] += 0.5 * X[:, :1]  # correlated features, as real data have
    w = rng.normal(size=d) / np.sqrt(d)
    y = (X @ w + 0.3 + rng.logistic(size=n) > 0).astype(np.float64)
    return X.astype(dtype, copy=False), y.astype(dtype)


def sklearn_fit(solver):
    def fit(X, y, C, tol):
        from sklearn.linear_model import LogisticRegression as Sk

        m = Sk(C=C, solver=solver, tol=tol, max_iter=100_000).fit(X, y)
        return m.coef_[0], m.intercept_[0]
    return fit


def ours_fit(solver):
    def fit(X, y, C, tol):
        m = LogisticRegression(C=C, solver=solver, tol=tol, max_iter=100_000).fit(X, y)
        return benchmark.to_numpy(m.coef_[0]), float(benchmark.to_numpy(m.intercept_)[0])
    return fit


def glum_fit(X, y, C, tol):
    """glum's GLM with the same objective: (1/2n) deviance = mean log-loss, and
    alpha (1 - l1_ratio)/2 ||w||^2 with alpha = 1/(C n)."""
    from glum import GeneralizedLinearRegressor

    m = GeneralizedLinearRegressor(family="binomial", alpha=1 / (C * X.shape[0]), l1_ratio=0,
                                   gradient_tol=tol, max_iter=100_000,
                                   scale_predictors=False).fit(X, y)
    return np.asarray(m.coef_, dtype=np.float64), float(m.intercept_)


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


def sklearn_array_api_fit(X, y, C, tol):
    """scikit-learn's lbfgs on the GPU: CuPy arrays under ``array_api_dispatch=True`` (set
    SCIPY_ARRAY_API=1 before Python starts, as scikit-learn asks)."""
    import sklearn
    from sklearn.linear_model import LogisticRegression as Sk

    with sklearn.config_context(array_api_dispatch=True):
        m = Sk(C=C, solver="lbfgs", tol=tol, max_iter=100_000).fit(X, y)
    return benchmark.to_numpy(m.coef_[0]), float(benchmark.to_numpy(m.intercept_)[0])


def installed(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def memory_growth(fit, X, y, C, tol):
    """Peak bytes allocated (tracemalloc) during one fit, relative to bytes(X)."""
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(X, y, C, tol)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / X.nbytes


def methods_for(device, Xm, solvers):
    """``{name: (fit, X, y)}`` for the methods to time on ``device`` (``Xm``: X and y there)."""
    out = {}
    if device == "cuda":
        for solver in solvers:
            out[f"ours {solver} (cupy)"] = (ours_fit(solver), *Xm)
        if installed("torch"):
            out["torch L-BFGS (cuda)"] = (torch_lbfgs_fit, *Xm)
        out["sklearn lbfgs (cupy, array API)"] = (sklearn_array_api_fit, *Xm)
        X, y = (a.get() for a in Xm)
    else:
        X, y = Xm
        for solver in solvers:
            out[f"ours {solver}"] = (ours_fit(solver), X, y)
        if installed("torch"):
            out["torch L-BFGS"] = (torch_lbfgs_fit, X, y)
    for solver in SKLEARN:
        out[f"sklearn {solver}"] = (sklearn_fit(solver), X, y)
    if device == "cpu" and installed("glum"):
        out["glum"] = (glum_fit, X, y)
    return out


def run_problem(name, n, d, dtype, args):
    X, y = make_data(n, d, dtype)
    X64, y64 = (X, y) if X.dtype == np.float64 else (X.astype(np.float64), y.astype(np.float64))
    loss64 = LogisticLoss(X64, y64, C=args.C)

    def objective(coef, intercept):
        return loss64.loss(np.append(np.asarray(coef, np.float64), intercept))

    f_star = min(objective(*ours_fit("newton-cholesky")(X64, y64, args.C, 1e-10)),
                 objective(*sklearn_fit("newton-cholesky")(X64, y64, args.C, 1e-10)))
    sync = lambda: None  # noqa: E731
    Xm = (X, y)
    if args.device == "cuda":
        import cupy

        Xm, sync = (cupy.asarray(X), cupy.asarray(y)), cupy.cuda.Device().synchronize
    rows = []
    for method, (fit, Xf, yf) in methods_for(args.device, Xm, args.solvers).items():
        tol, seconds, gap = time_to_gap(lambda tol, fit=fit, Xf=Xf, yf=yf: fit(Xf, yf, args.C,
                                                                                tol),
                                        objective, f_star, args.gap, args.repeat, sync)
        on_host = not hasattr(Xf, "device") or not benchmark.is_gpu(
            benchmark.get_namespace(X=Xf))
        mem = memory_growth(fit, Xf, yf, args.C, tol) if tol and on_host \
            and "torch" not in method else float("nan")
        rows.append((method, tol, seconds, gap, mem))
        print(f"  {name} {method}: tol {tol} {seconds:.3f} s gap {gap:.1e} mem {mem:.3f}x",
              file=sys.stderr, flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--problems", nargs="+", choices=sorted(PROBLEMS), default=None,
                        help="named problems (default: all seven; ignored with -n/-d)")
    parser.add_argument("-n", type=int, default=None)
    parser.add_argument("-d", type=int, default=None)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--solvers", nargs="+", default=list(OURS),
                        help="gpulogreg solvers to time (gd is slow on correlated data)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not benchmark.gpu_available():
        sys.exit("--device cuda: CuPy with a CUDA device is not available")
    if args.n or args.d:
        problems = {f"{args.n}x{args.d}": (args.n or 1_000_000, args.d or 64, args.dtype)}
    else:
        problems = {k: PROBLEMS[k] for k in (args.problems or PROBLEMS)}

    versions = [f"numpy {np.__version__}"]
    for module in ("sklearn", "torch", "glum"):
        if installed(module):
            versions.append(f"{module} {sys.modules[module].__version__}")
    cpu = platform.processor() or platform.machine()
    print(f"# time (s) to an objective within {args.gap:g} relative of the float64 optimum, "
          f"C={args.C}, median of {args.repeat}; {args.device} on {cpu}, "
          f"{len(os.sched_getaffinity(0))} cores; {', '.join(versions)}")
    print("# each cell: seconds (x the fastest peer), [peak memory growth / bytes(X)]")
    table = {name: run_problem(name, n, d, dtype, args)
             for name, (n, d, dtype) in problems.items()}
    methods = [m for m, *_ in next(iter(table.values()))]
    print("| problem | " + " | ".join(methods) + " | ours / fastest peer (target <= 0.5x) |")
    print("|---|" + "---|" * (len(methods) + 1))
    for name, rows in table.items():
        n, d, dtype = problems[name]
        peers = [s for m, _, s, _, _ in rows if not m.startswith("ours") and np.isfinite(s)]
        best = min(peers) if peers else float("nan")
        cells = [f"{s:.3f} ({s / best:.2f}x) [{mem:.2f}]" if tol else f"not reached ({gap:.0e})"
                 for _, tol, s, gap, mem in rows]
        ours = min((s for m, tol, s, _, _ in rows if m.startswith("ours") and tol),
                   default=float("nan"))
        verdict = f"{ours / best:.2f}x: {'met' if ours / best <= 0.5 else 'not met'}"
        print(f"| n={n:,} d={d} {dtype} | " + " | ".join(cells) + f" | {verdict} |")


if __name__ == "__main__":
    main()
