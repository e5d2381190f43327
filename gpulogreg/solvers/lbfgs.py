"""Limited-memory BFGS, entirely in the array namespace of ``x0``.

On CuPy the history, the two-loop recursion and the trial points stay on the
GPU; per iteration only scalars (objective values, a few dot products) reach the
host. The state is float64 whatever the dtype of the data.
"""

from __future__ import annotations

import math
from collections import deque

from . import line_search
from .iteration import LINE_SEARCH_FAILED, Progress, Result, Stall, evaluate, run, start

_STALL = 30  # iterations without a resolvable improvement (see Stall)


def minimize(objective, x0, *, tol, max_iter, m=10, verbose=0):
    """Minimise ``objective.loss_gradient`` from ``x0`` until ``max|grad| <= tol``."""
    return run(iterate(objective, x0, tol=tol, max_iter=max_iter, m=m, verbose=verbose),
               objective)


def iterate(objective, x0, *, tol, max_iter, m=10, verbose=0, on_step=None, memory=None):
    """``minimize`` as a generator of ``loss_gradient`` requests (see ``_common``);
    ``memory``: curvature pairs ``[(s, y)]`` to start from (a previous run's
    ``Result.memory``, made this objective's), else none."""
    x = x0
    (f, g), eps, grad_max = yield from start(objective, x, "loss_gradient")
    n_fev = 1
    history = deque(maxlen=m)  # (s, y, s @ y, (s @ y) / (y @ y))
    for s, y in memory or ():
        remember(history, s, y)
    n_iter = 0
    message = f"max_iter={max_iter} reached"
    stall = Stall(eps, grad_max, _STALL)
    progress = Progress("lbfgs", verbose, on_step)
    while grad_max > tol:
        if n_iter >= max_iter:
            break
        d = -_two_loop(g, history)
        dphi0 = float(g @ d)
        if not dphi0 < 0:  # lost descent (rounding in the history): restart from -g
            history.clear()
            d = -g
            dphi0 = -float(g @ g)
            if dphi0 == 0:  # |g|^2 underflows: nothing left to resolve
                message = "the gradient underflows: stopped at floating-point precision"
                break
        # first step along -g: unit length, as scipy's L-BFGS-B does
        step = 1.0 if history else min(1.0, 1.0 / math.sqrt(-dphi0))
        ls = yield from line_search.wolfe(evaluate, x, f, g, d, dphi0, step, eps)
        n_fev += ls.n_fev
        if not ls.ok:
            if history:  # retry once along the steepest descent with a fresh memory
                history.clear()
                continue
            message = LINE_SEARCH_FAILED
            break
        remember(history, ls.x - x, ls.g - g)
        f_old = f
        x, f, g = ls.x, ls.f, ls.g
        grad_max = float(abs(g).max())
        n_iter += 1
        progress.step(n_iter, f, grad_max, ls.step, x)
        if stall.update(f_old, f, grad_max) and grad_max > tol:
            message = stall.message
            break
    else:
        message = "max|gradient| <= tol"
    return Result(x, f, grad_max, n_iter, n_fev, grad_max <= tol, message,
                  [(s, y) for s, y, _, _ in history])


def remember(history, s, y):
    """Add the curvature pair ``(s, y)`` (step, gradient change) to the memory, if it keeps
    the inverse-Hessian approximation positive definite."""
    sy, yy = float(s @ y), float(y @ y)
    if sy > 1e-10 * yy:
        history.append((s, y, sy, sy / yy))


def _two_loop(g, history):
    """H_k @ g by the two-loop recursion; dot products stay on the device (0-d arrays)."""
    q = g.copy()
    alphas = []
    # divide by s.y rather than multiply by its inverse: no overflow when s, y are tiny
    for s, y, sy, _ in reversed(history):
        alpha = (s @ q) / sy
        q -= alpha * y
        alphas.append(alpha)
    if history:
        q *= history[-1][3]  # initial H_0 = gamma I, gamma = s.y / y.y of the newest pair
    for (s, y, sy, _), alpha in zip(history, reversed(alphas)):
        beta = (y @ q) / sy
        q += (alpha - beta) * s
    return q
