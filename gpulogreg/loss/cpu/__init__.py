"""Compiled CPU overrides of the passes (numba): one read of X, all cores, deterministic.

The passes in ``loss.passes`` are the reference; these kernels compute the same sums for a
C-contiguous float32 or float64 NumPy block (the whole X: their passes ask sources for one
block) and are tested against them. This module calls them (the kernels live in
``binomial``, ``multinomial`` and ``batch``, on the building blocks of ``primitives``,
compiled and cached as ``jit`` says); ``loss.overrides`` decides which blocks use them. Each kernel walks fixed chunks of rows (``_chunk_rows``) in
parallel. A chunk computes ``z = X w + b`` for its rows (for k classes, ``Z = X W + b``),
then the stable residual and loss of each row (in float64, IEEE: no fastmath), then
``X^T r``, whose second read of the chunk's rows hits the cache: X is read from memory
once. As in the NumPy path, products are accumulated in X's dtype within a chunk; each
chunk writes its sums to a row of its own, and the rows are added in float64 in a fixed
order, so the result does not depend on the number of threads or their timing.

Used only where it pays: numba importable, ``GPULOGREG_DISABLE_JIT`` unset or ``0``, X
float32 or float64 and C-contiguous (other layouts stay on NumPy's BLAS path, which handles
any strides), at most ``MAX_FEATURES`` columns, and the
problem at least ``MIN_ELEMENTS`` large, so small fits never wait for a compile. Compiled
code is cached on disk, in the user's cache folder (``jit.cache_dir()``, or
``NUMBA_CACHE_DIR``), never inside the installed package: the first use compiles for a few
seconds, later processes load it. The Hessian pass of newton-cholesky stays on BLAS (SYRK
is what it costs; alternating numba's and OpenBLAS's thread pools block by block costs more).
A binomial model batch's pass is compiled too: for a C-contiguous X the whole pass
(``batch_binomial_pass``: scores, residuals and ``X^T R`` of every problem per chunk, one
read of X), else the elementwise step between BLAS's products (``batch_binomial``, with BLAS
held to one thread around it, ``solvers.batch``).
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

_CHUNK_ROWS = 1024  # at most; a chunk's rows are read twice (z, then X^T r) from cache
_CHUNK_BYTES = 1 << 19  # so a chunk of rows fits in one core's L2 with room to spare
# Wider X stay on NumPy: from d ~ 2000 its BLAS passes are as fast (measured: README)
MAX_FEATURES = 1024
# Smaller X stay on NumPy: loading the cached kernels costs ~0.1 s in a new process (the
# first compile ever, ~3 s), which a compiled pass (~1x the floor faster in float64) only
# repays over a typical fit from about this size, 64 MB of float64 (measured: README).
MIN_ELEMENTS = 1 << 23

compile_seconds = {}  # kernel name -> seconds its first call took in this process


def enabled() -> bool:
    """True when the compiled passes may be used (numba importable, not disabled)."""
    if os.environ.get("GPULOGREG_DISABLE_JIT", "0") not in ("", "0"):
        return False
    return _kernels() is not None


def status() -> str:
    """One line for the demo: whether the compiled passes are on, for which X, and how long
    their first calls in this process took (compile, or load from the disk cache)."""
    if os.environ.get("GPULOGREG_DISABLE_JIT", "0") not in ("", "0"):
        return "compiled CPU passes: off (GPULOGREG_DISABLE_JIT is set)"
    if not enabled():
        return "compiled CPU passes: off (numba is not installed)"
    done = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in compile_seconds.items())
    return (f"compiled CPU passes (numba): used for float32/float64 X of >= {MIN_ELEMENTS:,} "
            f"elements and <= {MAX_FEATURES} features; "
            + (f"first calls here (compile or cache load): {done}" if done else
               "not needed for this problem (smaller X stay on NumPy)"))


def _chunk_rows(X):
    """Rows per chunk: ``_CHUNK_BYTES`` of X, between 32 and ``_CHUNK_ROWS``."""
    return min(_CHUNK_ROWS, max(32, _CHUNK_BYTES // (X.shape[1] * X.dtype.itemsize)))


@functools.lru_cache(maxsize=1)
def _kernels():
    """The compiled kernels (compiled or loaded from the cache on first call), or None
    without numba."""
    try:
        from . import batch, binomial, multinomial
    except ImportError:
        return None
    return {"loss_gradient": binomial.loss_gradient, "hessp": binomial.hessp,
            "batch_binomial": batch.batch_binomial,
            "batch_binomial_pass": batch.batch_binomial_pass,
            "multinomial_loss_gradient": multinomial.multinomial_loss_gradient,
            "multinomial_hessp": multinomial.multinomial_hessp}


def _call(name, *args):
    kernel = _kernels()[name]
    if name in compile_seconds:
        return kernel(*args)
    start = time.perf_counter()
    out = kernel(*args)
    compile_seconds[name] = time.perf_counter() - start
    return out


def _weights(v, layout, dtype):
    """``(W^T (k, d), b (k,))`` of a coefficient vector in X's dtype, the kernels' arguments
    (b = 0 without an intercept)."""
    W, b = layout.split(v)
    return (np.ascontiguousarray(W.T, dtype=dtype),
            np.zeros(layout.k, dtype=dtype) if b is None else b.astype(dtype))


def _unpack(total, layout):
    """``[Gt raveled (k d), column sums (k), ...]`` -> ``[X, 1]^T U`` raveled like the
    coefficients."""
    d, k = layout.n_features, layout.k
    return layout.pack(total[:k * d].reshape(k, d).T, total[k * d:k * d + k], np)


def loss_gradient(X, y, s, coef, layout, p_out=None):
    """``(sum s l, [X, 1]^T r)`` as ``LossGradient`` computes them, plus ``p_out`` if given."""
    d = X.shape[1]
    w, b = _weights(coef, layout, X.dtype)
    empty = np.empty(0, dtype=X.dtype)  # stands in for s or p_out: one signature per dtype
    part = _call("loss_gradient", X, y, empty if s is None else s, s is not None, w[0], b[0],
                 empty if p_out is None else p_out, p_out is not None, _chunk_rows(X))
    total = part.sum(axis=0)  # [X^T r (d), sum r, sum l]: [w, b] raveled, then the loss
    return total[d + 1], total[:layout.n_params]


def multinomial_loss_gradient(X, y, s, coef, layout, p_out=None):
    """``(sum s l, [X, 1]^T R raveled)`` as ``LossGradient`` computes them for the multinomial
    model, plus the softmax in ``p_out`` (n, k) if given."""
    Wt, b = _weights(coef, layout, X.dtype)
    empty = np.empty(0, dtype=X.dtype)
    part = _call("multinomial_loss_gradient", X, y, empty if s is None else s, s is not None,
                 Wt, b, np.empty((0, layout.k), dtype=X.dtype) if p_out is None else p_out,
                 p_out is not None, _chunk_rows(X))
    total = part.sum(axis=0)
    return total[-1], _unpack(total, layout)


def multinomial_hessp(X, P, s, v, layout):
    """``[X, 1]^T U`` raveled, ``U = s (P T - P (P . T))``, ``T = [X, 1] V``, as
    ``HessianProduct`` computes it for the multinomial model with the stored softmax P."""
    Vt, v_b = _weights(v, layout, X.dtype)
    empty = np.empty(0, dtype=X.dtype)
    part = _call("multinomial_hessp", X, P, empty if s is None else s, s is not None, Vt, v_b,
                 _chunk_rows(X))
    return _unpack(part.sum(axis=0), layout)


def hessp(X, p, v, layout):
    """``[X, 1]^T (p (X v_w + v_b))`` as ``HessianProduct`` computes it."""
    v_w, v_b = _weights(v, layout, X.dtype)
    part = _call("hessp", X, p, v_w[0], v_b[0], _chunk_rows(X))
    return part.sum(axis=0)[:layout.n_params]


# A binomial model batch's elementwise step is compiled from this many (row, problem)
# entries per pass: below it, loading the kernel (~0.1 s in a new process) would not pay.
BATCH_MIN_ENTRIES = 1 << 22


# a batch pass's sums are kept per group of chunks: this many groups (a fixed number, so the
# order of the sums does not depend on the threads), each holding every problem's d sums
_BATCH_GROUPS = 64


def batch_binomial_pass(X, y, s, masks, folds, V, n_g, n_p):
    """``batch.batch_binomial_pass`` (see there) for a C-contiguous X (the whole X:
    ``masks`` are indexed from its row 0) and the stacked coefficients ``V`` (P, cols) in
    X's dtype; returns ``(losses (n_g,), G (P, n_g + n_p))`` as ``BatchPass`` does."""
    d = X.shape[1]
    n_out = n_g + n_p
    empty = np.empty(0, dtype=X.dtype)
    vb = V[d] if V.shape[0] > d else np.zeros(V.shape[1], dtype=X.dtype)
    chunk = _chunk_rows(X)
    groups = max(1, min(_BATCH_GROUPS, -(-X.shape[0] // chunk)))
    part = _call("batch_binomial_pass", X, y, empty if s is None else s, s is not None, masks,
                 folds, np.ascontiguousarray(V[:d].T), np.ascontiguousarray(vb), n_g, n_p,
                 chunk, groups)
    total = part.sum(axis=0)
    G = np.empty((V.shape[0], n_out))
    G[:d] = total[:n_out * d].reshape(n_out, d).T
    if V.shape[0] > d:
        G[d] = total[n_out * d:n_out * d + n_out]
    return total[n_out * d + n_out:], G


def batch_binomial(Z, y, s, masks, row0, folds, n_g, n_p, R):
    """``batch.batch_binomial`` (see there); returns the n_g loss sums."""
    empty = np.empty(0, dtype=Z.dtype)
    part = _call("batch_binomial", Z, y, empty if s is None else s, s is not None, masks,
                 row0, folds, n_g, n_p, R, 256)
    return part.sum(axis=0)
