"""The in-memory source (RowBlocks): sums over many row blocks equal the one-block sums,
and a pass stores what it is asked to."""

import numpy as np
from helpers import linear_problem, make_problem
from reference import assert_reordered, reorder_bound

from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.loss.passes import LossGradient
from gpulogreg.sources import memory
from gpulogreg.sources.memory import RowBlocks


def test_cpu_row_blocks_add_up(monkeypatch):
    """Many small row blocks (the CPU path) give the single-block result to rounding."""
    X, y, s, coef = make_problem(np, 1000, 7, np.float64, weights=True)
    one_block = LogisticLoss(X, y, s, C=3.0).loss_gradient(coef)
    monkeypatch.setattr(memory, "_CPU_BLOCK_BYTES", 7 * 8 * 64)  # 64-row blocks (minimum)
    blocked = LogisticLoss(X, y, s, C=3.0)
    assert blocked.source._block_rows == 64
    assert_reordered(blocked.loss_gradient(coef), one_block, reorder_bound(X, s, coef))


def test_in_memory_source_is_unchanged_by_the_seam():
    X, y, s = linear_problem(100, 7, seed=5, scale_columns=True, weights=(0.0, 2.0), labels=int)
    rows = RowBlocks(X, y.astype(float), s)
    p = np.empty(100)
    rows.reduce(LossGradient(np.zeros(8), 7, True, p_out=p))
    np.testing.assert_allclose(p, s / 4)  # s sigma(0) (1 - sigma(0))
