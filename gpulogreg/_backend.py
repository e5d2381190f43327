"""Backend dispatch: the only module that tells NumPy from CuPy.

Every public call resolves its array namespace ``xp`` once, with
:func:`get_namespace`, and then runs plain ``xp.`` code. CuPy is never imported
at module level: a laptop without CUDA never touches it, and an array can only
be a CuPy array if the user has already imported CuPy.
"""

from __future__ import annotations

import functools
import os
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


def memory_info(xp):
    """``(free, total)`` bytes on the device of ``xp`` (free counts CuPy's pooled blocks),
    or ``None`` where the platform does not say."""
    if is_gpu(xp):
        free, total = xp.cuda.runtime.memGetInfo()
        return free + xp.get_default_memory_pool().free_bytes(), total
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


def out_of_memory_message(xp, X, exc) -> str:
    """Explain an out-of-memory error during a fit: what was needed, what is free, what to do."""
    # working set beyond X: z, residual, per-row loss, labels, weights and Newton's p, all
    # O(n) in X's dtype (CPU row blocks are smaller), plus O(d) solver vectors in float64
    n, d = X.shape
    need = 6 * n * X.dtype.itemsize + 30 * (d + 1) * 8
    info = memory_info(xp)
    free = "unknown" if info is None else f"{info[0]:,} of {info[1]:,} bytes are free"
    return (f"out of memory on {device_name(xp)} while fitting: X takes {X.nbytes:,} bytes and "
            f"the fit needs about {need:,} bytes more; {free} ({exc}). Try float32 X (half the "
            "bytes), fitting on the CPU (NumPy arrays), or fewer rows.")


def device_name(xp) -> str:
    """A human-readable name of the device that ``xp`` computes on."""
    if not is_gpu(xp):
        return "cpu"
    device = xp.cuda.Device()
    name = xp.cuda.runtime.getDeviceProperties(device.id)["name"]
    if isinstance(name, bytes):
        name = name.decode()
    return f"cuda:{device.id} ({name})"
