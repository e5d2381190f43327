"""The time-to-solution protocol shared by the bench scripts (DESIGN.md section 4).

A method is a callable ``fit(tol) -> (coef, intercept)``. It is run with tol = 1e-1,
1e-2, ...; a run counts when its float64 objective is within ``gap`` (relative) of the
optimum ``f_star``; the method's time is the median of ``repeat`` runs at the loosest
such tol. So no method is credited for stopping early, and none is charged for a
needlessly tight tol.
"""

from __future__ import annotations

import statistics
import time
import warnings

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
