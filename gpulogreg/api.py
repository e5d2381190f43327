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

from . import _backend, _boundary, _validation
from .loss import models
from .loss.layout import Layout
from .loss.objective import LogisticLoss
from .sources import source_for

__all__ = ["gradient_step", "hessp", "loss_gradient"]


def _objective(X, y, coef, intercept, sample_weight, C, check_input):
    """``(LogisticLoss, [W; b] raveled as float64 in the solver's namespace, k)``: the model
    is binomial for a 1-D ``coef`` (or one row), multinomial over k classes for a (k, d)
    one. With ``check_input=False`` X, y and sample_weight are taken as they are (see
    ``loss_gradient``); the coefficients, O(d k), are always checked."""
    if isinstance(C, bool) or not isinstance(C, numbers.Real):
        raise TypeError(f"C must be a positive number (np.inf for no penalty); got {C!r}.")
    if not C > 0:
        raise ValueError(f"C must be a positive number (np.inf for no penalty); got {C!r}.")
    xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
    k = _classes(coef)
    if check_input:
        X = _validation.check_X(X, xp, finite=not _backend.is_dask(xp))
        n = X.shape[0]
        y = (_validation.check_y01(y, n, X.dtype, xp) if k == 1 else
             _validation.check_class_index(y, n, k, X.dtype, xp))
        sample_weight, C = _validation.check_sample_weight(sample_weight, n, X.dtype, xp, C=C)
    else:  # as they come; only brought to X's dtype where they are not in it (O(n))
        if getattr(X, "ndim", None) != 2:
            raise ValueError("X must be a 2-D array (check_input=False skips the other checks)")
        y = y if y.dtype == X.dtype else y.astype(X.dtype)
        if sample_weight is not None and sample_weight.dtype != X.dtype:
            sample_weight = sample_weight.astype(X.dtype)
    model = models.Binomial() if k == 1 else models.Multinomial(k)  # (2, d): two classes, softmax
    loss = LogisticLoss(source=source_for(X, y, sample_weight), C=C, model=model)
    return loss, _stack(loss.xp, X.shape[1], k, coef, intercept, "coef", "intercept",
                        X.dtype), k


def _classes(coef):
    """k, the number of score columns ``coef`` holds: 1 for a (d,) or (1, d) coef."""
    shape = getattr(coef, "shape", None) or np.shape(coef)
    return 1 if len(shape) < 2 else int(shape[0])


def _stack(xp, d, k, coef, intercept, coef_name, intercept_name, dtype):
    """``[W; b]`` (``[w, b]`` for k = 1) raveled as one float64 vector of namespace ``xp``
    (O(d k): a copy is fine), checked: real numbers of shape (d,) or (k, d) and an intercept
    of one number (k = 1) or (k,), finite, and within the range of X's ``dtype`` (the scores
    are computed in it)."""
    coef = _backend.to_namespace(coef if hasattr(coef, "shape") else np.asarray(coef), xp)
    if coef.dtype.kind not in "iuf":  # bool, complex, strings, objects: not coefficients
        raise TypeError(f"{coef_name} must be an array of real numbers; got dtype "
                        f"{coef.dtype}.")
    if coef.shape not in ((d,), (k, d)):
        raise ValueError(f"{coef_name} must have shape ({d},), one entry per column of X, or "
                         f"(k, {d}) for k classes; got shape {coef.shape}.")
    b = _intercept(intercept, k, intercept_name)
    x = Layout(d, k).pack(coef.reshape(-1, d).T, b, xp)
    if not bool(xp.isfinite(x).all()):
        raise ValueError(f"{coef_name} contains NaN or infinity.")
    limit = float(np.finfo(dtype).max)
    if float(abs(x).max()) > limit:
        raise ValueError(f"{coef_name} and {intercept_name} must lie within the range of X's "
                         f"dtype {np.dtype(dtype).name} (|value| <= {limit:.3g}), in which the "
                         f"scores X @ {coef_name} + {intercept_name} are computed; got "
                         f"|value| up to {float(abs(x).max()):.3g}. Pass X as float64.")
    return x


def _intercept(intercept, k, name):
    """The intercept as k finite floats (a host array): one real number for k = 1, else an
    array of k (a 1-element array, of any namespace, counts as one number)."""
    if hasattr(intercept, "dtype"):
        values = _backend.to_numpy(intercept)
        if values.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be one real number; got {intercept!r}." if k == 1
                            else f"{name} must be real numbers; got dtype {values.dtype}.")
        if values.size != k:
            raise ValueError(f"{name} must hold {k} number(s), one per score column; got "
                             f"shape {values.shape}.")
        values = values.astype(np.float64).reshape(k)
    elif k == 1 and isinstance(intercept, numbers.Real) and not isinstance(intercept, bool):
        values = np.array([float(intercept)])
    elif k == 1:
        raise TypeError(f"{name} must be one real number; got {intercept!r}.")
    else:
        raise TypeError(f"{name} must be an array of {k} real numbers; got {intercept!r}.")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be {'one finite number' if k == 1 else 'finite'}; got "
                         f"{intercept!r}.")
    return values


def _split(out, d, k, like):
    """A float64 vector laid out as ``[W; b]`` back as ``(coef part, intercept part)`` shaped
    like the coef given (``like``): ``(d,)`` and a float for a 1-D coef, else ``(k, d)`` and
    ``(k,)``."""
    W, b = Layout(d, k).split(out)
    if len(getattr(like, "shape", None) or np.shape(like)) < 2:
        return W[:, 0], float(b[0])
    return W.T, b


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


@_boundary.at_boundary
def loss_gradient(X, y, coef, intercept=0.0, *, sample_weight=None, C=np.inf,
                  check_input=True):
    """Objective and gradient of logistic regression at ``(coef, intercept)``: binary for a
    (d,) coef, multinomial over k classes for a (k, d) one (scikit-learn's ``coef_``).

    Parameters
    ----------
    X : (n, d) array (NumPy, CuPy or Dask; float32/float64, any memory order; not copied).
    y : (n,) array of 0/1 labels (bool or numbers), or for a (k, d) coef the class indices
        0..k-1; same namespace as X.
    coef : (d,) or (k, d) array-like, the weights.  intercept : float, or (k,) array.
    sample_weight : (n,) array or None.  C : inverse L2 strength (``np.inf``: none).
    check_input : bool, default=True
        ``False`` skips the checks of X, y and sample_weight (scikit-learn's convention, as
        ``ElasticNet.fit(..., check_input=False)``): one pass over X less per call, for
        training loops whose data a checked call has already accepted. They must then be
        what the checks make them: X 2-D, float32 or float64, finite; y of 0/1 labels (class
        indices 0..k-1 for k classes); sample_weight None or non-negative with a maximum of
        at most 1. A wrong input then gives a wrong answer, not an error.

    Returns
    -------
    loss : float
        ``(1/S) sum s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S)``, ``z = X w + b``
        (for k classes ``(1/S) sum s_i [log sum_c e^{z_ic} - z_{i y_i}] + ||W||^2/(2 C S)``).
    grad_coef : float64 array shaped like coef, in the namespace of the computation (CuPy for
        CuPy X).
    grad_intercept : float, or a (k,) float64 array
    """
    loss, x, k = _objective(X, y, coef, intercept, sample_weight, C, check_input)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        f, g = _finite(loss.loss_gradient(x), "objective or its gradient")
    return (f, *_split(g, loss.n_features, k, coef))


@_boundary.at_boundary
def hessp(X, y, coef, intercept, v_coef, v_intercept=0.0, *, sample_weight=None, C=np.inf,
          check_input=True):
    """The Hessian of the objective at ``(coef, intercept)`` times ``(v_coef, v_intercept)``.

    ``H v = (1/S) [X, 1]^T (p * (X v_coef + v_intercept)) + [v_coef / (C S), 0]``, with
    ``p = s sigma(z) (1 - sigma(z))`` (for k classes each row's softmax Hessian block).
    Returns ``(Hv_coef, Hv_intercept)`` shaped like ``coef`` and ``intercept``; arguments as
    for :func:`loss_gradient`.
    """
    loss, x, k = _objective(X, y, coef, intercept, sample_weight, C, check_input)
    v = _stack(loss.xp, loss.n_features, k, v_coef, v_intercept, "v_coef", "v_intercept",
               np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        _, _, product = loss.gradient_hessp(x)
        (out,) = _finite((product(v),), "Hessian product")
    return _split(out, loss.n_features, k, coef)


@_boundary.at_boundary
def gradient_step(X, y, coef, intercept=0.0, *, learning_rate, sample_weight=None, C=np.inf,
                  check_input=True):
    """One plain gradient-descent step ``W <- W - alpha grad_W``, ``b <- b - alpha grad_b``.

    Returns ``(new_coef, new_intercept, loss)``, shaped like ``coef`` and ``intercept``,
    where ``loss`` is the objective at the *old* point (the one pass over X computes both).
    ``learning_rate`` is ``alpha > 0``; other arguments as for :func:`loss_gradient`.
    """
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) \
            or not 0 < learning_rate < math.inf:
        raise ValueError(f"learning_rate must be a positive finite number; got "
                         f"{learning_rate!r}.")
    loss, x, k = _objective(X, y, coef, intercept, sample_weight, C, check_input)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        f, g = _finite(loss.loss_gradient(x), "objective or its gradient")
        (x,) = _finite((x - learning_rate * g,), "step learning_rate * gradient")
    return (*_split(x, loss.n_features, k, coef), f)

