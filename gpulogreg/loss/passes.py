"""Passes (DESIGN.md section 6): per-block functions that return partial sums.

A data source calls a pass once per row block, ``pass_(rows, X, y, s)``, where ``X, y, s``
are that block's rows (``s`` None for unit weights) and ``rows`` is the block's slice of
the whole data set. The pass returns a tuple of arrays of the shapes ``pass_.shapes``;
the source adds them up in float64, in a fixed order (``reduce``). A source knows nothing
of which sums are taken, and a pass nothing of where the blocks come from.

Every pass is written once for every model (``models``: binomial, k = 1, or multinomial,
k classes) on the coefficient layout of ``layout.Layout`` (``[W; b]`` raveled): it forms
``Z = X W + b`` for a block, lets the model turn it into per-row residuals, losses and
curvature, and sums ``[X, 1]^T R``.

A pass may also keep the model's curvature per row (binomial ``p = s sigma (1 - sigma)``,
multinomial softmax probabilities) in an array of the source's namespace, indexed by
``rows``, when the source says ``keeps_rows`` (in-memory and streamed X); on other sources
(Dask) it is recomputed.

Every pass has one reference implementation here (``reference``), in plain ``xp`` code.
Calling a pass runs the code ``overrides.choose`` picks for the block: an override (the
compiled CPU kernels, the one-pass or fused CUDA kernels) or the reference, against which
each override is tested.
"""

from __future__ import annotations

import sys

import numpy as np

from .. import _backend
from . import overrides
from .layout import Layout
from .models import Binomial


class Pass:
    """What every pass knows: its model and coefficient layout (see the module docstring),
    what ``overrides.choose`` reads (``kind``, ``compiled``, ``fused``), and how many rows
    its blocks should at least hold. Vectors it is given may live in any namespace; each
    block gets them in its own (a no-op except on Dask, where the chunks may be CuPy)."""

    kind = None  # "loss_gradient", "hessp", "gradient_hessian" or "batch"
    compiled = False  # the problem asked for the compiled CPU kernels (overrides.compiled_for)
    fused = None  # False keeps CuPy blocks on the reference's xp code (to test one by the other)
    min_block_rows = 1  # a source's blocks hold at least this many rows (or all of X)

    def __init__(self, n_features, fit_intercept, model=None):
        self.model = Binomial() if model is None else model
        self.layout = Layout(n_features, self.model.k, fit_intercept)
        self.n_features = n_features
        self.fit_intercept = bool(fit_intercept)
        self.k = self.model.k
        self.n_params = self.layout.n_params

    def __call__(self, rows, X, y, s):
        """The block's partial sums, computed by the code ``overrides.choose`` picks."""
        return overrides.choose(self, rows, X)(rows, X, y, s)

    def linear(self, X, v):
        """``X @ V_w + v_b`` in X's dtype: an n-vector for k = 1, else (n, k)."""
        xp = _backend.get_namespace(X=X)
        W, b = self.layout.split(_backend.to_namespace(v, xp))
        if self.k == 1:
            W, b = W[:, 0], (None if b is None else b[:1])
        T = X @ W.astype(X.dtype)
        if b is not None:
            T += b.astype(X.dtype)
        return T

    def transpose(self, X, R):
        """``[X, 1]^T R`` (the ones column only with an intercept), raveled, in float64."""
        xp = _backend.get_namespace(X=X)
        d = self.n_features
        out = xp.empty(self.layout.n_params, dtype=np.float64)
        G = self.layout.grid(out)
        R2 = R.reshape(R.shape[0], self.k)
        G[:d] = X.T @ R2
        if self.fit_intercept:
            G[d] = R2.sum(axis=0, dtype=np.float64)
        return out


class LossGradient(Pass):
    """``(sum_i s_i l_i, [X, 1]^T R)`` with ``R = s dl/dZ``, ``Z = X W + b``.

    With ``p_out`` (an array of X's dtype, n or (n, k)) it also stores the model's curvature
    of every row, for ``HessianProduct``. ``fused=False`` keeps CuPy blocks on the general
    ``xp`` path instead of the fused CUDA kernel (for testing one against the other);
    ``compiled=True`` lets C-contiguous NumPy blocks use the compiled CPU kernels.
    """

    kind = "loss_gradient"

    def __init__(self, coef, n_features, fit_intercept, *, fused=None, compiled=False,
                 p_out=None, model=None):
        super().__init__(n_features, fit_intercept, model)
        self.coef, self.fused, self.p_out = coef, fused, p_out
        self.compiled = compiled
        self.shapes = ((), (self.n_params,))
        if self.compiled:  # the kernel chunks X itself, in parallel: it wants X in one block
            self.min_block_rows = sys.maxsize

    def reference(self, rows, X, y, s, residual=None):
        """``residual(Z, y, s, xp, curvature_out)`` is the model's residual step
        (``Binomial.residual_and_loss``) or an override of it (the fused CUDA kernels)."""
        xp = _backend.get_namespace(X=X)
        p_out = None if self.p_out is None else self.p_out[rows]
        residual = self.model.residual_and_loss if residual is None else residual
        R, l = residual(self.linear(X, self.coef), y, s, xp, p_out)
        return l.sum(dtype=np.float64), self.transpose(X, R)


class HessianProduct(Pass):
    """``[X, 1]^T (c * ([X, 1] V))`` with ``c`` the model's curvature per row (the rows'
    Hessian blocks): from the array stored by ``LossGradient``, or (``p=None``) recomputed
    per block from ``coef`` (one more matrix product). ``fused=False`` keeps CuPy blocks on
    the two products of the reference (never the one-pass kernel): the independent check of
    that kernel's product."""

    kind = "hessp"

    def __init__(self, v, n_features, fit_intercept, *, p=None, coef=None, compiled=False,
                 model=None, fused=None):
        super().__init__(n_features, fit_intercept, model)
        self.v, self.p, self.coef, self.fused = v, p, coef, fused
        self.compiled = compiled and p is not None
        self.shapes = ((self.n_params,),)
        if self.compiled:
            self.min_block_rows = sys.maxsize

    def reference(self, rows, X, y, s):
        xp = _backend.get_namespace(X=X)
        c = self.p[rows] if self.p is not None else \
            self.model.curvature(self.linear(X, self.coef), s, xp)
        T = self.model.curvature_times(c, self.linear(X, self.v), s, xp)
        return (self.transpose(X, T),)


# Rows scaled by sqrt(p) for the Hessian are a temporary of at most this many bytes (a
# whole GPU block is split into pieces of this size): never an n x d copy of X.
_HESSIAN_PIECE_BYTES = 1 << 25


class GradientHessian(Pass):
    """``(sum_i s_i l_i, [X, 1]^T R, H)`` at ``coef``: loss, gradient and the unscaled,
    unpenalised Hessian in one read of each block.

    The Hessian block of classes a, b is ``[X, 1]^T diag(w_ab) [X, 1]`` with the model's
    row weights ``w_ab`` (binomial: ``p``). For non-negative weights that is ``Xs^T Xs``
    for the rows scaled by ``sqrt(w)`` (a SYRK: BLAS does half the products), else a
    product of the weighted rows with X, formed for pieces of at most
    ``_HESSIAN_PIECE_BYTES``; the intercept row and column are ``X^T w`` and ``sum w``.
    The result is indexed like the coefficients (``[W; b]`` raveled). ``compiled`` lets
    C-contiguous NumPy blocks use the compiled CPU kernels (``overrides.choose``).
    """

    kind = "gradient_hessian"

    def __init__(self, coef, n_features, fit_intercept, *, fused=None, compiled=False,
                 model=None):
        super().__init__(n_features, fit_intercept, model)
        self.coef, self.fused, self.compiled = coef, fused, compiled
        self.shapes = ((), (self.n_params,), (self.n_params, self.n_params))
        # each block adds a P x P partial sum: blocks of >= 4P rows keep that a small part of
        # the block's SYRK (4 MB CPU blocks are only 262 rows at d = 2000); the compiled
        # kernels take X in one block (split into pieces below)
        self.min_block_rows = sys.maxsize if compiled else 4 * self.n_params

    def reference(self, rows, X, y, s, gram=None):
        """``gram(X, w) -> (X^T diag(w) X, X^T w, sum w)``: an override of ``add_grams``'
        products (the compiled CPU kernel; the loss and gradient are then compiled too), or
        None (all of the pass on ``xp``)."""
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
            l_p, g_p = LossGradient(self.coef, d, self.fit_intercept, fused=self.fused,
                                    compiled=gram is not None, p_out=c,
                                    model=self.model)(slice(None), Xp, y[piece], sp)
            loss += l_p
            grad += g_p
            add_grams(H, Xp, self.model.hessian_weights(c, sp, xp), self.fit_intercept, xp, gram)
        H = H.reshape(self.n_params, self.n_params)
        # the blocks filled are the upper triangle of class pairs, and within each the
        # intercept column: mirror them
        return loss, grad, symmetrise(H, d, k, self.fit_intercept, xp)


def add_grams(H, X, weights, fit_intercept, xp, gram=None):
    """``H[:, a, :, b] += [X, 1]^T diag(w) [X, 1]`` (the feature block and the intercept
    column) for each ``((a, b), w, non-negative)`` of ``weights``; H is (P, k, P, k).
    ``gram`` (see ``GradientHessian.reference``) computes the three products instead."""
    d = X.shape[1]
    for (a, b), w, nonnegative in weights:
        block = H[:, a, :, b]
        if gram is not None:
            G, Xw, sw = gram(X, w)
        else:
            G, Xw, sw = (_weighted_gram(X, w, nonnegative, xp),
                         X.T @ w if fit_intercept else None, w.sum(dtype=np.float64))
        block[:d, :d] += G
        if fit_intercept:
            block[:d, d] += Xw
            block[d, d] += sw


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


def symmetrise(H, d, k, fit_intercept, xp):
    """The full matrix from what ``add_grams`` filled: for classes a <= b the feature block
    and the intercept column (``[j, d]``) of each class pair."""
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
