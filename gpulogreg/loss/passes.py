"""Passes (DESIGN.md section 6): per-block functions that return partial sums.

A data source calls a pass once per row block, ``pass_(rows, X, y, s)``, where ``X, y, s``
are that block's rows (``s`` None for unit weights) and ``rows`` is the block's slice of
the whole data set. The pass returns a tuple of arrays of the shapes ``pass_.shapes``;
the source adds them up in float64, in a fixed order (``reduce``). A source knows nothing
of which sums are taken, and a pass nothing of where the blocks come from.

Every pass is written once for every model (``_models``: binomial, k = 1, or multinomial,
k classes): the coefficients are one flat float64 vector, the C-order ravel of a
``(d + 1, k)`` matrix ``[W; b]`` (the intercept row only with ``fit_intercept``; for k = 1
that is ``[w, b]``), so the classes of one feature are adjacent, as in scikit-learn. The
pass forms ``Z = X W + b`` for a block, lets the model turn it into per-row residuals,
losses and curvature, and sums ``[X, 1]^T R``.

A pass may also keep the model's curvature per row (binomial ``p = s sigma (1 - sigma)``,
multinomial softmax probabilities) in an array of the source's namespace, indexed by
``rows``, when the source says ``keeps_rows`` (in-memory and streamed X); on other sources
(Dask) it is recomputed.

Every pass has one reference implementation here, in plain ``xp`` code; overrides are
chosen per block and tested against it: the fused CUDA kernels for CuPy blocks (in the
models), the one-pass CUDA kernels of ``logistic_grad.cu`` for binomial C-contiguous CuPy
blocks when ``cuda.ONE_PASS`` is on (off by default until measured on a GPU), the
numba kernels of ``_cpu`` for C-contiguous NumPy blocks when the loss asks for them
(``compiled``: decided once per problem, from the size of the whole X).
"""

from __future__ import annotations

import sys

import numpy as np

from .. import _backend
from . import cpu, cuda
from .models import Binomial


class _Pass:
    """What every pass knows: the model and the coefficient layout (see the module
    docstring). Vectors it is given may live in any namespace; each block gets them in its
    own (a no-op except on Dask, where the chunks may be CuPy)."""

    min_block_rows = 1  # a source's blocks hold at least this many rows (or all of X)

    def __init__(self, n_features, fit_intercept, model=None):
        self.n_features = n_features
        self.fit_intercept = bool(fit_intercept)
        self.model = Binomial() if model is None else model
        self.k = self.model.k
        self.n_params = (n_features + self.fit_intercept) * self.k

    def _one_pass(self, xp, X):
        """Whether this CuPy block goes to the one-pass kernels (``cuda.ONE_PASS``, off
        by default until measured on a GPU): binomial, fused kernels allowed, and an X they
        take (C-contiguous, at most ``ONE_PASS_MAX_FEATURES`` columns)."""
        return (self.k == 1 and getattr(self, "fused", None) is not False
                and _backend.is_gpu(xp) and cuda.one_pass_usable(X))

    def linear(self, X, v):
        """``X @ V_w + v_b`` in X's dtype: an n-vector for k = 1, else (n, k)."""
        xp = _backend.get_namespace(X=X)
        v = _backend.to_namespace(v, xp)
        d, k = self.n_features, self.k
        if k == 1:
            t = X @ v[:d].astype(X.dtype)
            if self.fit_intercept:
                t += v[d:].astype(X.dtype)
            return t
        V = v.reshape(-1, k)
        T = X @ V[:d].astype(X.dtype)
        if self.fit_intercept:
            T += V[d].astype(X.dtype)
        return T

    def transpose(self, X, R):
        """``[X, 1]^T R`` (the ones column only with an intercept), raveled, in float64."""
        xp = _backend.get_namespace(X=X)
        d = self.n_features
        out = xp.empty((d + self.fit_intercept, self.k), dtype=np.float64)
        R2 = R.reshape(R.shape[0], self.k)
        out[:d] = X.T @ R2
        if self.fit_intercept:
            out[d] = R2.sum(axis=0, dtype=np.float64)
        return out.reshape(-1)


class LossGradient(_Pass):
    """``(sum_i s_i l_i, [X, 1]^T R)`` with ``R = s dl/dZ``, ``Z = X W + b``.

    With ``p_out`` (an array of X's dtype, n or (n, k)) it also stores the model's curvature
    of every row, for ``HessianProduct``. ``fused=False`` keeps CuPy blocks on the general
    ``xp`` path instead of the fused CUDA kernel (for testing one against the other);
    ``compiled=True`` lets C-contiguous NumPy blocks use the numba kernels of ``_cpu``.
    """

    def __init__(self, coef, n_features, fit_intercept, *, fused=None, compiled=False,
                 p_out=None, model=None):
        super().__init__(n_features, fit_intercept, model)
        self.coef, self.fused, self.p_out = coef, fused, p_out
        self.compiled = compiled
        self.shapes = ((), (self.n_params,))
        if self.compiled:  # the kernel chunks X itself, in parallel: it wants X in one block
            self.min_block_rows = sys.maxsize

    def __call__(self, rows, X, y, s):
        p_out = None if self.p_out is None else self.p_out[rows]
        if self.compiled and isinstance(X, np.ndarray) and X.flags.c_contiguous:
            if self.k == 1:
                return cpu.loss_gradient(X, y, s, self.coef, self.fit_intercept, p_out)
            return cpu.multinomial_loss_gradient(X, y, s, self.coef, self.k,
                                                  self.fit_intercept, p_out)
        xp = _backend.get_namespace(X=X)
        if self._one_pass(xp, X):
            loss, grad = cuda.logistic_grad(X, y, s, self.coef, p_out)
            return loss, grad[:self.n_params]
        Z = self.linear(X, self.coef)
        R, l = self.model.residual_and_loss(Z, y, s, xp, self.fused, p_out)
        return l.sum(dtype=np.float64), self.transpose(X, R)


class HessianProduct(_Pass):
    """``[X, 1]^T (c * ([X, 1] V))`` with ``c`` the model's curvature per row (the rows'
    Hessian blocks): from the array stored by ``LossGradient``, or (``p=None``) recomputed
    per block from ``coef`` (one more matrix product)."""

    def __init__(self, v, n_features, fit_intercept, *, p=None, coef=None, compiled=False,
                 model=None):
        super().__init__(n_features, fit_intercept, model)
        self.v, self.p, self.coef = v, p, coef
        self.compiled = compiled and p is not None
        self.shapes = ((self.n_params,),)
        if self.compiled:
            self.min_block_rows = sys.maxsize

    def __call__(self, rows, X, y, s):
        if self.compiled and isinstance(X, np.ndarray) and X.flags.c_contiguous:
            if self.k == 1:
                return (cpu.hessp(X, self.p[rows], self.v, self.fit_intercept),)
            return (cpu.multinomial_hessp(X, self.p[rows], s, self.v, self.k,
                                           self.fit_intercept),)
        xp = _backend.get_namespace(X=X)
        if self.p is not None and self._one_pass(xp, X):
            return (cuda.logistic_hessp(X, self.p[rows], self.v)[:self.n_params],)
        c = self.p[rows] if self.p is not None else \
            self.model.curvature(self.linear(X, self.coef), s, xp)
        T = self.model.curvature_times(c, self.linear(X, self.v), s, xp)
        return (self.transpose(X, T),)


# Rows scaled by sqrt(p) for the Hessian are a temporary of at most this many bytes (a
# whole GPU block is split into pieces of this size): never an n x d copy of X.
_HESSIAN_PIECE_BYTES = 1 << 25


class GradientHessian(_Pass):
    """``(sum_i s_i l_i, [X, 1]^T R, H)`` at ``coef``: loss, gradient and the unscaled,
    unpenalised Hessian in one read of each block.

    The Hessian block of classes a, b is ``[X, 1]^T diag(w_ab) [X, 1]`` with the model's
    row weights ``w_ab`` (binomial: ``p``). For non-negative weights that is ``Xs^T Xs``
    for the rows scaled by ``sqrt(w)`` (a SYRK: BLAS does half the products), else a
    product of the weighted rows with X, formed for pieces of at most
    ``_HESSIAN_PIECE_BYTES``; the intercept row and column are ``X^T w`` and ``sum w``.
    The result is indexed like the coefficients (``[W; b]`` raveled).
    """

    def __init__(self, coef, n_features, fit_intercept, *, fused=None, model=None):
        super().__init__(n_features, fit_intercept, model)
        self.coef, self.fused = coef, fused
        self.shapes = ((), (self.n_params,), (self.n_params, self.n_params))
        # each block adds a P x P partial sum: blocks of >= 4P rows keep that a small part of
        # the block's SYRK (4 MB CPU blocks are only 262 rows at d = 2000)
        self.min_block_rows = 4 * self.n_params

    def __call__(self, rows, X, y, s):
        xp = _backend.get_namespace(X=X)
        d, k = self.n_features, self.k
        P = d + self.fit_intercept
        loss = xp.zeros((), dtype=np.float64)
        grad = xp.zeros(self.n_params, dtype=np.float64)
        H = xp.zeros((P, k, P, k), dtype=np.float64)
        step = max(1, _HESSIAN_PIECE_BYTES // (d * X.dtype.itemsize))
        for start in range(0, X.shape[0], step):
            piece = slice(start, start + step)
            Xp, sp = X[piece], None if s is None else s[piece]
            c = xp.empty((Xp.shape[0],) + ((k,) if k > 1 else ()), dtype=X.dtype)
            # the NumPy path: numba's threads between BLAS calls would fight OpenBLAS's
            l_p, g_p = LossGradient(self.coef, d, self.fit_intercept, fused=self.fused,
                                    p_out=c, model=self.model)(slice(None), Xp, y[piece], sp)
            loss += l_p
            grad += g_p
            for (a, b), w, nonnegative in self.model.hessian_weights(c, sp, xp):
                block = H[:, a, :, b]
                block[:d, :d] += _weighted_gram(Xp, w, nonnegative, xp)
                if self.fit_intercept:
                    block[:d, d] += Xp.T @ w
                    block[d, d] += w.sum(dtype=np.float64)
        H = H.reshape(self.n_params, self.n_params)
        # the blocks filled are the upper triangle of class pairs, and within each the
        # intercept column: mirror them
        return loss, grad, _symmetrise(H, d, k, self.fit_intercept, xp)


def _weighted_gram(X, w, nonnegative, xp):
    """``X^T diag(w) X`` (dense, d x d): for non-negative w the SYRK of the rows scaled by
    ``sqrt(w)``; a sparse X's scaled rows stay sparse (scaled copies of a piece's
    nonzeros), and only the d x d result is dense."""
    if _backend.is_sparse(X):
        left = X.multiply(xp.sqrt(w)[:, None] if nonnegative else w[:, None]).tocsr()
        G = left.T @ (left if nonnegative else X)
        return G.toarray() if _backend.is_sparse(G) else G
    if nonnegative:
        Xs = X * xp.sqrt(w)[:, None]
        return Xs.T @ Xs
    return (X * w[:, None]).T @ X


def _symmetrise(H, d, k, fit_intercept, xp):
    """The full Hessian from what ``GradientHessian`` filled: for classes a <= b the feature
    block and the intercept column (``[j, d]``) of each class pair."""
    P = d + fit_intercept
    H4 = H.reshape(P, k, P, k)
    for a in range(k):
        for b in range(a, k):
            block = H4[:, a, :, b]
            if fit_intercept:
                block[d, :d] = block[:d, d]
            if b > a:
                H4[:, b, :, a] = block.T
    return H


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


class BatchPass(_Pass):
    """Many independent problems in one read of each block (a *model batch*, DESIGN.md 6):
    problem j has coefficients of its own and row weights ``s * mask[fold_j]`` (a fold of a
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
    layout).
    """

    def __init__(self, gradients, products, n_features, fit_intercept, model, masks, xp,
                 compiled=False):
        super().__init__(n_features, fit_intercept, model)
        self.gradients, self.products, self.masks = gradients, products, masks
        # binomial NumPy pieces: the elementwise step as one compiled sweep (``_cpu``)
        self.compiled = compiled and self.model.name == "binomial" and xp is np
        k = self.k
        coefs = ([c for _, c in gradients] + [c for _, c, _ in products]
                 + [v for _, _, v in products])
        P = n_features + self.fit_intercept
        self.V = xp.stack([xp.asarray(c).reshape(P, k) for c in coefs], axis=1) \
            if coefs else xp.zeros((P, 0, k))  # (P, problems, k)
        self.folds = xp.asarray([f for f, _ in gradients] + [f for f, _, _ in products],
                                dtype=np.intp)
        self.n_out = (len(gradients) + len(products)) * k
        self.shapes = ((len(gradients),), (P, self.n_out))
        # compiled: X in one block, which the kernel walks in chunks of its own; else blocks
        # as big as a piece: fewer hand-overs between numba's threads and BLAS's (each
        # spins a while after its call, slowing the other down)
        self.min_block_rows = sys.maxsize if self.compiled else \
            batch_piece_rows(xp, self.V.shape[1] * k, n_features, 8)

    def __call__(self, rows, X, y, s):
        xp = _backend.get_namespace(X=X)
        d, k, P = self.n_features, self.k, self.n_features + self.fit_intercept
        n_g, n_p = len(self.gradients), len(self.products)
        V = self.V.astype(X.dtype)
        if self.compiled and isinstance(X, np.ndarray) and X.flags.c_contiguous \
                and (rows.start or 0) == 0:
            # the whole pass in one read of X (``cpu.batch_binomial_pass``)
            return cpu.batch_binomial_pass(X, y, s, self.masks, self.folds, V[:, :, 0],
                                            n_g, n_p)
        losses = xp.zeros(n_g, dtype=np.float64)
        G = xp.zeros((P, self.n_out), dtype=np.float64)
        cols = V.shape[1] * k
        step = batch_piece_rows(xp, cols, d, X.dtype.itemsize)
        start_row = rows.start or 0
        for start in range(0, X.shape[0], step):
            Xp = X[start:start + step]
            b = Xp.shape[0]
            piece = slice(start_row + start, start_row + start + b)
            Z = (Xp @ V[:d].reshape(d, cols)).reshape(b, -1, k)
            if self.fit_intercept:
                Z += V[d]
            R = xp.empty((b, n_g + n_p, k), dtype=X.dtype)
            if self.compiled:
                losses += cpu.batch_binomial(Z.reshape(b, -1), y[start:start + b],
                                              None if s is None else s[start:start + b],
                                              self.masks, piece.start, self.folds, n_g, n_p,
                                              R.reshape(b, -1))
                self._add(G, Xp, R.reshape(b, self.n_out))
                continue
            w = self.masks[:, piece].T[:, self.folds].astype(X.dtype)  # (b, problems)
            if s is not None:
                w *= s[start:start + b, None]
            squeeze = (lambda A: A[..., 0]) if k == 1 else (lambda A: A)
            if n_g:
                r, l = self.model.residual_and_loss(squeeze(Z[:, :n_g]), y[start:start + b,
                                                                           None],
                                                    w[:, :n_g], xp, fused=False)
                R[:, :n_g] = r.reshape(b, n_g, k)
                losses += l.sum(axis=0, dtype=np.float64)
            if n_p:
                wp = w[:, n_g:]
                c = self.model.curvature(squeeze(Z[:, n_g:n_g + n_p]), wp, xp)
                t = self.model.curvature_times(c, squeeze(Z[:, n_g + n_p:]), wp, xp)
                R[:, n_g:] = t.reshape(b, n_p, k)
            self._add(G, Xp, R.reshape(b, self.n_out))
        return losses, G

    def _add(self, G, Xp, R):
        """``G += [Xp, 1]^T R``."""
        d = self.n_features
        G[:d] += Xp.T @ R
        if self.fit_intercept:
            G[d] += R.sum(axis=0, dtype=np.float64)
