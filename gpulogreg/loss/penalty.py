"""The penalty of one problem: its C and elastic-net mixing, as one value object.

    smooth part:  (1 - l1_ratio) ||W||^2 / (2 C S)   (here, in the objective)
    L1 part:      l1_ratio ||W||_1 / (C S)           (``solvers.owlqn`` adds it)

``LogisticLoss`` and each member of a model batch hold a ``Penalty`` and the sum of their
sample weights S, and ask it for every term the penalty adds: nothing else divides by
``C S``. The intercept is never penalised: the penalty applies to the first
``n_penalised`` entries of a coefficient vector (``layout.Layout``: W comes first).

Every term is finite wherever its exact value is: ``C S`` may be subnormal (C = 1e-320)
or overflow, so it is formed as a product of square roots (``root_CS``) and divided by
twice.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _backend


def root_CS(C, S):
    """``sqrt(C S)`` as a product of roots: a normal number wherever C and S are, even where
    ``C S`` itself would be subnormal (C = 1e-320: digits lost) or overflow."""
    return math.sqrt(C) * math.sqrt(S)


def over_CS(v, C, S):
    """``v / (C S)`` as two divisions by ``root_CS(C, S)``: finite wherever its exact value
    is (0 for C = inf)."""
    root = root_CS(C, S)
    return v / root / root


class Penalty:
    """``C`` (inverse strength; ``inf``: no penalty) and ``l1_ratio`` (the L1 share) of one
    problem, on the first ``n_penalised`` entries of its coefficients."""

    def __init__(self, C, l1_ratio=0.0, n_penalised=0):
        self.C, self.l1_ratio = float(C), float(l1_ratio)
        self.n_penalised = int(n_penalised)
        # the C of the smooth L2 share: C / (1 - l1_ratio) (C for pure L2, inf for pure L1)
        self.C_l2 = self.C / (1 - self.l1_ratio) if self.l1_ratio < 1 else math.inf

    def l1(self, S):
        """The strength of the L1 share, ``l1_ratio / (C S)`` (0 without one): the
        non-smooth term ``l1 * ||W||_1`` that ``solvers.owlqn`` adds to the objective."""
        if self.l1_ratio == 0 or math.isinf(self.C):
            return 0.0
        return over_CS(self.l1_ratio, self.C, S)

    def curvature(self, S):
        """The smooth share's second derivative per penalised entry, ``1 / (C_l2 S)`` (0
        without one): its Hessian is this times the identity on the penalised entries."""
        return over_CS(1.0, self.C_l2, S)

    def scale_gradient(self, out, v, S):
        """``out / S + [v_W / (C_l2 S), 0]``, in place: a pass's summed gradient (or Hessian
        product) with the data term's normalisation and the smooth penalty's term at ``v``
        (the point, or the direction of a Hessian product)."""
        out *= 1.0 / S
        if not math.isinf(self.C_l2):
            P = self.n_penalised
            out[:P] += over_CS(v[:P], self.C_l2, S)
        return out

    def gradient(self, v, S):
        """The smooth penalty's gradient at ``v`` (its Hessian times v): ``[v_W / (C S), 0]``."""
        xp = _backend.get_namespace(v=v)
        return self.scale_gradient(xp.zeros_like(v), v, S)

    def value(self, coef, S):
        """``||W||^2 / (2 C_l2 S)`` as a 0-d float64 array of coef's namespace (no host
        read), computed as ``||W / sqrt(2 C S)||^2``."""
        if math.isinf(self.C_l2):
            return _backend.get_namespace(coef=coef).zeros((), dtype=np.float64)
        w = coef[:self.n_penalised] / (math.sqrt(2.0) * root_CS(self.C_l2, S))
        return w @ w

    def scale_loss(self, loss, coef, S):
        """``loss / S + ||W||^2 / (2 C_l2 S)`` for a pass's summed loss, as a Python float
        (the pass's one host read)."""
        loss = loss / S
        if not math.isinf(self.C_l2):
            loss += self.value(coef, S)
        return float(loss)

    def add_to_hessian(self, H, S, xp):
        """``H += diag(1 / (C_l2 S))`` on the penalised entries, in place."""
        if not math.isinf(self.C_l2):
            diagonal = xp.arange(self.n_penalised)
            H[diagonal, diagonal] += self.curvature(S)
        return H
