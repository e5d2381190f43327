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
    if _backend.is_sparse(X):
        return _check_sparse(X, xp, name, finite)
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


def _check_sparse(X, xp, name, finite):
    """A sparse X as CSR or CSC (SciPy's on the CPU, ``cupyx``'s on the GPU) of float32/64
    values, never densified. CSR and CSC are used as they are (their products with vectors
    and their transposes need no conversion); another format is converted to CSR once,
    with a warning (a copy of its nonzeros); integer or boolean values to float64."""
    if X.format not in ("csr", "csc"):
        from sklearn.exceptions import DataConversionWarning

        warnings.warn(f"{name} is a sparse {X.format.upper()} matrix: converted to CSR (a "
                      f"copy of its {X.nnz} nonzeros). Pass CSR or CSC to avoid the copy.",
                      DataConversionWarning, stacklevel=4)
        X = X.tocsr()
    if X.dtype not in (np.float32, np.float64):
        if X.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric; got a sparse matrix of dtype {X.dtype}.")
        X = X.astype(np.float32 if X.dtype.kind == "f" and X.dtype.itemsize < 4
                     else np.float64)
    for count, what in zip(X.shape, ("sample(s)", "feature(s)")):
        if count < 1:
            raise ValueError(f"Found array with {count} {what} (shape={X.shape}) while a "
                             f"minimum of 1 is required: {name} is empty.")
    if finite:
        _check_finite(X.data, xp, name)
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
    if _backend.is_dask(xp) and _backend.is_sparse(getattr(A, "_meta", None)):
        # sparse chunks: whether each holds a NaN or an infinity among its nonzeros
        flags = A.map_blocks(
            lambda block: np.array([[np.isnan(block.data).any(), np.isinf(block.data).any()]]),
            chunks=((1,) * len(A.chunks[0]), (2,) * len(A.chunks[1])), dtype=bool).compute()
        nan, inf = flags.reshape(-1, 2).any(axis=0)
        if nan or inf:
            raise ValueError(f"Input {name} contains {'NaN' if nan else 'infinity'}; remove or "
                             "impute those values.")
        return
    with np.errstate(all="ignore"):  # a sum of +inf and -inf, or of values near the maximum
        if bool(xp.isfinite(A.sum())):
            return
    for start in range(0, A.shape[0], _FINITE_SCAN_ROWS):
        block = A[start:start + _FINITE_SCAN_ROWS]
        if not bool(xp.isfinite(block).all()):
            what = "NaN" if bool(xp.isnan(block).any()) else "infinity"
            raise ValueError(f"Input {name} contains {what}; remove or impute those values.")


def check_y(y, n, dtype, xp):
    """Encode class labels as their index in ``classes``, as numbers of ``dtype``; return
    ``(y_index, classes)``.

    ``classes`` holds the sorted labels (two or more). For two, the index is 0.0/1.0 and
    ``classes[1]`` is the positive class, as in scikit-learn.
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
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{n}, {y.shape[0]}] (X has {n} rows, y has {y.shape[0]}).")
    if y.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {y.dtype}.")
    if y.dtype.kind == "f":
        _check_finite(y, xp, "y")
        if not bool((y == xp.round(y)).all()):
            raise ValueError("Unknown label type: continuous. y must hold class labels "
                             "(logistic regression is a classifier), not real values.")
    try:
        classes = _backend.materialize(xp.unique(y))  # a Dask y is read once here
    except TypeError as exc:  # e.g. an object array holding both numbers and strings
        kinds = sorted({type(v).__name__ for v in _backend.to_numpy(y).ravel()[:10_000]})
        raise TypeError(f"y mixes label types ({', '.join(kinds)}), which cannot be sorted into "
                        f"classes; use labels of one type ({exc}).") from None
    shown = f"{list(_backend.to_numpy(classes[:5]))}{' ...' if classes.shape[0] > 5 else ''}"
    if classes.shape[0] == 1:
        raise ValueError(f"y must hold at least two classes; it has only one class: {shown}.")
    if classes.shape[0] == 2:
        return (y == classes[1]).astype(dtype), classes
    if _backend.is_dask(xp):
        host = _backend.to_numpy(classes)
        return y.map_blocks(lambda block: np.searchsorted(host, block).astype(dtype),
                            dtype=dtype), classes
    return xp.searchsorted(classes, y).astype(dtype), classes


def _real_vector(a, n, xp, name, entry):
    """``a`` as a 1-D array of ``n`` real numbers (bool included), or an error naming it."""
    if xp is np and not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{name} must be 1-D with one {entry} per row of X ({n}); got shape "
                         f"{a.shape}.")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers ({entry}s); got dtype {a.dtype}.")
    return a


def check_y01(y, n, dtype, xp):
    """0/1 labels (bool or numbers) for the functional API, as a 1-D array of ``dtype``."""
    y = _real_vector(y, n, xp, "y", "0/1 label")
    if not _backend.is_dask(xp) and not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("y must hold only 0 and 1 (encode the positive class as 1).")
    return y.astype(dtype)


def check_class_index(y, n, k, dtype, xp):
    """Class indices 0..k-1 for the functional API's multinomial model, as a 1-D array of
    ``dtype``."""
    y = _real_vector(y, n, xp, "y", "class index")
    if not _backend.is_dask(xp) and not bool(((y == xp.round(y)) & (y >= 0) & (y < k)).all()):
        raise ValueError(f"y must hold class indices 0..{k - 1} for a coef of {k} rows (one "
                         "per class).")
    return y.astype(dtype)


def check_sample_weight(sample_weight, n, dtype, xp, *, y_index=None, classes=None,
                        class_weight=None, C=np.inf):
    """Return ``(weights, C)``: the sample weights (times the class weights) as a 1-D array
    of ``dtype`` (None for unit weights) and the C to use with them.

    Weights are rescaled to a maximum of 1 in float64 before the cast, and C multiplied by
    the same factor: the objective of DESIGN.md section 1 is unchanged (``f`` depends on
    ``s`` only through ``s / S`` and ``C S``), but weights such as 1e-300 or 1e300 neither
    underflow nor overflow in float32.
    """
    if sample_weight is None and class_weight is None:
        return None, C
    if sample_weight is None:
        sample_weight = xp.ones(n, dtype=np.float64)
    elif isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = xp.full(n, sample_weight, dtype=np.float64)
    sample_weight = _real_vector(sample_weight, n, xp, "sample_weight", "weight")
    s = sample_weight.astype(np.float64)  # O(n): never X
    _check_finite(s, xp, "sample_weight")
    if bool((s < 0).any()):
        raise ValueError("sample_weight must be non-negative; it has negative entries.")
    if class_weight is not None:
        s *= class_weights(class_weight, classes, y_index, s, xp)[y_index.astype(np.intp)]
    top = float(s.max())
    if not top > 0:
        raise ValueError("sample_weight must have at least one positive entry; all are zero"
                         + ("" if class_weight is None else " (after class_weight)") + ".")
    s /= top
    scaled_C = C * top
    if scaled_C == 0:
        raise ValueError(f"C * max(sample_weight) underflows to 0 (C={C!r}, max(sample_weight)"
                         f"={top!r}): the penalty would outweigh the data by more than "
                         "float64 can represent. Use larger weights or a larger C.")
    return s.astype(dtype, copy=False), scaled_C


def class_weights(class_weight, classes, y_index, s, xp):
    """Per-class multipliers ``[w(classes[0]), w(classes[1]), ...]`` as scikit-learn computes
    them (``"balanced"``: ``S / (k S_c)`` with ``S_c`` the weight of class c, k classes)."""
    k = classes.shape[0]
    if isinstance(class_weight, str):  # "balanced" (validated by the estimator)
        totals = np.array([float(s[y_index == c].sum()) for c in range(k)])
        with np.errstate(divide="ignore"):
            weights = np.where(totals > 0, totals.sum() / (k * totals), 0.0)
    else:
        from sklearn.utils.class_weight import compute_class_weight

        host = _backend.to_numpy(classes)
        weights = compute_class_weight(class_weight, classes=host, y=host)
    return xp.asarray(weights, dtype=np.float64)
