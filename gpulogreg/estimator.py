"""``LogisticRegression`` with the scikit-learn estimator API, on NumPy or CuPy data."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _backend, _validation
from ._loss import LogisticLoss, sigmoid
from .solvers import SOLVERS


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression, minimising scikit-learn's objective

        (1/S) sum_i s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S),   z = X w + b,

    with ``S`` the sum of the sample weights. Fitted attributes live in the
    namespace of the training data: CuPy in, CuPy out.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the L2 regularisation strength; ``np.inf`` means no penalty.
    fit_intercept : bool, default=True
        Fit an (unpenalised) intercept ``b``.
    solver : {"gd"}, default="gd"
        ``"gd"``: gradient descent with Armijo backtracking.
    tol : float, default=1e-4
        Stop when ``max|gradient| <= tol``.
    max_iter : int, default=100
        Maximum number of solver iterations; a ``ConvergenceWarning`` is issued
        when it is reached first.
    verbose : int, default=0
        Print solver progress when positive.
    """

    def __init__(self, *, C=1.0, fit_intercept=True, solver="gd", tol=1e-4, max_iter=100,
                 verbose=0):
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n, d) and binary labels y (n,), optionally weighted per sample."""
        _validation.check_params(C=self.C, tol=self.tol, max_iter=self.max_iter,
                                 fit_intercept=self.fit_intercept, solver=self.solver,
                                 solvers=SOLVERS)
        xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
        X = _validation.check_X(X, xp)
        n, d = X.shape
        y01, self.classes_ = _validation.check_y(y, n, X.dtype, xp)
        sample_weight = _validation.check_sample_weight(sample_weight, n, X.dtype, xp)

        loss = LogisticLoss(X, y01, sample_weight, C=self.C, fit_intercept=self.fit_intercept)
        result = SOLVERS[self.solver](loss, xp.zeros(loss.n_params, np.float64),
                                      tol=self.tol, max_iter=self.max_iter,
                                      verbose=self.verbose)
        if not result.converged:
            warnings.warn(f"{self.solver} did not converge: {result.message} "
                          f"(max|gradient| = {result.grad_max:.3g} > tol = {self.tol:g}). "
                          "Increase max_iter or scale the data.",
                          ConvergenceWarning, stacklevel=2)
        self.coef_ = result.x[None, :d].astype(X.dtype)
        self.intercept_ = (result.x[d:] if self.fit_intercept
                           else xp.zeros(1, np.float64)).astype(X.dtype)
        self.n_iter_ = np.array([result.n_iter])
        self.n_features_in_ = d
        self.loss_ = result.fun
        self.grad_max_ = result.grad_max
        return self

    def decision_function(self, X):
        """The raw score ``X @ coef_.T + intercept_`` (positive means ``classes_[1]``)."""
        check_is_fitted(self)
        xp = _backend.get_namespace(X=X)
        X = _validation.check_X(X, xp)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        coef = _backend.to_namespace(self.coef_, xp)
        intercept = _backend.to_namespace(self.intercept_, xp)
        return X @ coef[0].astype(X.dtype) + intercept.astype(X.dtype)

    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n, 2)."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        p1 = sigmoid(z, xp)
        return xp.stack([1 - p1, p1], axis=1)

    def predict(self, X):
        """The predicted class label of each row of X."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        classes = _backend.to_namespace(self.classes_, xp)
        return classes[(z > 0).astype(np.intp)]
