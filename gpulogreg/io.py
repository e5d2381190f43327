"""Safe persistence: a fitted model is one ``.npz`` file of plain arrays plus JSON metadata.

Nothing is pickled and nothing is unpickled: :func:`load` opens the file with
``allow_pickle=False``, checks the format name and version, every array's shape,
dtype and finiteness, and the parameters, and refuses anything else with a
``ValueError`` that says what is wrong.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import _backend

FORMAT = "gpulogreg.LogisticRegression"
FORMAT_VERSION = 1
_ARRAYS = ("coef", "intercept", "classes")


def save(model, path):
    """Write fitted ``model`` to ``path`` (``.npz`` is appended if missing); return the path.

    The file is written to a temporary name and renamed, so an interrupted save never
    leaves a truncated model behind.
    """
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    check_is_fitted(model)
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = {name: _backend.to_numpy(getattr(model, f"{name}_")) for name in _ARRAYS}
    if arrays["classes"].dtype.kind not in "biufU":
        raise TypeError(f"classes_ of dtype {arrays['classes'].dtype} cannot be stored without "
                        "pickle; use numeric, boolean or string labels.")
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gpulogreg_version": __version__,
        "namespace": "cupy" if _backend.is_gpu(_backend.get_namespace(coef=model.coef_))
        else "numpy",
        "params": model.get_params(),
        "n_features_in": int(model.n_features_in_),
        "n_iter": int(model.n_iter_[0]),
        "loss": float(model.loss_),
        "grad_max": float(model.grad_max_),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, metadata=np.array(json.dumps(metadata)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def load(path, device="auto"):
    """Read a model written by :func:`save`.

    ``device``: ``"cpu"`` gives NumPy attributes; ``"gpu"`` CuPy ones (needs a GPU);
    ``"auto"`` (default) restores where the model was fitted when possible, else the CPU.
    """
    from .estimator import LogisticRegression

    if device not in ("auto", "cpu", "gpu"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'gpu'; got {device!r}.")
    metadata, arrays = _read(path)
    estimator = LogisticRegression()
    params = metadata.get("params")
    if not isinstance(params, dict) or not set(params) <= set(estimator.get_params()):
        raise ValueError(f"{path}: invalid params in the metadata: {params!r}.")
    estimator.set_params(**params)  # C = inf round-trips as JSON's Infinity

    n_features = metadata.get("n_features_in")
    coef, intercept, classes = (arrays[name] for name in _ARRAYS)
    if not isinstance(n_features, int) or coef.shape != (1, n_features) or \
            coef.dtype not in (np.float32, np.float64):
        raise ValueError(f"{path}: coef has shape {coef.shape} and dtype {coef.dtype}; "
                         f"expected (1, {n_features}) float32/float64.")
    if intercept.shape != (1,) or intercept.dtype != coef.dtype:
        raise ValueError(f"{path}: intercept has shape {intercept.shape} and dtype "
                         f"{intercept.dtype}; expected (1,) {coef.dtype}.")
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ValueError(f"{path}: coef/intercept contain NaN or infinity.")
    if classes.shape != (2,) or classes.dtype.kind not in "biufU" or not classes[0] < classes[1]:
        raise ValueError(f"{path}: classes must be two sorted distinct labels; got {classes!r}.")

    xp = _target_namespace(device, metadata.get("namespace"))
    estimator.coef_ = _backend.to_namespace(coef, xp)
    estimator.intercept_ = _backend.to_namespace(intercept, xp)
    estimator.classes_ = (classes if classes.dtype.kind == "U"  # strings stay on the host
                          else _backend.to_namespace(classes, xp))
    estimator.n_features_in_ = n_features
    estimator.n_iter_ = np.array([int(metadata.get("n_iter", 0))])
    estimator.loss_ = float(metadata.get("loss", math.nan))
    estimator.grad_max_ = float(metadata.get("grad_max", math.nan))
    return estimator


def _read(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            if names != {"metadata", *_ARRAYS}:
                raise ValueError(f"{path}: expected arrays {sorted({'metadata', *_ARRAYS})}, "
                                 f"found {sorted(names)}.")
            raw = {name: data[name] for name in names}
    except FileNotFoundError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"{path} contains pickled objects; refusing to load it "
                             "(a gpulogreg model file holds plain arrays only).") from None
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise ValueError(f"{path} is not a readable gpulogreg model file (truncated or "
                         f"corrupted: {exc}).") from None
    try:
        metadata = json.loads(str(raw.pop("metadata")))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the metadata is not valid JSON ({exc}).") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gpulogreg model file (format "
                         f"{metadata.get('format') if isinstance(metadata, dict) else None!r}).")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has format version {metadata.get('format_version')!r}; this "
                         f"gpulogreg reads version {FORMAT_VERSION}. Upgrade gpulogreg or refit.")
    return metadata, raw


def _target_namespace(device, saved):
    if device == "cpu" or (device == "auto" and saved != "cupy"):
        return np
    if not _backend.gpu_available():
        if device == "gpu":
            raise ValueError("device='gpu' asked for, but CuPy with a CUDA device is not "
                             "available; load with device='cpu'.")
        return np
    import cupy

    return cupy
