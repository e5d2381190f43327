"""Dask arrays as a data source (DESIGN.md section 6).

Each iteration sends a pass (the coefficients, O(d)) to the chunks; every row chunk
sums it where it lives, as the in-memory source of that chunk (NumPy or CuPy chunks
alike: the source ``sources.source_for`` chooses, handed in as ``chunk_source``); Dask adds the partials up in a tree and the client receives
the sums (``d + 2`` numbers for loss and gradient). The solver state stays on the
client, float64.

For speed, persist X and y on the workers first (``X = X.persist()``): otherwise
every iteration re-reads them from wherever the graph builds them.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _backend
from .base import Source


def require_dask():
    """``dask.array``, or an ImportError that says how to install it."""
    try:
        import dask.array as da
    except ImportError:  # tested by hiding dask.array
        raise ImportError("fitting on Dask arrays needs dask: pip install 'gpulogreg[dask]'") \
            from None
    return da


def _chunk_sums(Xb, yb, *rest, pass_, has_weight, chunk_source):
    """The sums of ``pass_`` over one row chunk, flattened into a (1, k) NumPy row."""
    sb = rest[0][:, 0] if has_weight else None
    parts = chunk_source(Xb, yb[:, 0], sb, fit_intercept=pass_.fit_intercept).reduce(pass_)
    return np.concatenate([_backend.to_numpy(part).ravel() for part in parts])[None, :]


class DaskRows(Source):
    """Partial sums over a Dask X whose chunks hold whole rows (see ``base.Source``); each
    chunk is summed as ``chunk_source(X chunk, y chunk, weights chunk, fit_intercept=...)``
    (``sources.source_for``) sums it."""

    # Newton's p is recomputed in each chunk (one more matrix-vector product per
    # Hessian product) instead of keeping an n-vector alive on the client
    keeps_rows = False

    def __init__(self, X, y, sample_weight=None, *, fit_intercept=True, chunk_source):
        da = require_dask()
        self._chunk_source = chunk_source
        if len(X.chunks[1]) != 1:
            raise ValueError(f"X is split into {len(X.chunks[1])} column chunks; each chunk "
                             "must hold whole rows. Use X.rechunk({1: -1}).")
        # labels and weights aligned with X's rows (O(n)); the solver state lives on the client
        super().__init__(X, y.rechunk((X.chunks[0],))[:, None],
                         None if sample_weight is None else
                         sample_weight.rechunk((X.chunks[0],))[:, None],
                         fit_intercept=fit_intercept, xp=np)
        self.sum_weights = float(X.shape[0] if sample_weight is None
                                 else sample_weight.sum(dtype=np.float64).compute())
        self._da = da

    def reduce(self, pass_):
        """``pass_`` summed over the chunks where they live (see ``Source.reduce``): each
        chunk returns its flattened sums, Dask adds them in a tree, the client gets them."""
        sizes = [math.prod(shape) for shape in pass_.shapes]
        args = [self.X, self.y] + ([] if self.sample_weight is None else [self.sample_weight])
        parts = self._da.map_blocks(
            _chunk_sums, *args, pass_=pass_, has_weight=self.sample_weight is not None,
            chunk_source=self._chunk_source,
            chunks=((1,) * len(self.X.chunks[0]), (sum(sizes),)), dtype=np.float64,
            meta=np.empty((0, 0), dtype=np.float64))
        flat = parts.sum(axis=0).compute()
        ends = np.cumsum(sizes)
        return [flat[end - size:end].reshape(shape)
                for end, size, shape in zip(ends, sizes, pass_.shapes)]


def decision_function(X, coef, intercept):
    """Lazy ``X @ coef + intercept`` for a Dask X, each chunk in its own namespace: an
    n-vector for a (d,) coef, (n, k) for a (d, k) one."""
    def block(Xb):
        xp = _backend.get_namespace(X=Xb)
        w = _backend.to_namespace(coef, xp).astype(Xb.dtype)
        b = _backend.to_namespace(intercept, xp).astype(Xb.dtype)
        return Xb @ w + b

    if coef.ndim == 1:
        return X.map_blocks(block, drop_axis=1, dtype=X.dtype)
    return X.map_blocks(block, chunks=(X.chunks[0], (coef.shape[1],)), dtype=X.dtype)
