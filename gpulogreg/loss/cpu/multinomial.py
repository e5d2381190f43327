"""Compiled passes of the multinomial model (one read of X per pass; see ``cpu``)."""

import numba
import numpy as np

from .jit import parallel
from .primitives import exp_nonpositive, matvecs, rank_k


@parallel
def multinomial_loss_gradient(X, y, s, has_s, Wt, b, p_out, has_p, chunk):
    """Rows ``[Gt raveled (k d), sum of R per class (k), loss]`` per chunk of rows: the
    multinomial pass of ``_passes.LossGradient`` (``_models.softmax_residual_and_loss``'s
    arithmetic row by row, in float64, IEEE); ``p_out[i]`` = the softmax of row i."""
    n, d = X.shape
    k = Wt.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    part = np.zeros((n_chunks, k * d + k + 1))
    for q in numba.prange(n_chunks):
        lo = q * chunk
        hi = min(n, lo + chunk)
        Z = np.empty((hi - lo, k), dtype=X.dtype)
        matvecs(X, lo, hi, Wt, b, Z)  # the scores, overwritten by the residuals below
        sum_r = np.zeros(k)
        sum_l = 0.0
        rows = hi - lo
        tops = np.empty(rows, dtype=np.int64)
        maxima = np.empty(rows)
        D = np.empty(rows * k)  # z - max of every entry (<= 0)
        for i in range(rows):
            top = 0
            m = float(Z[i, 0])
            for c in range(1, k):
                if Z[i, c] > m:
                    m = float(Z[i, c])
                    top = c
            tops[i] = top
            maxima[i] = m
            for c in range(k):
                D[i * k + c] = float(Z[i, c]) - m
            D[i * k + top] = -1400.0  # exp_nonpositive gives exactly 0 there
        E = np.empty(rows * k)  # exp(z - max), in vectorised loops
        exp_nonpositive(D, E, np.empty(rows * k, dtype=np.int64),
                        np.empty(rows * k, dtype=np.int64))
        for i in range(rows):
            top = tops[i]
            m = maxima[i]
            e = E[i * k:(i + 1) * k]
            others = 0.0
            for c in range(k):
                others += e[c]
            denom = 1.0 + others
            label = int(y[lo + i])
            si = float(s[lo + i]) if has_s else 1.0
            sum_l += si * ((m - float(Z[i, label])) + np.log1p(others))
            for c in range(k):
                pc = 1.0 / denom if c == top else e[c] / denom
                if has_p:
                    p_out[lo + i, c] = pc
                if c == label:
                    rc = -others / denom if label == top else pc - 1.0
                else:
                    rc = pc
                Z[i, c] = si * rc
                sum_r[c] += float(Z[i, c])  # the residual as the gradient sums it
        Gt = np.zeros((k, d), dtype=X.dtype)
        rank_k(X, lo, hi, Z, Gt)
        part[q, :k * d] = Gt.ravel()
        part[q, k * d:k * d + k] = sum_r
        part[q, k * d + k] = sum_l
    return part


@parallel
def multinomial_hessp(X, P, s, has_s, Vt, v_b, chunk):
    """Rows ``[Gt raveled (k d), sum of U per class (k)]`` per chunk, with
    ``U = s (P T - P (P . T))`` and ``T = X V + v_b``: the multinomial Hessian-vector product
    of ``_passes.HessianProduct`` with the stored softmax ``P``."""
    n, d = X.shape
    k = Vt.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    part = np.zeros((n_chunks, k * d + k))
    for q in numba.prange(n_chunks):
        lo = q * chunk
        hi = min(n, lo + chunk)
        T = np.empty((hi - lo, k), dtype=X.dtype)
        matvecs(X, lo, hi, Vt, v_b, T)
        sum_u = np.zeros(k)
        for i in range(hi - lo):
            dot = 0.0
            for c in range(k):
                T[i, c] = P[lo + i, c] * T[i, c]
                dot += float(T[i, c])
            si = float(s[lo + i]) if has_s else 1.0
            for c in range(k):
                T[i, c] = si * (T[i, c] - P[lo + i, c] * dot)
                sum_u[c] += float(T[i, c])
        Gt = np.zeros((k, d), dtype=X.dtype)
        rank_k(X, lo, hi, T, Gt)
        part[q, :k * d] = Gt.ravel()
        part[q, k * d:] = sum_u
    return part
