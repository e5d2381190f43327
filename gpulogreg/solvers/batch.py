"""A model batch: many independent problems on one X, solved in lockstep (DESIGN.md 6).

Problem j minimises the objective of ``loss.LogisticLoss`` with a penalty of its own and
row weights ``s * mask[fold_j]``: for cross-validation, fold j's training rows. Each
problem runs its own solver (a generator of evaluation requests, see ``requests``); every
round, ``solve`` collects one request from each problem still running and answers them
all with **one pass over X** (``loss.batch_pass.BatchPass``: one ``X @ V`` for every
problem's coefficients, then one ``[X, 1]^T R``). A problem that converges stops asking,
so the batch shrinks and the slowest problem alone sets the number of rounds. Results
equal solving each problem on its own (same solver, same requests): only the order of the
float64 sums over blocks differs.

``GRADIENT_HESSIAN`` requests (newton-cholesky) are answered one problem at a time: a
Hessian per problem costs ``n d^2`` each, which no stacking saves.
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from ..loss import overrides
from ..loss.batch_pass import BatchPass
from ..loss.objective import LogisticLoss
from ..loss.penalty import Penalty
from ..sources import source_for
from .requests import Ask


class _Member:
    """What a solver reads of its objective (``eps``, and for OWL-QN ``l1`` and
    ``n_penalised``), plus problem j's fold, its ``penalty`` (``loss.penalty.Penalty``, as
    ``LogisticLoss`` holds one) and the sum of its weights."""

    def __init__(self, batch, fold, C, sum_weights, l1_ratio=0.0):
        self.eps = batch.source.eps
        self.xp = batch.xp
        self.fold, self.sum_weights = fold, float(sum_weights)
        self.n_penalised = batch.n_features * batch.model.k
        self.penalty = Penalty(C, l1_ratio, self.n_penalised)

    @property
    def l1(self):
        """``Penalty.l1``, as ``LogisticLoss.l1``."""
        return self.penalty.l1(self.sum_weights)

    def scale(self, out, v):
        """The summed gradient (or product) scaled as ``LogisticLoss`` scales it."""
        return self.penalty.scale_gradient(out, v, self.sum_weights)

    def penalty_gradient(self, v):
        """The smooth penalty's gradient at ``v`` (its Hessian times v)."""
        return self.penalty.gradient(v, self.sum_weights)


class Curvature:
    """The token a batched ``gradient_hessp`` answer carries: the point its Hessian is at."""

    def __init__(self, coef):
        self.coef = coef


class ModelBatch:
    """Problems ``(fold, C)`` or ``(fold, C, l1_ratio)`` on the rows of ``source`` (an
    in-memory or streamed source, whose blocks are slices of the whole X); ``masks`` is a
    (n_folds, n) boolean array of the source's namespace: row i is in fold f's training set
    when ``masks[f, i]``."""

    def __init__(self, source, model, masks, problems):
        if _backend.is_sparse(source.X) and source.X.format == "csc":
            # each piece of rows of a CSC matrix rescans all its nonzeros: CSR once (a copy
            # of the nonzeros, made once per batch rather than once per piece and pass)
            source = source_for(source.X.tocsr(), source.y, source.sample_weight,
                                fit_intercept=source.fit_intercept)
        self.source, self.model, self.masks = source, model, masks
        self.xp = source.xp
        self.n_features = source.n_features
        self.fit_intercept = source.fit_intercept
        self.n_params = source.n_params * model.k
        s = source.sample_weight
        # every fold's sum of weights in one device-to-host transfer
        sums = (masks.sum(axis=1, dtype=np.float64) if s is None else
                (masks * s).sum(axis=1, dtype=np.float64))
        sums = _backend.to_numpy(sums).tolist()
        # a problem is (fold, C) or, with an elastic-net share, (fold, C, l1_ratio)
        self.members = [_Member(self, problem[0], problem[1], sums[problem[0]], *problem[2:])
                        for problem in problems]
        self.compiled = overrides.batch_compiled_for(model, masks.shape[1], len(problems),
                                                     self.xp)
        self._last, self._parent = {}, {}  # see _answer and _inherited

    def solve(self, steps, then=None):
        """Run the solvers ``steps`` (one generator per problem, in the order of
        ``problems``; None for a problem that another one's end starts) to the end; return
        their results. ``then(j, result)``, called as problem j ends, may return
        ``(j2, generator)``: problem j2 starts then, its first request answered in the next
        round (a path of Cs, each warm-started from the one before, as
        ``LogisticRegressionCV`` runs them)."""
        X = self.source.X
        if not self.compiled or _backend.is_host_array(X) and X.flags.c_contiguous:
            return self._solve(steps, then)  # a C-contiguous X: no BLAS in the compiled pass
        # BLAS on one thread while the compiled elementwise step runs on all: OpenBLAS's
        # idle threads spin after each product and halved the compiled step's speed (18.5 vs
        # 9.5 ns per entry on the 2-core development machine, numba's step)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            return self._solve(steps, then)

    def _solve(self, steps, then):
        steps = list(steps)
        results = [None] * len(steps)
        pending = {}
        self._last, self._parent = {}, {}

        def advance(j, answer=None, first=False):
            try:
                pending[j] = next(steps[j]) if first else steps[j].send(answer)
            except StopIteration as stop:
                results[j] = stop.value
                following = None if then is None else then(j, stop.value)
                if following is not None:
                    steps[following[0]] = following[1]
                    self._parent[following[0]] = j
                    advance(following[0], first=True)

        for j, gen in enumerate(steps):
            if gen is not None:
                advance(j, first=True)
        while pending:
            answers, pending = self._answer(pending), {}
            for j, answer in answers.items():
                advance(j, answer)
        return results

    def _answer(self, pending):
        """One pass over X for every batched request of this round (one more per
        ``gradient_hessian`` request). A path's next C asks first for the gradient at the
        previous C's solution, whose data term (losses and ``[X, 1]^T R``; only the penalty
        depends on C) the previous problem's last answer holds: that request costs no pass."""
        gradients, products, hessians, reused = [], [], [], {}
        for j, request in pending.items():
            if request.ask in (Ask.LOSS_GRADIENT, Ask.GRADIENT_HESSP):
                data = self._inherited(j, request.x)
                if data is None:
                    gradients.append(j)
                else:
                    reused[j] = data
            elif request.ask is Ask.HESSP:
                products.append(j)
            else:  # Ask.GRADIENT_HESSIAN
                hessians.append(j)
        answers, members, k = {}, self.members, self.model.k
        data = {}  # j -> (summed loss, unscaled [X, 1]^T R (P, k)) of each gradient request
        G = None
        if gradients or products:
            pass_ = BatchPass([(members[j].fold, pending[j].x) for j in gradients],
                              [(members[j].fold, pending[j].curvature.coef, pending[j].x)
                               for j in products],
                              self.n_features, self.fit_intercept, self.model, self.masks,
                              self.xp, compiled=self.compiled)
            losses, G = self.source.reduce(pass_)
            data = {j: (losses[i], G[:, i * k:(i + 1) * k].copy())
                    for i, j in enumerate(gradients)}
        data.update(reused)
        if data:
            # every objective of the round in one device-to-host transfer: the summed losses
            # scaled and penalised on the device, as LogisticLoss does one at a time
            xp, order = self.xp, list(data)
            sums = xp.asarray([members[j].sum_weights for j in order])
            penalties = xp.stack([members[j].penalty.value(pending[j].x, members[j].sum_weights)
                                  for j in order])
            summed = xp.stack([xp.asarray(data[j][0], dtype=np.float64) for j in order])
            objectives = _backend.to_numpy(summed / sums + penalties).tolist()
            for f, j in zip(objectives, order):
                ask, x = pending[j].ask, pending[j].x
                self._last[j] = (x.copy(), *data[j])  # for the next C of j's path
                g = members[j].scale(data[j][1].reshape(-1).copy(), x)
                answers[j] = (f, g) if ask is Ask.LOSS_GRADIENT else (f, g, Curvature(x.copy()))
        for i, j in enumerate(products):
            column = len(gradients) + i
            answers[j] = members[j].scale(G[:, column * k:(column + 1) * k].reshape(-1),
                                          pending[j].x)
        for j in hessians:
            answers[j] = self._alone(j).gradient_hessian(pending[j].x)
        return answers

    def _inherited(self, j, x):
        """The data term at ``x`` from the last gradient answered to the problem whose end
        started problem j, if that was at ``x`` (j's first request only), else None."""
        parent = self._parent.pop(j, None)
        last = None if parent is None else self._last.get(parent)
        if last is None or last[0].shape != x.shape or not bool((last[0] == x).all()):
            return None
        return last[1], last[2]

    def _alone(self, j):
        """Problem j as a ``LogisticLoss`` of its own (its weights an n-vector)."""
        src, member = self.source, self.members[j]
        weights = self.masks[member.fold].astype(src.X.dtype)
        if src.sample_weight is not None:
            weights *= src.sample_weight
        return LogisticLoss(source=source_for(src.X, src.y, weights,
                                              fit_intercept=src.fit_intercept),
                            C=member.penalty.C, model=self.model,
                            l1_ratio=member.penalty.l1_ratio)
