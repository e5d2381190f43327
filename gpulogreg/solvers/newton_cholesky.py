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
the solver for n >> d (d up to a few thousand).
"""

from __future__ import annotations

from .. import _backend
from . import _line_search
from ._common import Progress, Result, Stall, start

_STALL = 5  # Newton iterations without a resolvable improvement (see Stall)
_SHIFTS = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2)  # relative to max|diag(H)|, tried in turn


def minimize(objective, x0, *, tol, max_iter, verbose=0):
    """Minimise the objective from ``x0`` until ``max|grad| <= tol``; needs
    ``objective.gradient_hessian(x) -> (f, grad, H)``."""
    xp = _backend.get_namespace(x0=x0)
    x = x0
    (f, g, H), eps, grad_max = start(objective, x, objective.gradient_hessian)
    n_fev = 1
    n_iter = 0
    message = "max|gradient| <= tol"
    stall = Stall(eps, grad_max, _STALL)
    progress = Progress("newton-cholesky", verbose)
    while grad_max > tol:
        if n_iter >= max_iter:
            message = f"max_iter={max_iter} reached"
            break
        d = newton_direction(H, g, xp)
        dphi0 = float(g @ d)
        if not dphi0 < 0:  # rounding in H: fall back to steepest descent
            d, dphi0 = -g, -float(g @ g)
        ls, H_new = _line_search.newton(objective.gradient_hessian, objective.loss_gradient,
                                        x, f, g, d, dphi0, eps)
        n_fev += ls.n_fev
        if not ls.ok:
            message = ("line search failed: no step decreases the objective "
                       "(tol is below what this data and dtype can resolve)")
            break
        f_old = f
        x, f, g, H = ls.x, ls.f, ls.g, H_new
        grad_max = float(abs(g).max())
        n_iter += 1
        progress.step(n_iter, f, grad_max, ls.step)
        if stall.update(f_old, f, grad_max) and grad_max > tol:
            message = stall.message
            break
    return Result(x, f, grad_max, n_iter, n_fev, grad_max <= tol, message)


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
