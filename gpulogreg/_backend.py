"""Backend dispatch: the only module that tells NumPy, CuPy and Dask arrays apart.

Every public call resolves its array namespace ``xp`` once, with
:func:`get_namespace`, and then runs plain ``xp.`` code. CuPy and Dask are never
imported here: an array can only be a CuPy (or Dask) array if the user has already
imported that library, so a laptop without CUDA never touches CuPy.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys

import numpy as np

_NAMES = {"cupy": "a CuPy (GPU)", "dask.array": "a Dask", "numpy": "a NumPy (host)"}
_ARRAY_TYPES = {"cupy": "ndarray", "dask.array": "Array"}  # module -> its array class


def namespace_of(array):
    for name, array_type in _ARRAY_TYPES.items():
        module = sys.modules.get(name)
        if module is not None and isinstance(array, getattr(module, array_type)):
            return module
    gpu_sparse = sys.modules.get("cupyx.scipy.sparse")
    if gpu_sparse is not None and gpu_sparse.issparse(array):
        return sys.modules["cupy"]
    return np


def is_sparse(array) -> bool:
    """True for a SciPy sparse matrix or array (CPU) or a ``cupyx.scipy.sparse`` matrix
    (GPU). Their namespace is NumPy's or CuPy's: the dense vectors of a fit live there."""
    for name in ("scipy.sparse", "cupyx.scipy.sparse"):
        module = sys.modules.get(name)
        if module is not None and module.issparse(array):
            return True
    return False


def is_host_array(array) -> bool:
    """True for a dense NumPy array in host memory (what the compiled CPU kernels read)."""
    return isinstance(array, np.ndarray)


def nbytes(array) -> int:
    """Bytes an array holds: for a sparse matrix, its values and index arrays."""
    if is_sparse(array):
        return sum(int(getattr(array, part).nbytes) for part in ("data", "indices", "indptr")
                   if hasattr(array, part))
    return int(array.nbytes)


def get_namespace(**arrays):
    """Return ``numpy``, ``cupy`` or ``dask.array`` for the named arrays (``None`` is ignored).

    Anything that is not a CuPy or Dask array (NumPy arrays, lists, pandas objects)
    counts as NumPy. Mixing kinds is a ``TypeError`` that names the arrays: we never
    move a user's data between devices or schedulers behind their back.
    """
    found = {}
    for name, array in arrays.items():
        if array is not None:
            found.setdefault(namespace_of(array).__name__, []).append(name)
    if len(found) > 1:
        parts = []
        for mod, names in sorted(found.items()):
            one = len(names) == 1
            kind = _NAMES[mod] if one else _NAMES[mod].split(" ", 1)[1]
            parts.append(f"{' and '.join(names)} {'is' if one else 'are'} {kind} "
                         f"array{'' if one else 's'}")
        raise TypeError("all arrays must be of one kind, on one device, but "
                        + " while ".join(parts)
                        + ". Convert them first: cupy.asarray(...) or .get() between GPU and "
                          "host, dask.array.from_array(..., chunks=X.chunks[0]) for Dask.")
    if not found:
        return np
    return sys.modules[next(iter(found))]


def is_gpu(xp) -> bool:
    """True when ``xp`` is CuPy (the namespace runs on a CUDA device)."""
    return xp is sys.modules.get("cupy", np) and xp is not np


def is_dask(xp) -> bool:
    """True when ``xp`` is ``dask.array`` (lazy, chunked arrays)."""
    return xp is sys.modules.get("dask.array", np) and xp is not np


def materialize(array):
    """Compute a Dask array (to its chunks' kind); anything else is returned as is."""
    return array.compute() if is_dask(namespace_of(array)) else array


def to_namespace(array, xp):
    """Return ``array`` in namespace ``xp``: a no-op when it is already there.

    Only for small arrays (coefficients, labels): never call it on X. Arrays of another
    array-API library (PyTorch, array-api-strict) are read through DLPack first.
    """
    array = to_internal(array)
    source = namespace_of(array)
    if source is xp:
        return array
    if is_dask(source):
        return to_namespace(array.compute(), xp)
    if xp is np:
        return array.get()
    return xp.asarray(array)


# --- other array libraries at the boundary (DESIGN.md section 7) -------------------------

DLPACK_CPU, DLPACK_CUDA = 1, 2  # DLPack device types (dlpack.h: kDLCPU, kDLCUDA)


def is_foreign(array) -> bool:
    """True for an array of another array-API library (PyTorch, array-api-strict, ...): it
    exports DLPack, and is not NumPy, CuPy, Dask or sparse."""
    return (hasattr(array, "__dlpack__") and not isinstance(array, (np.ndarray, np.generic))
            and namespace_of(array) is np and not is_sparse(array))


def foreign_namespace(array):
    """The namespace of a foreign array: its ``__array_namespace__()``, or its top-level
    module (``torch``)."""
    if hasattr(array, "__array_namespace__"):
        return array.__array_namespace__()
    return sys.modules[type(array).__module__.split(".")[0]]


def describe(array):
    kind = type(array).__module__.split(".")[0]
    if is_foreign(array):
        device_type, index = array.__dlpack_device__()
        where = "cpu" if device_type == DLPACK_CPU else f"cuda:{index}" \
            if device_type == DLPACK_CUDA else f"DLPack device {device_type}:{index}"
        return f"a {kind} array on {where}"
    return _NAMES.get(namespace_of(array).__name__, f"a {kind}") + " array"


def backend_of(array):
    """NumPy or CuPy for an array in memory (dense or sparse), None for others."""
    if array is None or not hasattr(array, "shape"):
        return None
    xp = namespace_of(array)
    return xp if xp is np or is_gpu(xp) else None


def to_internal(array, name="the array"):
    """A foreign array as NumPy (host memory) or CuPy (CUDA memory) without a copy, through
    DLPack; anything else unchanged. A PyTorch tensor that requires grad is read detached
    (a view, as scikit-learn reads it); one DLPack cannot export (sparse, bfloat16, ...) is
    a TypeError naming it (``name``) and saying what to pass instead."""
    if not is_foreign(array):
        return array
    if getattr(array, "requires_grad", False) and hasattr(array, "detach"):
        array = array.detach()  # no copy: the same memory without autograd's graph
    layout = str(getattr(array, "layout", "strided"))
    if getattr(array, "is_sparse", False) or "sparse" in layout:
        raise TypeError(f"{name} is {describe(array)} with a sparse layout ({layout}); pass a "
                        "dense tensor, or a SciPy (or cupyx) CSR matrix for sparse data.")
    device_type, _ = array.__dlpack_device__()
    if device_type not in (DLPACK_CPU, DLPACK_CUDA):
        raise TypeError(f"{name} is {describe(array)}: gpulogreg computes on the CPU (NumPy) "
                        "or on CUDA GPUs (CuPy) only.")
    try:
        if device_type == DLPACK_CUDA:
            import cupy

            return cupy.from_dlpack(array)
        return np.from_dlpack(array)
    except (BufferError, RuntimeError, TypeError, ValueError) as exc:
        raise TypeError(f"{name} is {describe(array)} of dtype {getattr(array, 'dtype', '?')}, "
                        f"which cannot be read without a copy ({exc}); convert it first, e.g. "
                        "to float32 or float64.") from None


def to_numpy(array):
    """A NumPy copy (or view) of a NumPy, CuPy or Dask array, for printing and tests."""
    return to_namespace(array, np)


def gpu_available() -> bool:
    """True when CuPy imports, sees a CUDA device and can run on it (see ``gpu_status``)."""
    return gpu_status()[0]


@functools.lru_cache(maxsize=1)
def gpu_status():
    """``(True, "")`` when the GPU path can run, else ``(False, what is missing)``: CuPy
    itself, a driver or device, or a CUDA library CuPy loads at first use (cuBLAS for the
    matrix products, NVRTC for the kernels), with the install line that provides it."""
    try:
        import cupy
    except ImportError as exc:
        return False, f"CuPy is not installed ({exc})"
    except Exception as exc:  # a broken install: say so rather than hide it
        return False, f"CuPy is installed but does not import: {exc!r}"
    fix = ("pip install 'gpulogreg[cuda13]' (or [cuda12]) installs CuPy with the CUDA "
           "libraries it needs")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return False, "CuPy sees no CUDA device"
    except Exception as exc:
        return False, f"CuPy {cupy.__version__} finds no usable CUDA driver or device: {exc}"
    try:
        a = cupy.ones((2, 2), dtype=cupy.float32)
        float((a @ a)[0, 0])  # loads cuBLAS
        cupy.cuda.nvrtc.getVersion()  # loads NVRTC, which compiles kernels/
    except Exception as exc:
        return False, (f"CuPy {cupy.__version__} sees a GPU but cannot run on it: {exc} "
                       f"({fix})")
    return True, ""


_DEVICE = re.compile(r"cuda(?::(\d+))?")
DEVICES = "'auto', 'cpu', 'cuda' or 'cuda:N' (N a GPU index)"


def parse_device(device, name="device"):
    """The one device vocabulary of the estimator, ``load`` and the CLI: return
    ``("auto" | "cpu" | "cuda", index or None)``. ``None`` means ``"auto"``."""
    if device is None or device == "auto":
        return "auto", None
    if device == "cpu":
        return "cpu", None
    match = _DEVICE.fullmatch(device) if isinstance(device, str) else None
    if match is None:
        raise ValueError(f"{name} must be {DEVICES}; got {device!r}.")
    return "cuda", None if match.group(1) is None else int(match.group(1))


def array_device(X):
    """The ``cupy.cuda.Device`` holding a CuPy array or a ``cupyx`` sparse matrix (whose own
    ``device`` raises NotImplementedError: its values array's)."""
    return (X.data if is_sparse(X) else X).device


def device_of(X):
    """A context that makes the GPU holding ``X`` (a CuPy array or ``cupyx`` sparse matrix)
    current, so that every allocation and kernel of a public call runs where X lives,
    whatever device is current; a no-op for any other X."""
    if X is not None and is_gpu(namespace_of(X)):
        return array_device(X)
    return contextlib.nullcontext()


def on_device(device, xp, X=None):
    """A context that makes the GPU named by ``device`` (from :func:`parse_device`) current;
    for "auto" or "cuda" (no index) with a CuPy X, X's own GPU (``device_of``); else a
    no-op. A clear ValueError when no GPU is there, or when a CuPy X lives on another GPU
    than the one named."""
    kind, index = device
    if kind in ("auto", "cuda") and index is None and X is not None and is_gpu(xp):
        return device_of(X)
    if kind != "cuda":
        return contextlib.nullcontext()
    if not gpu_available():
        raise ValueError("device='cuda' needs CuPy and a CUDA GPU; none is available. Use "
                         "device='auto' (compute where X lives) or 'cpu'.")
    import cupy

    if index is None:
        return contextlib.nullcontext()
    if not 0 <= index < cupy.cuda.runtime.getDeviceCount():
        raise ValueError(f"device='cuda:{index}' names no GPU: this machine has "
                         f"{cupy.cuda.runtime.getDeviceCount()}.")
    if X is not None and is_gpu(xp) and array_device(X).id != index:
        raise ValueError(f"device='cuda:{index}' but X lives on cuda:{array_device(X).id}; "
                         "move it with cupy.asarray under that device, or use device='auto'.")
    return cupy.cuda.Device(index)


def memory_info(xp):
    """``(free, total)`` bytes on the device of ``xp`` (free counts CuPy's pooled blocks),
    or ``None`` where the platform does not say."""
    if is_dask(xp):
        return None  # spread over the workers
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
    return (f"out of memory on {device_name(xp)} while fitting: X takes {nbytes(X):,} bytes and "
            f"the fit needs about {need:,} bytes more; {free} ({exc}). Try float32 X (half the "
            "bytes), fitting on the CPU (NumPy arrays), or fewer rows.")


def device_name(xp) -> str:
    """A human-readable name of the device that ``xp`` computes on."""
    if is_dask(xp):
        return "dask (the chunks' workers)"
    if not is_gpu(xp):
        return "cpu"
    device = xp.cuda.Device()
    name = xp.cuda.runtime.getDeviceProperties(device.id)["name"]
    if isinstance(name, bytes):
        name = name.decode()
    return f"cuda:{device.id} ({name})"


def cholesky_solve(A, b, xp):
    """Solve ``A x = b`` for a symmetric positive definite ``A`` (small, float64) by Cholesky,
    in namespace ``xp``; ``None`` when ``A`` is not positive definite (or not finite)."""
    if is_gpu(xp):
        import cupyx
        from cupyx.scipy.linalg import solve_triangular

        errors = cupyx.errstate(linalg="raise")  # CuPy's default, 'ignore', returns garbage
    else:
        from scipy.linalg import solve_triangular

        errors = contextlib.nullcontext()
    try:
        with errors:
            L = xp.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    # and whatever a library leaves where it does not raise: NaN, or a factor whose
    # diagonal is not positive (one host read)
    diagonal = xp.diagonal(L)
    if not bool(xp.isfinite(L).all() & (diagonal > 0).all()):
        return None
    return solve_triangular(L.T, solve_triangular(L, b, lower=True), lower=False)
