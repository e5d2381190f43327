"""Functions for custom training loops: the estimator's loss object, one call at a time.

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
from ._typing import Array, ArrayLike
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
def loss_gradient(X: ArrayLike, y: ArrayLike, coef: ArrayLike, intercept: float | ArrayLike = 0.0,
                  *, sample_weight: ArrayLike | None = None, C: float = np.inf,
                  check_input: bool = True) -> tuple[float, Array, float | Array]:
    """Compute the objective and gradient of logistic regression at ``(coef, intercept)``.

    Binary for a (d,) ``coef``, multinomial over k classes for a (k, d) one (scikit-learn's
    ``coef_``).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n, d)
        NumPy, CuPy, sparse or Dask (or, with array API dispatch, PyTorch and others);
        float32 or float64, any memory order; not copied.
    y : array-like of shape (n,)
        0/1 labels (bool or numbers), or for a (k, d) ``coef`` the class indices 0..k-1;
        of X's namespace.
    coef : array-like of shape (d,) or (k, d)
        The weights.
    intercept : float or array-like of shape (k,), default=0.0
        The intercept (one number for a (d,) ``coef``).
    sample_weight : array-like of shape (n,) or None, default=None
        Non-negative weights of the rows (None: all one).
    C : float, default=np.inf
        The inverse L2 strength (``np.inf``: no penalty).
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
    grad_coef : array
        The gradient in ``coef``, float64, shaped like ``coef``, in the namespace of the
        computation (CuPy for CuPy X).
    grad_intercept : float or array of shape (k,)
        The gradient in ``intercept``, float64.

    Raises
    ------
    ValueError
        If an input is invalid, or the objective overflows X's dtype at this point.
    TypeError
        If ``C``, ``coef`` or ``intercept`` is not made of real numbers.

    See Also
    --------
    hessp : Hessian-vector products.
    gradient_step : One gradient-descent step.

    Examples
    --------
    >>> import numpy as np
    >>> from gpulogreg import loss_gradient
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> loss, grad_coef, grad_intercept = loss_gradient(X, np.array([0, 0, 1, 1]), np.zeros(2))
    >>> round(loss, 4), grad_coef
    (0.6931, array([-0.5,  0. ]))
    """
    loss, x, k = _objective(X, y, coef, intercept, sample_weight, C, check_input)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        f, g = _finite(loss.loss_gradient(x), "objective or its gradient")
    return (f, *_split(g, loss.n_features, k, coef))


@_boundary.at_boundary
def hessp(X: ArrayLike, y: ArrayLike, coef: ArrayLike, intercept: float | ArrayLike,
          v_coef: ArrayLike, v_intercept: float | ArrayLike = 0.0, *,
          sample_weight: ArrayLike | None = None, C: float = np.inf,
          check_input: bool = True) -> tuple[Array, float | Array]:
    """Multiply the Hessian of the objective at ``(coef, intercept)`` by a vector.

    ``H v = (1/S) [X, 1]^T (p * (X v_coef + v_intercept)) + [v_coef / (C S), 0]``, with
    ``p = s sigma(z) (1 - sigma(z))`` (for k classes each row's softmax Hessian block).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n, d)
        NumPy, CuPy, sparse or Dask (or, with array API dispatch, PyTorch and others);
        float32 or float64, any memory order; not copied.
    y : array-like of shape (n,)
        0/1 labels (bool or numbers), or for a (k, d) ``coef`` the class indices 0..k-1;
        of X's namespace.
    coef : array-like of shape (d,) or (k, d)
        The weights.
    intercept : float or array-like of shape (k,)
        The intercept (one number for a (d,) ``coef``).
    v_coef : array-like, shaped like ``coef``
        The vector's weights part.
    v_intercept : float or array-like of shape (k,), default=0.0
        The vector's intercept part.
    sample_weight : array-like of shape (n,) or None, default=None
        Non-negative weights of the rows (None: all one).
    C : float, default=np.inf
        The inverse L2 strength (``np.inf``: no penalty).
    check_input : bool, default=True
        ``False`` skips the checks of X, y and sample_weight (see :func:`loss_gradient`).

    Returns
    -------
    Hv_coef : array
        Shaped like ``coef``.
    Hv_intercept : float or array of shape (k,)
        Shaped like ``intercept``.

    Raises
    ------
    ValueError
        As :func:`loss_gradient`, or if the product overflows.

    See Also
    --------
    loss_gradient : The objective and its gradient.
    """
    loss, x, k = _objective(X, y, coef, intercept, sample_weight, C, check_input)
    v = _stack(loss.xp, loss.n_features, k, v_coef, v_intercept, "v_coef", "v_intercept",
               np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        _, _, product = loss.gradient_hessp(x)
        (out,) = _finite((product(v),), "Hessian product")
    return _split(out, loss.n_features, k, coef)


@_boundary.at_boundary
def gradient_step(X: ArrayLike, y: ArrayLike, coef: ArrayLike,
                  intercept: float | ArrayLike = 0.0, *, learning_rate: float,
                  sample_weight: ArrayLike | None = None, C: float = np.inf,
                  check_input: bool = True) -> tuple[Array, float | Array, float]:
    """Take one plain gradient-descent step ``W <- W - alpha grad_W``, ``b <- b - alpha grad_b``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n, d)
        NumPy, CuPy, sparse or Dask (or, with array API dispatch, PyTorch and others);
        float32 or float64, any memory order; not copied.
    y : array-like of shape (n,)
        0/1 labels (bool or numbers), or for a (k, d) ``coef`` the class indices 0..k-1;
        of X's namespace.
    coef : array-like of shape (d,) or (k, d)
        The weights.
    intercept : float or array-like of shape (k,), default=0.0
        The intercept (one number for a (d,) ``coef``).
    learning_rate : float
        The step size ``alpha > 0``.
    sample_weight : array-like of shape (n,) or None, default=None
        Non-negative weights of the rows (None: all one).
    C : float, default=np.inf
        The inverse L2 strength (``np.inf``: no penalty).
    check_input : bool, default=True
        ``False`` skips the checks of X, y and sample_weight (see :func:`loss_gradient`).

    Returns
    -------
    new_coef : array
        Shaped like ``coef``.
    new_intercept : float or array of shape (k,)
        Shaped like ``intercept``.
    loss : float
        The objective at the *old* point (the one pass over X computes both).

    Raises
    ------
    ValueError
        As :func:`loss_gradient`, or if ``learning_rate`` is not a positive finite number.

    See Also
    --------
    loss_gradient : The objective and its gradient.
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

