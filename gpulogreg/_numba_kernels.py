"""The numba kernels behind ``_cpu`` (imported on first use only: see ``_cpu._kernels``).

Defined at module level so that numba's on-disk cache serves them to later processes; see
``_cpu`` for what they compute and how they are tested.

Where the cache lives: ``NUMBA_CACHE_DIR`` when the user sets it, else the user's cache folder
(``cache_dir()``: ``$XDG_CACHE_HOME/gpulogreg/numba`` or ``~/.cache/gpulogreg/numba`` on Linux),
never numba's default for ``cache=True``, the ``__pycache__`` beside this file: in an
installed package that is a folder pip does not own, which survives ``pip uninstall`` and
then shadows the next install as a namespace package. Where no cache folder is writable the
kernels still work, compiled anew in each process.
"""

import os

import numba
import numpy as np
from numba.core import caching
from numba.misc.appdirs import AppDirs

# numba 0.68 made its locators public; older releases spell them with a leading underscore
_UserWideLocator = getattr(caching, "UserWideCacheLocator", None) or getattr(
    caching, "_UserWideCacheLocator")
_UserProvidedLocator = getattr(caching, "UserProvidedCacheLocator", None) or getattr(
    caching, "_UserProvidedCacheLocator")


def cache_dir() -> str:
    """gpulogreg's folder for compiled kernels when ``NUMBA_CACHE_DIR`` is not set."""
    return os.path.join(AppDirs(appname="gpulogreg", appauthor=False).user_cache_dir, "numba")


class _UserCacheLocator(_UserWideLocator):
    """numba's user-wide locator (``~/.cache/numba``), moved under ``cache_dir()``."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(cache_dir(), self.get_suitable_cache_subpath(py_file))


class _CacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_UserProvidedLocator, _UserCacheLocator]


class _FunctionCache(caching.FunctionCache):
    _impl_class = _CacheImpl


def _jit(**options):
    """``numba.njit(**options)`` with the on-disk cache in ``cache_dir()`` (module docstring)."""
    def decorate(py_func):
        dispatcher = numba.njit(**options)(py_func)
        try:
            # what njit(cache=True) does (Dispatcher.enable_caching), with our locators
            dispatcher._cache = _FunctionCache(py_func)
        except RuntimeError:  # "no locator available": no cache folder is writable
            pass
        return dispatcher
    return decorate


# Only the two linear-algebra loops may reassociate (so their reductions vectorise) and
# contract to FMA; the loss and residual arithmetic stays IEEE. The order is fixed by
# the compiled code, so results are still bitwise reproducible.
linear = _jit(fastmath={"reassoc", "contract"}, nogil=True)
parallel = _jit(parallel=True, nogil=True)


@linear
def matvec(X, lo, hi, w, b, z):
    """``z[i - lo] = X[i] . w + b`` for rows lo..hi, accumulated in X's dtype."""
    d = X.shape[1]
    for i in range(lo, hi):
        acc = X[i, 0] * 0
        for j in range(d):
            acc += X[i, j] * w[j]
        z[i - lo] = acc + b


@linear
def rank1(X, lo, hi, r, g):
    """``g += X[lo:hi]^T r`` (g of X's dtype: one chunk's partial sums)."""
    d = X.shape[1]
    for i in range(lo, hi):
        ri = r[i - lo]
        for j in range(d):
            g[j] += ri * X[i, j]


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
        sum_r = 0.0
        sum_l = 0.0
        for i in range(hi - lo):
            z = float(r[i])
            yi = float(y[lo + i])
            e = np.exp(-abs(z))
            q = e / (1.0 + e)
            ri = (1.0 - yi) - q if z >= 0 else q - yi
            li = max(z, 0.0) - yi * z + np.log1p(e)
            if has_s:
                si = float(s[lo + i])
                ri *= si
                li *= si
            if has_p:
                p_out[lo + i] = q * (1.0 - q) * (float(s[lo + i]) if has_s else 1.0)
            r[i] = ri
            sum_r += float(r[i])  # the residual as the gradient sums it, in X's dtype
            sum_l += li
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


@parallel
def batch_binomial(Z, y, s, has_s, masks, row0, folds, n_g, n_p, R, chunk):
    """The elementwise step of a binomial model batch (``_passes.BatchPass``) in one sweep.

    ``Z`` (b, n_g + 2 n_p) holds a piece's scores: n_g gradient problems, then n_p
    curvature points, then the n_p directions. Row i of problem j has weight
    ``s[i] * masks[folds[j], row0 + i]``. Writes ``R[:, j]`` = the residuals of the gradient
    problems, then ``p t`` of the products; returns the loss sums per chunk of rows,
    (n_chunks, n_g), added in a fixed order by the caller.
    """
    b = Z.shape[0]
    n_folds = masks.shape[0]
    n_chunks = (b + chunk - 1) // chunk
    part = np.zeros((n_chunks, n_g))
    for c in numba.prange(n_chunks):
        lo = c * chunk
        hi = min(b, lo + chunk)
        acc = np.zeros(n_g)
        weight = np.empty(n_folds)
        for i in range(lo, hi):
            yi = float(y[i])
            si = float(s[i]) if has_s else 1.0
            for f in range(n_folds):
                weight[f] = si if masks[f, row0 + i] else 0.0
            for j in range(n_g):
                wi = weight[folds[j]]
                if wi == 0.0:  # not a training row of this problem (or weight 0)
                    R[i, j] = 0.0
                    continue
                z = float(Z[i, j])
                e = np.exp(-abs(z))
                q = e / (1.0 + e)
                r = (1.0 - yi) - q if z >= 0 else q - yi
                R[i, j] = r * wi
                acc[j] += wi * (max(z, 0.0) - yi * z + np.log1p(e))
            for j in range(n_p):
                e = np.exp(-abs(float(Z[i, n_g + j])))
                q = e / (1.0 + e)
                R[i, n_g + j] = weight[folds[n_g + j]] * q * (1.0 - q) * float(Z[i, n_g + n_p + j])
        part[c] = acc
    return part


@linear
def matvecs(X, lo, hi, Wt, b, Z):
    """``Z[i - lo, c] = X[i] . Wt[c] + b[c]`` for rows lo..hi (Wt: (k, d)), in X's dtype."""
    d = X.shape[1]
    k = Wt.shape[0]
    for i in range(lo, hi):
        for c in range(k):
            acc = X[i, 0] * 0
            for j in range(d):
                acc += X[i, j] * Wt[c, j]
            Z[i - lo, c] = acc + b[c]


@linear
def rank_k(X, lo, hi, R, Gt):
    """``Gt[c] += X[lo:hi]^T R[:, c]`` for every class c (Gt: (k, d), one chunk's sums)."""
    d = X.shape[1]
    k = Gt.shape[0]
    for i in range(lo, hi):
        for c in range(k):
            rc = R[i - lo, c]
            for j in range(d):
                Gt[c, j] += rc * X[i, j]


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
        e = np.empty(k)
        for i in range(hi - lo):
            top = 0
            m = float(Z[i, 0])
            for c in range(1, k):
                if Z[i, c] > m:
                    m = float(Z[i, c])
                    top = c
            others = 0.0
            for c in range(k):
                e[c] = 0.0 if c == top else np.exp(float(Z[i, c]) - m)
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
