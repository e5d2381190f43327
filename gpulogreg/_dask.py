"""Dask arrays as a data source (DESIGN.md section 6).

Each iteration sends the coefficients (O(d)) to the chunks; every row chunk computes
its partial sums where it lives, with the same ``RowBlocks`` code as an in-memory
array (NumPy or CuPy chunks alike); Dask adds the partials up in a tree and the
client receives ``d + 2`` numbers. The solver state stays on the client, float64.

For speed, persist X and y on the workers first (``X = X.persist()``): otherwise
every iteration re-reads them from wherever the graph builds them.
"""

from __future__ import annotations

import numpy as np

from . import _backend
from ._loss import RowBlocks


def require_dask():
    """``dask.array``, or an ImportError that says how to install it."""
    try:
        import dask.array as da
    except ImportError:  # tested by hiding dask.array
        raise ImportError("fitting on Dask arrays needs dask: pip install 'gpulogreg[dask]'") \
            from None
    return da


def _chunk_sums(Xb, yb, *rest, coef, v, fit_intercept, has_weight):
    """Partial sums of one row chunk as a (1, k) NumPy row: [loss, gradient] or [H v]."""
    sb = rest[0][:, 0] if has_weight else None
    xp = _backend.get_namespace(X=Xb)
    rows = RowBlocks(Xb, yb[:, 0], sb, fit_intercept=fit_intercept)
    coef = _backend.to_namespace(coef, xp)
    if v is None:
        loss, grad, _ = rows.loss_gradient_sums(coef)
        out = xp.concatenate([loss[None], grad])
    else:
        out = rows.hessp_sums(_backend.to_namespace(v, xp), rows.hessian_weights(coef))
    return _backend.to_numpy(out)[None, :]


class DaskRows:
    """Partial sums over a Dask X whose chunks hold whole rows (see ``RowBlocks``)."""

    def __init__(self, X, y, sample_weight=None, *, fit_intercept=True):
        da = require_dask()
        if len(X.chunks[1]) != 1:
            raise ValueError(f"X is split into {len(X.chunks[1])} column chunks; each chunk "
                             "must hold whole rows. Use X.rechunk({1: -1}).")
        self.xp = np  # the solver state lives on the client
        self.X = X
        self.y = y.rechunk((X.chunks[0],))[:, None]  # O(n): aligns labels with X's rows
        self.sample_weight = (None if sample_weight is None
                              else sample_weight.rechunk((X.chunks[0],))[:, None])
        self.fit_intercept = bool(fit_intercept)
        self.n_features = X.shape[1]
        self.n_params = self.n_features + self.fit_intercept
        self.eps = float(np.finfo(X.dtype).eps)
        self.sum_weights = float(X.shape[0] if sample_weight is None
                                 else sample_weight.sum(dtype=np.float64).compute())
        self._da = da

    def _reduce(self, coef, v=None):
        args = [self.X, self.y] + ([] if self.sample_weight is None else [self.sample_weight])
        width = 1 + self.n_params if v is None else self.n_params
        parts = self._da.map_blocks(
            _chunk_sums, *args, coef=_backend.to_numpy(coef),
            v=None if v is None else _backend.to_numpy(v), fit_intercept=self.fit_intercept,
            has_weight=self.sample_weight is not None,
            chunks=((1,) * len(self.X.chunks[0]), (width,)), dtype=np.float64,
            meta=np.empty((0, 0), dtype=np.float64))
        return parts.sum(axis=0).compute()  # Dask's tree reduction; d + 2 numbers back

    def loss_gradient_sums(self, coef, hessian=False):
        total = self._reduce(coef)
        # for Newton-CG the chunks recompute p from coef in each product (one extra
        # matrix-vector product per chunk) instead of keeping an n-vector alive
        return total[0], total[1:], (coef.copy() if hessian else None)

    def hessp_sums(self, v, coef):
        return self._reduce(coef, v)


def decision_function(X, coef, intercept):
    """Lazy ``X @ coef + intercept`` for a Dask X, each chunk in its own namespace."""
    def block(Xb):
        xp = _backend.get_namespace(X=Xb)
        w = _backend.to_namespace(coef, xp).astype(Xb.dtype)
        b = _backend.to_namespace(intercept, xp).astype(Xb.dtype)
        return Xb @ w + b

    return X.map_blocks(block, drop_axis=1, dtype=X.dtype)
