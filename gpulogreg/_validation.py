"""Input checks. Every error names the argument and says what is wrong with it.

X is never copied when it is already a float32/float64 NumPy or CuPy array, in
any memory order. Integer, boolean and long-double X are converted once to
float64 and float16 to float32 (documented in the README); object arrays are
converted to float64 if they hold numbers.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from . import _backend

# Rows per block when scanning X for NaN/inf after the cheap whole-array test
# failed: bounds the temporary boolean array, whatever the size of X.
_FINITE_SCAN_ROWS = 1 << 16


def check_X(X, xp, *, name="X", finite=True):
    """Return X as a 2-D float32/float64 array of namespace ``xp``, n >= 1, d >= 1, and
    (with ``finite``, one pass over X) free of NaN and inf."""
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(f"{name} is a sparse matrix, and sparse input is not supported yet; "
                        f"pass a dense array ({name}.toarray()) if it fits in memory.")
    if xp is np and not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array for {name}, got {X.ndim}D array of shape {X.shape} instead. "
            "Reshape your data with X.reshape(-1, 1) if it has a single feature "
            "or X.reshape(1, -1) if it contains a single sample."
        )
    if any(isinstance(count, float) and math.isnan(count) for count in X.shape):
        raise ValueError(f"{name} has unknown chunk sizes (shape {X.shape}); call "
                         f"{name}.compute_chunk_sizes() first.")
    X = _as_float(X, xp, name)
    for count, what in zip(X.shape, ("sample(s)", "feature(s)")):
        if count < 1:
            raise ValueError(f"Found array with {count} {what} (shape={X.shape}) while a "
                             f"minimum of 1 is required: {name} is empty.")
    if finite:
        _check_finite(X, xp, name)
    return X


def _as_float(A, xp, name):
    kind = A.dtype.kind
    if A.dtype in (np.float32, np.float64):
        return A
    if kind == "f":  # float16 -> float32; wider floats (long double) -> float64
        return A.astype(np.float32 if A.dtype.itemsize < 4 else np.float64)
    if kind in "biu":
        return A.astype(np.float64)
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {A.dtype}.")
    if kind == "O":
        try:
            return A.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold numbers; an object array could not be "
                            f"converted to float64 ({exc}).") from None
    raise TypeError(f"{name} must be numeric; got dtype {A.dtype}.")


def _check_finite(A, xp, name):
    # A sum is cheap (no temporary the size of A) and finite unless A holds
    # NaN/inf or overflows; only then scan in row blocks to tell which.
    if bool(xp.isfinite(A.sum())):
        return
    for start in range(0, A.shape[0], _FINITE_SCAN_ROWS):
        block = A[start:start + _FINITE_SCAN_ROWS]
        if not bool(xp.isfinite(block).all()):
            what = "NaN" if bool(xp.isnan(block).any()) else "infinity"
            raise ValueError(f"Input {name} contains {what}; remove or impute those values.")


def check_y(y, n, dtype, xp):
    """Encode binary labels as 0.0/1.0 of ``dtype``; return ``(y01, classes)``.

    ``classes`` is the sorted pair of labels (``classes[1]`` is the positive
    class, as in scikit-learn).
    """
    if y is None:
        raise ValueError("This classifier requires y to be passed, but the target y is None.")
    if xp is np and not isinstance(y, np.ndarray):
        y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning

        warnings.warn("A column-vector y was passed when a 1d array was expected; "
                      "using y.ravel().", DataConversionWarning, stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D with one label per row of X; got shape {y.shape}.")
    if y.shape[0] != n:
        raise ValueError(f"X and y have inconsistent numbers of samples: X has {n} rows, "
                         f"y has {y.shape[0]}.")
    if y.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {y.dtype}.")
    if y.dtype.kind == "f":
        _check_finite(y, xp, "y")
        if not bool((y == xp.round(y)).all()):
            raise ValueError("Unknown label type: continuous. y must hold class labels "
                             "(logistic regression is a classifier), not real values.")
    classes = _backend.materialize(xp.unique(y))  # a Dask y is read once here
    shown = f"{list(_backend.to_numpy(classes[:5]))}{' ...' if classes.shape[0] > 5 else ''}"
    if classes.shape[0] == 1:
        raise ValueError(f"y must hold exactly two classes; it has only one class: {shown}.")
    if classes.shape[0] > 2:
        raise ValueError("Only binary classification is supported. The type of the target y "
                         f"is multiclass ({classes.shape[0]} classes: {shown}); multinomial "
                         "logistic regression is not implemented yet.")
    return (y == classes[1]).astype(dtype), classes


def check_sample_weight(sample_weight, n, dtype, xp):
    """Return sample weights as a 1-D array of ``dtype`` (or None for unit weights)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = xp.full(n, sample_weight, dtype=dtype)
    elif xp is np and not isinstance(sample_weight, np.ndarray):
        sample_weight = np.asarray(sample_weight)
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n:
        raise ValueError(f"sample_weight must be 1-D with one weight per row of X ({n}); "
                         f"got shape {sample_weight.shape}.")
    if sample_weight.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be real numbers; got dtype {sample_weight.dtype}.")
    sample_weight = sample_weight.astype(dtype, copy=False)
    _check_finite(sample_weight, xp, "sample_weight")
    if bool((sample_weight < 0).any()):
        raise ValueError("sample_weight must be non-negative; it has negative entries.")
    if not bool((sample_weight > 0).any()):
        raise ValueError("sample_weight must have at least one positive entry; all are zero.")
    return sample_weight


def check_params(*, penalty, C, tol, max_iter, fit_intercept, solver, solvers, learning_rate,
                 device=None, chunk_rows=None):
    """Validate estimator hyper-parameters; the error names the parameter."""
    if penalty not in ("l2", None):
        raise ValueError(f"penalty must be 'l2' or None (for no penalty; or use C=np.inf); "
                         f"got {penalty!r}. L1 and elastic-net are not implemented yet.")
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or math.isnan(C) or C <= 0:
        raise ValueError(f"C must be a positive number (np.inf for no penalty); got {C!r}.")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"tol must be a non-negative number; got {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1; got {max_iter!r}.")
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise ValueError(f"fit_intercept must be True or False; got {fit_intercept!r}.")
    if solver not in solvers:
        raise ValueError(f"solver must be one of {sorted(solvers)}; got {solver!r}.")
    if learning_rate is not None:
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) \
                or not 0 < learning_rate < math.inf:
            raise ValueError(f"learning_rate must be a positive finite number or None; "
                             f"got {learning_rate!r}.")
        if solver != "gd":
            raise ValueError(f"learning_rate applies to solver='gd' only; solver={solver!r} "
                             "chooses its own steps. Leave learning_rate=None.")
    if device not in (None, "cuda"):
        raise ValueError(f"device must be None (compute where X lives) or 'cuda' (stream a host "
                         f"X through the GPU); got {device!r}.")
    if chunk_rows is not None and device != "cuda":
        raise ValueError("chunk_rows applies to device='cuda' (streaming) only.")
