"""Arrays in memory as a data source: NumPy or CuPy, dense or sparse (CSR/CSC), in row
blocks that are views of X (DESIGN.md sections 4 and 6)."""

from __future__ import annotations

from .. import _backend
from .base import Source

# On the CPU, X is processed in row blocks of about this many bytes so that the
# second read of a block (for X.T @ r) hits the cache (DESIGN.md section 4).
_CPU_BLOCK_BYTES = 1 << 22


class RowBlocks(Source):
    """The data source for an in-memory X (NumPy or CuPy, dense or sparse): row blocks of
    about ``_CPU_BLOCK_BYTES`` on the CPU, X in one block on a GPU and for sparse X (whose
    row slices would copy rows)."""

    def __init__(self, X, y, sample_weight=None, *, fit_intercept=True):
        super().__init__(X, y, sample_weight, fit_intercept=fit_intercept,
                         xp=_backend.get_namespace(X=X, y=y, sample_weight=sample_weight))
        n, d = X.shape
        if _backend.is_gpu(self.xp) or _backend.is_sparse(X):
            self._block_rows = n
        else:
            self._block_rows = max(64, _CPU_BLOCK_BYTES // (d * X.dtype.itemsize))

    def blocks(self, pass_):
        X, y, s = self.X, self.y, self.sample_weight
        n = X.shape[0]
        block_rows = max(self._block_rows, pass_.min_block_rows)
        if block_rows >= n:  # one block: X itself (SciPy and cupyx copy a sparse X[0:n])
            yield slice(0, n), X, y, s
            return
        for start in range(0, n, block_rows):
            rows = slice(start, start + block_rows)
            yield rows, X[rows], y[rows], None if s is None else s[rows]
