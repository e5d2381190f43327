"""OWL-QN (Andrew & Gao, 2007): L-BFGS for ``f(x) + lam * ||x[:P]||_1``, f smooth.

The L1 term of scikit-learn's L1 and elastic-net penalties is not differentiable at 0, so
it lives here, not in the objective: the objective's ``loss_gradient`` is the smooth part
(the loss plus any L2 share), ``objective.l1`` is ``lam`` and ``objective.n_penalised`` is
P, the leading entries the term applies to (never the intercepts). Each iteration:

- the *pseudo-gradient* ``pg`` is the gradient of F on the side of 0 that decreases it
  (``g + lam sign(x)`` off zero; at zero, ``g +- lam`` when that is a descent, else 0), so
  ``max |pg| = 0`` exactly at the minimum of F; the solver stops at ``max|pg| <= tol``;
- the direction is the L-BFGS direction for ``pg`` (the memory holds the smooth part's
  gradient differences), with any component that disagrees in sign with ``-pg`` dropped;
- the trial points are projected onto the orthant of the current point (a coordinate
  that would cross zero stops at zero: that is how coefficients become exactly zero), and
  a backtracking line search accepts the first with ``F(x_a) <= F(x) + c1 pg.(x_a - x)``
  (or, where rounding hides that decrease, Hager & Zhang's test on the slope along d).

Everything runs in the namespace of ``x0`` (a generator of evaluation requests, see
``iteration``), like the other solvers.
"""

from __future__ import annotations

import math

from .. import _backend
from . import quasi_newton
from .iteration import (
    LINE_SEARCH_FAILED,
    Iteration,
    blowup_fraction,
    evaluate,
    rounding_slack,
    run,
    start,
)
from .iteration import norm as stop_norm
from .requests import Ask

C1 = 1e-4
_MAX_BACKTRACKS = 40
# When to call a run stalled (see Stall): (patience, what counts as progress). OWL-QN zigzags
# between orthants for a while near the optimum, and on ill-conditioned float64 problems
# (10-class digits) max|pseudo-gradient| shrinks by 1% steps over hundreds of iterations:
# 200 iterations without a 1% new best (measured). In float32 the pseudo-gradient's rounding
# noise sets such a new best every few dozen iterations once tol is below what float32
# resolves (1.7e-9, then 1.1e-9 ... on float32 breast cancer: 240 iterations more), so
# there progress is a halving, which converging OWL-QN makes within a few iterations.
_STALL = {"float64": (200, 0.99), "float32": (30, 0.5)}


def minimize(objective, x0, *, tol, max_iter, m=10, verbose=0, step_tol=None):
    """Minimise ``f + l1 * ||x[:n_penalised]||_1`` from ``x0``; stop at ``max|pg| <= tol``
    (and, with ``step_tol``, a last relative step of at most that: see ``Iteration``)."""
    return run(iterate(objective, x0, tol=tol, max_iter=max_iter, m=m, verbose=verbose,
                       step_tol=step_tol), objective)


def iterate(objective, x0, *, tol, max_iter, m=10, verbose=0, on_step=None, step_tol=None,
            norm="max", relative=False):
    """``minimize`` as a generator of ``loss_gradient`` requests (see ``iteration``)."""
    xp = _backend.get_namespace(x0=x0)
    lam = float(getattr(objective, "l1", 0.0))
    P = int(getattr(objective, "n_penalised", x0.shape[0]))
    (f, g), eps, _ = yield from start(objective, x0, Ask.LOSS_GRADIENT)
    F = f + lam * float(abs(x0[:P]).sum())
    pg = pseudo_gradient(x0, g, lam, P, xp)
    history = quasi_newton.memory(m)
    patience, progress = _STALL["float32" if eps > 1e-10 else "float64"]
    it = Iteration("owlqn", x0, F, g, float(abs(pg).max()), eps, tol=tol, max_iter=max_iter,
                   patience=patience, progress=progress, verbose=verbose, on_step=on_step,
                   converged="max|pseudo-gradient| <= tol", step_tol=step_tol,
                   stop=stop_norm(pg, norm), relative=relative)
    while it.running():
        x, F, g = it.x, it.f, it.g
        d = -quasi_newton.two_loop(pg, history)
        d = xp.where(d * pg < 0, d, 0)  # only along -pg's signs: F's descent directions
        dphi0 = float(pg @ d)
        if not dphi0 < 0:  # the memory lost descent: steepest descent, fresh memory
            history.clear()
            d, dphi0 = -pg, -float(pg @ pg)
        orthant = xp.where(x[:P] != 0, xp.sign(x[:P]), xp.sign(-pg[:P]))
        step = 1.0 if history else min(1.0, 1.0 / math.sqrt(-dphi0))
        accepted = None
        slack = rounding_slack(eps, F)
        for _ in range(_MAX_BACKTRACKS):
            x_a = x + step * d
            x_a[:P] = xp.where(xp.sign(x_a[:P]) == orthant, x_a[:P], 0)
            f_a, g_a = yield from evaluate(x_a)
            it.n_fev += 1
            F_a = f_a + lam * float(abs(x_a[:P]).sum()) if math.isfinite(f_a) else math.inf
            if F_a <= F + C1 * float(pg @ (x_a - x)) or (
                    # where rounding hides F's decrease: Hager & Zhang's approximate Wolfe
                    # test on the slope along d, as line_search does for the smooth solvers
                    F_a <= F + slack
                    and float(pseudo_gradient(x_a, g_a, lam, P, xp) @ d) <= (2 * C1 - 1) * dphi0):
                accepted = (x_a, g_a, F_a)
                break
            fraction = blowup_fraction(F, F_a)
            step *= 0.5 if fraction is None else min(fraction, 0.5)
        if accepted is None:
            if history:  # retry once along the steepest descent with a fresh memory
                history.clear()
                continue
            it.stop(LINE_SEARCH_FAILED)
            break
        x_new, g_new, F_new = accepted
        quasi_newton.remember(history, x_new - x, g_new - g)  # the smooth part's curvature
        pg = pseudo_gradient(x_new, g_new, lam, P, xp)
        it.accept(x_new, F_new, g_new, float(abs(pg).max()), step, stop_norm(pg, norm))
    return it.result()


def pseudo_gradient(x, g, lam, P, xp):
    """The steepest-descent direction's negative for ``f + lam ||x[:P]||_1`` (see the
    module docstring); ``g`` itself where ``lam`` is 0 and beyond P."""
    if lam == 0:
        return g
    pg = g.copy()
    w, gw = x[:P], g[:P]
    at_zero = xp.where(gw + lam < 0, gw + lam, xp.where(gw - lam > 0, gw - lam, 0))
    pg[:P] = xp.where(w > 0, gw + lam, xp.where(w < 0, gw - lam, at_zero))
    return pg
