"""Truncated Newton (Newton-CG) with Hessian-vector products, in the namespace of ``x0``.

Each outer iteration solves ``H d = -g`` approximately by conjugate gradients
(forcing term ``min(0.5, sqrt(||g||_1)) ||g||_1``, as scikit-learn's newton-cg),
then takes a strong-Wolfe step along ``d`` starting from the Newton step 1, whose
evaluation also keeps what the next Hessian-vector products need (``_line_search.newton``):
an accepted Newton step costs one pass over X, not two.
"""

from __future__ import annotations

import math

from . import _newton

_MAX_CG = 200


def minimize(objective, x0, *, tol, max_iter, verbose=0):
    """Minimise the objective from ``x0`` until ``max|grad| <= tol``; needs ``gradient_hessp``."""
    return _newton.minimize("newton-cg", objective.gradient_hessp, _conjugate_gradient,
                            objective, x0, tol=tol, max_iter=max_iter, verbose=verbose)


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
