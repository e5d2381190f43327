"""The passes of inference (``_inference``): the gram of the rows' score vectors and their
sums per group, each one read of X, on every source.

A row's score vector is the gradient of its loss, ``g_i = [x_i, 1] (x) r_i`` with
``r_i = dl_i / dz_i`` (binomial ``sigma(z_i) - y_i``; multinomial ``softmax(z_i) -
onehot(y_i)``), laid out as the coefficients are (``layout.Layout``). With frequency
weights s, the sandwich covariance's "meat" is ``sum_i s_i g_i g_i^T`` (``ScoreGram``), and
a clustered one's is ``sum_g G_g G_g^T`` with ``G_g = sum_{i in g} s_i g_i``
(``GroupScores``).
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from .passes import Pass, add_grams, symmetrise

# A piece's per-row scores are a temporary of at most about this many bytes
_PIECE_BYTES = 1 << 25


class ScoreGram(Pass):
    """``sum_i s_i g_i g_i^T`` at ``coef``: (n_params, n_params), indexed as the
    coefficients (the blocks of class pairs as ``GradientHessian``'s)."""

    kind = "score_gram"

    def __init__(self, coef, n_features, fit_intercept, *, model=None):
        super().__init__(n_features, fit_intercept, model)
        self.coef = coef
        self.shapes = ((self.n_params, self.n_params),)
        self.min_block_rows = 4 * self.n_params  # as GradientHessian's

    def reference(self, rows, X, y, s):
        xp = _backend.get_namespace(X=X)
        d, k, P = self.n_features, self.k, self.layout.rows
        M = xp.zeros((P, k, P, k), dtype=np.float64)
        step = max(1, _PIECE_BYTES // (max(d, 1) * X.dtype.itemsize))
        for start in range(0, X.shape[0], step):
            piece = slice(start, start + step)
            Xp = X[piece]
            R = _residuals(self, Xp, y[piece], xp)  # (rows, k)
            sp = None if s is None else s[piece].astype(np.float64)
            weights = []
            for a in range(k):
                for b in range(a, k):
                    w = R[:, a] * R[:, b]
                    weights.append(((a, b), w if sp is None else w * sp, a == b))
            add_grams(M, Xp, weights, self.fit_intercept, xp)
        M = M.reshape(self.n_params, self.n_params)
        return (symmetrise(M, d, k, self.fit_intercept, xp),)


class GroupScores(Pass):
    """``G_g = sum_{i in g} s_i g_i`` for each of ``n_groups`` groups at ``coef``:
    (n_groups, n_params). The rows' groups come in the label channel: ``y`` holds
    ``group * k_labels + label`` (float64, exact below 2**53), so that every source (Dask
    chunks, streamed chunks) hands each block its rows' groups with their labels."""

    kind = "group_scores"

    def __init__(self, coef, n_features, fit_intercept, n_groups, k_labels, *, model=None):
        super().__init__(n_features, fit_intercept, model)
        self.coef, self.n_groups, self.k_labels = coef, int(n_groups), int(k_labels)
        self.shapes = ((self.n_groups, self.n_params),)

    def reference(self, rows, X, y, s):
        xp = _backend.get_namespace(X=X)
        d, k, P = self.n_features, self.k, self.layout.rows
        out = xp.zeros((self.n_groups, P, k), dtype=np.float64)
        step = max(1, _PIECE_BYTES // (max(d, P * k, 1) * 8))
        for start in range(0, X.shape[0], step):
            piece = slice(start, start + step)
            Xp, code = X[piece], xp.asarray(y[piece], dtype=np.float64)
            group = xp.floor(code / self.k_labels)
            label = code - group * self.k_labels
            R = _residuals(self, Xp, label, xp)
            if s is not None:
                R = R * s[piece].astype(np.float64)[:, None]
            summed = _by_group(group.astype(np.intp), self.n_groups, xp)  # (groups, rows)
            out[:, :d, :] += _features_times(summed, Xp, R, xp)
            if self.fit_intercept:
                out[:, d, :] += summed @ R
        return (out.reshape(self.n_groups, self.n_params),)


def _residuals(pass_, X, labels, xp):
    """``r_i = dl_i / dz_i`` of the rows, unweighted: (rows, k) float64."""
    Z = pass_.linear(X, pass_.coef)
    R, _ = pass_.model.residual_and_loss(Z, labels.astype(Z.dtype), None, xp)
    return R.reshape(X.shape[0], pass_.k).astype(np.float64)


def _by_group(group, n_groups, xp):
    """The (n_groups, rows) 0/1 matrix of the rows' groups, sparse (SciPy or cupyx)."""
    rows = group.shape[0]
    if _backend.is_gpu(xp):
        import cupyx.scipy.sparse as sparse
    else:
        import scipy.sparse as sparse
    return sparse.csr_matrix((xp.ones(rows), (group, xp.arange(rows))), shape=(n_groups, rows))


def _features_times(summed, X, R, xp):
    """``sum over rows of a group of x_i (x) r_i``: (groups, d, k), for dense or sparse X."""
    out = []
    for c in range(R.shape[1]):
        weighted = X.multiply(R[:, c:c + 1]).tocsr() if _backend.is_sparse(X) else \
            X * R[:, c:c + 1]
        part = summed @ weighted
        out.append(part.toarray() if _backend.is_sparse(part) else part)
    return xp.stack(out, axis=2)
