"""The L2-penalised, sample-weighted logistic loss of DESIGN.md section 1.

    f(w, b) = (1/S) sum_i s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S),  z = X w + b

and its multinomial form (``_models``): ``(1/S) sum_i s_i [log sum_c e^{z_ic} - z_{i y_i}]
+ ||W||_F^2 / (2 C S)`` with ``Z = X W + b``, as scikit-learn's. The coefficient vector
handed in by the solvers is ``coef = [w, b]`` (``b`` only when ``fit_intercept``; for k
classes the raveled ``(d + 1, k)`` matrix ``[W; b]``), float64, in the namespace of X. The
intercept is a separate term in every formula, never penalised: X is never copied or
augmented.

One code path, ``X.T @ residual(X @ w + b)``, runs on NumPy and on CuPy: the loss
builds passes (``_passes``) and a data source (``_sources``) sums them over row blocks. The
elementwise residual step has a general ``xp`` implementation (the reference)
and, on the GPU, a fused CUDA kernel override tested against it.
"""

from __future__ import annotations

import math

import numpy as np

from . import cpu
from .models import Binomial
from .passes import GradientHessian, HessianProduct, LossGradient
from ..sources import source_for


def root_CS(C, S):
    """``sqrt(C S)`` as a product of roots: a normal number wherever C and S are, even where
    ``C S`` itself would be subnormal (C = 1e-320: digits lost) or overflow. The penalty
    terms divide by it twice, so each is finite wherever its exact value is."""
    return math.sqrt(C) * math.sqrt(S)


def over_CS(v, C, S):
    """``v / (C S)`` as two divisions by ``root_CS(C, S)``: finite wherever its exact value
    is (0 for C = inf)."""
    root = root_CS(C, S)
    return v / root / root


def scale_gradient(out, v, n_penalised, C, S):
    """``out / S + [v_W / (C S), 0]``: a pass's summed gradient (or Hessian product) with the
    data term's normalisation and the L2 term on the first ``n_penalised`` entries (none
    for ``C = inf``), in place."""
    out *= 1.0 / S
    if not math.isinf(C):
        out[:n_penalised] += over_CS(v[:n_penalised], C, S)
    return out


def scale_loss(loss, coef, n_penalised, C, S):
    """``loss / S + ||W||^2 / (2 C S)`` for a pass's summed loss, as a Python float (the
    pass's one host read)."""
    loss = loss / S
    if not math.isinf(C):
        loss += penalty(coef, n_penalised, C, S)
    return float(loss)


def penalty(coef, n_penalised, C, S):
    """``||W||^2 / (2 C S)`` (W the first ``n_penalised`` entries of ``coef``) as a 0-d array
    of coef's namespace (no host read), computed as ``||W / sqrt(2 C S)||^2`` (see
    ``root_CS``); C finite."""
    w = coef[:n_penalised] / (math.sqrt(2.0) * root_CS(C, S))
    return w @ w


def l2_share(C, l1_ratio):
    """The C of the smooth L2 share of an elastic-net penalty: ``C / (1 - l1_ratio)`` (C
    itself for pure L2, inf for pure L1)."""
    return C / (1 - l1_ratio) if l1_ratio < 1 else math.inf


def l1_strength(C, l1_ratio, S):
    """The strength of the L1 share, ``l1_ratio / (C S)`` (0 without one): the non-smooth
    term ``l1 * ||W||_1`` that ``solvers.owlqn`` adds to the smooth objective."""
    if l1_ratio == 0 or math.isinf(C):
        return 0.0
    return over_CS(l1_ratio, C, S)


class LogisticLoss:
    """Loss and gradient of logistic regression (binomial or multinomial) on fixed, validated
    data.

    Parameters
    ----------
    X : (n, d) float32/float64 NumPy or CuPy array, any memory order (not copied).
    y : (n,) array of 0.0/1.0 of X's dtype, same namespace.
    sample_weight : (n,) array of X's dtype in [0, 1], or None for unit weights.
        ``_validation.check_sample_weight`` rescales weights to a maximum of 1 (and C by
        the same factor): that keeps every per-row term ``s l`` finite in float32.
    C : inverse penalty strength (``np.inf``: no penalty). The intercept is never penalised.
    l1_ratio : the L1 share of the penalty, scikit-learn's elastic-net mixing: the objective
        adds ``(1 - l1_ratio) ||W||^2 / (2 C S)`` here and exposes ``l1 = l1_ratio / (C S)``
        for ``solvers.owlqn``, which adds ``l1 ||W||_1``.
    fit_intercept : whether ``coef`` carries a trailing intercept (row).
    model : ``_models.Binomial()`` (default; y in {0, 1}) or ``_models.Multinomial(k)`` (y
        the class index 0..k-1, of X's dtype).
    fused : None (default) uses the fused CUDA kernel for the residual step on GPU blocks;
        False keeps them on the general ``xp`` path.
    source : a data source (see ``RowBlocks``) to use instead of ``X, y, sample_weight``.
    """

    def __init__(self, X=None, y=None, sample_weight=None, *, C=1.0, fit_intercept=True,
                 fused=None, source=None, model=None, l1_ratio=0.0):
        if source is None:
            source = source_for(X, y, sample_weight, fit_intercept=fit_intercept)
        self.source = source
        self.fused = fused
        self.model = Binomial() if model is None else model
        # the numba passes for a big enough C-contiguous NumPy X computed on the CPU (never
        # Dask, CuPy, or a host X streamed through the GPU)
        self.compiled = (source.xp is np and isinstance(source.X, np.ndarray)
                         and cpu.usable(source.X))
        self.C = float(C)
        self.l1_ratio = float(l1_ratio)
        # the C of the smooth L2 share: C / (1 - l1_ratio) (inf: none; C itself for pure L2)
        self._C_l2 = l2_share(self.C, self.l1_ratio)
        self.xp = source.xp
        self.fit_intercept = source.fit_intercept
        self.n_features = source.n_features
        self.k = self.model.k
        self.n_params = source.n_params * self.k
        self.n_penalised = self.n_features * self.k  # [W; b] raveled: W comes first
        self.eps = source.eps

    def _scale_and_penalise(self, out, v):
        return scale_gradient(out, v, self.n_penalised, self._C_l2, self.source.sum_weights)

    @property
    def sum_weights(self):
        """S, the sum of the sample weights."""
        return self.source.sum_weights

    @property
    def l1(self):
        """``l1_strength``: what ``solvers.owlqn`` adds to this smooth objective."""
        return l1_strength(self.C, self.l1_ratio, self.source.sum_weights)

    def _objective(self, coef, hessian):
        """One pass over X: ``(f, grad, state)``; with ``hessian``, ``state`` is what
        ``HessianProduct`` needs: the stored p, or the point to recompute it from."""
        src = self.source
        rows = (src.X.shape[0],) + ((self.k,) if self.k > 1 else ())
        p = src.xp.empty(rows, dtype=src.X.dtype) if hessian and src.keeps_rows else None
        loss, grad = src.reduce(LossGradient(coef, self.n_features, self.fit_intercept,
                                             fused=self.fused, compiled=self.compiled,
                                             p_out=p, model=self.model))
        state = (p, None) if p is not None else (None, coef.copy()) if hessian else None
        return self._scale_loss(loss, coef), self._scale_and_penalise(grad, coef), state

    def _scale_loss(self, loss, coef):
        return scale_loss(loss, coef, self.n_penalised, self._C_l2, self.source.sum_weights)

    def loss_gradient(self, coef):
        """Return ``(f, grad)``: the objective as a Python float and its float64 gradient."""
        loss, grad, _ = self._objective(coef, hessian=False)
        return loss, grad

    def loss(self, coef):
        """The objective at ``coef`` as a Python float."""
        return self.loss_gradient(coef)[0]

    def gradient(self, coef):
        """The float64 gradient at ``coef``."""
        return self.loss_gradient(coef)[1]

    def gradient_hessp(self, coef):
        """Return ``(f, grad, hessp)``; ``hessp(v)`` is the Hessian at ``coef`` times ``v``.

        ``H v = (1/S) X^T (p * (X v_w + v_b)) + v_w / (C S)``, and for the intercept
        ``(1/S) sum p * (X v_w + v_b)``, with ``p = s sigma (1 - sigma)`` (for the
        multinomial model, each row's ``s (diag(P) - P P^T)`` in place of ``p``).
        """
        loss, grad, state = self._objective(coef, hessian=True)

        p, at = state

        def hessp(v):
            product = HessianProduct(v, self.n_features, self.fit_intercept, p=p, coef=at,
                                     compiled=self.compiled, model=self.model)
            return self._scale_and_penalise(self.source.reduce(product)[0], v)

        return loss, grad, hessp

    def gradient_hessian(self, coef):
        """Return ``(f, grad, H)`` from one pass over X: ``H`` is the float64 Hessian,
        ``(1/S) [X, 1]^T diag(p) [X, 1] + diag(1/(C S), ..., 1/(C S), 0)`` (the intercept,
        last, is not penalised), in the namespace of the solver state; for k classes,
        indexed like ``coef``, with the blocks of ``_passes.GradientHessian``."""
        src = self.source
        loss, grad, H = src.reduce(GradientHessian(coef, self.n_features, self.fit_intercept,
                                                   fused=self.fused, model=self.model))
        S = src.sum_weights
        H *= 1.0 / S
        if not math.isinf(self._C_l2):
            diagonal = self.xp.arange(self.n_penalised)
            H[diagonal, diagonal] += over_CS(1.0, self._C_l2, S)
        return self._scale_loss(loss, coef), self._scale_and_penalise(grad, coef), H


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
        self._l2 = over_CS(1.0, l2_share(objective.C, objective.l1_ratio),
                           objective.sum_weights)

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
            method, *args = request
            if method == "hessp":
                curvature, v = args
                out = (yield ("hessp", curvature, self.to_coef(v))).copy()
                out[-1] = out[-1] * self.scaling + self._l2 * v[-1]
                answer = out
            else:
                u = args[0]
                f, g, *rest = yield (method, self.to_coef(u))
                f = f + 0.5 * self._l2 * float(u[-1]) ** 2
                if method == "gradient_hessian":
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
