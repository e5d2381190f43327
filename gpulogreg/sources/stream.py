"""X larger than GPU memory: keep it on the host, stream row chunks through the GPU.

``StreamedRows`` is a data source (see ``base.Source``). X's rows are cut into chunks
of at most ``_CHUNK_CAP_BYTES``. The leading chunks that fit in a device budget (half the
free device memory, less the two streaming buffers) are copied once and stay **resident**
for the whole fit; only the rest are copied again on each pass. So an X that fits on the
device is copied exactly once per fit, and a bigger one re-reads only what does not fit.

A copy goes host -> pinned buffer -> device. The host -> pinned step is a multi-threaded
``copyto`` (one core tops out below PCIe bandwidth); pinned -> device runs on a copy
stream while the previous chunk is computed on the compute stream (two buffers of each
kind, so copy k+1 overlaps compute k). Each chunk is one block of the same passes an
in-memory X runs, so results equal an in-memory fit up to the order of the float64 sums.

Ordering (every reuse of a buffer waits for an event):
- ``copied[i]``, recorded on the copy stream after the copy into buffer i: the compute
  stream waits for it before reading the chunk, and the host waits for it before it
  writes pinned buffer i again;
- ``consumed[i]``, recorded on the compute stream after the pass read device buffer i:
  the copy stream waits for it before copying the next chunk into buffer i;
- at the end of a pass, or when it is abandoned by an exception, the host synchronises
  the copy stream, so no copy is left in flight into buffers that are reused or freed.

Pinned memory is at most two chunk buffers (``2 * _CHUNK_CAP_BYTES`` unless the user asks
for bigger chunks) and is given back when the fit ends (``close``). With ``xp=numpy`` the
same walk runs without copies: that is how the chunking is tested without a GPU;
``tests/fake_cupy.py`` tests the copies, streams and events.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _backend
from .base import Source

_MEMORY_FRACTION = 0.5  # of the free device memory: resident chunks plus the two buffers
_MIN_ROWS = 1024
# Chunks (and so each pinned buffer) of at most this many bytes: a few hundred MiB reaches
# full copy bandwidth (bench/streaming.py), and pinning more starves the host.
_CHUNK_CAP_BYTES = 256 << 20
_STAGING_THREADS = 4  # host -> pinned copy threads (NumPy's copy releases the GIL)


def choose_chunk_rows(n, d, itemsize, free_bytes, chunk_rows=None):
    """Rows per chunk: ``chunk_rows`` if given, else two buffers in half the free memory,
    capped at ``_CHUNK_CAP_BYTES`` per chunk.

    Each row of a chunk costs its d values twice (two device buffers) plus a few
    O(1) per-row vectors (z, residual, loss) of the same itemsize.
    """
    if chunk_rows is not None:
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) \
                or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer or None; got {chunk_rows!r}.")
        return int(min(chunk_rows, n))
    per_row = (2 * d + 4) * itemsize
    rows = int(free_bytes * _MEMORY_FRACTION // per_row)
    if rows < 1:
        raise MemoryError(f"not even one row of X ({per_row} bytes with work space) fits in "
                          f"half of the {free_bytes:,} free bytes of device memory.")
    cap = max(1, _CHUNK_CAP_BYTES // (d * itemsize))
    return max(min(rows, cap, n), min(_MIN_ROWS, cap, n))


def resident_chunks(chunk_bytes, n_chunks, free_bytes):
    """How many leading chunks stay on the device: all when they fit in the budget (then no
    streaming buffers are needed), else as many as fit beside the two streaming buffers."""
    budget = free_bytes * _MEMORY_FRACTION
    if n_chunks * chunk_bytes <= budget:
        return n_chunks
    return int(max(0, budget - 2 * chunk_bytes) // chunk_bytes)


def stage(dst, src, threads=_STAGING_THREADS):
    """``dst[...] = src`` for a host array (or memmap) into a pinned buffer, in row bands on
    several threads."""
    rows = src.shape[0]
    bands = [(a, min(rows, a + -(-rows // threads))) for a in range(0, rows, -(-rows // threads))]
    if len(bands) <= 1:
        np.copyto(dst, src)
        return
    with ThreadPoolExecutor(len(bands)) as pool:
        list(pool.map(lambda band: np.copyto(dst[band[0]:band[1]], src[band[0]:band[1]]), bands))


class StreamedRows(Source):
    """Partial sums over a host X computed on the device of ``xp``, chunk by chunk (a data
    source: see ``base.Source``)."""

    keeps_rows = True  # per-row vectors (Newton's p) live on the device, O(n)

    def __init__(self, X, y, sample_weight=None, *, fit_intercept=True, xp=None,
                 chunk_rows=None):
        if xp is None:
            if not _backend.gpu_available():
                raise ValueError("device='cuda' needs CuPy and a CUDA GPU; none is available "
                                 f"({_backend.gpu_status()[1]}). Fit on the CPU with "
                                 "device='cpu'.")
            import cupy as xp
        # labels and weights on the device for the whole fit (O(n))
        super().__init__(X, _backend.to_namespace(y, xp),
                         None if sample_weight is None else
                         _backend.to_namespace(sample_weight, xp),
                         fit_intercept=fit_intercept, xp=xp)
        n, d = X.shape
        self.sum_weights = float(n if sample_weight is None  # from the host weights
                                 else sample_weight.sum(dtype=np.float64))
        info = _backend.memory_info(xp)
        free = (info or (2**62, 0))[0]
        self.chunk_rows = choose_chunk_rows(n, d, X.dtype.itemsize, free_bytes=free,
                                            chunk_rows=chunk_rows)
        self.chunk_bytes = self.chunk_rows * d * X.dtype.itemsize
        self.n_resident = resident_chunks(self.chunk_bytes, len(self.chunks()), free)
        self._gpu = _backend.is_gpu(xp)
        self._state = None  # device and pinned buffers, streams, events: made on first use

    def chunks(self):
        """The row ranges of X, in order: ``[(start, stop), ...]``."""
        n = self.X.shape[0]
        return [(start, min(start + self.chunk_rows, n)) for start in range(0, n, self.chunk_rows)]

    def describe(self):
        """Where the fit runs and how X is streamed, for error messages."""
        return (f"{_backend.device_name(self.xp)}, streaming X ({self.X.nbytes:,} bytes on the "
                f"host) in {len(self.chunks())} chunks of {self.chunk_rows} rows "
                f"({self.chunk_bytes:,} bytes), {self.n_resident} kept resident")

    def blocks(self, pass_):
        """Each chunk, on the device, as one block (see ``Source.blocks``)."""
        y, s = self.y, self.sample_weight
        for rows, Xc in self._walk():
            yield rows, Xc, y[rows], None if s is None else s[rows]

    def _walk(self):
        """Yield ``(rows, X chunk on the device)`` for every chunk, in order."""
        chunks = self.chunks()
        if self._gpu:
            yield from self._transfer(chunks)
        else:
            yield from ((slice(a, b), self.X[a:b]) for a, b in chunks)

    def _pinned(self, shape, dtype):
        import cupyx

        try:
            return cupyx.empty_pinned(shape, dtype=dtype)
        except Exception as exc:  # CuPy reports a failed cudaHostAlloc as CUDARuntimeError
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            raise MemoryError(f"could not pin {nbytes:,} bytes of host memory for a streamed "
                              f"chunk of {shape[0]} rows ({exc}); pass a smaller chunk_rows."
                              ) from exc

    def _setup(self):
        import cupy

        rows, d, dtype = self.chunk_rows, self.n_features, self.X.dtype
        streamed = len(self.chunks()) > self.n_resident
        self._state = {
            "pinned": [self._pinned((rows, d), dtype) for _ in range(min(2, len(self.chunks())))],
            # resident chunks first, each its own device array (filled on the first pass)
            "resident": [cupy.empty((b - a, d), dtype=dtype)
                         for a, b in self.chunks()[:self.n_resident]],
            "loaded": [False] * self.n_resident,
            "device": [cupy.empty((rows, d), dtype=dtype) for _ in range(2 if streamed else 0)],
            "stream": cupy.cuda.Stream(non_blocking=True),
            "copied": [None, None],  # event: the copy out of pinned[i] (into device) ended
            "consumed": [None, None],  # event: the compute reading device[i] ended
        }
        return self._state

    def _transfer(self, chunks):
        """Double-buffered host -> pinned -> device copies on a copy stream, overlapping the
        compute of the previous chunk on the current stream (see the module docstring)."""
        import cupy

        state = self._state or self._setup()
        pinned, copy_stream = state["pinned"], state["stream"]
        copied, consumed = state["copied"], state["consumed"]
        compute = cupy.cuda.get_current_stream()
        slot = {}  # chunk index -> the pinned buffer its copy went through

        def target(k):
            a, b = chunks[k]
            if k < self.n_resident:
                return state["resident"][k], None
            i = (k - self.n_resident) % 2
            return state["device"][i][:b - a], i

        n_copies = 0  # pinned buffers alternate over the copies actually made

        def start_copy(k):
            nonlocal n_copies
            a, b = chunks[k]
            if k < self.n_resident and state["loaded"][k]:
                return  # resident: copied on an earlier pass
            dst, i = target(k)
            j = n_copies % 2
            n_copies += 1
            if copied[j] is not None:
                copied[j].synchronize()  # pinned[j] is free once its last copy has ended
            stage(pinned[j][:b - a], self.X[a:b])  # host read (from disk for a memmap)
            with copy_stream:
                if i is not None and consumed[i] is not None:
                    copy_stream.wait_event(consumed[i])  # device[i] no longer being read
                dst.set(pinned[j][:b - a], stream=copy_stream)
                copied[j] = copy_stream.record()
            slot[k] = j
            if k < self.n_resident:
                state["loaded"][k] = True

        try:
            if chunks:
                start_copy(0)
            for k, (a, b) in enumerate(chunks):
                if k + 1 < len(chunks):
                    start_copy(k + 1)  # overlaps the compute of chunk k
                if k in slot:
                    compute.wait_event(copied[slot.pop(k)])
                dst, i = target(k)
                yield slice(a, b), dst
                if i is not None:
                    consumed[i] = compute.record()
        finally:  # normal end, or a pass abandoned by an exception: no copy left in flight
            copy_stream.synchronize()

    def close(self):
        """Give back the pinned and device buffers (called when the fit ends)."""
        if self._state is None:
            return
        self._state["stream"].synchronize()
        self._state = None
        import cupy

        cupy.get_default_pinned_memory_pool().free_all_blocks()
