"""Functions for custom training loops: the loss object the estimator uses, one call at a time.

Each function validates its inputs as ``LogisticRegression.fit`` does, resolves the array
namespace once (NumPy, CuPy or Dask; PyTorch and other array-API libraries through DLPack,
their results back in their library with scikit-learn's ``array_api_dispatch``) and
evaluates the objective of DESIGN.md section 1 with
the same ``LogisticLoss`` (on CuPy, with the fused CUDA kernel): there is no second
implementation. With ``C=np.inf`` (the default) and no weights the gradient is the mission's
``(1/n) X^T (sigmoid(X w + b) - y)``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _backend, _validation
from ._loss import LogisticLoss
from ._sources import rows_source

__all__ = ["gradient_step", "hessp", "loss_gradient"]


def _objective(X, y, coef, intercept, sample_weight, C):
    """``(LogisticLoss, [coef, intercept] as float64 in the solver's namespace)``."""
    if isinstance(C, bool) or not isinstance(C, numbers.Real):
        raise TypeError(f"C must be a positive number (np.inf for no penalty); got {C!r}.")
    if not C > 0:
        raise ValueError(f"C must be a positive number (np.inf for no penalty); got {C!r}.")
    xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
    X = _validation.check_X(X, xp, finite=not _backend.is_dask(xp))
    n, d = X.shape
    y01 = _validation.check_y01(y, n, X.dtype, xp)
    sample_weight, C = _validation.check_sample_weight(sample_weight, n, X.dtype, xp, C=C)
    loss = LogisticLoss(source=rows_source(X, y01, sample_weight), C=C)
    return loss, _stack(loss.xp, d, coef, intercept, "coef", "intercept", X.dtype)


def _stack(xp, d, coef, intercept, coef_name, intercept_name, dtype):
    """``[coef, intercept]`` as one float64 vector of namespace ``xp`` (O(d): a copy is fine),
    checked: real numbers, finite, and within the range of X's ``dtype`` (the scores are
    computed in it)."""
    coef = _backend.to_namespace(coef if hasattr(coef, "shape") else np.asarray(coef), xp)
    if coef.dtype.kind not in "iuf":  # bool, complex, strings, objects: not coefficients
        raise TypeError(f"{coef_name} must be an array of real numbers; got dtype "
                        f"{coef.dtype}.")
    if coef.shape != (d,):
        raise ValueError(f"{coef_name} must have shape ({d},), one entry per column of X; got "
                         f"shape {coef.shape}.")
    value = intercept
    if hasattr(value, "dtype") and getattr(value, "size", 0) == 1 \
            and value.dtype.kind in "iuf":  # a 0-d or 1-element array (any namespace)
        value = _backend.to_numpy(value).ravel()[0].item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{intercept_name} must be one real number; got {intercept!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{intercept_name} must be one finite number; got {intercept!r}.")
    x = xp.empty(d + 1, dtype=np.float64)
    x[:d] = coef
    x[d] = value
    if not bool(xp.isfinite(x[:d]).all()):
        raise ValueError(f"{coef_name} contains NaN or infinity.")
    limit = float(np.finfo(dtype).max)
    if float(abs(x).max()) > limit:
        raise ValueError(f"{coef_name} and {intercept_name} must lie within the range of X's "
                         f"dtype {np.dtype(dtype).name} (|value| <= {limit:.3g}), in which the "
                         f"scores X @ {coef_name} + {intercept_name} are computed; got "
                         f"|value| up to {float(abs(x).max()):.3g}. Pass X as float64.")
    return x


def _finite(values, what):
    """``values`` (Python floats and float64 arrays of one namespace) if all are finite; else
    a ValueError: the exact value exceeds the range of its dtype at this point."""
    for value in values:
        finite = math.isfinite(value) if isinstance(value, float) else \
            bool(_backend.get_namespace(value=value).isfinite(value).all())
        if not finite:
            raise ValueError(f"the {what} at this point exceeds the range of X's dtype (the "
                             "scores X @ coef + intercept, or the penalty ||coef||^2 / (2 C S) "
                             "with this C, are too large to represent); use smaller "
                             "coefficients, a larger C, or float64 X.")
    return values


@_backend.at_boundary
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
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        f, g = _finite(loss.loss_gradient(x), "objective or its gradient")
    d = loss.n_features
    return f, g[:d], float(g[d])


@_backend.at_boundary
def hessp(X, y, coef, intercept, v_coef, v_intercept=0.0, *, sample_weight=None, C=np.inf):
    """The Hessian of the objective at ``(coef, intercept)`` times ``(v_coef, v_intercept)``.

    ``H v = (1/S) [X, 1]^T (p * (X v_coef + v_intercept)) + [v_coef / (C S), 0]``, with
    ``p = s sigma(z) (1 - sigma(z))``. Returns ``(Hv_coef (d,) float64 array, Hv_intercept
    float)``; arguments as for :func:`loss_gradient`.
    """
    loss, x = _objective(X, y, coef, intercept, sample_weight, C)
    d = loss.n_features
    v = _stack(loss.xp, d, v_coef, v_intercept, "v_coef", "v_intercept", np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        _, _, product = loss.gradient_hessp(x)
        (out,) = _finite((product(v),), "Hessian product")
    return out[:d], float(out[d])


@_backend.at_boundary
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
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        f, g = _finite(loss.loss_gradient(x), "objective or its gradient")
        (x,) = _finite((x - learning_rate * g,), "step learning_rate * gradient")
    d = loss.n_features
    return x[:d], float(x[d]), f
