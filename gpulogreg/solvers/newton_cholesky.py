"""Newton's method with the exact Hessian, solved by Cholesky (scikit-learn's newton-cholesky).

Each evaluation is one pass over X that returns the objective, the gradient and the
Hessian (``objective.gradient_hessian``: ``X^T diag(p) X`` by row-block SYRK, never a copy
of X). The Newton direction solves ``H d = -g`` by Cholesky. Where H is not positive
definite (no penalty with collinear or separable data, or rounding) a growing multiple of
the identity is added, as a Levenberg-Marquardt shift, and failing that the direction is
``-g``. The strong-Wolfe line search starts at the Newton step 1 and evaluates that point
with its Hessian, so when it is accepted (always, near the optimum) an iteration costs
exactly one pass over X; shorter trial steps get loss and gradient only, and the Hessian
is formed once at the point accepted. Stops when ``max|grad| <= tol``, like the others.

The state (x, g, H) is float64 in the namespace of ``x0``; H is (d+1) x (d+1), so this is
the solver for n >> d (d up to a few thousand). The iteration is ``_newton``'s.
"""

from __future__ import annotations

from .. import _backend
from . import newton
from .iteration import run
from .requests import Ask

_SHIFTS = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2)  # relative to max|diag(H)|, tried in turn


def iterate(objective, x0, *, tol, max_iter, verbose=0, on_step=None):
    """Minimise the objective from ``x0`` until ``max|grad| <= tol`` (a generator: see
    ``_common``); requests ``gradient_hessian(x) -> (f, grad, H)``."""
    xp = _backend.get_namespace(x0=x0)

    def direction(H, g):
        return newton_direction(H, g, xp)
        yield  # a generator that requests nothing: the solve needs no pass over X

    return newton.iterate("newton-cholesky", Ask.GRADIENT_HESSIAN, direction, objective, x0,
                           tol=tol, max_iter=max_iter, verbose=verbose, on_step=on_step)


def minimize(objective, x0, *, tol, max_iter, verbose=0):
    """``iterate`` answered by ``objective``: returns the ``Result``."""
    return run(iterate(objective, x0, tol=tol, max_iter=max_iter, verbose=verbose), objective)


def newton_direction(H, g, xp):
    """``-H^{-1} g`` by Cholesky; with a growing shift of the diagonal where H is not
    positive definite; ``-g`` when no shift helps (or H is zero or not finite)."""
    d = _backend.cholesky_solve(H, -g, xp)
    if d is not None:
        return d
    scale = float(abs(xp.diagonal(H)).max())
    if not 0 < scale < float("inf"):
        return -g
    eye = xp.eye(H.shape[0], dtype=H.dtype)
    for shift in _SHIFTS:
        d = _backend.cholesky_solve(H + (shift * scale) * eye, -g, xp)
        if d is not None:
            return d
    return -g
