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

from .iteration import (
    DivergenceError,
    Iteration,
    blowup_fraction,
    evaluate,
    rounding_slack,
    run,
    start,
)
from .requests import Ask

_SUFFICIENT_DECREASE = 0.5
_SHRINK = 0.5
_GROW = 1.5
_MAX_BACKTRACKS = 60  # a step shrunk 2**60 times: nothing smaller will help
_STALL = 100  # iterations with neither a resolvable decrease nor a 1% better max|gradient|


def minimize(objective, x0, *, tol, max_iter, learning_rate=None, step=1.0, verbose=0):
    """Minimise ``objective.loss_gradient`` from ``x0``; stop when ``max|grad| <= tol`` or after
    ``max_iter`` steps.

    ``learning_rate=None`` chooses each step by backtracking (it cannot diverge); a number
    fixes ``alpha`` as in the textbook update, and an objective that rises or overflows
    raises ``DivergenceError`` instead of returning a wrong result.
    """
    return run(iterate(objective, x0, tol=tol, max_iter=max_iter, learning_rate=learning_rate,
                       step=step, verbose=verbose), objective)


def iterate(objective, x0, *, tol, max_iter, learning_rate=None, step=1.0, verbose=0,
            on_step=None):
    """``minimize`` as a generator of ``loss_gradient`` requests (see ``iteration``)."""
    (f, g), eps, grad_max = yield from start(objective, x0, Ask.LOSS_GRADIENT)
    it = Iteration("gd", x0, f, g, grad_max, eps, tol=tol, max_iter=max_iter,
                   patience=_STALL, verbose=verbose, on_step=on_step)
    while it.running():
        x, f, g = it.x, it.f, it.g
        if learning_rate is None:
            x_new, f_new, g_new, step, evals = yield from _backtrack(x, f, g, step, eps)
            it.n_fev += evals
            if x_new is None:
                it.stop("line search failed: no step decreases the objective or the gradient "
                        "(tol is below what this data and dtype can resolve)")
                break
        else:
            x_new = x - learning_rate * g
            f_new, g_new = yield from evaluate(x_new)
            it.n_fev += 1
            if not f_new <= f + rounding_slack(eps, f):  # also catches inf and NaN
                raise DivergenceError(
                    f"gradient descent diverged at iteration {it.n_iter + 1}: the objective "
                    f"went from {f:.6g} to {f_new:.6g} with learning_rate={learning_rate:g}. "
                    "Use a smaller learning_rate, or learning_rate=None to choose steps by "
                    "backtracking.")
        # (a stall: e.g. float32 data asked for a gradient below resolution)
        it.accept(x_new, f_new, g_new, float(abs(g_new).max()),
                  step / _GROW if learning_rate is None else learning_rate)
    return it.result()


def _backtrack(x, f, g, step, eps):
    """Halve ``step`` until ``x - step * g`` is accepted; return the new point, the next
    trial step (grown by ``_GROW``) and the evaluations spent, or ``None`` for the point."""
    g_sq = float(g @ g)
    slack = rounding_slack(eps, f)
    for evals in range(1, _MAX_BACKTRACKS + 1):
        x_new = x - step * g
        f_new, g_new = yield from evaluate(x_new)
        if _accept(f, g_sq, f_new, g_new, step, slack):
            return x_new, f_new, g_new, step * _GROW, evals
        fraction = blowup_fraction(f, f_new)
        step *= _SHRINK if fraction is None else min(fraction, _SHRINK)
    return None, None, None, step, _MAX_BACKTRACKS


def _accept(f, g_sq, f_new, g_new, step, slack):
    if not math.isfinite(f_new):
        return False
    decrease = _SUFFICIENT_DECREASE * step * g_sq
    if decrease > slack:  # the required decrease is resolvable: plain Armijo
        return f_new <= f - decrease
    return f_new <= f + slack and float(g_new @ g_new) < g_sq
