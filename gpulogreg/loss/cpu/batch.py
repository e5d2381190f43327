"""Compiled passes of a binomial model batch (``loss.batch_pass``; see ``cpu``)."""

import numba
import numpy as np

from .binomial import residual_and_loss
from .jit import elementwise, parallel
from .primitives import matvecs, rank_k, tails, total


@parallel
def batch_binomial(Z, y, s, has_s, masks, row0, folds, n_g, n_p, R, chunk):
    """The elementwise step of a binomial model batch (``_passes.BatchPass``) for a piece of
    rows whose scores BLAS formed (an X that is not C-contiguous).

    ``Z`` (b, n_g + 2 n_p) holds a piece's scores: n_g gradient problems, then n_p
    curvature points, then the n_p directions. Row i of problem j has weight
    ``s[i] * masks[folds[j], row0 + i]``. Writes ``R[:, j]`` = the residuals of the gradient
    problems, then ``p t`` of the products; returns the loss sums per chunk of rows,
    (n_chunks, n_g), added in a fixed order by the caller.
    """
    b = Z.shape[0]
    n_chunks = (b + chunk - 1) // chunk
    part = np.zeros((n_chunks, n_g))
    for c in numba.prange(n_chunks):
        lo = c * chunk
        hi = min(b, lo + chunk)
        E, L = tails(Z[lo:hi].T)
        batch_columns(Z[lo:hi].T, E, L, y[lo:hi], s[lo:hi] if has_s else s, has_s, masks,
                      row0 + lo, folds, n_g, n_p, R[lo:hi].T, part[c])
    return part


@parallel
def batch_binomial_pass(X, y, s, has_s, masks, folds, Vt, vb, n_g, n_p, chunk, n_groups):
    """A binomial model batch's whole pass (``_passes.BatchPass``) in one read of X: per
    chunk of rows the scores ``Z = X V + vb`` of every column of ``Vt`` (cols, d): n_g
    gradient problems, n_p curvature points, n_p directions; the elementwise step
    (``batch_columns``); then ``X^T R`` of the chunk's rows from cache.

    Returns rows ``[G^T raveled ((n_g + n_p) d), sum R per column (n_g + n_p), losses
    (n_g)]``, one per group of consecutive chunks: ``n_groups`` fixed by the caller, never
    by the number of threads, and added in order, so the sums are reproducible; a group's
    row holds its chunks' sums (each in X's dtype) added in float64."""
    n, d = X.shape
    cols = Vt.shape[0]
    n_out = n_g + n_p
    n_chunks = (n + chunk - 1) // chunk
    per_group = (n_chunks + n_groups - 1) // n_groups
    part = np.zeros((n_groups, n_out * d + n_out + n_g))
    for grp in numba.prange(n_groups):
        G = np.zeros(n_out * d)
        sums = np.zeros(n_out)
        acc = np.zeros(n_g)
        for c in range(grp * per_group, min(n_chunks, (grp + 1) * per_group)):
            lo = c * chunk
            hi = min(n, lo + chunk)
            ZT = np.empty((cols, hi - lo), dtype=X.dtype)  # classes by rows: columns vectorise
            matvecs(X, lo, hi, Vt, vb, ZT.T)
            E, L = tails(ZT)
            RT = np.empty((n_out, hi - lo), dtype=X.dtype)
            batch_columns(ZT, E, L, y[lo:hi], s[lo:hi] if has_s else s, has_s, masks, lo,
                          folds, n_g, n_p, RT, acc)
            for j in range(n_out):
                sums[j] += total(RT[j])  # as the gradient sums them, in X's dtype
            Gc = np.zeros((n_out, d), dtype=X.dtype)
            rank_k(X, lo, hi, RT.T, Gc)
            flat = Gc.reshape(n_out * d)
            for t in range(n_out * d):
                G[t] += flat[t]
        part[grp, :n_out * d] = G
        part[grp, n_out * d:n_out * d + n_out] = sums
        part[grp, n_out * d + n_out:] = acc
    return part


@elementwise
def batch_columns(ZT, E, L, y, s, has_s, masks, mask_lo, folds, n_g, n_p, RT, acc):
    """The elementwise step of a binomial batch for a chunk of rows, a problem (column of
    ``ZT``, (cols, rows)) at a time so that the loops over rows vectorise: problem j's row i
    has weight ``s[i] * masks[folds[j], mask_lo + i]``. Writes ``RT[j]``, the weighted
    residuals of the n_g gradient problems (0 off a problem's training rows), then ``p t``
    of the n_p products; adds each gradient problem's loss sum to ``acc[j]`` (its losses
    overwrite ``L[j]``)."""
    rows = ZT.shape[1]
    weights = np.empty(rows)
    for j in range(n_g):
        f = folds[j]
        for i in range(rows):
            weights[i] = (float(s[i]) if has_s else 1.0) if masks[f, mask_lo + i] else 0.0
            RT[j, i] = ZT[j, i]  # the scores, overwritten by the residuals
        residual_and_loss(RT[j], y, weights, True, E[j], L[j], weights, False)
        acc[j] += total(L[j])  # a vectorised sum: an in-order one waits on each add
    for j in range(n_p):
        f = folds[n_g + j]
        for i in range(rows):
            wi = (float(s[i]) if has_s else 1.0) if masks[f, mask_lo + i] else 0.0
            e = E[n_g + j, i]
            q = e / (1.0 + e)
            RT[n_g + j, i] = wi * q * (1.0 - q) * float(ZT[n_g + n_p + j, i])
