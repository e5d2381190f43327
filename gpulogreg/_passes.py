"""Passes (DESIGN.md section 6): per-block functions that return partial sums.

A data source calls a pass once per row block, ``pass_(rows, X, y, s)``, where ``X, y, s``
are that block's rows (``s`` None for unit weights) and ``rows`` is the block's slice of
the whole data set. The pass returns a tuple of arrays of the shapes ``pass_.shapes``;
the source adds them up in float64, in a fixed order (``reduce``). A source knows nothing
of which sums are taken, and a pass nothing of where the blocks come from.

A pass may also keep one value per row (Newton's ``p = s sigma (1 - sigma)``) in an
n-vector of the source's namespace, indexed by ``rows``, when the source says
``keeps_rows`` (in-memory and streamed X); on other sources (Dask) it is recomputed.

Every pass has one reference implementation here, in plain ``xp`` code; overrides are
chosen per block and tested against it: the fused CUDA kernel for CuPy blocks, the numba
kernels of ``_cpu`` for C-contiguous NumPy blocks when the loss asks for them
(``compiled``: decided once per problem, from the size of the whole X).

The elementwise math mirrors ``kernels/logreg_math.cuh`` line for line: only
``exp(-|z|)`` is evaluated, and ``sigmoid - y`` is formed without cancellation.
"""

from __future__ import annotations

import sys

import numpy as np

from . import _backend, _cpu, _kernels


def _exp_tail(z, xp):
    """``e = exp(-|z|)`` and ``q = e / (1 + e)``, the only exponential taken anywhere:
    ``sigmoid(z)`` is ``1 - q`` for ``z >= 0`` and ``q`` otherwise, so nothing overflows."""
    e = xp.exp(-xp.abs(z))
    return e, e / (1 + e)


def sigmoid(z, xp):
    """``1 / (1 + e^-z)``, stably for any z."""
    _, q = _exp_tail(z, xp)
    return xp.where(z >= 0, 1 - q, q)


def hessian_weight(z, s, xp):
    """``s * sigma(z) * (1 - sigma(z))``, computed as ``s * q * (1 - q)``."""
    _, q = _exp_tail(z, xp)
    p = q * (1 - q)
    return p if s is None else p * s


def residual_and_loss(z, y, s, xp):
    """``r = s*(sigmoid(z) - y)`` and ``l = s*(log(1+e^z) - y*z)``, stably."""
    e, q = _exp_tail(z, xp)
    r = xp.where(z >= 0, (1 - y) - q, q - y)
    l = xp.maximum(z, 0) - y * z + xp.log1p(e)
    if s is not None:
        r *= s
        l *= s
    return r, l


class _Pass:
    """What every pass knows: the coefficient layout ``[w, b]`` (``b`` only with an
    intercept). Vectors it is given may live in any namespace; each block gets them in its
    own (a no-op except on Dask, where the chunks may be CuPy)."""

    min_block_rows = 1  # a source's blocks hold at least this many rows (or all of X)

    def __init__(self, n_features, fit_intercept):
        self.n_features = n_features
        self.fit_intercept = bool(fit_intercept)
        self.n_params = n_features + self.fit_intercept

    def linear(self, X, v):
        """``X @ v_w + v_b`` in X's dtype."""
        xp = _backend.get_namespace(X=X)
        v = _backend.to_namespace(v, xp)
        t = X @ v[:self.n_features].astype(X.dtype)
        if self.fit_intercept:
            t += v[self.n_features:].astype(X.dtype)
        return t

    def transpose(self, X, r):
        """``[X, 1]^T r`` (the ones column only with an intercept), in float64."""
        xp = _backend.get_namespace(X=X)
        out = xp.empty(self.n_params, dtype=np.float64)
        out[:self.n_features] = X.T @ r
        if self.fit_intercept:
            out[self.n_features] = r.sum(dtype=np.float64)
        return out


class LossGradient(_Pass):
    """``(sum_i s_i l_i, [X, 1]^T r)`` with ``r = s (sigma(z) - y)``, ``z = X w + b``.

    With ``p_out`` (an n-vector of X's dtype) it also stores ``p = s sigma (1 - sigma)`` of
    every row, for ``HessianProduct``. ``fused=False`` keeps CuPy blocks on the general
    ``xp`` path instead of the fused CUDA kernel (for testing one against the other);
    ``compiled=True`` lets C-contiguous NumPy blocks use the numba kernel of ``_cpu``.
    """

    def __init__(self, coef, n_features, fit_intercept, *, fused=None, compiled=False,
                 p_out=None):
        super().__init__(n_features, fit_intercept)
        self.coef, self.fused, self.compiled, self.p_out = coef, fused, compiled, p_out
        self.shapes = ((), (self.n_params,))
        if compiled:  # the kernel chunks X itself, in parallel: it wants X in one block
            self.min_block_rows = sys.maxsize

    def __call__(self, rows, X, y, s):
        p_out = None if self.p_out is None else self.p_out[rows]
        if self.compiled and isinstance(X, np.ndarray) and X.flags.c_contiguous:
            return _cpu.loss_gradient(X, y, s, self.coef, self.fit_intercept, p_out)
        xp = _backend.get_namespace(X=X)
        z = self.linear(X, self.coef)
        if p_out is not None:
            p_out[...] = hessian_weight(z, s, xp)
        if _backend.is_gpu(xp) and self.fused is not False:
            r, l = _kernels.sigmoid_residual(z, y, s)
        else:
            r, l = residual_and_loss(z, y, s, xp)
        return l.sum(dtype=np.float64), self.transpose(X, r)


class HessianProduct(_Pass):
    """``[X, 1]^T (p * ([X, 1] v))``: ``p`` from the n-vector stored by ``LossGradient``,
    or (``p=None``) recomputed per block from ``coef`` (one more matrix-vector product)."""

    def __init__(self, v, n_features, fit_intercept, *, p=None, coef=None, compiled=False):
        super().__init__(n_features, fit_intercept)
        self.v, self.p, self.coef, self.compiled = v, p, coef, compiled
        self.shapes = ((self.n_params,),)
        if compiled and p is not None:
            self.min_block_rows = sys.maxsize

    def __call__(self, rows, X, y, s):
        if self.compiled and self.p is not None and isinstance(X, np.ndarray) \
                and X.flags.c_contiguous:
            return (_cpu.hessp(X, self.p[rows], self.v, self.fit_intercept),)
        xp = _backend.get_namespace(X=X)
        p = self.p[rows] if self.p is not None else \
            hessian_weight(self.linear(X, self.coef), s, xp)
        t = self.linear(X, self.v)
        t *= p
        return (self.transpose(X, t),)


# Rows scaled by sqrt(p) for the Hessian are a temporary of at most this many bytes (a
# whole GPU block is split into pieces of this size): never an n x d copy of X.
_HESSIAN_PIECE_BYTES = 1 << 25


class GradientHessian(_Pass):
    """``(sum_i s_i l_i, [X, 1]^T r, [X, 1]^T diag(p) [X, 1])`` at ``coef``: loss, gradient
    and the unscaled, unpenalised Hessian in one read of each block.

    ``X^T diag(p) X`` is ``Xs^T Xs`` for the rows scaled by ``sqrt(p)`` (a SYRK: BLAS does
    half the products), formed for pieces of at most ``_HESSIAN_PIECE_BYTES``; the intercept
    row and column are ``X^T p`` and ``sum p``.
    """

    def __init__(self, coef, n_features, fit_intercept, *, fused=None):
        super().__init__(n_features, fit_intercept)
        self.coef, self.fused = coef, fused
        self.shapes = ((), (self.n_params,), (self.n_params, self.n_params))
        # each block adds a P x P partial sum: blocks of >= 4P rows keep that a small part of
        # the block's SYRK (4 MB CPU blocks are only 262 rows at d = 2000)
        self.min_block_rows = 4 * self.n_params

    def __call__(self, rows, X, y, s):
        xp = _backend.get_namespace(X=X)
        d = self.n_features
        loss = xp.zeros((), dtype=np.float64)
        grad = xp.zeros(self.n_params, dtype=np.float64)
        H = xp.zeros((self.n_params, self.n_params), dtype=np.float64)
        step = max(1, _HESSIAN_PIECE_BYTES // (d * X.dtype.itemsize))
        for start in range(0, X.shape[0], step):
            piece = slice(start, start + step)
            Xp, sp = X[piece], None if s is None else s[piece]
            p = xp.empty(Xp.shape[0], dtype=X.dtype)
            # the NumPy path: numba's threads between BLAS calls would fight OpenBLAS's
            l_p, g_p = LossGradient(self.coef, d, self.fit_intercept, fused=self.fused,
                                    p_out=p)(slice(None), Xp, y[piece], sp)
            loss += l_p
            grad += g_p
            Xs = Xp * xp.sqrt(p)[:, None]
            H[:d, :d] += Xs.T @ Xs
            if self.fit_intercept:
                H[:d, d] += Xp.T @ p
                H[d, d] += p.sum(dtype=np.float64)
        if self.fit_intercept:
            H[d, :d] = H[:d, d]
        return loss, grad, H
