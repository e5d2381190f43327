"""The L2-penalised, sample-weighted logistic loss of DESIGN.md section 1.

    f(w, b) = (1/S) sum_i s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S),  z = X w + b

The coefficient vector handed in by the solvers is ``coef = [w, b]`` (``b`` only
when ``fit_intercept``), float64, in the namespace of X. The intercept is a
separate scalar in every formula: X is never copied or augmented.

One code path, ``X.T @ residual(X @ w + b)``, runs on NumPy and on CuPy. The
elementwise residual step has a general ``xp`` implementation (the reference)
and, on the GPU, a fused CUDA kernel override tested against it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _backend, _kernels

# On the CPU, X is processed in row blocks of about this many bytes so that the
# second read of a block (for X.T @ r) hits the cache (DESIGN.md section 4).
_CPU_BLOCK_BYTES = 1 << 22


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
    """General path: ``r = s*(sigmoid(z) - y)`` and ``l = s*(log(1+e^z) - y*z)``, stably.

    Mirrors ``kernels/logreg_math.cuh`` line for line: only ``exp(-|z|)`` is
    evaluated, and ``sigmoid - y`` is formed without cancellation.
    """
    e, q = _exp_tail(z, xp)
    r = xp.where(z >= 0, (1 - y) - q, q - y)
    l = xp.maximum(z, 0) - y * z + xp.log1p(e)
    if s is not None:
        r *= s
        l *= s
    return r, l


class RowBlocks:
    """The data source for an in-memory X (NumPy or CuPy): partial sums over row blocks.

    Every data source (this one, ``_dask.DaskRows``, ``_stream.StreamedRows``) offers the
    same three sums, unscaled and unpenalised, so ``LogisticLoss`` and every solver work
    unchanged on all of them:

    - ``loss_gradient_sums(coef, hessian)`` -> ``(sum_i s_i l_i, [X, 1]^T r, state)``, where
      ``state`` is whatever ``hessp_sums`` needs (here ``p = s sigma (1 - sigma)``) or None;
    - ``hessp_sums(v, state)`` -> ``[X, 1]^T (p * ([X, 1] v))``;
    - attributes ``xp`` (namespace of the solver state), ``n_features``, ``n_params``,
      ``fit_intercept``, ``sum_weights`` (S) and ``eps`` (relative resolution of the sums).
    """

    def __init__(self, X, y, sample_weight=None, *, fit_intercept=True, fused=None):
        self.xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.fit_intercept = bool(fit_intercept)
        on_gpu = _backend.is_gpu(self.xp)
        self.fused = on_gpu if fused is None else bool(fused) and on_gpu
        n, d = X.shape
        # relative resolution of the objective: the per-row terms are computed in X's dtype
        self.eps = float(np.finfo(X.dtype).eps)
        self.n_features = d
        self.n_params = d + self.fit_intercept
        if on_gpu:
            self._block_rows = n
        else:
            self._block_rows = max(64, _CPU_BLOCK_BYTES // (d * X.dtype.itemsize))

    @functools.cached_property
    def sum_weights(self):
        """S, read to the host on first use only (chunk sources never ask: no sync)."""
        s = self.sample_weight
        return float(self.X.shape[0] if s is None else s.sum(dtype=np.float64))

    def _residual(self, z, y, s):
        if self.fused:
            return _kernels.sigmoid_residual(z, y, s)
        return residual_and_loss(z, y, s, self.xp)

    def _blocks(self, v):
        """Yield ``(rows, Xb, Xb @ v_w + v_b)`` over row blocks of X, in X's dtype."""
        X, d = self.X, self.n_features
        v_w = v[:d].astype(X.dtype)
        v_b = v[d:].astype(X.dtype) if self.fit_intercept else None
        for start in range(0, X.shape[0], self._block_rows):
            rows = slice(start, start + self._block_rows)
            Xb = X[rows]
            t = Xb @ v_w
            if v_b is not None:
                t += v_b
            yield rows, Xb, t

    def _add_transpose(self, out, Xb, r):
        """``out += [Xb, 1]^T r`` (the ones column only with an intercept), into float64."""
        out[:self.n_features] += Xb.T @ r
        if self.fit_intercept:
            out[self.n_features] += r.sum(dtype=np.float64)

    def loss_gradient_sums(self, coef, hessian=False):
        """One sweep over X: loss and gradient sums and, if asked, p = s*sigma*(1-sigma)."""
        xp, s = self.xp, self.sample_weight
        loss = xp.zeros((), dtype=np.float64)
        grad = xp.zeros(self.n_params, dtype=np.float64)
        p = xp.empty(self.X.shape[0], dtype=self.X.dtype) if hessian else None
        for rows, Xb, z in self._blocks(coef):
            sb = None if s is None else s[rows]
            r, l = self._residual(z, self.y[rows], sb)
            loss += l.sum(dtype=np.float64)
            self._add_transpose(grad, Xb, r)
            if hessian:
                p[rows] = hessian_weight(z, sb, xp)
        return loss, grad, p

    def hessian_weights(self, coef):
        """``p = s sigma (1 - sigma)`` at ``coef`` (one matrix-vector product, no gradient)."""
        s = self.sample_weight
        p = self.xp.empty(self.X.shape[0], dtype=self.X.dtype)
        for rows, _, z in self._blocks(coef):
            p[rows] = hessian_weight(z, None if s is None else s[rows], self.xp)
        return p

    def hessp_sums(self, v, p):
        out = self.xp.zeros(self.n_params, dtype=np.float64)
        for rows, Xb, t in self._blocks(v):
            t *= p[rows]
            self._add_transpose(out, Xb, t)
        return out


def rows_source(X, y, sample_weight=None, *, fit_intercept=True):
    """The data source for arrays in memory: ``DaskRows`` for a Dask X (chunks summed where
    they live), ``RowBlocks`` for NumPy or CuPy. Streaming is asked for separately."""
    if _backend.is_dask(_backend.get_namespace(X=X)):
        from ._dask import DaskRows

        return DaskRows(X, y, sample_weight, fit_intercept=fit_intercept)
    return RowBlocks(X, y, sample_weight, fit_intercept=fit_intercept)


class LogisticLoss:
    """Loss and gradient of binary logistic regression on fixed, validated data.

    Parameters
    ----------
    X : (n, d) float32/float64 NumPy or CuPy array, any memory order (not copied).
    y : (n,) array of 0.0/1.0 of X's dtype, same namespace.
    sample_weight : (n,) array of X's dtype, or None for unit weights.
    C : inverse L2 strength (``np.inf``: no penalty). The intercept is never penalised.
    fit_intercept : whether ``coef`` carries a trailing intercept.
    fused : use the fused CUDA kernel for the residual step (GPU only; default: on the GPU).
    source : a data source (see ``RowBlocks``) to use instead of ``X, y, sample_weight``.
    """

    def __init__(self, X=None, y=None, sample_weight=None, *, C=1.0, fit_intercept=True,
                 fused=None, source=None):
        if source is None:
            source = RowBlocks(X, y, sample_weight, fit_intercept=fit_intercept, fused=fused)
        self.source = source
        self.C = float(C)
        self.xp = source.xp
        self.fit_intercept = source.fit_intercept
        self.n_features = source.n_features
        self.n_params = source.n_params
        self.eps = source.eps

    def _scale_and_penalise(self, out, v):
        """``out / S + [v_w / (C S), 0]``: the data term's normalisation plus the L2 term."""
        S = self.source.sum_weights
        out *= 1.0 / S
        if not math.isinf(self.C):
            out[:self.n_features] += v[:self.n_features] / (self.C * S)
        return out

    def _objective(self, coef, hessian):
        loss, grad, state = self.source.loss_gradient_sums(coef, hessian)
        loss /= self.source.sum_weights
        if not math.isinf(self.C):
            w = coef[:self.n_features]
            loss += (w @ w) / (2 * self.C * self.source.sum_weights)
        return float(loss), self._scale_and_penalise(grad, coef), state  # one host read

    def loss_gradient(self, coef):
        """Return ``(f, grad)``: the objective as a Python float and its float64 gradient."""
        loss, grad, _ = self._objective(coef, hessian=False)
        return loss, grad

    def loss(self, coef):
        """The objective at ``coef`` as a Python float."""
        return self.loss_gradient(coef)[0]

    def gradient(self, coef):
        """The float64 gradient at ``coef``."""
        return self.loss_gradient(coef)[1]

    def gradient_hessp(self, coef):
        """Return ``(f, grad, hessp)``; ``hessp(v)`` is the Hessian at ``coef`` times ``v``.

        ``H v = (1/S) X^T (p * (X v_w + v_b)) + v_w / (C S)``, and for the intercept
        ``(1/S) sum p * (X v_w + v_b)``, with ``p = s sigma (1 - sigma)``.
        """
        loss, grad, state = self._objective(coef, hessian=True)

        def hessp(v):
            return self._scale_and_penalise(self.source.hessp_sums(v, state), v)

        return loss, grad, hessp
