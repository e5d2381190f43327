"""A stand-in for the CuPy surface gpulogreg's device logic uses, backed by NumPy, so that
streaming, dispatch and error paths are tested on machines without a GPU (DESIGN.md 3b).

The model, made to fail where hardware would:
- the current (compute) stream is the host: its work runs at once;
- work on any other stream (the copies of the streaming path) is deferred, and runs only
  when something orders it: ``Event.synchronize()``, ``Stream.synchronize()``, or another
  stream's ``wait_event`` on an event recorded after it. So a kernel that reads a device
  buffer without waiting for its copy sees stale data, and a host write into a pinned
  buffer whose copy has not run yet corrupts that copy;
- allocations (device and pinned), copies and synchronisations are recorded in ``log``.

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


def make(free_bytes=1 << 30, fail_pinned=False):
    """A fresh ``(cupy, cupyx)`` pair of stand-in modules."""
    cp = types.ModuleType("cupy")
    cp.__version__ = "fake"
    cp.log = Log()
    cp.device_stack = [0]
    compute = Stream(cp, eager=True)
    cp._stack = [compute]

    class ndarray(np.ndarray):  # noqa: N801 - mirrors cupy.ndarray
        """Device memory: NumPy storage; ``set`` is an asynchronous copy on a stream."""

        def set(self, src, stream=None):
            stream = stream or cp._stack[-1]
            cp.log.events.append(("copy", src.nbytes))
            dst = self
            stream.enqueue(lambda: np.copyto(dst, src))  # reads src when it runs

        def get(self):
            cp._stack[-1].synchronize()
            return np.array(self)

        @property
        def device(self):
            return Device(cp, getattr(self, "_device_id", 0))

    def device_array(shape, dtype=np.float64):
        cp.log.events.append(("device", int(np.prod(shape)) * np.dtype(dtype).itemsize))
        return np.zeros(shape, dtype=dtype).view(ndarray)  # zeros: stale reads show

    def asarray(a, dtype=None):
        out = np.asarray(a, dtype=dtype)
        return out if isinstance(out, ndarray) else out.view(ndarray)

    cp.ndarray = ndarray
    cp.empty = device_array
    cp.zeros = device_array
    cp.asarray = asarray
    cp.__getattr__ = lambda name: getattr(np, name)  # the math: NumPy's
    cp.cuda = types.SimpleNamespace(
        Stream=lambda non_blocking=False: Stream(cp, non_blocking),
        get_current_stream=lambda: cp._stack[-1],
        Device=lambda id=None: Device(cp, cp.device_stack[-1] if id is None else id),
        runtime=types.SimpleNamespace(
            memGetInfo=lambda: (free_bytes, 2 * free_bytes),
            getDeviceProperties=lambda i: {"name": b"Fake GPU"},
            getDeviceCount=lambda: 2),
    )
    cp.get_default_memory_pool = lambda: types.SimpleNamespace(free_bytes=lambda: 0)
    cp.get_default_pinned_memory_pool = lambda: types.SimpleNamespace(
        free_all_blocks=lambda: cp.log.events.append(("free pinned", None)))

    cupyx = types.ModuleType("cupyx")

    def empty_pinned(shape, dtype=np.float64):
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if fail_pinned:
            raise RuntimeError("cudaErrorMemoryAllocation: out of memory")
        cp.log.events.append(("pinned", nbytes))
        return np.empty(shape, dtype=dtype)

    cupyx.empty_pinned = empty_pinned
    return cp, cupyx
