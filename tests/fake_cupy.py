"""A stand-in for the CuPy surface gpulogreg's device logic uses, backed by NumPy, so that
streaming, dispatch and error paths are tested on machines without a GPU.

The model, made to fail where hardware would:
- the current (compute) stream is the host: its work runs at once;
- work on any other stream (the copies of the streaming path) is deferred, and runs only
  when something orders it: ``Event.synchronize()``, ``Stream.synchronize()``, or another
  stream's ``wait_event`` on an event recorded after it. So a kernel that reads a device
  buffer without waiting for its copy sees stale data, and a host write into a pinned
  buffer whose copy has not run yet corrupts that copy;
- allocations (device and pinned), copies and synchronisations are recorded in ``log``;
- every array belongs to the device current when it was made, and an operation on arrays
  of another device than the current one raises "Peer access is unavailable" (what CuPy
  does on machines without peer access between the GPUs);
- host reads of device values (``float()``, ``bool()``, ``int()``, ``.item()``,
  ``.get()``, ``.tolist()``) are recorded as ("sync", None), as each costs a
  device-to-host transfer; reductions give 0-d arrays, as CuPy's do;
- ``cupyx.scipy.sparse`` matrices (CSR, CSC) raise NotImplementedError on ``.device``, as
  CuPy's do; their values array has one;
- ``linalg.cholesky`` of a matrix that is not positive definite returns a finite factor
  with a negative diagonal instead of raising, as CuPy does by default
  (``linalg='ignore'``), unless ``cupyx.errstate(linalg='raise')`` is in force;
- what the GPU check reads (``cuda.runtime.getDeviceCount``, a first matrix product,
  ``cuda.nvrtc.getVersion``) can be made to fail as a broken install does (``make``'s
  ``device_count`` and ``matmul_error``).

A logic check, not a GPU check. It cannot see a missing wait on the compute stream (that
stream is eager here); nor a missing host wait before a pinned buffer is written again,
because here the compute stream's wait for a copy has already run it on the host, where on
hardware the host would race ahead; nor races inside a kernel, or real timings.
"""

from __future__ import annotations

import types

import numpy as np


class Log:
    def __init__(self):
        self.events = []  # ("device" | "pinned" | "copy" | "free pinned", bytes or None)

    def bytes(self, kind):
        return sum(n for k, n in self.events if k == kind)

    def count(self, kind):
        return sum(k == kind for k, _ in self.events)


class Stream:
    def __init__(self, module, non_blocking=False, eager=False):
        self.module, self.eager, self.ops, self.ran = module, eager, [], 0

    def enqueue(self, op):
        if self.eager:
            op()
        else:
            self.ops.append(op)

    def run_until(self, position):
        while self.ran < min(position, len(self.ops)):
            self.ops[self.ran]()
            self.ran += 1

    def record(self):
        return Event(self, len(self.ops))

    def wait_event(self, event):
        event.stream.run_until(event.position)  # this stream's later work comes after it

    def synchronize(self):
        self.run_until(len(self.ops))

    @property
    def pending(self):
        return len(self.ops) - self.ran

    def __enter__(self):
        self.module._stack.append(self)
        return self

    def __exit__(self, *exc):
        self.module._stack.pop()


class Event:
    def __init__(self, stream, position):
        self.stream, self.position = stream, position

    def synchronize(self):
        self.stream.run_until(self.position)


class Device:
    def __init__(self, module, id=0):
        self.module, self.id = module, id

    def __enter__(self):
        self.module.device_stack.append(self.id)
        return self

    def __exit__(self, *exc):
        self.module.device_stack.pop()


def make(free_bytes=1 << 30, fail_pinned=False, device_count=2, matmul_error=None):
    """A fresh ``(cupy, cupyx)`` pair of stand-in modules.

    ``free_bytes``: the device's free memory; ``fail_pinned``: pinned allocations fail (out
    of memory); ``device_count``: the number of GPUs, or an exception that counting them
    raises (no usable driver); ``matmul_error``: an exception that a matrix product of
    device arrays raises (a CUDA library that does not load)."""
    cp = types.ModuleType("cupy")
    cp.__version__ = "fake"
    cp.log = Log()
    cp.device_stack = [0]
    compute = Stream(cp, eager=True)
    cp._stack = [compute]

    def check_devices(*objects):
        current = cp.device_stack[-1]
        for obj in objects:
            if isinstance(obj, (list, tuple)):
                check_devices(*obj)
            elif isinstance(obj, dict):
                check_devices(*obj.values())
            elif isinstance(obj, ndarray) and obj.device_id != current:
                raise RuntimeError(f"Peer access is unavailable: an array of cuda:"
                                   f"{obj.device_id} used while cuda:{current} is current")

    def host(obj):
        if isinstance(obj, ndarray):
            return obj.view(np.ndarray)
        if isinstance(obj, (list, tuple)):
            return type(obj)(host(o) for o in obj)
        return obj

    def device(result):
        if isinstance(result, tuple):
            return tuple(device(r) for r in result)
        if isinstance(result, np.ndarray) and not isinstance(result, ndarray):
            return result.view(ndarray)
        if isinstance(result, np.generic):
            return np.asarray(result).view(ndarray)  # CuPy reductions give 0-d arrays
        return result

    def synced(read):
        def method(self, *args):
            cp.log.events.append(("sync", None))
            return read(self.view(np.ndarray), *args)
        return method

    class ndarray(np.ndarray):  # noqa: N801 - mirrors cupy.ndarray
        """Device memory: NumPy storage; ``set`` is an asynchronous copy on a stream."""

        def __array_finalize__(self, obj):
            self.device_id = getattr(obj, "device_id", cp.device_stack[-1])

        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            check_devices(inputs, kwargs)
            if ufunc is np.matmul and matmul_error is not None:
                raise matmul_error
            if "out" in kwargs:
                kwargs["out"] = host(kwargs["out"])
            return device(getattr(ufunc, method)(*host(inputs), **kwargs))

        def __array_function__(self, func, types, args, kwargs):
            check_devices(args, kwargs)
            return device(func(*host(args), **{k: host(v) for k, v in kwargs.items()}))

        __float__ = synced(np.ndarray.__float__)
        __int__ = synced(np.ndarray.__int__)
        __index__ = synced(np.ndarray.__index__)
        __bool__ = synced(np.ndarray.__bool__)
        item = synced(np.ndarray.item)
        tolist = synced(np.ndarray.tolist)

        def set(self, src, stream=None):
            stream = stream or cp._stack[-1]
            cp.log.events.append(("copy", src.nbytes))
            dst = self
            stream.enqueue(lambda: np.copyto(dst, src))  # reads src when it runs

        def get(self):
            cp._stack[-1].synchronize()
            cp.log.events.append(("sync", None))
            return np.array(self.view(np.ndarray))

        @property
        def device(self):
            return Device(cp, self.device_id)

    def device_array(shape, dtype=np.float64):
        cp.log.events.append(("device", int(np.prod(shape)) * np.dtype(dtype).itemsize))
        return np.zeros(shape, dtype=dtype).view(ndarray)  # zeros: stale reads show

    def asarray(a, dtype=None):
        out = np.asarray(a, dtype=dtype)
        return out if isinstance(out, ndarray) else out.view(ndarray)

    def ones(shape, dtype=np.float64):
        out = device_array(shape, dtype)
        out[...] = 1
        return out

    def get_device_count():
        if isinstance(device_count, Exception):
            raise device_count
        return device_count

    cp.ndarray = ndarray
    cp.empty = device_array
    cp.zeros = device_array
    cp.ones = ones
    cp.asarray = asarray
    cp.__getattr__ = lambda name: getattr(np, name)  # the math: NumPy's
    cp.cuda = types.SimpleNamespace(
        Stream=lambda non_blocking=False: Stream(cp, non_blocking),
        get_current_stream=lambda: cp._stack[-1],
        Device=lambda id=None: Device(cp, cp.device_stack[-1] if id is None else id),
        runtime=types.SimpleNamespace(
            memGetInfo=lambda: (free_bytes, 2 * free_bytes),
            getDeviceProperties=lambda i: {"name": b"Fake GPU"},
            getDeviceCount=get_device_count),
        nvrtc=types.SimpleNamespace(getVersion=lambda: (13, 0)),
    )
    cp.get_default_memory_pool = lambda: types.SimpleNamespace(free_bytes=lambda: 0)
    cp.get_default_pinned_memory_pool = lambda: types.SimpleNamespace(
        free_all_blocks=lambda: cp.log.events.append(("free pinned", None)))

    linalg_mode = ["ignore"]

    def cholesky(A):
        check_devices(A)
        try:
            return device(np.linalg.cholesky(host(A)))
        except np.linalg.LinAlgError:
            if linalg_mode[-1] == "raise":
                raise
            # what cuSOLVER's potrf leaves: a finite factor, a non-positive diagonal entry
            L = np.tril(host(A)).copy()
            L[np.diag_indices_from(L)] = -1.0
            return device(L)

    cp.linalg = types.SimpleNamespace(cholesky=cholesky, LinAlgError=np.linalg.LinAlgError)

    cupyx = types.ModuleType("cupyx")

    class errstate:  # noqa: N801 - mirrors cupyx.errstate
        def __init__(self, linalg="ignore"):
            self.linalg = linalg

        def __enter__(self):
            linalg_mode.append(self.linalg)

        def __exit__(self, *exc):
            linalg_mode.pop()

    cupyx.errstate = errstate
    cupyx.linalg_mode = linalg_mode
    import scipy.linalg

    def solve_triangular(A, b, lower=False):
        check_devices(A, b)
        return device(scipy.linalg.solve_triangular(host(A), host(b), lower=lower))

    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.linalg = types.ModuleType("cupyx.scipy.linalg")
    cupyx.scipy.linalg.solve_triangular = solve_triangular
    cupyx.scipy.sparse = types.ModuleType("cupyx.scipy.sparse")

    class csr_matrix:  # noqa: N801 - what device placement and the group sums read
        format = "csr"

        def __init__(self, arg, shape=None):
            import scipy.sparse

            if isinstance(arg, tuple):  # (data, (rows, columns)) on the device
                data, (rows, columns) = arg
                check_devices(data, rows, columns)
                arg = (host(data), (host(rows), host(columns)))
            else:
                arg = np.asarray(arg)
            self.host_matrix = scipy.sparse.csr_matrix(arg, shape=shape)
            self.shape, self.nnz = self.host_matrix.shape, self.host_matrix.nnz
            self.data = asarray(self.host_matrix.data)
            self.indices = asarray(self.host_matrix.indices)
            self.indptr = asarray(self.host_matrix.indptr)

        def __matmul__(self, other):  # by a dense device array, as cupyx's
            check_devices(other)
            return device(np.asarray(self.host_matrix @ host(other)))

        @property
        def device(self):
            raise NotImplementedError("device is not supported for sparse matrices")

    cupyx.scipy.sparse.csr_matrix = csr_matrix
    cupyx.scipy.sparse.issparse = lambda a: isinstance(a, csr_matrix)

    def empty_pinned(shape, dtype=np.float64):
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if fail_pinned:
            raise RuntimeError("cudaErrorMemoryAllocation: out of memory")
        cp.log.events.append(("pinned", nbytes))
        return np.empty(shape, dtype=dtype)

    cupyx.empty_pinned = empty_pinned
    return cp, cupyx
