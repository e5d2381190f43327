"""What every data source shares: the attributes a loss reads, and ``reduce``.

A source says where X's row blocks come from (``blocks``) and adds up the partial sums a
pass returns for each (``reduce``); it knows nothing of which sums a pass takes, and a pass
knows nothing of where its blocks come from (DESIGN.md section 6).
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from .. import _backend


class Source:
    """A data source: X (n, d), labels ``y`` and optional ``sample_weight`` (n,), whatever
    holds them.

    Attributes read by the loss and the solvers: ``xp`` (namespace of the solver state and
    of the sums), ``X``, ``y``, ``sample_weight``, ``fit_intercept``, ``n_features``,
    ``n_params`` (d + 1 with an intercept), ``eps`` (relative resolution of the objective:
    the per-row terms are computed in X's dtype), ``sum_weights`` (S) and ``keeps_rows``
    (whether a pass may keep an n-vector in ``xp``, indexed by the row slices of the blocks).
    """

    keeps_rows = True

    def __init__(self, X, y, sample_weight, *, fit_intercept, xp):
        self.xp = xp
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.fit_intercept = bool(fit_intercept)
        self.n_features = X.shape[1]
        self.n_params = self.n_features + self.fit_intercept
        self.eps = float(np.finfo(X.dtype).eps)

    @functools.cached_property
    def sum_weights(self):
        """S, read to the host on first use only (a pass that never asks causes no sync)."""
        s = self.sample_weight
        if s is None:
            return float(self.X.shape[0])
        return float(_backend.materialize(s.sum(dtype=np.float64)))

    def blocks(self, pass_):
        """Yield ``(rows, X block, y block, sample_weight block or None)`` in a fixed order,
        ``rows`` the block's slice of the whole data set; blocks hold at least
        ``pass_.min_block_rows`` rows (or all of X)."""
        raise NotImplementedError

    def reduce(self, pass_):
        """``pass_`` summed over the blocks in their order: a list of float64 arrays of
        ``pass_.shapes`` in ``xp``."""
        totals = [self.xp.zeros(shape, dtype=np.float64) for shape in pass_.shapes]
        # closed at once if a pass raises: a streamed source's copies in flight end first
        with contextlib.closing(self.blocks(pass_)) as blocks:
            for rows, Xb, yb, sb in blocks:
                for total, part in zip(totals, pass_(rows, Xb, yb, sb)):
                    total += part
        return totals
