"""The iteration both Newton solvers share: a direction from the curvature at x (the
Hessian for newton-cholesky, its products for newton-cg), then ``line_search.newton`` from
the Newton step 1, whose first trial also returns the curvature there: an accepted step is
one pass over X. A generator of evaluation requests, like every solver (``iteration``)."""

from __future__ import annotations

from . import line_search
from .iteration import LINE_SEARCH_FAILED, Iteration, start
from .iteration import norm as stop_norm

_STALL = 5  # Newton iterations without a resolvable improvement (see Stall)


def iterate(name, with_curvature, direction, objective, x0, *, tol, max_iter, verbose,
            on_step=None, norm="max", relative=False, step_tol=None):
    """Minimise from ``x0`` until ``max|grad| <= tol`` (a generator: see ``iteration``; with
    ``norm``, ``relative`` or ``step_tol``, another rule: see ``Iteration``).
    ``with_curvature`` is the request (``Ask``) answered by ``(f, g, c)``; ``direction(c,
    g)`` is a generator that approximately solves ``H d = -g`` and returns ``d``."""
    (f, g, curvature), eps, grad_max = yield from start(objective, x0, with_curvature)
    it = Iteration(name, x0, f, g, grad_max, eps, tol=tol, max_iter=max_iter,
                   patience=_STALL, verbose=verbose, on_step=on_step,
                   stop=stop_norm(g, norm), relative=relative, step_tol=step_tol)
    while it.running():
        x, f, g = it.x, it.f, it.g
        d = yield from direction(curvature, g)
        dphi0 = float(g @ d)
        if not dphi0 < 0:  # rounding in the curvature: fall back to steepest descent
            d, dphi0 = -g, -float(g @ g)
        ls, curvature = yield from line_search.newton(with_curvature, x, f, g, d, dphi0, eps)
        it.n_fev += ls.n_fev
        if not ls.ok:
            it.stop(LINE_SEARCH_FAILED)
            break
        it.accept(ls.x, ls.f, ls.g, float(abs(ls.g).max()), ls.step, stop_norm(ls.g, norm))
    return it.result()
