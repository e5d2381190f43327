"""Truncated Newton (Newton-CG) with Hessian-vector products, in the namespace of ``x0``.

Each outer iteration solves ``H d = -g`` approximately by conjugate gradients
(forcing term ``min(0.5, sqrt(||g||_1)) ||g||_1``, as scikit-learn's newton-cg),
then takes a strong-Wolfe step along ``d`` starting from the Newton step 1, whose
evaluation also keeps what the next Hessian-vector products need (``line_search.newton``):
an accepted Newton step costs one pass over X, not two.
"""

from __future__ import annotations

import math

from . import newton
from .iteration import run
from .requests import Ask, Request

_MAX_CG = 200


def iterate(objective, x0, *, tol, max_iter, verbose=0, on_step=None, norm="max",
            relative=False, step_tol=None):
    """Minimise the objective from ``x0`` until ``max|grad| <= tol`` (a generator: see
    ``iteration``; ``norm``, ``relative``, ``step_tol``: another stopping rule, as
    ``Iteration`` says);
    requests the gradient with Hessian products, and the products."""
    return newton.iterate("newton-cg", Ask.GRADIENT_HESSP, _conjugate_gradient, objective, x0,
                          tol=tol, max_iter=max_iter, verbose=verbose, on_step=on_step,
                          norm=norm, relative=relative, step_tol=step_tol)


def minimize(objective, x0, *, tol, max_iter, verbose=0):
    """``iterate`` answered by ``objective``: returns the ``Result``."""
    return run(iterate(objective, x0, tol=tol, max_iter=max_iter, verbose=verbose), objective)


def _conjugate_gradient(hessp, g):
    """Approximately solve ``H d = -g`` (H positive semi-definite) by CG from ``d = 0``;
    ``hessp`` is the curvature that ``Ask.HESSP`` requests multiply by."""
    d = g * 0
    r = -g  # residual -g - H d
    g_l1 = float(abs(g).sum())
    target = min(0.5, math.sqrt(g_l1)) * g_l1
    p = r.copy()
    rr = float(r @ r)
    for k in range(_MAX_CG):
        if rr == 0 or float(abs(r).sum()) <= target:  # rr == 0: solved exactly
            break
        Hp = yield Request(Ask.HESSP, p, hessp)
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
