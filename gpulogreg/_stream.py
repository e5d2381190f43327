"""X larger than GPU memory: keep it on the host, stream row chunks through the GPU.

``StreamedRows`` is a data source (see ``_loss.RowBlocks``): every pass walks X's
row chunks; on the GPU each chunk is copied host -> pinned buffer -> device on a
copy stream while the previous chunk is computed on the compute stream (two
buffers of each kind, so copy k+1 overlaps compute k). Each chunk is one block of
the same passes an in-memory X runs, so results equal an in-memory fit up to the
order of the float64 partial sums. y and the weights are O(n) and live on the
device for the whole fit; the solver state is on the device.

With ``xp=numpy`` the same walk runs without copies: that is how the chunking
itself is tested on machines without a GPU.
"""

from __future__ import annotations

import numpy as np

from . import _backend

_MEMORY_FRACTION = 0.5  # of the free device memory, for the two chunk buffers
_MIN_ROWS = 1024


def choose_chunk_rows(n, d, itemsize, free_bytes, chunk_rows=None):
    """Rows per chunk: ``chunk_rows`` if given, else two buffers in half the free memory.

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
    return max(min(rows, n), min(_MIN_ROWS, n))


class StreamedRows:
    """Partial sums over a host X computed on the device of ``xp``, chunk by chunk (a data
    source: see ``_loss.RowBlocks``)."""

    keeps_rows = True  # per-row vectors (Newton's p) live on the device, O(n)

    def __init__(self, X, y, sample_weight=None, *, fit_intercept=True, xp=None,
                 chunk_rows=None):
        if xp is None:
            if not _backend.gpu_available():
                raise ValueError("device='cuda' needs CuPy and a CUDA GPU; none is available. "
                                 "Fit on the CPU with device='cpu'.")
            import cupy as xp
        self.xp = xp
        self.X = X
        self.y = _backend.to_namespace(y, xp)  # O(n), on the device for the whole fit
        self.sample_weight = (None if sample_weight is None
                              else _backend.to_namespace(sample_weight, xp))
        self.fit_intercept = bool(fit_intercept)
        n, d = X.shape
        self.n_features, self.n_params = d, d + self.fit_intercept
        self.eps = float(np.finfo(X.dtype).eps)
        self.sum_weights = float(n if sample_weight is None
                                 else sample_weight.sum(dtype=np.float64))
        info = _backend.memory_info(xp)
        self.chunk_rows = choose_chunk_rows(n, d, X.dtype.itemsize,
                                            free_bytes=(info or (2**62, 0))[0],
                                            chunk_rows=chunk_rows)
        self._gpu = _backend.is_gpu(xp)
        self._buffers = None

    def chunks(self):
        """The row ranges of X, in order: ``[(start, stop), ...]``."""
        n = self.X.shape[0]
        return [(start, min(start + self.chunk_rows, n)) for start in range(0, n, self.chunk_rows)]

    def _walk(self):
        """Yield ``(rows, X chunk on the device)`` for every chunk, in order."""
        chunks = self.chunks()
        if self._gpu:
            yield from self._transfer(chunks)
        else:
            yield from ((slice(a, b), self.X[a:b]) for a, b in chunks)

    def _transfer(self, chunks):
        """Double-buffered host -> pinned -> device copies on a copy stream, overlapping the
        compute of the previous chunk on the current stream."""
        import cupy
        import cupyx

        rows_max, d, dtype = self.chunk_rows, self.n_features, self.X.dtype
        if self._buffers is None:
            self._buffers = (
                [cupyx.empty_pinned((rows_max, d), dtype=dtype) for _ in range(2)],
                [cupy.empty((rows_max, d), dtype=dtype) for _ in range(2)],
                cupy.cuda.Stream(non_blocking=True),
            )
            self._copied = [None, None]  # event: the copy into device[i] has finished
            self._consumed = [None, None]  # event: the compute reading device[i] has finished
        pinned, device, copy_stream = self._buffers
        copied, consumed = self._copied, self._consumed  # kept across passes
        compute = cupy.cuda.get_current_stream()

        def start_copy(k):
            a, b = chunks[k]
            i = k % 2
            if copied[i] is not None:
                copied[i].synchronize()  # pinned[i] is free again once its last copy ended
            np.copyto(pinned[i][:b - a], self.X[a:b])  # host read (from disk for a memmap)
            with copy_stream:
                if consumed[i] is not None:
                    copy_stream.wait_event(consumed[i])  # device[i] no longer in use
                device[i][:b - a].set(pinned[i][:b - a], stream=copy_stream)
                copied[i] = copy_stream.record()

        start_copy(0)
        for k, (a, b) in enumerate(chunks):
            i = k % 2
            if k + 1 < len(chunks):
                start_copy(k + 1)
            compute.wait_event(copied[i])
            yield slice(a, b), device[i][:b - a]
            consumed[i] = compute.record()

    def reduce(self, pass_):
        """``pass_`` summed over the chunks (each one block), as ``RowBlocks.reduce``."""
        y, s = self.y, self.sample_weight
        totals = [self.xp.zeros(shape, dtype=np.float64) for shape in pass_.shapes]
        for rows, Xc in self._walk():
            for total, part in zip(totals, pass_(rows, Xc, y[rows],
                                                 None if s is None else s[rows])):
                total += part
        return totals
