"""liblinear's objective, whose intercept is the penalised weight of a constant feature.

scikit-learn's ``solver="liblinear"`` penalises the intercept as the weight of a column of
value ``intercept_scaling``; ``InterceptAsFeature`` gives that objective without adding the
column to X: a solver runs in the coordinates of that parametrisation and its requests are
translated to and from ours.
"""

from __future__ import annotations

import dataclasses

from ..solvers.requests import Ask, Request


class InterceptAsFeature:
    """liblinear's objective over ``u = [w, w_b]``: the intercept is the weight of a constant
    feature of value ``scaling`` (``b = scaling * w_b``), penalised like every other weight:

        f(u) = loss(w, scaling * w_b) + (1 - l1_ratio) w_b^2 / (2 C S)   (+ l1 ||u||_1)

    where ``loss`` is the objective of ``objective`` (a ``LogisticLoss`` or a model batch's
    member: binomial, with its L2 share on w), so its optimum is scikit-learn's
    ``solver="liblinear"``. No column is added to X: a solver runs in u, and ``steps``
    translates its requests to ``x = [w, b] = J u`` (J = diag(1, ..., 1, scaling)) and the
    answers back (gradient ``J g``, Hessian ``J H J``, plus the intercept's penalty). The
    solver reads its attributes here: every entry of u is penalised (``n_penalised``), for
    OWL-QN's L1 too."""

    def __init__(self, objective, scaling):
        self.objective, self.scaling = objective, float(scaling)
        self.xp, self.eps, self.l1 = objective.xp, objective.eps, objective.l1
        self.n_penalised = objective.n_penalised + 1
        # (1 - l1_ratio) / (C S); 0 for C = inf
        self._l2 = objective.penalty.curvature(objective.sum_weights)

    def to_coef(self, u):
        """``[w, b]`` from ``u = [w, w_b]``."""
        x = u.copy()
        x[-1] *= self.scaling
        return x

    def from_coef(self, x):
        """``u = [w, w_b]`` from ``[w, b]``."""
        u = x.copy()
        u[-1] /= self.scaling
        return u

    def _gradient(self, g, u):
        g = g.copy()
        g[-1] = g[-1] * self.scaling + self._l2 * u[-1]
        return g

    def steps(self, solver_steps):
        """A solver's generator of requests in u, as a generator of requests in x (answered
        by ``objective``, or a batch); returns the solver's Result, x in u."""
        answer = None
        request = next(solver_steps)
        while True:
            if request.ask is Ask.HESSP:
                v = request.x
                out = (yield request._replace(x=self.to_coef(v))).copy()
                out[-1] = out[-1] * self.scaling + self._l2 * v[-1]
                answer = out
            else:
                u = request.x
                f, g, *rest = yield Request(request.ask, self.to_coef(u))
                f = f + 0.5 * self._l2 * float(u[-1]) ** 2
                if request.ask is Ask.GRADIENT_HESSIAN:
                    H = rest[0]
                    H[-1, :] *= self.scaling  # J H J
                    H[:, -1] *= self.scaling
                    H[-1, -1] += self._l2
                    rest = [H]
                answer = (f, self._gradient(g, u), *rest)
            try:
                request = solver_steps.send(answer)
            except StopIteration as stop:
                return stop.value

    def solution(self, steps):
        """``steps`` (a generator from ``steps``) with its Result's x brought back to
        ``[w, b]``."""
        result = yield from steps
        return dataclasses.replace(result, x=self.to_coef(result.x))
