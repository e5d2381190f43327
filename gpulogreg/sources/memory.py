"""Data sources (DESIGN.md section 6): where row blocks come from and how a pass's partial
sums over them are added up. Every source offers one operation, ``reduce(pass_)``, and knows
nothing of which sums a pass takes; the loss (``_loss``) plugs a source in, never the
reverse. ``RowBlocks`` is the source for arrays in memory (NumPy or CuPy, dense or sparse);
``_dask.DaskRows`` sums a Dask array's chunks where they live and ``_stream.StreamedRows``
streams a host X through the GPU; ``rows_source`` picks between the first two.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _backend

# On the CPU, X is processed in row blocks of about this many bytes so that the
# second read of a block (for X.T @ r) hits the cache (DESIGN.md section 4).
_CPU_BLOCK_BYTES = 1 << 22


class RowBlocks:
    """The data source for an in-memory X (NumPy or CuPy): sums a pass over row blocks.

    Every data source (this one, ``_dask.DaskRows``, ``_stream.StreamedRows``) offers one
    operation, ``reduce(pass_)``: the float64 sums, over all row blocks, of the partial sums
    the pass returns for each (see ``_passes``), added in a fixed order. Beside it, the
    attributes ``xp`` (namespace of the solver state), ``X``, ``n_features``, ``n_params``,
    ``fit_intercept``, ``sum_weights`` (S), ``eps`` (relative resolution of the sums) and
    ``keeps_rows`` (whether a pass may keep an n-vector in ``xp``, indexed by row slices).
    """

    keeps_rows = True

    def __init__(self, X, y, sample_weight=None, *, fit_intercept=True):
        self.xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.fit_intercept = bool(fit_intercept)
        n, d = X.shape
        # relative resolution of the objective: the per-row terms are computed in X's dtype
        self.eps = float(np.finfo(X.dtype).eps)
        self.n_features = d
        self.n_params = d + self.fit_intercept
        if _backend.is_gpu(self.xp) or _backend.is_sparse(X):
            # one block: a sparse X's products need no row slices (they would copy rows)
            self._block_rows = n
        else:
            self._block_rows = max(64, _CPU_BLOCK_BYTES // (d * X.dtype.itemsize))

    @functools.cached_property
    def sum_weights(self):
        """S, read to the host on first use only (chunk sources never ask: no sync)."""
        s = self.sample_weight
        return float(self.X.shape[0] if s is None else s.sum(dtype=np.float64))

    def reduce(self, pass_):
        """``pass_`` summed over row blocks of X: a list of float64 arrays of ``pass_.shapes``."""
        X, y, s = self.X, self.y, self.sample_weight
        totals = [self.xp.zeros(shape, dtype=np.float64) for shape in pass_.shapes]
        n = X.shape[0]
        block_rows = max(self._block_rows, pass_.min_block_rows)
        if block_rows >= n:  # one block: X itself (SciPy and cupyx copy a sparse X[0:n])
            blocks = [(slice(0, n), X, y, s)]
        else:
            blocks = ((rows, X[rows], y[rows], None if s is None else s[rows])
                      for rows in (slice(start, start + block_rows)
                                   for start in range(0, n, block_rows)))
        for rows, Xb, yb, sb in blocks:
            parts = pass_(rows, Xb, yb, sb)
            for total, part in zip(totals, parts):
                total += part
        return totals


def rows_source(X, y, sample_weight=None, *, fit_intercept=True):
    """The data source for arrays in memory: ``DaskRows`` for a Dask X (chunks summed where
    they live), ``RowBlocks`` for NumPy or CuPy. Streaming is asked for separately."""
    if _backend.is_dask(_backend.get_namespace(X=X)):
        from .dask import DaskRows

        return DaskRows(X, y, sample_weight, fit_intercept=fit_intercept)
    return RowBlocks(X, y, sample_weight, fit_intercept=fit_intercept)
