"""Data sources (DESIGN.md section 6): where row blocks come from and how a pass's partial
sums over them are added up.

Every source (``base.Source``) offers one operation, ``reduce(pass_)``, and knows nothing of
which sums a pass takes; the loss plugs a source in, never the reverse. ``memory.RowBlocks``
holds arrays in memory (NumPy or CuPy, dense or sparse), ``stream.StreamedRows`` streams a
host X through a GPU, ``dask.DaskRows`` sums a Dask array's chunks where they live.
:func:`source_for` is the one place that chooses between them: the estimators, the
cross-validation, the functional API and the Dask chunks all ask it.
"""

from __future__ import annotations

from .. import _backend
from .base import Source
from .memory import RowBlocks

__all__ = ["RowBlocks", "Source", "source_for", "source_kind"]


def source_kind(X, device="auto"):
    """Which source serves X for ``device`` (the estimators' vocabulary, see
    ``_backend.parse_device``): ``"dask"`` for a Dask X, ``"stream"`` for a host X with
    ``device="cuda[:N]"`` (X stays on the host, row chunks go through the GPU), else
    ``"memory"``. Raises a ValueError for a device that does not apply to X."""
    kind, _ = _backend.parse_device(device)
    xp = _backend.get_namespace(X=X)
    if _backend.is_dask(xp):
        if kind != "auto":
            raise ValueError(f"device={device!r} does not apply to Dask arrays, which are "
                             "fitted where their chunks live; use device='auto'.")
        return "dask"
    if kind == "cuda" and not _backend.is_gpu(xp):
        return "stream"
    if kind == "cpu" and _backend.is_gpu(xp):
        raise ValueError("device='cpu' but X is a CuPy array on the GPU; pass X.get() (a host "
                         "copy) or use device='auto'.")
    return "memory"


def source_for(X, y, sample_weight=None, *, fit_intercept=True, device="auto",
               chunk_rows=None):
    """The data source for X, y and sample_weight (validated): see :func:`source_kind`.
    ``chunk_rows`` sets the rows per streamed chunk and applies to streaming only."""
    kind = source_kind(X, device)
    if kind == "memory" and chunk_rows is not None:
        raise ValueError("chunk_rows applies to device='cuda' with a host X (streaming) only.")
    if kind == "dask":
        from .dask import DaskRows

        return DaskRows(X, y, sample_weight, fit_intercept=fit_intercept, chunk_source=source_for)
    if kind == "stream":
        from .stream import StreamedRows

        return StreamedRows(X, y, sample_weight, fit_intercept=fit_intercept,
                            chunk_rows=chunk_rows)
    return RowBlocks(X, y, sample_weight, fit_intercept=fit_intercept)
