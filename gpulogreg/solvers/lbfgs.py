"""Limited-memory BFGS, entirely in the array namespace of ``x0``.

On CuPy the history, the two-loop recursion and the trial points stay on the
GPU; per iteration only scalars (objective values, a few dot products) reach the
host. The state is float64 whatever the dtype of the data.
"""

from __future__ import annotations

import math

from . import line_search, quasi_newton
from .iteration import LINE_SEARCH_FAILED, Iteration, evaluate, run, start
from .requests import Ask

_STALL = 30  # iterations without a resolvable improvement (see Stall): then converged


def minimize(objective, x0, *, tol, max_iter, m=10, verbose=0):
    """Minimise ``objective.loss_gradient`` from ``x0`` until ``max|grad| <= tol``."""
    return run(iterate(objective, x0, tol=tol, max_iter=max_iter, m=m, verbose=verbose),
               objective)


def iterate(objective, x0, *, tol, max_iter, m=10, verbose=0, on_step=None, memory=None):
    """``minimize`` as a generator of ``loss_gradient`` requests (see ``iteration``);
    ``memory``: curvature pairs ``[(s, y)]`` to start from (a previous run's
    ``Result.memory``, made this objective's: ``quasi_newton.carried``), else none."""
    (f, g), eps, grad_max = yield from start(objective, x0, Ask.LOSS_GRADIENT)
    history = quasi_newton.memory(m, memory or ())
    it = Iteration("lbfgs", x0, f, g, grad_max, eps, tol=tol, max_iter=max_iter,
                   patience=_STALL, verbose=verbose, on_step=on_step, stall_converges=True)
    while it.running():
        x, f, g = it.x, it.f, it.g
        d = -quasi_newton.two_loop(g, history)
        dphi0 = float(g @ d)
        if not dphi0 < 0:  # lost descent (rounding in the history): restart from -g
            history.clear()
            d = -g
            dphi0 = -float(g @ g)
            if dphi0 == 0:  # |g|^2 underflows: nothing left to resolve
                it.stop("the gradient underflows: stopped at floating-point precision")
                break
        # first step along -g: unit length, as scipy's L-BFGS-B does
        step = 1.0 if history else min(1.0, 1.0 / math.sqrt(-dphi0))
        ls = yield from line_search.wolfe(evaluate, x, f, g, d, dphi0, step, eps)
        it.n_fev += ls.n_fev
        if not ls.ok:
            if history:  # retry once along the steepest descent with a fresh memory
                history.clear()
                continue
            it.stop(LINE_SEARCH_FAILED)
            break
        quasi_newton.remember(history, ls.x - x, ls.g - g)
        it.accept(ls.x, ls.f, ls.g, float(abs(ls.g).max()), ls.step)
    return it.result(quasi_newton.pairs(history))
