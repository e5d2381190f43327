"""The coefficient layout: the one owner of how ``[W; b]`` is laid out in a flat vector.

Solvers see one flat float64 vector ``x``: the C-order ravel of the ``(d + 1, k)`` matrix
``[W; b]`` (the intercept row only with ``fit_intercept``; for k = 1 that is ``[w, b]``),
so the k classes of one feature are adjacent, as in scikit-learn, and the penalised
entries (W) come first. Everything that packs, unpacks or warm-starts coefficients asks a
``Layout``: the passes and kernels (``grid``, ``split``), the estimators (``from_estimator``,
``to_estimator``) and the functional API (``pack``).
"""

from __future__ import annotations

import numpy as np

from .. import _backend


class Layout:
    """``[W; b]`` raveled for ``n_features`` features, ``k`` score columns (1 for the
    binomial model) and an intercept row when ``fit_intercept``."""

    def __init__(self, n_features, k=1, fit_intercept=True):
        self.n_features, self.k = int(n_features), int(k)
        self.fit_intercept = bool(fit_intercept)
        self.rows = self.n_features + self.fit_intercept  # rows of [W; b]
        self.n_params = self.rows * self.k
        self.n_penalised = self.n_features * self.k  # W, never the intercepts

    def zeros(self, xp):
        """A float64 zero vector of the layout's size in namespace ``xp``."""
        return xp.zeros(self.n_params, dtype=np.float64)

    def grid(self, x):
        """``x`` as the ``(d [+ 1], k)`` matrix ``[W; b]`` (a view)."""
        return x.reshape(self.rows, self.k)

    def split(self, x):
        """``(W (d, k), b (k,))`` views of ``x``; ``b`` is None without an intercept."""
        G = self.grid(x)
        return G[:self.n_features], (G[self.n_features] if self.fit_intercept else None)

    def pack(self, W, b, xp):
        """``x`` (float64, namespace ``xp``) from ``W`` (d, k) and ``b`` (k,; ignored without
        an intercept), arrays of any namespace."""
        x = self.zeros(xp)
        G = self.grid(x)
        G[:self.n_features] = _backend.to_namespace(W, xp)
        if self.fit_intercept:
            G[self.n_features] = _backend.to_namespace(b, xp)
        return x

    def from_estimator(self, coef, intercept, xp):
        """``x`` from scikit-learn's ``coef_`` (k, d) and ``intercept_`` (k,): a warm start."""
        return self.pack(_backend.to_namespace(coef, xp).T, intercept, xp)

    def to_estimator(self, x, unpenalised=False):
        """``(coef_ (k, d), intercept_ (k,))`` from ``x``, in its namespace, float64. For
        k >= 3 classes in scikit-learn's symmetric parametrisation: the intercepts, and
        without a penalty (``unpenalised``) each feature's coefficients, sum to zero over
        the classes (adding a constant to every class changes no probability)."""
        xp = _backend.get_namespace(x=x)
        W, b = self.split(x)
        if b is None:
            b = xp.zeros(self.k, np.float64)
        if self.k > 1:
            b = b - b.mean()
            if unpenalised:
                W = W - W.mean(axis=1, keepdims=True)
        return W.T, b
