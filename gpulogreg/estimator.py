"""``LogisticRegression`` with the scikit-learn estimator API, on NumPy or CuPy data."""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _backend, _validation
from ._loss import LogisticLoss, RowBlocks, sigmoid
from .solvers import SOLVERS


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression, minimising scikit-learn's objective

        (1/S) sum_i s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S),   z = X w + b,

    with ``S`` the sum of the sample weights, so ``coef_`` matches scikit-learn's.
    Fitted attributes live in the namespace of the training data: CuPy in, CuPy out.

    Parameters
    ----------
    penalty : {"l2", None}, default="l2"
        ``None`` fits without penalty (the same as ``C=np.inf``, the preferred spelling).
    C : float, default=1.0
        Inverse of the L2 regularisation strength; ``np.inf`` means no penalty.
    fit_intercept : bool, default=True
        Fit an (unpenalised) intercept ``b``; X is never augmented with a ones column.
    tol : float, default=1e-4
        Stop when ``max|gradient| <= tol``.
    max_iter : int, default=100
        Maximum number of solver iterations; a ``ConvergenceWarning`` says when it was hit.
    solver : {"lbfgs", "newton-cg", "gd"}, default="lbfgs"
        ``"lbfgs"``: limited-memory BFGS (memory 10) with a strong-Wolfe line search;
        ``"newton-cg"``: truncated Newton with Hessian-vector products;
        ``"gd"``: gradient descent with Armijo backtracking.
    learning_rate : float or None, default=None
        ``solver="gd"`` only: a fixed step size ``alpha`` instead of backtracking. If the
        objective rises or overflows, ``fit`` raises ``DivergenceError`` (no result is kept).
    warm_start : bool, default=False
        Start from the previous ``coef_``/``intercept_`` when refitting.
    verbose : int, default=0
        Print solver progress when positive.
    device : {None, "cuda"}, default=None
        ``None`` computes where X lives. ``"cuda"`` with a NumPy X (or ``np.memmap``) keeps
        X on the host and streams row chunks through the GPU, for X larger than GPU
        memory; the fitted attributes are then CuPy arrays.
    chunk_rows : int or None, default=None
        Rows per streamed chunk with ``device="cuda"`` (default: two chunks fill half of
        the free GPU memory).

    Attributes
    ----------
    classes_ : (2,) array, the two labels; ``classes_[1]`` is the positive class.
    coef_ : (1, d) array of X's dtype.  intercept_ : (1,) array.
    n_iter_ : (1,) int array.  n_features_in_ : int.
    loss_ : final objective.  grad_max_ : final ``max|gradient|``.
    """

    def __init__(self, penalty="l2", *, C=1.0, fit_intercept=True, tol=1e-4, max_iter=100,
                 solver="lbfgs", learning_rate=None, warm_start=False, verbose=0, device=None,
                 chunk_rows=None):
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.learning_rate = learning_rate
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.chunk_rows = chunk_rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # binary only until multinomial exists
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n, d) and binary labels y (n,), optionally weighted per sample."""
        _validation.check_params(penalty=self.penalty, C=self.C, tol=self.tol,
                                 max_iter=self.max_iter, fit_intercept=self.fit_intercept,
                                 solver=self.solver, solvers=SOLVERS,
                                 learning_rate=self.learning_rate, device=self.device,
                                 chunk_rows=self.chunk_rows)
        xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
        X = _validation.check_X(X, xp)
        n, d = X.shape
        y01, classes = _validation.check_y(y, n, X.dtype, xp)
        sample_weight = _validation.check_sample_weight(sample_weight, n, X.dtype, xp)

        if _backend.is_dask(xp):
            from ._dask import DaskRows

            source = DaskRows(X, y01, sample_weight, fit_intercept=self.fit_intercept)
        elif self.device == "cuda" and not _backend.is_gpu(xp):
            from ._stream import StreamedRows

            source = StreamedRows(X, y01, sample_weight, fit_intercept=self.fit_intercept,
                                  chunk_rows=self.chunk_rows)
        else:
            source = RowBlocks(X, y01, sample_weight, fit_intercept=self.fit_intercept)
        C = math.inf if self.penalty is None else self.C
        loss = LogisticLoss(source=source, C=C)
        options = {} if self.learning_rate is None else {"learning_rate": self.learning_rate}
        try:
            # a trial point may overflow (inf/NaN objective): solvers reject such points, so
            # NumPy's floating-point warnings about them would only be noise
            with np.errstate(over="ignore", invalid="ignore"):
                result = SOLVERS[self.solver](loss, self._initial_coef(loss), tol=self.tol,
                                              max_iter=self.max_iter, verbose=self.verbose,
                                              **options)
        except MemoryError as exc:  # also CuPy's OutOfMemoryError
            raise MemoryError(_backend.out_of_memory_message(xp, X, exc)) from exc
        if not result.converged:
            warnings.warn(f"{self.solver} did not converge: {result.message} "
                          f"(max|gradient| = {result.grad_max:.3g} > tol = {self.tol:g}). "
                          "Increase max_iter, scale the data, or raise tol.",
                          ConvergenceWarning, stacklevel=2)
        self.classes_ = classes
        self.coef_ = result.x[None, :d].astype(X.dtype)  # in the solver's namespace
        self.intercept_ = (result.x[d:] if self.fit_intercept
                           else loss.xp.zeros(1, np.float64)).astype(X.dtype)
        self.n_iter_ = np.array([result.n_iter])
        self.n_features_in_ = d
        self.loss_ = result.fun
        self.grad_max_ = result.grad_max
        return self

    def _initial_coef(self, loss):
        """Zeros, or with ``warm_start`` the previous fit, in the solver's namespace (float64)."""
        xp = loss.xp
        x0 = xp.zeros(loss.n_params, dtype=np.float64)
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and self.coef_.shape == (1, loss.n_features):
            x0[:loss.n_features] = _backend.to_namespace(self.coef_[0], xp)
            if self.fit_intercept:
                x0[loss.n_features:] = _backend.to_namespace(self.intercept_, xp)
        return x0

    def save(self, path):
        """Write the fitted model to ``path`` (.npz, no pickle); read it with ``gpulogreg.load``."""
        from .io import save

        return save(self, path)

    def decision_function(self, X):
        """The raw score ``X @ coef_.T + intercept_`` (positive means ``classes_[1]``)."""
        check_is_fitted(self)
        xp = _backend.get_namespace(X=X)
        lazy = _backend.is_dask(xp)  # stays lazy: no pass over X to look for NaN
        X = _validation.check_X(X, xp, finite=not lazy)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        if lazy:
            from . import _dask

            return _dask.decision_function(X, self.coef_[0], self.intercept_)
        coef = _backend.to_namespace(self.coef_, xp)
        intercept = _backend.to_namespace(self.intercept_, xp)
        return X @ coef[0].astype(X.dtype) + intercept.astype(X.dtype)

    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n, 2)."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        p1 = sigmoid(z, xp)
        return xp.stack([1 - p1, p1], axis=1)

    def predict_log_proba(self, X):
        """Log-probabilities, shape (n, 2), computed stably: ``-log(1 + e^{-+z})``."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        tail = xp.log1p(xp.exp(-xp.abs(z)))  # log(1 + e^t) = max(t, 0) + tail for t = +-z
        return xp.stack([-(xp.maximum(z, 0) + tail), -(xp.maximum(-z, 0) + tail)], axis=1)

    def predict(self, X):
        """The predicted class label of each row of X."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        if _backend.is_gpu(xp) and self.classes_.dtype.kind not in "biuf":
            z = z.get()  # string labels have no GPU representation
            xp = np
        classes = self.classes_ if _backend.is_dask(xp) else \
            _backend.to_namespace(self.classes_, xp)
        return xp.where(z > 0, classes[1], classes[0])

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted), on X's device."""
        pred = self.predict(X)
        xp = _backend.get_namespace(pred=pred, y=y, sample_weight=sample_weight)
        y = xp.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        correct = (pred == y).astype(np.float64)
        if sample_weight is None:
            return float(correct.mean())
        sample_weight = xp.asarray(sample_weight, dtype=np.float64)
        return float((correct * sample_weight).sum() / sample_weight.sum())
