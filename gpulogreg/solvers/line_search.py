"""A strong-Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6).

Works on any array namespace: the trial points and gradients stay on the
device of ``x``; each trial reads two scalars to the host (the objective and
the directional derivative).

Near an optimum the objective's decrease can fall below its floating-point
resolution, where the Armijo test is decided by rounding. There the
approximate-Wolfe test of Hager & Zhang (2005) stands in for it: the objective
does not rise beyond rounding and the directional derivative has dropped as
Armijo would require of a quadratic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .iteration import blowup_fraction, evaluate, rounding_slack
from .requests import Request

C1 = 1e-4  # sufficient decrease
C2 = 0.9  # curvature (0.9 suits quasi-Newton and Newton directions)
_MAX_EVALS = 40
_EXTRAPOLATE = 4.0


@dataclass
class Step:
    ok: bool
    step: float
    x: Any = None
    f: float = math.nan
    g: Any = None
    n_fev: int = 0


def wolfe(evaluate, x, f0, g0, d, dphi0, step=1.0, eps=2.0**-52):
    """Search ``x + step * d`` (``d`` a descent direction, ``dphi0 = g0 @ d < 0``); ``eps`` is
    the relative resolution of ``f`` (float32's for float32 data). A generator (see
    ``_common``): ``evaluate(x)`` is a generator function that requests ``(f, g)`` at x;
    returns the ``Step``."""
    n_fev = 0
    slack = rounding_slack(eps, f0)

    def trial(a):
        nonlocal n_fev
        x_a = x + a * d
        f_a, g_a = yield from evaluate(x_a)
        n_fev += 1
        dphi = float(g_a @ d) if math.isfinite(f_a) else math.nan
        return x_a, f_a, g_a, dphi

    def decreases(a, f_a, dphi):
        if not math.isfinite(f_a) or not math.isfinite(dphi):
            return False
        return f_a <= f0 + C1 * a * dphi0 or (f_a <= f0 + slack and dphi <= (2 * C1 - 1) * dphi0)

    def curvature(dphi):
        return abs(dphi) <= -C2 * dphi0

    def not_lower(a, f_a, dphi, b, f_b, dphi_b):
        """phi(a) >= phi(b), from the values, or where rounding hides their difference, from
        the derivatives: phi(a) - phi(b) ~ (a - b) (phi'(a) + phi'(b)) / 2."""
        if not math.isfinite(f_a):
            return True
        if abs(f_a - f_b) > slack:
            return f_a >= f_b
        return (a - b) * (dphi + dphi_b) >= 0

    # bracketing phase: grow the step until an interval holding a Wolfe point is found
    lo, f_lo, dphi_lo = 0.0, f0, dphi0
    best = None  # (x, f, g) at lo once lo > 0
    a = step
    while True:
        x_a, f_a, g_a, dphi = yield from trial(a)
        if not decreases(a, f_a, dphi) or (n_fev > 1 and not_lower(a, f_a, dphi, lo, f_lo,
                                                                     dphi_lo)):
            hi, f_hi, dphi_hi = a, f_a, dphi
            break
        if curvature(dphi):
            return Step(True, a, x_a, f_a, g_a, n_fev)
        if dphi >= 0:
            hi, f_hi, dphi_hi = lo, f_lo, dphi_lo
            lo, f_lo, dphi_lo, best = a, f_a, dphi, (x_a, f_a, g_a)
            break
        lo, f_lo, dphi_lo, best = a, f_a, dphi, (x_a, f_a, g_a)
        a *= _EXTRAPOLATE
        if n_fev >= _MAX_EVALS:
            return Step(True, lo, *best, n_fev)  # lo > 0 here: every step so far decreased

    # zoom phase: shrink [lo, hi] (either order) keeping lo the best decreasing point
    while n_fev < _MAX_EVALS:
        fraction = blowup_fraction(f_lo, f_hi)
        a = lo + (hi - lo) * fraction if fraction is not None else lo
        if a == lo:  # an ordinary bracket (or a fraction too small to move): interpolate
            a = _cubic_min(lo, f_lo, dphi_lo, hi, f_hi, dphi_hi)
        x_a, f_a, g_a, dphi = yield from trial(a)
        if not decreases(a, f_a, dphi) or not_lower(a, f_a, dphi, lo, f_lo, dphi_lo):
            hi, f_hi, dphi_hi = a, f_a, dphi
        else:
            if curvature(dphi):
                return Step(True, a, x_a, f_a, g_a, n_fev)
            if dphi * (hi - lo) >= 0:
                hi, f_hi, dphi_hi = lo, f_lo, dphi_lo
            lo, f_lo, dphi_lo, best = a, f_a, dphi, (x_a, f_a, g_a)
        if abs(hi - lo) <= 1e-14 * max(abs(lo), abs(hi)):
            break
    if best is not None:  # the best decreasing point: not a Wolfe point, but progress
        return Step(True, lo, *best, n_fev)
    return Step(False, lo, n_fev=n_fev)


def _cubic_min(a, fa, da, b, fb, db):
    """Minimiser of the cubic through (a, fa, da), (b, fb, db), kept inside the middle 80 %.

    Falls back to bisection when the data are not finite or the cubic has no minimum.
    """
    lo, hi = min(a, b), max(a, b)
    margin = 0.1 * (hi - lo)
    mid = 0.5 * (a + b)
    if not all(math.isfinite(v) for v in (fa, da, fb, db)):
        return mid
    d1 = da + db - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc < 0:
        return mid
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = db - da + 2 * d2
    if denom == 0:
        return mid
    t = b - (b - a) * (db + d2 - d1) / denom
    if not math.isfinite(t) or not lo + margin <= t <= hi - margin:
        return mid
    return t


def newton(with_curvature, x, f0, g0, d, dphi0, eps=2.0**-52):
    """``wolfe`` from the Newton step 1 for the Newton solvers: the first trial (accepted near
    the optimum) requests ``with_curvature`` (``Ask.GRADIENT_HESSP`` or ``GRADIENT_HESSIAN``:
    ``(f, g, curvature)``), shorter steps ``Ask.LOSS_GRADIENT`` only. Returns ``(Step,
    curvature at the accepted point)``; when the search settled on a shorter step, that
    costs one more evaluation (counted in ``Step.n_fev``). So an accepted Newton step is one
    pass over X. A generator, like ``wolfe``."""
    first = []

    def trial(x_a):
        if first:
            return (yield from evaluate(x_a))
        f_a, g_a, curvature = yield Request(with_curvature, x_a)
        first.append((x_a, curvature))
        return f_a, g_a

    ls = yield from wolfe(trial, x, f0, g0, d, dphi0, 1.0, eps)
    if not ls.ok:
        return ls, None
    if first[0][0] is ls.x:
        return ls, first[0][1]
    ls.f, ls.g, curvature = yield Request(with_curvature, ls.x)
    ls.n_fev += 1
    return ls, curvature
