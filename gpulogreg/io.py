"""Safe persistence: a fitted model is one ``.npz`` file of plain arrays and JSON metadata.

This module is a codec of one plain record, ``ModelState`` (arrays, numbers, names): it
knows nothing of the estimators, which map themselves to a state (``_base.model_state``)
and back (``estimator.from_state``; ``gpulogreg.load``).

Nothing is pickled and nothing is unpickled: :func:`read` reads the archive member by
member, checks the format name and version, each array's shape, dtype and size from
its header *before* reading it (so a forged shape or a zip bomb costs nothing), then
finiteness, and refuses anything else with a ``ValueError`` that says the file is not a
valid model and why.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from . import _backend
from ._typing import PathLike
from ._version import __version__

FORMAT = "gpulogreg.LogisticRegression"
FORMAT_VERSION = 1
_ARRAYS = ("coef", "intercept", "classes")


@dataclasses.dataclass
class ModelState:
    """What a saved model holds: plain NumPy arrays, numbers and names.

    The same whatever array library and device the model was fitted on.

    Parameters
    ----------
    coef : ndarray of shape (1, d) for two classes, else (k, d)
        Dense, float32 or float64.
    intercept : ndarray of shape (1,) or (k,)
        Of coef's dtype.
    classes : ndarray of shape (k,)
        Sorted labels: numbers, booleans, strings or bytes (or Python objects of one such
        type: pandas strings, categoricals).
    params : dict
        The parameters of the ``LogisticRegression`` that predicts as the model does.
    n_iter : int, default=0
        The solver's iterations.
    loss : float, default=nan
        The final objective.
    grad_max : float, default=nan
        The final ``max|gradient|``.
    namespace : {"numpy", "cupy"}, default="numpy"
        Where it was fitted.
    feature_names_in : list of str or None, default=None
        The names of the columns.
    target_name : str or None, default=None
        The label column's name, for the command line.
    array_library : str or None, default=None
        Fitted on arrays of another library (array API dispatch): its name, e.g. "torch".
    array_device : str or None, default=None
        And their device, e.g. "cpu", "cuda:0".
    """

    coef: Any
    intercept: Any
    classes: Any
    params: dict
    n_iter: int = 0
    loss: float = math.nan
    grad_max: float = math.nan
    namespace: str = "numpy"
    feature_names_in: list[str] | None = None
    target_name: str | None = None
    array_library: str | None = None
    array_device: str | None = None

    @property
    def n_features_in(self) -> int:
        """The number of features, d."""
        return self.coef.shape[1]


def write(state: ModelState, path: PathLike) -> Path:
    """Write ``state`` to exactly ``path``, in the ``.npz`` format whatever the name.

    The file is written to a temporary name beside it and renamed, so an interrupted save
    never leaves a truncated model behind; temporaries that an earlier, killed save of the
    same path left are removed. The file gets the permissions the umask gives a new file.

    Parameters
    ----------
    state : ModelState
        The model.
    path : str or os.PathLike
        The file to write.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a folder.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    TypeError
        If the labels cannot be stored without pickle.

    See Also
    --------
    read : Read the file back.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot save the model to {path}: it is a folder; name a "
                                "file in it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save the model to {path}: the folder {path.parent} "
                                "does not exist")
    classes, labels_as_objects = _storable_labels(np.asarray(state.classes))
    arrays = {"coef": np.asarray(state.coef), "intercept": np.asarray(state.intercept),
              "classes": classes}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gpulogreg_version": __version__,
        "namespace": state.namespace,
        "params": _params_to_json(state.params),
        "n_features_in": int(state.n_features_in),
        "n_classes": int(classes.shape[0]),
        "n_iter": int(state.n_iter),
        "loss": float(state.loss),
        "grad_max": float(state.grad_max),
    }
    if labels_as_objects:
        metadata["classes_as_objects"] = True
    if state.feature_names_in is not None:
        metadata["feature_names_in"] = [str(name) for name in state.feature_names_in]
    if isinstance(state.target_name, str):
        metadata["target_name"] = state.target_name
    if state.array_library is not None:
        metadata["array_library"] = str(state.array_library)
        metadata["array_device"] = str(state.array_device)
    prefix = f".{path.name}."
    for stale in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):  # left by a killed save
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 is not what the user's umask says
        with os.fdopen(fd, "wb") as f:
            np.savez(f, metadata=np.array(json.dumps(metadata)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _storable_labels(classes):
    """``(classes as a plain array, whether they were Python objects)``: numbers, booleans,
    strings and bytes are stored as they are; an object array (pandas strings, categoricals)
    of labels of one such type as an array of that type, restored as objects."""
    if classes.dtype.kind in "biufUS":
        return classes, False
    values = classes.tolist()
    types = {type(v) for v in values}
    if classes.dtype.kind == "O" and len(types) == 1:
        plain = np.array(values)
        if plain.dtype.kind in "biufUS" and plain.shape == classes.shape:
            return plain, True
    kinds = ", ".join(sorted({type(v).__name__ for v in values}))
    raise TypeError(f"classes_ of dtype {classes.dtype} ({kinds} labels) cannot be stored "
                    "without pickle; labels must be numbers, booleans, strings or bytes (as "
                    "arrays of those, or as str or bytes objects).")


def _params_to_json(params):
    """``get_params()`` as JSON: a class_weight dict as [label, weight] pairs (JSON keys are
    strings only); a random_state that is not an int (it has no effect) as null."""
    params = dict(params)
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = {"pairs": [[np.asarray(k).item(), float(v)]
                                            for k, v in params["class_weight"].items()]}
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None
    return params


def _params_from_json(params):
    params = dict(params)
    weights = params.get("class_weight")
    if isinstance(weights, dict):
        pairs = weights.get("pairs")
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2
                                                  for p in pairs):
            raise ValueError(f"class_weight is not a list of [label, weight] pairs: {weights!r}")
        params["class_weight"] = {label: weight for label, weight in pairs}
    return params


def read(path: PathLike) -> ModelState:
    """Read a model written by :func:`write` as a ``ModelState``.

    Every check (format, shapes, dtypes, sizes) is made before any array is read, so a
    forged file cannot make ``read`` allocate more than a model of its declared size. The
    parameters are read as they are: the estimator that loads them checks them
    (``estimator.from_state``).

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    ModelState
        The model, its arrays NumPy arrays.

    Raises
    ------
    ValueError
        If the file is not a valid model file (the message says why).
    FileNotFoundError
        If there is no such file.

    See Also
    --------
    write : Write a model file.
    """
    metadata, arrays = _read(path)
    params = metadata.get("params")
    if not isinstance(params, dict):
        _invalid(path, f"invalid params (params is {params!r})")
    try:
        params = _params_from_json(params)
    except ValueError as exc:
        _invalid(path, f"invalid params ({exc})")
    coef, intercept, classes = (arrays[name] for name in _ARRAYS)
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        _invalid(path, "coef/intercept contain NaN or infinity")
    if classes.dtype.kind not in "biufUS" or not np.all(classes[1:] > classes[:-1]):
        _invalid(path, f"classes must be sorted distinct labels; got {classes!r}")
    names = metadata.get("feature_names_in")
    if names is not None and (not isinstance(names, list) or len(names) != coef.shape[1]
                              or not all(isinstance(n, str) for n in names)):
        _invalid(path, "feature_names_in is not a list of one name per feature")
    if metadata.get("classes_as_objects") is True:  # str or bytes objects, as fitted
        classes = np.array(classes.tolist(), dtype=object)
    target = metadata.get("target_name")
    library, device = metadata.get("array_library"), metadata.get("array_device")
    if library is not None and not (isinstance(library, str) and library.isidentifier()
                                    and isinstance(device, str)):
        _invalid(path, f"array_library {library!r} / array_device {device!r} are not names")
    return ModelState(coef=coef, intercept=intercept, classes=classes, params=params,
                      n_iter=_number(path, metadata, "n_iter", int, 0, 0, 2**31 - 1),
                      loss=_number(path, metadata, "loss", float, math.nan),
                      grad_max=_number(path, metadata, "grad_max", float, math.nan),
                      namespace="cupy" if metadata.get("namespace") == "cupy" else "numpy",
                      feature_names_in=names,
                      target_name=target if isinstance(target, str) else None,
                      array_library=library, array_device=device)


def _invalid(path, why):
    raise ValueError(f"{path} is not a valid gpulogreg model file: {why}.")


def _number(path, metadata, key, kind, default, low=-math.inf, high=math.inf):
    """A number of the metadata, of ``kind`` (int or float) within [low, high]."""
    value = metadata.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _invalid(path, f"the metadata's {key} is not a number: {value!r}")
    if kind is int and not (isinstance(value, int) and low <= value <= high):
        _invalid(path, f"the metadata's {key} is {value!r}, not a count in [{low}, {high}]")
    return kind(value)


# What a model file may make ``read`` allocate: its members' declared (uncompressed) bytes
# in all, at most _EXPANSION times the file's size plus _SLACK (``write`` stores the arrays
# uncompressed, so a file it wrote declares about its own size; a forged file's compressed
# zeros ask for far more) and never more than _MEMORY_SHARE of the memory free now.
_EXPANSION = 4
_SLACK = 1 << 16
_MEMORY_SHARE = 0.5


def _allowance(path):
    allowed = _EXPANSION * os.path.getsize(path) + _SLACK
    info = _backend.memory_info(np)
    return allowed if info is None else min(allowed, int(info[0] * _MEMORY_SHARE))


def _read(path):
    """Metadata and arrays of a model file, each array checked from its zip entry and its
    header (shape, dtype, size) before it is read: nothing larger than the file may ask for
    (``_allowance``) is decompressed. Any failure is a ValueError naming the file and why."""
    try:
        archive = zipfile.ZipFile(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # BadZipFile, OSError, EOFError, ValueError, ...
        _invalid(path, f"not a readable .npz archive (truncated, corrupted or another kind of "
                       f"file: {exc})")
    try:
        with archive:
            return _read_members(path, archive, _allowance(path))
    except ValueError as exc:
        if str(exc).startswith(f"{path} "):  # a refusal of ours, saying why
            raise
        _invalid(path, f"not a readable gpulogreg model file ({exc})")
    except (MemoryError, RecursionError, OverflowError, RuntimeError, NotImplementedError,
            OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, TypeError,
            UnicodeError) as exc:  # corrupt data, encrypted or unknown compression, ...
        _invalid(path, f"not a readable gpulogreg model file ({type(exc).__name__}: {exc})")


def _read_members(path, archive, allowance):
    members = {info.filename: info for info in archive.infolist()}
    expected = {f"{name}.npy" for name in ("metadata", *_ARRAYS)}
    if set(members) != expected:
        _invalid(path, f"expected arrays {sorted(n[:-4] for n in expected)}, found "
                       f"{sorted(n.removesuffix('.npy') for n in members)}")
    budget = allowance
    for name in ("metadata", *_ARRAYS):  # before anything is decompressed
        budget -= members[f"{name}.npy"].file_size
        if budget < 0:
            _invalid(path, f"{name}: declares {members[f'{name}.npy'].file_size:,} bytes, more "
                           f"than a file of {os.path.getsize(path):,} bytes may ask for "
                           f"({allowance:,} in all)")
    raw = _member(path, archive, members["metadata.npy"], "metadata", (), "U")
    try:
        metadata = json.loads(str(raw))
    except (json.JSONDecodeError, RecursionError) as exc:
        _invalid(path, f"the metadata is not valid JSON ({type(exc).__name__}: {exc})")
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        _invalid(path, f"format "
                       f"{metadata.get('format') if isinstance(metadata, dict) else None!r}"
                       f" is not {FORMAT!r}")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has format version {metadata.get('format_version')!r}; "
                         f"this gpulogreg reads version {FORMAT_VERSION}. Upgrade "
                         "gpulogreg or refit.")
    d = metadata.get("n_features_in")
    if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= allowance:
        _invalid(path, f"n_features_in is {d!r}, not a count of features")
    k = metadata.get("n_classes", 2)  # files from before multinomial: two classes
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= allowance // d:
        _invalid(path, f"n_classes is {k!r}, not a count of classes for {d!r} features in a "
                       f"file of {os.path.getsize(path):,} bytes")
    rows = 1 if k == 2 else k  # coef_ rows: one for a binomial model, else one per class
    arrays = {name: _member(path, archive, members[f"{name}.npy"], name, shape, kinds)
              for name, shape, kinds in (("coef", (rows, d), "f"), ("intercept", (rows,), "f"),
                                         ("classes", (k,), "biufUS"))}
    coef, intercept = arrays["coef"], arrays["intercept"]
    if coef.dtype not in (np.float32, np.float64) or intercept.dtype != coef.dtype:
        _invalid(path, f"coef and intercept must both be float32 or float64; got {coef.dtype} "
                       f"and {intercept.dtype}")
    return metadata, arrays


def _member(path, archive, info, name, shape, kinds):
    """Read the ``.npy`` member ``info`` after checking its header against ``shape`` and
    dtype kinds, and that its data fits in what the zip entry declares (so reading it
    allocates no more than the entry's declared size, already within the allowance)."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0,
                       (3, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            _invalid(path, f"{name}: unsupported .npy version {version}")
        found_shape, _, dtype = read_header(f, max_header_size=1 << 16)
    if dtype.hasobject:
        _invalid(path, f"{name} contains pickled objects; refusing to load it (a gpulogreg "
                       "model file holds plain arrays only)")
    if tuple(found_shape) != tuple(shape) or dtype.kind not in kinds:
        _invalid(path, f"{name}: has shape {tuple(found_shape)} and dtype {dtype}; expected "
                       f"shape {tuple(shape)}")
    if dtype.itemsize * math.prod(shape) > info.file_size:
        _invalid(path, f"{name}: its header asks for {dtype.itemsize * math.prod(shape):,} "
                       f"bytes, more than its entry's {info.file_size:,}")
    with archive.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)
