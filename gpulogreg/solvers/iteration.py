"""What every solver shares: how it asks for evaluations, its first one and its Result.

A solver is written as a generator of evaluation requests (``iterate``): it yields
``(method, x)`` for ``objective.method(x)`` (``"loss_gradient"``, ``"gradient_hessp"`` or
``"gradient_hessian"``) or ``("hessp", curvature, v)`` for a Hessian-vector product with
the curvature a ``gradient_hessp`` answer returned, and receives the answer. ``run``
answers the requests of one solver from one objective (what ``minimize`` does); a
driver that advances many solvers in lockstep can answer all of their requests in one
pass over X (``_batch``). So a solver knows functions and vectors, never X, and never
how its evaluations are scheduled.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

LINE_SEARCH_FAILED = ("line search failed: no step decreases the objective (tol is below "
                      "what this data and dtype can resolve)")
STALLED = ("stalled: for {patience} iterations neither the objective (beyond its rounding) "
           "nor max|gradient| improved; tol is below what this data and dtype can resolve")


@dataclass
class Result:
    """Outcome of a solver run."""

    x: Any  # the coefficients, same namespace and dtype as x0
    fun: float  # objective at x
    grad_max: float  # max |gradient| at x
    n_iter: int  # accepted steps
    n_fev: int  # objective/gradient evaluations
    converged: bool  # grad_max <= tol
    message: str
    memory: Any = None  # lbfgs: its curvature pairs [(s, y)] at the end, oldest first


class DivergenceError(ValueError):
    """A solver with a user-fixed step size made the objective rise or overflow."""


def run(steps, objective):
    """Answer the requests of ``steps`` (a solver's generator) from ``objective``; return
    the solver's result."""
    try:
        request = next(steps)
        while True:
            method, *args = request
            if method == "hessp":
                curvature, v = args
                answer = curvature(v)
            else:
                answer = getattr(objective, method)(*args)
            request = steps.send(answer)
    except StopIteration as stop:
        return stop.value


def evaluate(x):
    """The request for the objective and gradient at ``x``: ``f, g = yield from evaluate(x)``."""
    return (yield ("loss_gradient", x))


def start(objective, x0, method):
    """Request ``method`` at ``x0`` (an answer that starts ``f, grad``), a solver's first
    evaluation. Returns ``(answer, eps, grad_max)``: ``eps`` is the objective's relative
    resolution (``objective.eps``, float32's for float32 data; float64's by default).
    """
    values = yield (method, x0)
    f, g = values[0], values[1]
    if not math.isfinite(f):
        raise ValueError(f"the objective is not finite at the starting point ({f}).")
    return values, getattr(objective, "eps", 2.0**-52), float(abs(g).max())


def rounding_slack(eps, f):
    """How far an objective of value ``f`` can move by rounding alone: ``8 eps |f|``, with
    ``eps`` the objective's relative resolution (float32's for float32 data)."""
    return 8 * eps * abs(f)


def blowup_fraction(f0, f_new):
    """For a rejected trial whose objective overflowed or rose far above ``|f0|``: the
    fraction of the step to try next, scaling the rise back to the size of ``f0`` (a step
    that is off by many orders of magnitude, e.g. for features of size 1e30, is then
    corrected in one trial rather than dozens of halvings). None for an ordinary rejection."""
    if not math.isfinite(f_new):
        return 1e-3
    scale = max(abs(f0), 1e-300)
    rise = f_new - f0
    return scale / rise if rise > 10 * scale else None


class Stall:
    """Counts iterations that improve nothing resolvable: the objective falls by no more than
    its rounding and max|gradient| is not below ``progress`` times its best (1% below by
    default). ``patience`` of them in a row means tol is below what the data's dtype
    resolves (e.g. float32 asked for 1e-10)."""

    def __init__(self, eps, grad_max, patience, progress=0.99):
        self.eps, self.best, self.patience, self.count = eps, grad_max, patience, 0
        self.progress = progress

    def update(self, f_old, f_new, grad_max):
        """Record one accepted step; True when the solver should stop."""
        if grad_max < self.progress * self.best:
            self.best, self.count = grad_max, 0
        elif not f_old - f_new > rounding_slack(self.eps, f_old):
            self.count += 1
        return self.count >= self.patience

    @property
    def message(self):
        return STALLED.format(patience=self.patience)


class Progress:
    """``verbose`` output of a solver: one line per accepted step (iteration, objective,
    max|gradient|, step length, seconds since the start); and ``on_step(n_iter, f,
    grad_max, x)``, if given, called with the new point (scikit-learn's callbacks)."""

    def __init__(self, name, verbose, on_step=None):
        self.name, self.verbose, self.start = name, verbose, time.perf_counter()
        self.on_step = on_step

    def step(self, n_iter, f, grad_max, step, x):
        if self.on_step is not None:
            self.on_step(n_iter, f, grad_max, x)
        if self.verbose:
            print(f"{self.name} iter {n_iter:5d}  f={f:.12g}  max|g|={grad_max:.3e}  "
                  f"step={step:.3g}  elapsed={time.perf_counter() - self.start:.3f}s",
                  flush=True)
