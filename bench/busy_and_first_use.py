"""CPU speed on a busy machine and from the first call (issue 32, targets 3 and 4).

    python bench/busy_and_first_use.py            # both parts
    python bench/busy_and_first_use.py --part busy
    python bench/busy_and_first_use.py --part first

*busy*: lbfgs fits (ours and scikit-learn's, same data, ``tol=1e-6``, C = 1) at 200k x 32 and
1M x 64 float64, median of ``--repeat``, on a quiet machine and with one spinner process
(``while True: pass``) pinned to one core, as a busy laptop has. Targets: ours under load
<= 0.5x scikit-learn's under the same load, and <= 2x our own quiet time.

*first*: a first fit (400k x 32 float64, lbfgs) in a new Python process: the seconds to import
the library and to fit, ours and scikit-learn's, with an empty user cache folder
(``XDG_CACHE_HOME`` a new temporary folder), then again in another new process (caches, if
any, now warm; the OS file cache warm too). Targets: ours <= scikit-learn's first fit with
empty caches, and <= 0.6x it with warm caches (import included in both).

Every figure is printed beside its target with the CPU model; timings are wall clock on this
machine and belong in the README with it, never in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

_FIRST_FIT = r"""
import time
t0 = time.perf_counter()
import numpy as np
{imports}
t1 = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.normal(size=(400_000, 32))
y = (X @ rng.normal(size=32) + rng.logistic(size=400_000) > 0).astype(float)
t2 = time.perf_counter()
LogisticRegression(tol=1e-6, max_iter=1000).fit(X, y)
t3 = time.perf_counter()
print(t1 - t0, t3 - t2)
"""
_IMPORTS = {"ours": "from gpulogreg import LogisticRegression",
            "sklearn": "from sklearn.linear_model import LogisticRegression"}


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) / np.sqrt(d) * 3 + rng.logistic(size=n) > 0).astype(float)
    return X, y


def _median_fit(make, X, y, repeat):
    make().fit(X, y)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        make().fit(X, y)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@contextlib.contextmanager
def spinner(core):
    """One process spinning on ``core`` (a busy laptop's other program)."""
    code = f"import os; os.sched_setaffinity(0, {{{core}}})\nwhile True: pass"
    proc = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(0.3)
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def busy(repeat):
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    from gpulogreg import LogisticRegression

    ours = lambda: LogisticRegression(tol=1e-6, max_iter=1000)  # noqa: E731
    theirs = lambda: SkLogisticRegression(tol=1e-6, max_iter=1000)  # noqa: E731
    print("| problem | ours quiet s | ours busy s | sklearn busy s | ours busy / sklearn busy "
          "(target <= 0.5) | ours busy / quiet (target <= 2) |")
    print("|---|---|---|---|---|---|")
    for n, d in ((200_000, 32), (1_000_000, 64)):
        X, y = _data(n, d)
        quiet = _median_fit(ours, X, y, repeat)
        with spinner(0):
            loaded = _median_fit(ours, X, y, repeat)
            sk = _median_fit(theirs, X, y, repeat)
        print(f"| {n}x{d} f64 | {quiet:.3f} | {loaded:.3f} | {sk:.3f} | {loaded / sk:.2f}x | "
              f"{loaded / quiet:.2f}x |", flush=True)


def _first_fit(which, cache):
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    run = subprocess.run([sys.executable, "-c", _FIRST_FIT.format(imports=_IMPORTS[which])],
                         env=env, capture_output=True, text=True, timeout=600, check=True)
    imp, fit = map(float, run.stdout.split()[-2:])
    return imp, fit


def first():
    print("| run | ours import + fit s | sklearn import + fit s | ours / sklearn (target) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        for label, target in (("empty caches", "<= 1"), ("warm caches", "<= 0.6")):
            ours = _first_fit("ours", cache)
            sk = _first_fit("sklearn", cache)
            print(f"| {label} | {ours[0]:.2f} + {ours[1]:.2f} | {sk[0]:.2f} + {sk[1]:.2f} | "
                  f"{sum(ours) / sum(sk):.2f}x ({target}) |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("busy", "first", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5, help="fits per median (default 5)")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores; Python "
          f"{platform.python_version()}, NumPy {np.__version__}")
    if args.part in ("first", "both"):
        first()
    if args.part in ("busy", "both"):
        busy(args.repeat)


if __name__ == "__main__":
    main()
