"""Other array libraries at the boundary of a public call (DESIGN.md section 7).

scikit-learn 1.9 accepts any array-API namespace (PyTorch CPU/CUDA, CuPy,
array-api-strict) under ``array_api_dispatch=True`` and returns attributes and outputs in
the input's namespace, dtype and device. gpulogreg meets that convention here only: a
public call's arrays come in as NumPy or CuPy (through DLPack, X never copied) and its
results go back out; everything inside sees NumPy or CuPy arrays (``_backend``).
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect

import numpy as np

from ._backend import (
    DLPACK_CUDA,
    backend_of,
    describe,
    device_of,
    foreign_namespace,
    is_foreign,
    is_gpu,
    namespace_of,
    to_internal,
    to_numpy,
)


def array_api_dispatch() -> bool:
    """scikit-learn's ``array_api_dispatch`` setting (``sklearn.set_config``)."""
    import sklearn

    return bool(sklearn.get_config().get("array_api_dispatch", False))


class Boundary:
    """One public call's arrays at the boundary (DESIGN.md section 7): inputs of another
    array-API library (PyTorch CPU or CUDA, array-api-strict) come in as NumPy or CuPy arrays
    through DLPack (X never copied; ``inward``), and with scikit-learn's
    ``array_api_dispatch`` on, results go back to X's library, dtype and device
    (``outward``). As in scikit-learn 1.9, everything follows X: a y or sample_weight of
    another library or device is brought to X's (they are O(n), X is never moved). Without
    dispatch, scikit-learn's convention: host inputs are read as NumPy and results stay
    NumPy; a CUDA tensor is a TypeError saying to enable dispatch (CuPy arrays stay on the
    GPU either way). Between NumPy and CuPy alone nothing is moved (``get_namespace``)."""

    def __init__(self, X=None, **others):
        self.namespace = self.device = None
        self._X, self._x = X, X  # as given, and as NumPy or CuPy
        arrays = {"X": X, **others}
        foreign = {name: a for name, a in arrays.items() if a is not None and is_foreign(a)}
        self._moves = bool(foreign)  # only arrays of other libraries are brought to X's
        if not foreign:
            return
        dispatch = array_api_dispatch()
        for name, a in foreign.items():
            if a.__dlpack_device__()[0] == DLPACK_CUDA and not dispatch:
                raise TypeError(f"{name} is {describe(a)}: enable scikit-learn's array API "
                                "dispatch (sklearn.set_config(array_api_dispatch=True)) to "
                                "fit and predict on it and get results of its kind, or pass "
                                "CuPy arrays.")
        if dispatch and is_foreign(X):
            self.namespace, self.device = foreign_namespace(X), X.device
        self._x = to_internal(X, "X")

    def inward(self, array, name="the array"):
        """``array`` as NumPy or CuPy (X without a copy; see ``to_internal``); an array that
        came with arrays of another library, on X's side of the host/GPU divide."""
        if array is None or array is self._X:
            return None if array is None else self._x
        array = to_internal(array, name)
        if not self._moves or not hasattr(array, "shape") or backend_of(self._x) is None:
            return array
        target, own = backend_of(self._x), namespace_of(array)
        if is_gpu(target) and own is np:
            with device_of(self._x):
                return target.asarray(array)
        if target is np and is_gpu(own):
            return array.get()
        return array

    def outward(self, result):
        """``result`` (a NumPy or CuPy array, or anything else) in the inputs' namespace and
        device when dispatch brought them (no copy where DLPack can share it); else as is.
        Arrays with no counterpart there (strings) stay NumPy."""
        if self.namespace is None or not isinstance(result, np.ndarray) and \
                not is_gpu(namespace_of(result)):
            return result
        if isinstance(result, np.ndarray) and result.dtype.kind not in "biuf":
            return result
        try:
            out = self.namespace.from_dlpack(result)
        except (BufferError, TypeError, RuntimeError, ValueError):  # read-only, ...
            out = self.namespace.asarray(to_numpy(result).copy())
        if self.device is not None and getattr(out, "device", self.device) != self.device:
            out = out.to_device(self.device) if hasattr(out, "to_device") else \
                out.to(self.device)
        return out

    @classmethod
    def towards(cls, library, device=None):
        """A boundary whose ``outward`` brings results to array library ``library`` (a
        module name, e.g. ``"torch"``) and, for PyTorch, the device named ``device``
        (``"cpu"``, ``"cuda:0"``); the library's default device otherwise. None where the
        library does not import."""
        try:
            namespace = importlib.import_module(library)
        except ImportError:
            return None
        boundary = cls()
        boundary.namespace = namespace
        if library == "torch" and device is not None:
            boundary.device = namespace.device(device)
        return boundary


def library_of(array):
    """``(module name, device as text)`` of an array of another array-API library (PyTorch,
    array-api-strict), else None: what a saved model records to come back in it."""
    if not is_foreign(array):
        return None
    return type(array).__module__.split(".")[0], str(getattr(array, "device", "cpu"))


_INSIDE = contextvars.ContextVar("gpulogreg_inside_a_public_call", default=False)


def at_boundary(function=None, *, check=None):
    """Decorate a public function or method whose array arguments may come from any array
    library: they reach it as NumPy or CuPy arrays (``Boundary.inward``; X never copied),
    with the GPU holding a CuPy X current, and its result (or each item of a tuple result)
    goes back out (``Boundary.outward``). ``check(arguments)``, if given, runs first on the
    arguments as given. A call from inside another (predict_proba's decision_function)
    already has NumPy or CuPy arrays: it runs as it is."""
    if function is None:
        return functools.partial(at_boundary, check=check)
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if _INSIDE.get():
            return function(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        if check is not None:
            check(bound.arguments)
        arrays = {name: value for name, value in bound.arguments.items()
                  if name != "self" and (is_foreign(value) or hasattr(value, "shape"))}
        boundary = Boundary(**arrays)
        for name, value in arrays.items():
            bound.arguments[name] = boundary.inward(value, name)
        token = _INSIDE.set(True)
        try:
            with device_of(bound.arguments["X"]):
                result = function(*bound.args, **bound.kwargs)
        finally:
            _INSIDE.reset(token)
        if isinstance(result, tuple):
            return tuple(boundary.outward(item) for item in result)
        return boundary.outward(result)
    return wrapper
