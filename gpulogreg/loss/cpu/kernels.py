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


# Only the linear-algebra loops and the sums (``total``) may reassociate (so their
# reductions vectorise) and contract to FMA; the loss and residual arithmetic stays IEEE.
# The order is fixed by the compiled code, so results are still bitwise reproducible.
linear = _jit(fastmath={"reassoc", "contract"}, nogil=True)
parallel = _jit(parallel=True, nogil=True)
# The per-row math: no reassociation (each row's value is fixed), FMA where it contracts;
# NumPy's error model (no ZeroDivisionError checks: their branches keep loops scalar)
elementwise = _jit(fastmath={"contract"}, nogil=True, error_model="numpy")

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (fdlibm's), for exact reduction
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_EXP = (1.0, 1.0, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880,
        1 / 3628800, 1 / 39916800, 1 / 479001600, 1 / 6227020800)  # Taylor, r <= ln2/2
_ATANH = tuple(2.0 / (2 * j + 1) for j in range(12))  # log m = 2 atanh(s), |s| <= 0.172


@_jit(fastmath={"contract"}, nogil=True, error_model="numpy", inline="always")
def horner(c, x):
    """``c[0] + c[1] x + ... + c[m] x^m`` by Horner's rule (inlined: the loop over the
    constant coefficients unrolls, and the caller's loop over rows still vectorises)."""
    p = c[len(c) - 1]
    for j in range(len(c) - 2, -1, -1):
        p = p * x + c[j]
    return p


@elementwise
def exp_nonpositive(x, e, b1, b2):
    """``e[i] = exp(x[i])`` for ``x[i] <= 0``, within 1 ulp of NumPy's, in loops with no
    calls and no branches, so that they vectorise (libm's exp is a call per row): with
    ``x = k ln2 + r``, ``|r| <= ln2 / 2``, ``exp(r)`` by its Taylor polynomial to degree 13
    (truncation below 2^-60) and ``2^k`` as two powers of two built from their bits
    (``b1``, ``b2``: int64 scratch), which reach the subnormals as exp does. ``x`` and ``e``
    must be distinct arrays: for one array passed as both, LLVM's run-time alias check
    fails and the loops run scalar (3.6 instead of 0.6 ms for 2M values, 2 cores)."""
    n = x.shape[0]
    for i in range(n):
        xi = max(x[i], -1400.0)  # exp underflows to 0 long before; keeps the bits valid
        k = np.floor(xi * _LOG2E + 0.5)
        r = (xi - k * _LN2_HI) - k * _LN2_LO
        e[i] = horner(_EXP, r)
        ki = np.int64(k)
        half = ki >> 1
        b1[i] = (half + 1023) << 52
        b2[i] = (ki - half + 1023) << 52
    f1 = b1.view(np.float64)
    f2 = b2.view(np.float64)
    for i in range(n):
        e[i] = e[i] * f1[i] * f2[i]


@elementwise
def log1p_unit(e, out):
    """``out[i] = log1p(e[i])`` for ``0 <= e[i] <= 1``, within a few ulp of NumPy's, in a
    loop with no call (libm's log1p is one per row) that vectorises: ``u = 1 + e`` halved
    above sqrt(2), ``log m = 2 atanh(s)`` with ``s = (m - 1) / (m + 1)`` (``m - 1`` exact),
    and the rounding of ``1 + e`` corrected (``log1p(e) = log(u) e / (u - 1)``, exact
    ``u - 1``)."""
    for i in range(e.shape[0]):
        ei = e[i]
        u = 1.0 + ei
        big = u > _SQRT2
        m = u * 0.5 if big else u
        s = (m - 1.0) / (m + 1.0)
        s2 = s * s
        q = horner(_ATANH, s2)
        k = 1.0 if big else 0.0
        log_u = (k * _LN2_HI + s * q) + k * _LN2_LO
        d = u - 1.0
        out[i] = log_u * (ei / d) if d != 0.0 else ei


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
def total(a):
    """The sum of ``a`` in float64, in an order fixed by the compiled code (vectorised)."""
    acc = 0.0
    for i in range(a.shape[0]):
        acc += float(a[i])
    return acc


@linear
def rank1(X, lo, hi, r, g):
    """``g += X[lo:hi]^T r`` (g of X's dtype: one chunk's partial sums), four rows at a time:
    one load and store of g for four products (at d = 8 the pass's costliest loop). This and
    ``matvec`` are ``rank_k`` and ``matvecs`` for one column, kept apart: called on (n, 1)
    views those ran the binomial pass 1.4-1.5x slower (3.5 vs 5.3 ms at d = 64, 2-core EPYC)."""
    d = X.shape[1]
    i = lo
    while i + 4 <= hi:
        r0 = r[i - lo]
        r1 = r[i + 1 - lo]
        r2 = r[i + 2 - lo]
        r3 = r[i + 3 - lo]
        for j in range(d):
            g[j] += r0 * X[i, j] + r1 * X[i + 1, j] + r2 * X[i + 2, j] + r3 * X[i + 3, j]
        i += 4
    while i < hi:
        ri = r[i - lo]
        for j in range(d):
            g[j] += ri * X[i, j]
        i += 1


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
def tails(ZT):
    """``E = exp(-|z|)`` and ``L = log1p(E)`` of every score of ``ZT`` (cols, rows), float64,
    in vectorised loops (``exp_nonpositive``, ``log1p_unit``): a chunk's scores (one row
    for the binomial pass; every column of a batch, the directions' too: cheaper than
    skipping them)."""
    cols, rows = ZT.shape
    neg = np.empty((cols, rows))
    for j in range(cols):
        for i in range(rows):
            neg[j, i] = -abs(float(ZT[j, i]))
    m = cols * rows
    E = np.empty((cols, rows))
    exp_nonpositive(neg.reshape(m), E.reshape(m), np.empty(m, dtype=np.int64),
                    np.empty(m, dtype=np.int64))
    L = np.empty((cols, rows))
    log1p_unit(E.reshape(m), L.reshape(m))
    return E, L


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


@linear
def matvecs(X, lo, hi, Wt, b, Z):
    """``Z[i - lo, c] = X[i] . Wt[c] + b[c]`` for rows lo..hi (Wt: (k, d)), in X's dtype;
    four classes at a time: one load of X[i, j] for four products."""
    d = X.shape[1]
    k = Wt.shape[0]
    for i in range(lo, hi):
        c = 0
        while c + 4 <= k:
            a0 = X[i, 0] * 0
            a1 = a0
            a2 = a0
            a3 = a0
            for j in range(d):
                x = X[i, j]
                a0 += x * Wt[c, j]
                a1 += x * Wt[c + 1, j]
                a2 += x * Wt[c + 2, j]
                a3 += x * Wt[c + 3, j]
            Z[i - lo, c] = a0 + b[c]
            Z[i - lo, c + 1] = a1 + b[c + 1]
            Z[i - lo, c + 2] = a2 + b[c + 2]
            Z[i - lo, c + 3] = a3 + b[c + 3]
            c += 4
        while c < k:
            acc = X[i, 0] * 0
            for j in range(d):
                acc += X[i, j] * Wt[c, j]
            Z[i - lo, c] = acc + b[c]
            c += 1


@linear
def rank_k(X, lo, hi, R, Gt):
    """``Gt[c] += X[lo:hi]^T R[:, c]`` for every class c (Gt: (k, d), one chunk's sums), four
    rows at a time as ``rank1``."""
    d = X.shape[1]
    k = Gt.shape[0]
    i = lo
    while i + 4 <= hi:
        for c in range(k):
            r0 = R[i - lo, c]
            r1 = R[i + 1 - lo, c]
            r2 = R[i + 2 - lo, c]
            r3 = R[i + 3 - lo, c]
            for j in range(d):
                Gt[c, j] += r0 * X[i, j] + r1 * X[i + 1, j] + r2 * X[i + 2, j] + r3 * X[i + 3, j]
        i += 4
    while i < hi:
        for c in range(k):
            rc = R[i - lo, c]
            for j in range(d):
                Gt[c, j] += rc * X[i, j]
        i += 1


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
