"""Functions for custom training loops: the loss object the estimator uses, one call at a time.

Each function validates its inputs as ``LogisticRegression.fit`` does, resolves the array
namespace once (NumPy, CuPy or Dask) and evaluates the objective of DESIGN.md section 1 with
the same ``LogisticLoss`` (on CuPy, with the fused CUDA kernel): there is no second
implementation. With ``C=np.inf`` (the default) and no weights the gradient is the mission's
``(1/n) X^T (sigmoid(X w + b) - y)``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _backend, _validation
from ._loss import LogisticLoss, rows_source

__all__ = ["gradient_step", "hessp", "loss_gradient"]


def _objective(X, y, coef, intercept, sample_weight, C):
    """``(LogisticLoss, [coef, intercept] as float64 in the solver's namespace)``."""
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or not C > 0:
        raise ValueError(f"C must be a positive number (np.inf for no penalty); got {C!r}.")
    xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
    X = _validation.check_X(X, xp, finite=not _backend.is_dask(xp))
    n, d = X.shape
    y01 = _validation.check_y01(y, n, X.dtype, xp)
    sample_weight, C = _validation.check_sample_weight(sample_weight, n, X.dtype, xp, C=C)
    loss = LogisticLoss(source=rows_source(X, y01, sample_weight), C=C)
    return loss, _stack(loss.xp, d, coef, intercept, "coef", "intercept")


def _stack(xp, d, coef, intercept, coef_name, intercept_name):
    """``[coef, intercept]`` as one float64 vector of namespace ``xp`` (O(d): a copy is fine)."""
    coef = _backend.to_namespace(coef if hasattr(coef, "shape") else np.asarray(coef), xp)
    if coef.shape != (d,):
        raise ValueError(f"{coef_name} must have shape ({d},), one entry per column of X; got "
                         f"shape {coef.shape}.")
    if not isinstance(intercept, numbers.Real):  # a 0-d or 1-element array (any namespace)
        intercept = (float(_backend.to_numpy(intercept).ravel()[0])
                     if getattr(intercept, "size", 0) == 1 else math.nan)
    if not math.isfinite(intercept):
        raise ValueError(f"{intercept_name} must be one finite number; got {intercept!r}.")
    x = xp.empty(d + 1, dtype=np.float64)
    x[:d] = coef
    x[d] = intercept
    if not bool(xp.isfinite(x[:d]).all()):
        raise ValueError(f"{coef_name} contains NaN or infinity.")
    return x


def loss_gradient(X, y, coef, intercept=0.0, *, sample_weight=None, C=np.inf):
    """Objective and gradient of binary logistic regression at ``(coef, intercept)``.

    Parameters
    ----------
    X : (n, d) array (NumPy, CuPy or Dask; float32/float64, any memory order; not copied).
    y : (n,) array of 0/1 labels (bool or numbers), same namespace as X.
    coef : (d,) array-like, the weights ``w``.  intercept : float, the bias ``b``.
    sample_weight : (n,) array or None.  C : inverse L2 strength (``np.inf``: none).

    Returns
    -------
    loss : float
        ``(1/S) sum s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S)``, ``z = X w + b``.
    grad_coef : (d,) float64 array in the namespace of the computation (CuPy for CuPy X).
    grad_intercept : float
    """
    loss, x = _objective(X, y, coef, intercept, sample_weight, C)
    f, g = loss.loss_gradient(x)
    d = loss.n_features
    return f, g[:d], float(g[d])


def hessp(X, y, coef, intercept, v_coef, v_intercept=0.0, *, sample_weight=None, C=np.inf):
    """The Hessian of the objective at ``(coef, intercept)`` times ``(v_coef, v_intercept)``.

    ``H v = (1/S) [X, 1]^T (p * (X v_coef + v_intercept)) + [v_coef / (C S), 0]``, with
    ``p = s sigma(z) (1 - sigma(z))``. Returns ``(Hv_coef (d,) float64 array, Hv_intercept
    float)``; arguments as for :func:`loss_gradient`.
    """
    loss, x = _objective(X, y, coef, intercept, sample_weight, C)
    d = loss.n_features
    v = _stack(loss.xp, d, v_coef, v_intercept, "v_coef", "v_intercept")
    _, _, product = loss.gradient_hessp(x)
    out = product(v)
    return out[:d], float(out[d])


def gradient_step(X, y, coef, intercept=0.0, *, learning_rate, sample_weight=None, C=np.inf):
    """One plain gradient-descent step ``w <- w - alpha grad_w``, ``b <- b - alpha grad_b``.

    Returns ``(new_coef, new_intercept, loss)``, where ``loss`` is the objective at the
    *old* point (the one pass over X computes both). ``learning_rate`` is ``alpha > 0``.
    """
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) \
            or not 0 < learning_rate < math.inf:
        raise ValueError(f"learning_rate must be a positive finite number; got "
                         f"{learning_rate!r}.")
    loss, x = _objective(X, y, coef, intercept, sample_weight, C)
    f, g = loss.loss_gradient(x)
    x = x - learning_rate * g
    d = loss.n_features
    return x[:d], float(x[d]), f
