"""The iteration both Newton solvers share: a direction from the curvature at x (the
Hessian for newton-cholesky, its products for newton-cg), then ``line_search.newton`` from
the Newton step 1, whose first trial also returns the curvature there: an accepted step is
one pass over X. A generator of evaluation requests, like every solver (``_common``)."""

from __future__ import annotations

from . import line_search
from .iteration import LINE_SEARCH_FAILED, Progress, Result, Stall, start

_STALL = 5  # Newton iterations without a resolvable improvement (see Stall)


def iterate(name, with_curvature, direction, objective, x0, *, tol, max_iter, verbose,
            on_step=None):
    """Minimise from ``x0`` until ``max|grad| <= tol`` (a generator: see ``_common``).
    ``with_curvature`` is the request answered by ``(f, g, c)``; ``direction(c, g)`` is a
    generator that approximately solves ``H d = -g`` and returns ``d``."""
    x = x0
    (f, g, curvature), eps, grad_max = yield from start(objective, x, with_curvature)
    n_fev = 1
    n_iter = 0
    message = "max|gradient| <= tol"
    stall = Stall(eps, grad_max, _STALL)
    progress = Progress(name, verbose, on_step)
    while grad_max > tol:
        if n_iter >= max_iter:
            message = f"max_iter={max_iter} reached"
            break
        d = yield from direction(curvature, g)
        dphi0 = float(g @ d)
        if not dphi0 < 0:  # rounding in the curvature: fall back to steepest descent
            d, dphi0 = -g, -float(g @ g)
        ls, curvature_new = yield from line_search.newton(with_curvature, x, f, g, d, dphi0,
                                                           eps)
        n_fev += ls.n_fev
        if not ls.ok:
            message = LINE_SEARCH_FAILED
            break
        f_old = f
        x, f, g, curvature = ls.x, ls.f, ls.g, curvature_new
        grad_max = float(abs(g).max())
        n_iter += 1
        progress.step(n_iter, f, grad_max, ls.step, x)
        if stall.update(f_old, f, grad_max) and grad_max > tol:
            message = stall.message
            break
    return Result(x, f, grad_max, n_iter, n_fev, grad_max <= tol, message)
