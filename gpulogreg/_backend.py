"""Backend dispatch: the only module that tells NumPy from CuPy.

Every public call resolves its array namespace ``xp`` once, with
:func:`get_namespace`, and then runs plain ``xp.`` code. CuPy is never imported
at module level: a laptop without CUDA never touches it, and an array can only
be a CuPy array if the user has already imported CuPy.
"""

from __future__ import annotations

import functools
import sys

import numpy as np


def _cupy_if_imported():
    return sys.modules.get("cupy")


def _namespace_of(array):
    cupy = _cupy_if_imported()
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy
    return np


def get_namespace(**arrays):
    """Return ``numpy`` or ``cupy`` for the named arrays (``None`` values are ignored).

    Anything that is not a CuPy array (NumPy arrays, lists, pandas objects) counts
    as NumPy. Mixing CuPy and host arrays is a ``TypeError`` that names them:
    we never move a user's data between devices behind their back.
    """
    found = {}
    for name, array in arrays.items():
        if array is not None:
            found.setdefault(_namespace_of(array).__name__, []).append(name)
    if len(found) > 1:
        where = {"cupy": "CuPy (GPU)", "numpy": "NumPy (host)"}
        parts = [f"{' and '.join(names)} {'is a' if len(names) == 1 else 'are'} "
                 f"{where[mod]} array{'' if len(names) == 1 else 's'}"
                 for mod, names in sorted(found.items())]
        raise TypeError("all arrays must live on the same device, but " + " while ".join(parts)
                        + ". Move them with cupy.asarray(...) or .get() first.")
    if "cupy" in found:
        return _cupy_if_imported()
    return np


def is_gpu(xp) -> bool:
    """True when ``xp`` is CuPy (the namespace runs on a CUDA device)."""
    return xp is not np


def to_namespace(array, xp):
    """Return ``array`` in namespace ``xp``: a no-op when it is already there.

    Only for small arrays (coefficients, labels): never call it on X.
    """
    if _namespace_of(array) is xp:
        return array
    if xp is np:
        return array.get()
    return xp.asarray(array)


def to_numpy(array):
    """A NumPy copy (or view) of a NumPy or CuPy array, for printing and tests."""
    return to_namespace(array, np)


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device: all mean "no GPU"
        return False


def device_name(xp) -> str:
    """A human-readable name of the device that ``xp`` computes on."""
    if not is_gpu(xp):
        return "cpu"
    device = xp.cuda.Device()
    name = xp.cuda.runtime.getDeviceProperties(device.id)["name"]
    if isinstance(name, bytes):
        name = name.decode()
    return f"cuda:{device.id} ({name})"
