"""The L2-penalised, sample-weighted logistic loss of DESIGN.md section 1.

    f(w, b) = (1/S) sum_i s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S),  z = X w + b

and its multinomial form (``models``): ``(1/S) sum_i s_i [log sum_c e^{z_ic} - z_{i y_i}]
+ ||W||_F^2 / (2 C S)`` with ``Z = X W + b``, as scikit-learn's. The coefficient vector
handed in by the solvers is laid out as ``layout.Layout`` says (``[w, b]``; for k classes
the raveled ``(d + 1, k)`` matrix ``[W; b]``), float64, in the namespace of X. The
intercept is a separate term in every formula, never penalised: X is never copied or
augmented.

One code path, ``X.T @ residual(X @ w + b)``, runs on NumPy and on CuPy: the loss builds
passes (``passes``) and a data source (``sources``) sums them over row blocks; the penalty
(``penalty.Penalty``) scales the sums and adds its terms.
"""

from __future__ import annotations

from ..sources import source_for
from . import overrides
from .layout import Layout
from .models import Binomial
from .passes import GradientHessian, HessianProduct, LossGradient
from .penalty import Penalty


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
    model : ``models.Binomial()`` (default; y in {0, 1}) or ``models.Multinomial(k)`` (y
        the class index 0..k-1, of X's dtype).
    fused : None (default) uses the fused CUDA kernel for the residual step on GPU blocks;
        False keeps them on the general ``xp`` path.
    source : a data source (``sources.source_for``) to use instead of ``X, y,
        sample_weight``.
    """

    def __init__(self, X=None, y=None, sample_weight=None, *, C=1.0, fit_intercept=True,
                 fused=None, source=None, model=None, l1_ratio=0.0):
        if source is None:
            source = source_for(X, y, sample_weight, fit_intercept=fit_intercept)
        self.source = source
        self.fused = fused
        self.model = Binomial() if model is None else model
        self.compiled = overrides.compiled_for(source)
        self.xp = source.xp
        self.fit_intercept = source.fit_intercept
        self.n_features = source.n_features
        self.k = self.model.k
        self.layout = Layout(self.n_features, self.k, self.fit_intercept)
        self.n_params = self.layout.n_params
        self.n_penalised = self.layout.n_penalised
        self.penalty = Penalty(C, l1_ratio, self.n_penalised)
        self.eps = source.eps

    @property
    def C(self):
        """The inverse penalty strength."""
        return self.penalty.C

    @property
    def sum_weights(self):
        """S, the sum of the sample weights."""
        return self.source.sum_weights

    @property
    def l1(self):
        """``Penalty.l1``: the strength of what ``solvers.owlqn`` adds to this objective."""
        return self.penalty.l1(self.source.sum_weights)

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
        S = src.sum_weights
        return (self.penalty.scale_loss(loss, coef, S),
                self.penalty.scale_gradient(grad, coef, S), state)

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
                                     compiled=self.compiled, model=self.model,
                                     fused=self.fused)
            return self.penalty.scale_gradient(self.source.reduce(product)[0], v,
                                               self.source.sum_weights)

        return loss, grad, hessp

    def gradient_hessian(self, coef):
        """Return ``(f, grad, H)`` from one pass over X: ``H`` is the float64 Hessian,
        ``(1/S) [X, 1]^T diag(p) [X, 1] + diag(1/(C S), ..., 1/(C S), 0)`` (the intercept,
        last, is not penalised), in the namespace of the solver state; for k classes,
        indexed like ``coef``, with the blocks of ``passes.GradientHessian``."""
        src = self.source
        loss, grad, H = src.reduce(GradientHessian(coef, self.n_features, self.fit_intercept,
                                                   fused=self.fused, compiled=self.compiled,
                                                   model=self.model))
        S = src.sum_weights
        H *= 1.0 / S
        self.penalty.add_to_hessian(H, S, self.xp)
        return (self.penalty.scale_loss(loss, coef, S),
                self.penalty.scale_gradient(grad, coef, S), H)
