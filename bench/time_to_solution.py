"""Time to solution: wall time to reach an objective within ``--gap`` (1e-6) relative of the
float64 optimum, for each gpulogreg solver and its peers, every problem measured in one run.

    python bench/time_to_solution.py                         # the seven CPU problems below
    python bench/time_to_solution.py --problems 1Mx64 2Mx8   # some of them
    python bench/time_to_solution.py --device cuda -n 10000000 -d 64 --dtype float32

Peers on the CPU: scikit-learn lbfgs, newton-cholesky and newton-cg; torch.optim.LBFGS and
glum when installed (same objective: mean log-loss + ||w||^2 / (2 C n)). On ``--device cuda``
the data are made on the GPU, and our solvers run on CuPy against torch.optim.LBFGS and
scikit-learn 1.9's lbfgs on CuPy arrays (``array_api_dispatch=True``) on the same GPU, and
Snap ML's GPU solver where snapml imports.

``--cpu-rows m`` (10^6 by default on ``--device cuda``) moves the CPU peers (scikit-learn's
``--cpu-solvers``: lbfgs by default there) to a second problem, the first m rows of X, on
which our solvers are timed again (and no other): a 10^7-row problem then costs the CPU
seconds rather than minutes. ``--cpu-rows 0``: no CPU peers.

The optimum f* of a problem is the best objective of our newton-cholesky and (where n*d <=
``--cpu-ref-elements``) scikit-learn's at tol=1e-10, evaluated in float64 (float32 data are
widened for it; on the GPU with ``--device cuda``); the sweep over tol is
gpulogreg/benchmark.py's (no early stop credited, no tight tol charged). A method that fails
is reported as such, and the others are still timed.

Each method's line is printed as soon as it is measured (a run cut short keeps those); the
table of all problems follows at the end. ``mem`` is the peak of memory allocated during one
fit (tracemalloc: NumPy, scikit-learn and glum allocations; not PyTorch's) as a multiple of
the bytes of X (``--device cpu`` only).
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


def make_data(n, d, dtype="float64", seed=0, xp=np):
    """``(X, y)`` in namespace ``xp``, made there (CuPy: on the GPU, in seconds)."""
    if xp is np:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, d))
        X[:, 1:] += 0.5 * X[:, :1]  # correlated features, as real data have
        w = rng.normal(size=d) / np.sqrt(d)
        y = (X @ w + 0.3 + rng.logistic(size=n) > 0).astype(np.float64)
        return X.astype(dtype, copy=False), y.astype(dtype)
    rng = xp.random.default_rng(seed)  # the same model, from the device's generator
    X = rng.standard_normal((n, d), dtype=np.float64)
    X[:, 1:] += 0.5 * X[:, :1]
    w = rng.standard_normal(d, dtype=np.float64) / np.sqrt(d)
    u = xp.clip(rng.random(n), 1e-12, 1 - 1e-12)
    y = (X @ w + 0.3 + xp.log(u / (1 - u)) > 0).astype(dtype)  # logistic noise
    return X.astype(dtype, copy=False), y


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


def snapml_fit(X, y, C, tol):
    """Snap ML's LogisticRegression on the GPU (timed only where snapml imports:
    bench/device_check.sh installs it from a wheel in the tree). Its objective is taken to
    be the sum of the log-losses plus ``regularizer / 2 ||w||^2`` (``regularizer = 1 / C``),
    its intercept a constant feature regularized like the others: not checked against a
    run here; the "gap reached" column shows whether it reaches our optimum."""
    from snapml import LogisticRegression as Snap

    m = Snap(use_gpu=True, regularizer=1.0 / C, tol=tol, max_iter=100_000,
             fit_intercept=True).fit(benchmark.to_numpy(X), benchmark.to_numpy(y))
    return np.ravel(m.coef_).astype(np.float64), float(np.ravel(m.intercept_)[0])


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


def device_methods(device, X, y, solvers):
    """``{name: (fit, X, y)}`` of the methods that run where X is (on ``device``)."""
    where = " (cupy)" if device == "cuda" else ""
    out = {f"ours {solver}{where}": (ours_fit(solver), X, y) for solver in solvers}
    if installed("torch"):
        out["torch L-BFGS" + (" (cuda)" if device == "cuda" else "")] = (torch_lbfgs_fit, X, y)
    if device == "cuda":
        out["sklearn lbfgs (cupy, array API)"] = (sklearn_array_api_fit, X, y)
        if installed("snapml"):
            out["snapml (gpu)"] = (snapml_fit, X, y)
    return out


def cpu_methods(device, X, y, cpu_solvers):
    """``{name: (fit, X, y)}`` of the CPU peers, on host copies of X and y."""
    Xh, yh = benchmark.to_numpy(X), benchmark.to_numpy(y)
    out = {f"sklearn {solver}": (sklearn_fit(solver), Xh, yh) for solver in cpu_solvers}
    if device == "cpu" and installed("glum"):
        out["glum"] = (glum_fit, Xh, yh)
    return out


def optimum(X, y, C, xp, cpu_ref_elements):
    """``(objective, f*, note)``: the float64 objective on ``xp`` and the best objective of
    the references at tol=1e-10 (scikit-learn's only where n*d <= ``cpu_ref_elements``)."""
    X64 = X if X.dtype == np.float64 else X.astype(np.float64)
    y64 = y if y.dtype == np.float64 else y.astype(np.float64)
    loss64 = LogisticLoss(X64, y64, C=C)

    def objective(coef, intercept):
        coef = np.append(np.asarray(coef, np.float64), intercept)
        return float(loss64.loss(xp.asarray(coef)))

    refs = {"ours newton-cholesky": objective(*ours_fit("newton-cholesky")(X64, y64, C, 1e-10))}
    if X.size <= cpu_ref_elements:
        refs["sklearn newton-cholesky"] = objective(*sklearn_fit("newton-cholesky")(
            benchmark.to_numpy(X64), benchmark.to_numpy(y64), C, 1e-10))
    note = ", ".join(f"{k} {v:.12g}" for k, v in refs.items())
    if len(refs) == 1:
        note += f"; scikit-learn's skipped: n*d > --cpu-ref-elements {cpu_ref_elements}"
    return objective, min(refs.values()), note


def run_problem(name, X, y, methods, args, xp, sync):
    """Time every method on (X, y), printing each line as it is measured; the rows."""
    objective, f_star, note = optimum(X, y, args.C, xp, args.cpu_ref_elements)
    print(f"\n{name}: f* = {f_star:.12g} ({note})\n"
          "| problem | method | tol | seconds | gap reached | mem |\n|---|---|---|---|---|---|",
          flush=True)
    rows = []
    for method, (fit, Xf, yf) in methods.items():
        try:
            tol, seconds, gap = time_to_gap(
                lambda tol, fit=fit, Xf=Xf, yf=yf: fit(Xf, yf, args.C, tol),
                objective, f_star, args.gap, args.repeat, sync)
            mem = memory_growth(fit, Xf, yf, args.C, tol) \
                if tol and args.device == "cpu" and "torch" not in method else float("nan")
            cell = f"{tol} | {seconds:.3f} | {gap:.1e} | {mem:.3f}"
        except Exception as exc:  # noqa: BLE001 - reported; the other methods still run
            tol, seconds, gap, mem = None, float("nan"), float("nan"), float("nan")
            cell = f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]} | | |"
        rows.append((method, tol, seconds, gap, mem))
        print(f"| {name} | {method} | {cell} |", flush=True)
    return rows


def run(name, n, d, dtype, args):
    """One problem of the table: ``{problem name: (rows of X, timings)}``, two problems
    where ``--cpu-rows`` moves the CPU peers to the first rows."""
    xp, sync = np, lambda: None  # noqa: E731
    if args.device == "cuda":
        import cupy as xp

        sync = xp.cuda.Device().synchronize
    X, y = make_data(n, d, dtype, xp=xp)
    cpu_rows = args.cpu_rows if args.cpu_rows is not None else (
        1_000_000 if args.device == "cuda" else n)
    cpu_solvers = args.cpu_solvers or (["lbfgs"] if args.device == "cuda" else list(SKLEARN))
    methods = device_methods(args.device, X, y, args.solvers)
    if cpu_rows >= n:
        methods.update(cpu_methods(args.device, X, y, cpu_solvers))
    table = {name: (n, run_problem(name, X, y, methods, args, xp, sync))}
    if cpu_rows <= 0:
        print(f"# {name}: no CPU peers (--cpu-rows {cpu_rows})", flush=True)
    elif cpu_rows < n:
        Xs, ys = X[:cpu_rows], y[:cpu_rows]  # ours again, beside the CPU peers
        methods = {name: (fit, Xs, ys) for name, (fit, *_) in
                   device_methods(args.device, Xs, ys, args.solvers).items()
                   if name.startswith("ours")}
        methods.update(cpu_methods(args.device, Xs, ys, cpu_solvers))
        sub = f"{cpu_rows}x{d} (first rows, CPU peers)"
        table[sub] = (cpu_rows, run_problem(sub, Xs, ys, methods, args, xp, sync))
    return table


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
    parser.add_argument("--cpu-rows", type=int, default=None,
                        help="the CPU peers on the first CPU_ROWS rows, a problem of their own "
                             "(default: 10^6 on cuda, all rows on cpu; 0: no CPU peers)")
    parser.add_argument("--cpu-solvers", nargs="+", choices=SKLEARN, default=None,
                        help="scikit-learn's solvers timed on the CPU (default: lbfgs on "
                             "cuda, all three on cpu)")
    parser.add_argument("--cpu-ref-elements", type=float, default=2**27,
                        help="scikit-learn's newton-cholesky joins the optimum's references "
                             "where n*d is at most this (default 2^27)")
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
    table = {}
    for name, (n, d, dtype) in problems.items():
        for problem, (rows_of_x, rows) in run(name, n, d, dtype, args).items():
            table[problem] = (rows_of_x, d, dtype, rows)
    methods = list(dict.fromkeys(m for *_, rows in table.values() for m, *_ in rows))
    print("\n# each cell: seconds (x the fastest peer), [peak memory growth / bytes(X)]")
    print("| problem | " + " | ".join(methods) + " | ours / fastest peer (target <= 0.5x) |")
    print("|---|" + "---|" * (len(methods) + 1))
    for name, (n, d, dtype, rows) in table.items():
        peers = [s for m, _, s, _, _ in rows if not m.startswith("ours") and np.isfinite(s)]
        best = min(peers) if peers else float("nan")
        cells = {m: f"{s:.3f} ({s / best:.2f}x) [{mem:.2f}]" if tol else
                 f"not reached ({gap:.0e})" if np.isfinite(gap) else "failed"
                 for m, tol, s, gap, mem in rows}
        ours = min((s for m, tol, s, _, _ in rows if m.startswith("ours") and tol),
                   default=float("nan"))
        verdict = f"{ours / best:.2f}x: {'met' if ours / best <= 0.5 else 'not met'}" \
            if peers else "no peer timed here"
        print(f"| n={n:,} d={d} {dtype} | " + " | ".join(cells.get(m, "-") for m in methods)
              + f" | {verdict} |")


if __name__ == "__main__":
    main()
