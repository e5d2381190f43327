"""Truncated Newton (Newton-CG) with Hessian-vector products, in the namespace of ``x0``.

Each outer iteration solves ``H d = -g`` approximately by conjugate gradients
(forcing term ``min(0.5, sqrt(||g||_1)) ||g||_1``, as scikit-learn's newton-cg),
then takes a strong-Wolfe step along ``d`` starting from the Newton step 1, whose
evaluation also keeps what the next Hessian-vector products need (``_line_search.newton``):
an accepted Newton step costs one pass over X, not two.
"""

from __future__ import annotations

import math

from . import _line_search
from ._common import Progress, Result, Stall, start

_MAX_CG = 200
_STALL = 5  # Newton iterations without a resolvable improvement (see Stall)


def minimize(objective, x0, *, tol, max_iter, verbose=0):
    """Minimise the objective from ``x0`` until ``max|grad| <= tol``; needs ``gradient_hessp``."""
    x = x0
    (f, g, hessp), eps, grad_max = start(objective, x, objective.gradient_hessp)
    n_fev = 1
    n_iter = 0
    message = "max|gradient| <= tol"
    stall = Stall(eps, grad_max, _STALL)
    progress = Progress("newton-cg", verbose)
    while grad_max > tol:
        if n_iter >= max_iter:
            message = f"max_iter={max_iter} reached"
            break
        d = _conjugate_gradient(hessp, g)
        dphi0 = float(g @ d)
        if not dphi0 < 0:
            d, dphi0 = -g, -float(g @ g)
        ls, hessp_new = _line_search.newton(objective.gradient_hessp, objective.loss_gradient,
                                            x, f, g, d, dphi0, eps)
        n_fev += ls.n_fev
        if not ls.ok:
            message = ("line search failed: no step decreases the objective "
                       "(tol is below what this data and dtype can resolve)")
            break
        f_old = f
        x, f, g, hessp = ls.x, ls.f, ls.g, hessp_new
        grad_max = float(abs(g).max())
        n_iter += 1
        progress.step(n_iter, f, grad_max, ls.step)
        if stall.update(f_old, f, grad_max) and grad_max > tol:
            message = stall.message
            break
    return Result(x, f, grad_max, n_iter, n_fev, grad_max <= tol, message)


def _conjugate_gradient(hessp, g):
    """Approximately solve ``H d = -g`` (H positive semi-definite) by CG from ``d = 0``."""
    d = g * 0
    r = -g  # residual -g - H d
    g_l1 = float(abs(g).sum())
    target = min(0.5, math.sqrt(g_l1)) * g_l1
    p = r.copy()
    rr = float(r @ r)
    for k in range(_MAX_CG):
        if rr == 0 or float(abs(r).sum()) <= target:  # rr == 0: solved exactly
            break
        Hp = hessp(p)
        curvature = float(p @ Hp)
        if not curvature > 0:  # flat, negative or overflowed (NaN): stop with what we have
            return -g if k == 0 else d
        alpha = rr / curvature
        d = d + alpha * p
        r = r - alpha * Hp
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return d
