"""An independent float64 NumPy reference for the objective of DESIGN.md section 1.

Written with different primitives than gpulogreg (``np.logaddexp``, ``scipy.special.expit``)
so that a shared mistake is unlikely.
"""

import numpy as np
from scipy.special import expit

from gpulogreg._backend import to_numpy


def loss_and_gradient(X, y, w, b=0.0, sample_weight=None, C=np.inf, fit_intercept=True):
    """Return (loss, grad) in float64; grad has d (+1 with an intercept) entries."""
    X = to_numpy(X).astype(np.float64)
    y = to_numpy(y).astype(np.float64)
    w = to_numpy(w).astype(np.float64)
    s = np.ones_like(y) if sample_weight is None else to_numpy(sample_weight).astype(np.float64)
    S = s.sum()
    z = X @ w + (b if fit_intercept else 0.0)
    loss = np.sum(s * (np.logaddexp(0.0, z) - y * z)) / S + w @ w / (2 * C * S)
    r = s * (expit(z) - y)
    grad_w = X.T @ r / S + w / (C * S)
    grad = np.append(grad_w, r.sum() / S) if fit_intercept else grad_w
    return loss, grad


def hessian(X, w, b=0.0, sample_weight=None, C=np.inf, fit_intercept=True):
    """The explicit float64 Hessian, (d+1)x(d+1) with an intercept (its row/column last)."""
    X = to_numpy(X).astype(np.float64)
    w = to_numpy(w).astype(np.float64)
    n, d = X.shape
    s = np.ones(n) if sample_weight is None else to_numpy(sample_weight).astype(np.float64)
    Xa = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X  # fine here: a test reference
    sig = expit(X @ w + (b if fit_intercept else 0.0))
    H = Xa.T @ ((s * sig * (1 - sig))[:, None] * Xa) / s.sum()
    H[np.arange(d), np.arange(d)] += 1 / (C * s.sum())
    return H


def multinomial_loss_and_gradient(X, y, W, b=None, sample_weight=None, C=np.inf):
    """The multinomial objective (scikit-learn's) and its gradient, in float64.

    ``W`` is (d, k), ``b`` (k,) or None (no intercept), ``y`` the class indices. The gradient
    is returned as the (d [+ 1], k) matrix ``[dW; db]``.
    """
    from scipy.special import logsumexp, softmax

    X = to_numpy(X).astype(np.float64)
    y = to_numpy(y).astype(np.intp)
    W = to_numpy(W).astype(np.float64)
    n, k = X.shape[0], W.shape[1]
    s = np.ones(n) if sample_weight is None else to_numpy(sample_weight).astype(np.float64)
    S = s.sum()
    Z = X @ W + (0.0 if b is None else to_numpy(b).astype(np.float64))
    loss = np.sum(s * (logsumexp(Z, axis=1) - Z[np.arange(n), y])) / S
    loss += np.sum(W * W) / (2 * C * S)
    R = s[:, None] * (softmax(Z, axis=1) - np.eye(k)[y])
    grad = X.T @ R / S + W / (C * S)
    if b is not None:
        grad = np.vstack([grad, R.sum(axis=0) / S])
    return loss, grad


def assert_matches(f, g, f_ref, g_ref, dtype):
    """The tolerances of DESIGN.md section 3: float64 rtol 1e-10; float32 rtol 1e-5 of the
    loss and 1e-5 of the gradient's norm."""
    if dtype == np.float64:
        np.testing.assert_allclose(f, f_ref, rtol=1e-10)
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-10 * np.linalg.norm(g_ref))
    else:
        np.testing.assert_allclose(f, f_ref, rtol=1e-5)
        assert np.linalg.norm(g - g_ref) <= 1e-5 * max(np.linalg.norm(g_ref), 1.0)
