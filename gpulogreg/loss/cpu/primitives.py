"""Compiled building blocks shared by the CPU kernels: exp and log1p in loops that
vectorise, a chunk's scores and ``X^T r`` from cache, and sums in a fixed order."""

import numpy as np

from .jit import cached_jit, elementwise, linear

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (fdlibm's), for exact reduction
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_EXP = (1.0, 1.0, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880,
        1 / 3628800, 1 / 39916800, 1 / 479001600, 1 / 6227020800)  # Taylor, r <= ln2/2
_ATANH = tuple(2.0 / (2 * j + 1) for j in range(12))  # log m = 2 atanh(s), |s| <= 0.172


@cached_jit(fastmath={"contract"}, nogil=True, error_model="numpy", inline="always")
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
