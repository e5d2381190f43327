"""What every solver shares: its first evaluation, its bookkeeping and its Result.

A solver is written as a generator of evaluation requests (``requests``): it yields a
``Request`` and receives the answer. ``run`` answers the requests of one solver from one
objective (what ``minimize`` does); a driver that advances many solvers in lockstep can
answer all of their requests in one pass over X (``batch``). ``Iteration`` holds what
every solver's loop keeps: the point, the counts, the stopping rules (tol, max_iter, a
stall) and the progress report, so a solver's module holds its step and nothing else.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from .requests import Ask, Request

LINE_SEARCH_FAILED = ("line search failed: no step decreases the objective (tol is below "
                      "what this data and dtype can resolve)")
STALLED = ("stalled: for {patience} iterations neither the objective (beyond its rounding) "
           "nor max|gradient| improved; tol is below what this data and dtype can resolve")
NO_DECREASE = ("converged: for {patience} iterations the objective has not decreased beyond its "
               "rounding (scikit-learn's lbfgs also stops, converged, where it can no longer "
               "decrease the objective); max|gradient| is as small as this data and dtype "
               "resolve")


@dataclass
class Result:
    """Outcome of a solver run."""

    x: Any  # the coefficients, same namespace and dtype as x0
    fun: float  # objective at x
    grad_max: float  # max |gradient| at x
    n_iter: int  # accepted steps
    n_fev: int  # objective/gradient evaluations
    converged: bool  # grad_max <= tol (or, for lbfgs, no decrease of f left to resolve)
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
            request = steps.send(request.answer(objective))
    except StopIteration as stop:
        return stop.value


def evaluate(x):
    """The request for the objective and gradient at ``x``: ``f, g = yield from evaluate(x)``."""
    return (yield Request(Ask.LOSS_GRADIENT, x))


def start(objective, x0, ask):
    """Request ``ask`` at ``x0`` (an answer that starts ``f, grad``), a solver's first
    evaluation. Returns ``(answer, eps, grad_max)``: ``eps`` is the objective's relative
    resolution (``objective.eps``, float32's for float32 data; float64's by default).
    """
    values = yield Request(ask, x0)
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


class Iteration:
    """A solver run's state and bookkeeping: the point ``x`` with its objective ``f``,
    gradient ``g`` and ``grad_max`` (what the stopping rule reads: max|gradient|, or for
    OWL-QN max|pseudo-gradient|), the counts, the stopping rules and the progress report.

    A solver's loop is ``while it.running(): ... it.accept(...)``, with ``it.stop(why)``
    where its step fails, and ends with ``return it.result()``. ``verbose`` prints one line
    per accepted step (iteration, objective, max|gradient|, step length, seconds since the
    start); ``on_step(n_iter, f, grad_max, x)``, if given, is called with the starting point
    (``n_iter`` 0) and each new point (scikit-learn's callbacks). ``patience`` and ``progress`` set the stall rule
    (``Stall``); ``converged`` is the message of a run that reaches tol. With
    ``stall_converges``, a run that stalls (it can no longer decrease the objective beyond
    its rounding) ends converged, without a warning: scikit-learn's lbfgs's sense of
    convergence (SciPy's relative-reduction rule on f). With ``step_tol``, reaching tol
    also needs the last step's relative change of the coefficients, ``max|x_new - x| /
    max|x_new|``, to be at most ``step_tol``: scikit-learn's saga's rule (on the weights),
    which on ill-conditioned problems asks for more than the gradient's.

    What is compared with tol is ``grad_max``, or the ``stop`` values a solver passes with
    its points (another norm: liblinear's rules use the 2-norm of the gradient, or the
    1-norm of the pseudo-gradient); with ``relative``, tol is relative to the starting
    point's value (liblinear's rules)."""

    def __init__(self, name, x, f, g, grad_max, eps, *, tol, max_iter, patience, verbose=0,
                 on_step=None, progress=0.99, converged="max|gradient| <= tol",
                 stall_converges=False, step_tol=None, stop=None, relative=False):
        self.name, self.max_iter = name, max_iter
        self.stop_value = grad_max if stop is None else stop
        self.tol = tol * self.stop_value if relative else tol
        self.x, self.f, self.g, self.grad_max = x, f, g, grad_max
        self.n_iter, self.n_fev = 0, 1
        self.message = None
        self.converged = None  # decided when the run ends: by tol, or by ftol
        self._converged, self._stall_converges = converged, stall_converges
        self._step_tol = step_tol
        self._change = 0.0 if grad_max == 0 else None  # of the last step (step_tol)
        self._stall = Stall(eps, grad_max, patience, progress)
        self._verbose, self._on_step = verbose, on_step
        self._start = time.perf_counter()
        if on_step is not None:
            on_step(0, f, grad_max, x)

    def running(self):
        """Whether to take another step: False once ``max|g| <= tol`` or after ``max_iter``
        steps (the message says which), or after ``stop``."""
        if self.message is not None:
            return False
        if self._reached_tol():
            self.message, self.converged = self._converged, True
        elif self.n_iter >= self.max_iter:
            self.message = f"max_iter={self.max_iter} reached"
        return self.message is None

    def _reached_tol(self):
        return self.stop_value <= self.tol and (
            self._step_tol is None or self._change is not None and self._change <= self._step_tol)

    def stop(self, message):
        """End the run here, saying why (a failed step)."""
        self.message = message

    def accept(self, x, f, g, grad_max, step, stop=None):
        """Move to an accepted point (``step``: its step length, for the report; ``stop``:
        its value for the stopping rule, if not ``grad_max``); stop the run, with the
        stall's message, when it has stalled short of tol."""
        f_old = self.f
        if self._step_tol is not None:  # as scikit-learn's saga measures it
            largest, change = float(abs(x).max()), float(abs(x - self.x).max())
            self._change = change / largest if largest > 0 else (0.0 if change == 0 else
                                                                 math.inf)
        self.x, self.f, self.g, self.grad_max = x, f, g, grad_max
        self.stop_value = grad_max if stop is None else stop
        self.n_iter += 1
        if self._on_step is not None:
            self._on_step(self.n_iter, f, grad_max, x)
        if self._verbose:
            print(f"{self.name} iter {self.n_iter:5d}  f={f:.12g}  max|g|={grad_max:.3e}  "
                  f"step={step:.3g}  elapsed={time.perf_counter() - self._start:.3f}s",
                  flush=True)
        if self._reached_tol():
            return
        if self._stall.update(f_old, f, grad_max):
            if self._stall_converges:
                self.message = NO_DECREASE.format(patience=self._stall.patience)
                self.converged = True
            else:
                self.message = self._stall.message

    def result(self, memory=None):
        """The run's ``Result``."""
        return Result(self.x, self.f, self.grad_max, self.n_iter, self.n_fev,
                      bool(self.converged or self._reached_tol()), self.message, memory)


def norm(v, kind):
    """``max|v|`` (``"max"``), ``sum|v|`` (``"l1"``) or ``sqrt(v . v)`` (``"l2"``) as a
    Python float: what a stopping rule compares with tol."""
    if kind == "max":
        return float(abs(v).max())
    if kind == "l1":
        return float(abs(v).sum())
    return math.sqrt(float(v @ v))
