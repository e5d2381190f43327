"""The pass of a model batch: many independent problems in one read of each block
(DESIGN.md section 6; the batch itself, which runs their solvers, is ``solvers.batch``)."""

from __future__ import annotations

import sys

import numpy as np

from .. import _backend
from .passes import Pass

# A model batch's per-row temporaries (scores, weights, residuals of every model) are at
# most about this many bytes each: the pass walks a block in pieces of that many rows.
_BATCH_PIECE_BYTES = 1 << 25
# On a GPU a piece may take this share of the free device memory (when that is more): a
# kernel launch per piece wants many rows, and the temporaries scale with the number of
# models, never with d (X's rows are a view, or a sparse slice of their own nonzeros).
_BATCH_GPU_SHARE = 1 / 16


def batch_piece_rows(xp, cols, d, itemsize):
    """Rows per piece of a model batch with ``cols`` score columns: on the CPU pieces whose
    temporaries and rows of X stay near ``_BATCH_PIECE_BYTES`` (cache-sized, measured); on
    a GPU as many rows as ``_BATCH_GPU_SHARE`` of its free memory holds of the temporaries,
    so that a wide X (d = 10^5) is not cut into pieces of a few dozen rows."""
    if not _backend.is_gpu(xp):
        return max(1, _BATCH_PIECE_BYTES // (max(cols, d) * itemsize))
    info = _backend.memory_info(xp)
    budget = max(_BATCH_PIECE_BYTES, int(info[0] * _BATCH_GPU_SHARE) if info else 0)
    return max(1, budget // (3 * max(cols, 1) * itemsize))  # Z, R and the weights


class BatchPass(Pass):
    """Many independent problems in one read of each block (a *model batch*): problem j has
    coefficients of its own and row weights ``s * mask[fold_j]`` (a fold of a
    cross-validation is a weight mask, never a copy of X).

    ``gradients`` lists ``(fold, coef)``: for each, the pass sums the loss and
    ``[X, 1]^T R`` as ``LossGradient`` does. ``products`` lists ``(fold, coef, v)``: the
    Hessian at ``coef`` times ``v``, as ``HessianProduct`` computes it with the curvature
    recomputed from ``coef``. All their columns are stacked into one matrix, so each piece
    of a block costs one product ``X @ V`` and one ``[X, 1]^T R``, whatever the number of
    problems, and their elementwise steps run on (rows, problems[, classes]) arrays at once
    (the general ``xp`` path of the model, never a fused kernel).

    Returns ``(losses (n_gradients,), G (d + 1, n_out))``: G's columns hold, in order, each
    gradient's then each product's ``(d + 1) x k`` sums (to ravel in the coefficients'
    layout). ``compiled`` (``overrides.batch_compiled_for``) lets binomial NumPy blocks use
    the compiled CPU kernels.
    """

    kind = "batch"

    def __init__(self, gradients, products, n_features, fit_intercept, model, masks, xp,
                 compiled=False):
        super().__init__(n_features, fit_intercept, model)
        self.gradients, self.products, self.masks = gradients, products, masks
        self.compiled = compiled
        coefs = ([c for _, c in gradients] + [c for _, c, _ in products]
                 + [v for _, _, v in products])
        P, k = self.layout.rows, self.k
        self.V = xp.stack([self.layout.grid(xp.asarray(c)) for c in coefs], axis=1) \
            if coefs else xp.zeros((P, 0, k))  # (P, problems, k)
        self.folds = xp.asarray([f for f, _ in gradients] + [f for f, _, _ in products],
                                dtype=np.intp)
        self.n_g, self.n_p = len(gradients), len(products)
        self.n_out = (self.n_g + self.n_p) * k
        self.shapes = ((self.n_g,), (P, self.n_out))
        # compiled: X in one block, which the kernel walks in chunks of its own; else blocks
        # as big as a piece: fewer hand-overs between the compiled step's threads and BLAS's (each
        # spins a while after its call, slowing the other down)
        self.min_block_rows = sys.maxsize if self.compiled else \
            batch_piece_rows(xp, self.V.shape[1] * k, n_features, 8)

    def reference(self, rows, X, y, s, elementwise=None):
        """The pass in pieces of rows: ``Z = X V`` per piece, then ``elementwise(Z, y, s,
        first_row, R)`` (the reference ``_elementwise``, or an override) fills the residuals
        R and returns the loss sums, then ``[X, 1]^T R``."""
        elementwise = self._elementwise if elementwise is None else elementwise
        xp = _backend.get_namespace(X=X)
        d, k, P = self.n_features, self.k, self.layout.rows
        V = self.V.astype(X.dtype)
        losses = xp.zeros(self.n_g, dtype=np.float64)
        G = xp.zeros((P, self.n_out), dtype=np.float64)
        cols = V.shape[1] * k
        step = batch_piece_rows(xp, cols, d, X.dtype.itemsize)
        start_row = rows.start or 0
        for start in range(0, X.shape[0], step):
            Xp = X[start:start + step]
            b = Xp.shape[0]
            Z = (Xp @ V[:d].reshape(d, cols)).reshape(b, -1, k)
            if self.fit_intercept:
                Z += V[d]
            R = xp.empty((b, self.n_g + self.n_p, k), dtype=X.dtype)
            losses += elementwise(Z, y[start:start + b], None if s is None else
                                  s[start:start + b], start_row + start, R)
            self._add(G, Xp, R.reshape(b, self.n_out))
        return losses, G

    def _elementwise(self, Z, y, s, first, R):
        """The reference elementwise step for a piece of rows starting at row ``first``:
        R's columns get each gradient problem's weighted residuals, then each product's
        curvature times direction; returns the gradient problems' loss sums."""
        xp = _backend.get_namespace(Z=Z)
        b, k, n_g, n_p = Z.shape[0], self.k, self.n_g, self.n_p
        w = self.masks[:, first:first + b].T[:, self.folds].astype(Z.dtype)  # (b, problems)
        if s is not None:
            w *= s[:, None]
        squeeze = (lambda A: A[..., 0]) if k == 1 else (lambda A: A)
        losses = xp.zeros(n_g, dtype=np.float64)
        if n_g:
            r, l = self.model.residual_and_loss(squeeze(Z[:, :n_g]), y[:, None], w[:, :n_g],
                                                xp)
            R[:, :n_g] = r.reshape(b, n_g, k)
            losses = l.sum(axis=0, dtype=np.float64)
        if n_p:
            wp = w[:, n_g:]
            c = self.model.curvature(squeeze(Z[:, n_g:n_g + n_p]), wp, xp)
            t = self.model.curvature_times(c, squeeze(Z[:, n_g + n_p:]), wp, xp)
            R[:, n_g:] = t.reshape(b, n_p, k)
        return losses

    def _add(self, G, Xp, R):
        """``G += [Xp, 1]^T R``."""
        d = self.n_features
        G[:d] += Xp.T @ R
        if self.fit_intercept:
            G[d] += R.sum(axis=0, dtype=np.float64)
