"""Gradient descent, the seeds' update ``w <- w - alpha * grad``, with a step that cannot diverge.

The step ``alpha`` is chosen by Armijo backtracking: a trial step is accepted
only if it decreases the objective by at least ``alpha/2 * ||grad||^2``, which
every ``alpha <= 1/L`` does for an L-smooth objective; otherwise it is halved.
After each accepted step ``alpha`` grows by ``_GROW``, so it tracks the local
curvature instead of staying at the first, most pessimistic value.

Near the optimum the required decrease can fall below the resolution of the
objective, ``8 * objective.eps * |f|`` (float32's eps for float32 data). From
there a trial step is accepted when the objective does not rise beyond that and
the gradient norm shrinks, which every ``alpha <= 1/L`` also guarantees for a
convex objective, so the gradient can still be driven down to ``tol``.
"""

from __future__ import annotations

import math

from ._common import Result, start

_SUFFICIENT_DECREASE = 0.5
_SHRINK = 0.5
_GROW = 1.5
_MAX_BACKTRACKS = 60  # a step shrunk 2**60 times: nothing smaller will help


def minimize(objective, x0, *, tol, max_iter, step=1.0, verbose=0):
    """Minimise ``objective.loss_gradient`` from ``x0``; stop when ``max|grad| <= tol`` or after
    ``max_iter`` steps."""
    fun = objective.loss_gradient
    x = x0
    (f, g), eps, grad_max = start(objective, x, fun)
    n_fev = 1
    n_iter = 0
    message = f"max_iter={max_iter} reached"
    while True:
        if grad_max <= tol:
            message = "max|gradient| <= tol"
            break
        if n_iter >= max_iter:
            break
        g_sq = float(g @ g)
        for _ in range(_MAX_BACKTRACKS):
            x_new = x - step * g
            f_new, g_new = fun(x_new)
            n_fev += 1
            if _accept(f, g_sq, f_new, g_new, step, slack=8 * eps * abs(f)):
                break
            step *= _SHRINK
        else:
            return Result(x, f, grad_max, n_iter, n_fev, False,
                          "line search failed: no step decreases the objective or the "
                          "gradient (tol is below what this data and dtype can resolve)")
        x, f, g = x_new, f_new, g_new
        grad_max = float(abs(g).max())
        n_iter += 1
        step *= _GROW
        if verbose:
            print(f"gd iter {n_iter:5d}  f={f:.12g}  max|g|={grad_max:.3e}  step={step:.3e}")
    return Result(x, f, grad_max, n_iter, n_fev, grad_max <= tol, message)


def _accept(f, g_sq, f_new, g_new, step, slack):
    if not math.isfinite(f_new):
        return False
    decrease = _SUFFICIENT_DECREASE * step * g_sq
    if decrease > slack:  # the required decrease is resolvable: plain Armijo
        return f_new <= f - decrease
    return f_new <= f + slack and float(g_new @ g_new) < g_sq
