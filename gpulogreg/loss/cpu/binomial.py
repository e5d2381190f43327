"""Compiled passes of the binomial model (one read of X per pass; see ``cpu``)."""

import numba
import numpy as np

from .jit import elementwise, parallel
from .primitives import matvec, rank1, tails, total


@elementwise
def residual_and_loss(r, y, s, has_s, tail, log_tail, p_out, has_p):
    """For a chunk's rows, from their scores ``r``, ``tail = exp(-|z|)`` and
    ``log_tail = log1p(tail)``: the residual ``s (sigma(z) - y)`` in ``r`` (X's dtype), the
    loss ``s (log(1 + e^z) - y z)`` in ``log_tail`` and, with ``has_p``, ``s q (1 - q)`` in
    ``p_out``; one loop with no calls and no sums, so that it vectorises (the sums are
    taken after, in order)."""
    for i in range(r.shape[0]):
        z = float(r[i])
        yi = float(y[i])
        e = tail[i]
        q = e / (1.0 + e)
        ri = (1.0 - yi) - q if z >= 0 else q - yi
        li = max(z, 0.0) - yi * z + log_tail[i]
        si = float(s[i]) if has_s else 1.0
        if has_p:
            p_out[i] = q * (1.0 - q) * si
        r[i] = ri * si
        log_tail[i] = li * si


@parallel
def loss_gradient(X, y, s, has_s, w, b, p_out, has_p, chunk):
    """Rows ``[grad_w (d), grad_b, loss]`` per chunk; ``p_out[i] = s q (1 - q)``."""
    n, d = X.shape
    n_chunks = (n + chunk - 1) // chunk
    part = np.zeros((n_chunks, d + 2))
    for k in numba.prange(n_chunks):
        lo = k * chunk
        hi = min(n, lo + chunk)
        r = np.empty(hi - lo, dtype=X.dtype)
        matvec(X, lo, hi, w, b, r)  # z, overwritten by the residual below
        E, L = tails(r.reshape((1, hi - lo)))
        tail, losses = E[0], L[0]
        residual_and_loss(r, y[lo:hi], s[lo:hi] if has_s else s, has_s, tail, losses,
                          p_out[lo:hi] if has_p else p_out, has_p)
        sum_r = total(r)  # the residuals as the gradient sums them, in X's dtype
        sum_l = total(losses)
        g = np.zeros(d, dtype=X.dtype)
        rank1(X, lo, hi, r, g)
        part[k, :d] = g
        part[k, d] = sum_r
        part[k, d + 1] = sum_l
    return part


@parallel
def hessp(X, p, v, v_b, chunk):
    """Rows ``[X^T t (d), sum t]`` per chunk, ``t = p (X v + v_b)``."""
    n, d = X.shape
    n_chunks = (n + chunk - 1) // chunk
    part = np.zeros((n_chunks, d + 1))
    for k in numba.prange(n_chunks):
        lo = k * chunk
        hi = min(n, lo + chunk)
        t = np.empty(hi - lo, dtype=X.dtype)
        matvec(X, lo, hi, v, v_b, t)
        sum_t = 0.0
        for i in range(hi - lo):
            t[i] *= p[lo + i]
            sum_t += float(t[i])
        g = np.zeros(d, dtype=X.dtype)
        rank1(X, lo, hi, t, g)
        part[k, :d] = g
        part[k, d] = sum_t
    return part
