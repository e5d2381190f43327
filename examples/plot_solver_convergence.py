"""
Solver convergence: objective gap against iterations and time
==============================================================

How fast do ``lbfgs`` (the default), ``newton-cg`` and ``newton-cholesky`` approach the
optimum? Each solver is stopped after ``max_iter`` = 1, 2, 3, ... iterations, and the
objective of what it returns (the functional API's ``loss_gradient``, the very function
the estimator minimises) is compared with the optimum, found once with a tight
tolerance. A ``ConvergenceWarning`` for every early stop is expected and silenced.

The data are small and the features correlated (an ill-conditioned problem, where
the Newton methods take fewer, dearer steps). The timings are those of the machine that
built this page: see :doc:`/benchmarks` for measured times to solution at real sizes.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

import gpulogreg

rng = np.random.default_rng(0)
n, d, C = 20_000, 40, 1.0
mixing = np.eye(d) + 0.9 * rng.normal(size=(d, d)) / np.sqrt(d)
X = rng.normal(size=(n, d)) @ mixing                     # correlated features
y = (X @ rng.normal(size=d) / np.sqrt(d) + rng.logistic(size=n) > 0).astype(int)


def objective(model):
    loss, _, _ = gpulogreg.loss_gradient(X, y, model.coef_[0], model.intercept_[0], C=C)
    return float(loss)


best = gpulogreg.LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12).fit(X, y)
f_star = objective(best)
print(f"optimum {f_star:.12f} after {best.n_iter_[0]} Newton steps")

# %%
# Stop each solver after 1, 2, ... iterations and record the relative objective gap
# and the wall time of the fit (the best of three).

solvers = {"lbfgs": 50, "newton-cg": 10, "newton-cholesky": 7}
history = {}
for solver, iterations in solvers.items():
    gaps, seconds = [], []
    for max_iter in range(1, iterations + 1):
        times = []
        for _ in range(3):                              # the best of 3: timings are noisy
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                model = gpulogreg.LogisticRegression(C=C, solver=solver, tol=1e-12,
                                                     max_iter=max_iter).fit(X, y)
                times.append(time.perf_counter() - start)
        seconds.append(min(times))
        gaps.append(max((objective(model) - f_star) / f_star, 1e-16))
    history[solver] = (np.arange(1, iterations + 1), np.array(gaps), np.array(seconds))
    print(f"{solver:>16}: gap {gaps[-1]:.1e} after {iterations} iterations, "
          f"{seconds[-1] * 1e3:.0f} ms")

# %%
# The Newton methods reach a gap of 1e-10 in a handful of iterations; L-BFGS needs more
# iterations, each a single pass over X. Which is faster in seconds depends on the
# shape of X and on the machine (the right panel).

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for solver, (iterations, gaps, seconds) in history.items():
    left.semilogy(iterations, gaps, "o-", label=solver, markersize=3)
    right.semilogy(seconds * 1e3, gaps, "o-", label=solver, markersize=3)
left.set(xlabel="iterations (max_iter)", ylabel="relative objective gap")
right.set(xlabel="wall time of the fit (ms)")
left.axhline(1e-6, color="grey", lw=0.8, ls=":")
right.axhline(1e-6, color="grey", lw=0.8, ls=":")
left.legend()
fig.suptitle(f"n={n}, d={d}, float64, C={C}")
fig.tight_layout()
plt.show()
