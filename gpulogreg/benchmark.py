"""Benchmarks shared by ``gpulogreg bench`` and the scripts in ``bench/``: the timer (CUDA
events on the GPU), the memory floor (one read of X at the copy bandwidth measured in the
same run), the time-to-solution protocol, and the quick report the CLI writes.

The time-to-solution protocol (DESIGN.md section 4):

A method is a callable ``fit(tol) -> (coef, intercept)``. It is run with tol = 1e-1,
1e-2, ...; a run counts when its float64 objective is within ``gap`` (relative) of the
optimum ``f_star``; the method's time is the median of ``repeat`` runs at the loosest
such tol. So no method is credited for stopping early, and none is charged for a
needlessly tight tol.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from . import _backend
from ._backend import device_name, get_namespace, gpu_available, gpu_status, is_gpu, to_numpy

# what the scripts in bench/ use of the backend, beside the protocol below
__all__ = ["copy_bandwidth", "device_name", "get_namespace", "gpu_available", "gpu_status",
           "is_gpu", "machine", "print_table", "time_to_gap", "timer", "to_numpy"]

TOLS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]


def time_to_gap(fit, objective, f_star, gap, repeat, sync=lambda: None):
    """``(tol, seconds, gap reached)`` for the loosest tol that reaches ``gap``: each tol is
    run once while sweeping, then ``repeat - 1`` more times at the one that counts."""
    fit(TOLS[1])  # warm-up: imports, kernel compilation, memory pools, worker caches
    sync()

    def run(tol):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coef, intercept = fit(tol)
        sync()
        return time.perf_counter() - t0, coef, intercept

    reached = float("nan")
    for tol in TOLS:
        seconds, coef, intercept = run(tol)
        reached = (objective(coef, intercept) - f_star) / abs(f_star)
        if reached <= gap:
            times = [seconds] + [run(tol)[0] for _ in range(repeat - 1)]
            return tol, statistics.median(times), reached
    return None, float("nan"), reached


def print_table(results, baseline):
    """A markdown table of ``{name: (tol, seconds, gap)}`` with times relative to ``baseline``."""
    print(f"| method | fastest tol reaching the gap | time s | gap reached | vs {baseline} |")
    print("|---|---|---|---|---|")
    base = results[baseline][1]
    for name, (tol, seconds, gap) in results.items():
        print(f"| {name} | {tol if tol else 'none'} | {seconds:.3f} | {gap:.1e} | "
              f"{seconds / base:.2f}x |")


def timer(xp):
    """Return ``time_ms(fn, warmup, repeat) -> median ms`` for namespace ``xp``."""
    if _backend.is_gpu(xp):
        def time_ms(fn, warmup, repeat):
            for _ in range(warmup):
                fn()
            start, stop = xp.cuda.Event(), xp.cuda.Event()
            samples = []
            for _ in range(repeat):
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                samples.append(xp.cuda.get_elapsed_time(start, stop))
            return statistics.median(samples)
    else:
        def time_ms(fn, warmup, repeat):
            for _ in range(warmup):
                fn()
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - t0) * 1e3)
            return statistics.median(samples)
    return time_ms


def copy_bandwidth(xp, X, time_ms, warmup, repeat):
    """Bytes per ms of a same-device copy of X (read + write counted)."""
    dst = xp.empty_like(X)  # freed on return, before the timed methods run
    return 2 * X.nbytes / time_ms(lambda: xp.copyto(dst, X), warmup, repeat)


def machine():
    """One line naming this machine and the versions that matter to the figures."""
    import sklearn

    parts = [platform.processor() or platform.machine(), f"{len(os.sched_getaffinity(0))} "
             "cores" if hasattr(os, "sched_getaffinity") else f"{os.cpu_count()} cores",
             f"Python {platform.python_version()}", f"NumPy {np.__version__}",
             f"scikit-learn {sklearn.__version__}"]
    if _backend.gpu_available():
        import cupy

        parts += [_backend.device_name(cupy), f"CuPy {cupy.__version__}"]
    return ", ".join(parts)


def _make_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 1:] += 0.5 * X[:, :1]  # correlated features, as real data have
    y = (X @ (rng.normal(size=d) / np.sqrt(d)) + 0.3 + rng.logistic(size=n) > 0).astype(float)
    return X, y


def pass_rows(xp, dims, elements, warmup, repeat):
    """Loss+gradient pass against the floor, float64, ``n = elements // d`` rows each."""
    from .loss.objective import LogisticLoss

    time_ms = timer(xp)
    rows = []
    for d in dims:
        X, y = (xp.asarray(a) for a in _make_data(elements // d, d))
        coef = xp.zeros(d + 1)
        floor = X.nbytes / copy_bandwidth(xp, X, time_ms, warmup, repeat)
        loss = LogisticLoss(X, y, C=1.0)
        ours = time_ms(lambda: loss.loss_gradient(coef), warmup, repeat)
        rows.append({"backend": xp.__name__, "d": d, "n": X.shape[0], "floor ms": floor,
                     "ours ms": ours, "GB/s": X.nbytes / ours / 1e6,
                     "floor GB/s": X.nbytes / floor / 1e6})
    return rows


def solution_rows(n, d, repeat, gap=1e-6):
    """Seconds to an objective within ``gap`` of the optimum for our solvers (NumPy, and
    CuPy when a GPU is usable) and scikit-learn's, on one problem."""
    from sklearn.linear_model import LogisticRegression as Sk

    from .estimator import LogisticRegression
    from .loss.objective import LogisticLoss

    X, y = _make_data(n, d)
    loss64 = LogisticLoss(X, y, C=1.0)

    def objective(coef, intercept):
        return loss64.loss(np.append(np.asarray(coef, np.float64), intercept))

    def ours(solver, Xm, ym):
        def fit(tol):
            m = LogisticRegression(solver=solver, tol=tol, max_iter=100_000).fit(Xm, ym)
            return _backend.to_numpy(m.coef_[0]), float(_backend.to_numpy(m.intercept_)[0])
        return fit

    def sklearn(solver):
        def fit(tol):
            m = Sk(solver=solver, tol=tol, max_iter=100_000).fit(X, y)
            return m.coef_[0], m.intercept_[0]
        return fit

    f_star = min(objective(*ours("newton-cholesky", X, y)(1e-10)),
                 objective(*sklearn("newton-cholesky")(1e-10)))
    methods = {f"ours {s} (numpy)": (ours(s, X, y), lambda: None)
               for s in ("lbfgs", "newton-cg", "newton-cholesky")}
    if _backend.gpu_available():
        import cupy

        Xd, yd = cupy.asarray(X), cupy.asarray(y)
        sync = cupy.cuda.Device().synchronize
        methods.update({f"ours {s} (cupy)": (ours(s, Xd, yd), sync)
                        for s in ("lbfgs", "newton-cg", "newton-cholesky")})
    methods.update({f"scikit-learn {s}": (sklearn(s), lambda: None)
                    for s in ("lbfgs", "newton-cholesky")})
    rows = []
    for name, (fit, sync) in methods.items():
        tol, seconds, reached = time_to_gap(fit, objective, f_star, gap, repeat, sync)
        rows.append({"method": name, "tol": tol, "seconds": seconds, "gap": reached})
    return rows


def report(out_dir, quick=False):
    """Run the pass and time-to-solution benchmarks here; write ``bench.md`` (and, with
    matplotlib, ``passes.png`` and ``time_to_solution.png``) into ``out_dir``. Returns the
    paths written and the Markdown text."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    namespaces = [np]
    if _backend.gpu_available():
        import cupy

        namespaces.append(cupy)
    dims = [16, 64, 256] if quick else [8, 16, 32, 64, 128, 256, 512, 1024]
    passes = []
    for xp in namespaces:
        elements = (2**22 if quick else 2**26) * (16 if _backend.is_gpu(xp) else 1)
        passes += pass_rows(xp, dims, elements, warmup=2 if quick else 5,
                            repeat=5 if quick else 20)
    n, d = (200_000, 32) if quick else (1_000_000, 64)
    solutions = solution_rows(n, d, repeat=1 if quick else 3)
    lines = [f"# gpulogreg bench{' --quick' if quick else ''}", "", f"Machine: {machine()}.", "",
             "## Loss + gradient pass (float64), against one read of X at the measured copy "
             "bandwidth", "", "| backend | d | n | floor ms | ours ms | x floor | GB/s |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['backend']} | {r['d']} | {r['n']:,} | {r['floor ms']:.2f} | "
              f"{r['ours ms']:.2f} | {r['ours ms'] / r['floor ms']:.2f} | {r['GB/s']:.1f} |"
              for r in passes]
    lines += ["", f"## Time to an objective within 1e-6 of the optimum (n={n:,}, d={d}, float64, "
              "C=1)", "", "| method | tol | seconds | gap reached |", "|---|---|---|---|"]
    lines += [f"| {r['method']} | {r['tol']} | {r['seconds']:.3f} | {r['gap']:.1e} |"
              for r in solutions]
    text = "\n".join(lines) + "\n"
    written = [out_dir / "bench.md"]
    written[0].write_text(text)
    try:
        written += _plots(out_dir, passes, solutions)
    except ImportError:  # matplotlib is optional: the table says it all
        pass
    return written, text


def _plots(out_dir, passes, solutions):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title = machine()
    fig, ax = plt.subplots(figsize=(7, 4))
    for backend in dict.fromkeys(r["backend"] for r in passes):
        rows = [r for r in passes if r["backend"] == backend]
        ax.plot([r["d"] for r in rows], [r["GB/s"] for r in rows], "o-",
                label=f"ours ({backend})")
        ax.plot([r["d"] for r in rows], [r["floor GB/s"] for r in rows], "k--", alpha=0.6,
                label=f"floor: copy bandwidth ({backend})")
    ax.set(xscale="log", xlabel="d (features)", ylabel="GB/s of X read per pass",
           title="Loss + gradient pass, float64")
    dims = sorted({r["d"] for r in passes})
    ax.set_xticks(dims, [str(d) for d in dims])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, title, fontsize=6)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    passes_png = out_dir / "passes.png"
    fig.savefig(passes_png, dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    rows = [r for r in solutions if r["tol"] is not None]
    ax.barh([r["method"] for r in rows], [r["seconds"] for r in rows])
    ax.set(xlabel="seconds to a 1e-6 objective gap", title="Time to solution")
    ax.invert_yaxis()
    fig.text(0.01, 0.01, title, fontsize=6)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    tts_png = out_dir / "time_to_solution.png"
    fig.savefig(tts_png, dpi=120)
    plt.close(fig)
    return [passes_png, tts_png]
