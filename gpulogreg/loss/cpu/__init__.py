"""Compiled CPU overrides of the passes: one read of X, every core, deterministic.

The passes in ``loss.passes`` are the reference; these kernels compute the same sums for a
C-contiguous float32 or float64 NumPy X and are tested against them; ``loss.overrides``
decides which blocks use them. They are C (``kernels.c``, ``kernels_impl.h``), compiled when
the package is installed (``setup.py``: ``pip install .`` builds them, as scikit-learn's
and glum's are), each hot function three times for the x86-64 levels v4 (AVX-512), v3
(AVX2 + FMA) and the baseline, the widest the CPU has chosen when the library loads. Where
they could not be built (no C compiler), everything runs on the NumPy path; so it does with
``GPULOGREG_DISABLE_CPU_KERNELS=1``.

A kernel walks fixed chunks of rows (``_chunk_rows``): ``z = X w + b`` for a chunk, the
stable residual and loss of each row (in float64, IEEE), then ``X^T r`` from cache, so X is
read from memory once. Products are accumulated in X's dtype within a chunk, as BLAS does on
the NumPy path; each chunk writes its sums to a row of its own, and the rows are added in
float64 in a fixed order: the result does not depend on the number of threads.

Threads (``num_threads``, the one place that decides): the kernels are workers that take
chunks from a shared counter; this module runs one in the calling thread and the others in
a pool of Python threads (ctypes releases the GIL). A thread on a busy core simply takes
fewer chunks, and idle threads sleep on a lock: nothing spins against BLAS's threads or
another process. No BLAS is called inside a compiled pass.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import functools
import os

import numpy as np

_CHUNK_ROWS = 1024  # at most; a chunk's rows are read twice (z, then X^T r) from cache
_CHUNK_BYTES = 1 << 19  # so a chunk of rows fits in one core's L2 with room to spare
# Wider X stay on NumPy: from d ~ 2000 its BLAS passes are as fast (measured: README)
MAX_FEATURES = 1024
# Smaller X stay on NumPy (there is no compile or load to repay: this only keeps tests able
# to choose; see tests/kernels/test_cpu_kernels.py)
MIN_ELEMENTS = 0
# A binomial model batch's elementwise step is compiled from this many (row, problem)
# entries per pass
BATCH_MIN_ENTRIES = 0
# a batch pass's sums are kept per group of chunks: this many groups (a fixed number, so the
# order of the sums does not depend on the threads), each holding every problem's d sums
_BATCH_GROUPS = 64

_I64, _PTR = ctypes.c_int64, ctypes.c_void_p
# argument kinds of each worker (kernels_impl.h): P pointer, I int64, S scalar of X's dtype;
# every worker ends with (counter, part)
_SIGNATURES = {
    "loss_gradient": "PIIPPPSPI",
    "hessp": "PIIPPSI",
    "multinomial_loss_gradient": "PIIPPPPIPI",
    "multinomial_hessp": "PIIPPPPII",
    "batch_pass": "PIIPPPIPPPIIII",
    "batch_step": "PIIPPPIIPIIPI",
    "gram": "PIIPI",
}
# The Hessian's weighted Gram matrix is compiled up to this many features: below it the
# pass is memory-bound and the compiled one reads X once; above, BLAS's SYRK (compute-bound,
# n d^2 / 2 products) is faster. The compiled one multiplies in float64, so for float32 X
# (whose SYRK runs at twice the width) the bound is lower. Measured: README.
GRAM_MAX_FEATURES = {np.dtype(np.float64): 128, np.dtype(np.float32): 32}


def enabled() -> bool:
    """True when the compiled passes may be used (built, and not switched off)."""
    if os.environ.get("GPULOGREG_DISABLE_CPU_KERNELS", "0") not in ("", "0"):
        return False
    return _library() is not None


def num_threads() -> int:
    """The compiled passes' thread budget: ``GPULOGREG_NUM_THREADS`` if set, else the cores
    this process may run on."""
    value = os.environ.get("GPULOGREG_NUM_THREADS", "")
    if value.strip():
        return max(1, int(value))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def status() -> str:
    """One line for the demo: whether the compiled passes are on, and which code runs."""
    if os.environ.get("GPULOGREG_DISABLE_CPU_KERNELS", "0") not in ("", "0"):
        return "compiled CPU passes: off (GPULOGREG_DISABLE_CPU_KERNELS is set)"
    lib = _library()
    if lib is None:
        return "compiled CPU passes: not built (no C compiler at install): NumPy path"
    return (f"compiled CPU passes (C, built at install): {lib.gpulogreg_isa().decode()} code, "
            f"{num_threads()} threads, float32/float64 C-ordered X of <= {MAX_FEATURES} "
            f"features")


@functools.lru_cache(maxsize=1)
def _library():
    """The compiled kernels (ctypes), or None where they were not built."""
    try:
        from . import kernels  # the extension setup.py builds: a module only to be found
    except ImportError:
        return None
    lib = ctypes.CDLL(kernels.__file__)
    lib.gpulogreg_isa.restype = ctypes.c_char_p
    for name, kinds in _SIGNATURES.items():
        for suffix, scalar in (("f64", ctypes.c_double), ("f32", ctypes.c_float)):
            fn = getattr(lib, f"{name}_{suffix}")
            fn.argtypes = [{"P": _PTR, "I": _I64, "S": scalar}[c] for c in kinds] + [_PTR, _PTR]
            fn.restype = ctypes.c_int
    return lib


@functools.lru_cache(maxsize=4)
def _pool(workers, pid):
    """The pool of ``workers`` threads of process ``pid`` (a forked child, whose copy of its
    parent's pool has no threads, makes its own)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                                 thread_name_prefix="gpulogreg-cpu")


def _ptr(a):
    return None if a is None else a.ctypes.data


def _run(name, X, args, n_tasks, width):
    """Run the worker ``name`` (for X's dtype) on ``args`` over ``n_tasks`` tasks, on up to
    ``num_threads()`` threads; returns their partial sums, (n_tasks, width) float64."""
    fn = getattr(_library(), f"{name}_{'f32' if X.dtype == np.float32 else 'f64'}")
    part = np.zeros((n_tasks, width))
    counter = np.zeros(1, dtype=np.int64)
    call = functools.partial(fn, *args, counter.ctypes.data, part.ctypes.data)
    threads = min(num_threads(), n_tasks)
    others = [_pool(threads - 1, os.getpid()).submit(call) for _ in range(threads - 1)]
    codes = [call()] + [f.result() for f in others]
    if any(codes):
        raise MemoryError(f"the compiled CPU pass {name} could not allocate its scratch")
    return part


def _chunk_rows(X):
    """Rows per chunk: ``_CHUNK_BYTES`` of X, between 32 and ``_CHUNK_ROWS``."""
    return min(_CHUNK_ROWS, max(32, _CHUNK_BYTES // (X.shape[1] * X.dtype.itemsize)))


def _vector(a, dtype, shape=None):
    """``a`` as a C-contiguous array of ``dtype`` (None stays None): y, s and coefficients,
    which the sources already hold in X's dtype, so this copies nothing for them."""
    if a is None:
        return None
    return np.ascontiguousarray(a, dtype=dtype)


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


def _common(X):
    n, d = X.shape
    chunk = _chunk_rows(X)
    return n, d, chunk, -(-n // chunk)


def loss_gradient(X, y, s, coef, layout, p_out=None):
    """``(sum s l, [X, 1]^T r)`` as ``LossGradient`` computes them, plus ``p_out`` if given."""
    n, d, chunk, n_chunks = _common(X)
    w, b = _weights(coef, layout, X.dtype)
    y, s = _vector(y, X.dtype), _vector(s, X.dtype)
    total = _run("loss_gradient", X, (_ptr(X), n, d, _ptr(y), _ptr(s), _ptr(w), b[0],
                                      _ptr(p_out), chunk), n_chunks, d + 2).sum(axis=0)
    return total[d + 1], total[:layout.n_params]  # [X^T r, sum r]: [w, b] raveled


def hessp(X, p, v, layout):
    """``[X, 1]^T (p (X v_w + v_b))`` as ``HessianProduct`` computes it."""
    n, d, chunk, n_chunks = _common(X)
    v_w, v_b = _weights(v, layout, X.dtype)
    p = _vector(p, X.dtype)
    part = _run("hessp", X, (_ptr(X), n, d, _ptr(p), _ptr(v_w), v_b[0], chunk), n_chunks,
                d + 1)
    return part.sum(axis=0)[:layout.n_params]


def multinomial_loss_gradient(X, y, s, coef, layout, p_out=None):
    """``(sum s l, [X, 1]^T R raveled)`` as ``LossGradient`` computes them for the multinomial
    model, plus the softmax in ``p_out`` (n, k) if given."""
    n, d, chunk, n_chunks = _common(X)
    k = layout.k
    Wt, b = _weights(coef, layout, X.dtype)
    y, s = _vector(y, X.dtype), _vector(s, X.dtype)
    total = _run("multinomial_loss_gradient", X,
                 (_ptr(X), n, d, _ptr(y), _ptr(s), _ptr(Wt), _ptr(b), k, _ptr(p_out), chunk),
                 n_chunks, k * d + k + 1).sum(axis=0)
    return total[-1], _unpack(total, layout)


def multinomial_hessp(X, P, s, v, layout):
    """``[X, 1]^T U`` raveled, ``U = s (P T - P (P . T))``, ``T = [X, 1] V``, as
    ``HessianProduct`` computes it for the multinomial model with the stored softmax P."""
    n, d, chunk, n_chunks = _common(X)
    k = layout.k
    Vt, v_b = _weights(v, layout, X.dtype)
    P, s = _vector(P, X.dtype), _vector(s, X.dtype)
    part = _run("multinomial_hessp", X,
                (_ptr(X), n, d, _ptr(P), _ptr(s), _ptr(Vt), _ptr(v_b), k, chunk), n_chunks,
                k * d + k)
    return _unpack(part.sum(axis=0), layout)


def weighted_gram(X, w):
    """``(X^T diag(w) X (d, d), X^T w (d,), sum w)`` in float64 for a C-contiguous X, any sign
    of ``w`` (X's dtype): one read of X, the rows split into a fixed number of groups (from
    n and d only) whose sums are added in order."""
    n, d = X.shape
    w = _vector(w, X.dtype)
    groups = max(1, min(64, n // max(256, 16 * d)))
    total = _run("gram", X, (_ptr(X), n, d, _ptr(w), groups), groups,
                 d * d + d + 1).sum(axis=0)
    U = total[:d * d].reshape(d, d)
    return np.triu(U) + np.triu(U, 1).T, total[d * d:d * d + d], total[-1]


def _masks(masks):
    """The fold masks (folds, n) as uint8 rows, and their row stride."""
    m = np.ascontiguousarray(masks, dtype=np.bool_).view(np.uint8)
    return m, m.shape[1]


def batch_binomial_pass(X, y, s, masks, folds, V, n_g, n_p):
    """A binomial model batch's whole pass (``BatchPass``) in one read of X (C-contiguous;
    ``masks`` indexed from its row 0) for the stacked coefficients ``V`` (P, cols) in X's
    dtype: per chunk of rows the scores of every column (n_g gradient problems, n_p
    curvature points, n_p directions), the elementwise step, then ``X^T R`` from cache.
    Returns ``(losses (n_g,), G (P, n_g + n_p))`` as ``BatchPass`` does; the sums are kept
    per group of chunks (``_BATCH_GROUPS``, never the number of threads) and added in order."""
    n, d, chunk, n_chunks = _common(X)
    n_out = n_g + n_p
    vb = V[d] if V.shape[0] > d else np.zeros(V.shape[1], dtype=X.dtype)
    Vt, vb = np.ascontiguousarray(V[:d].T, dtype=X.dtype), _vector(vb, X.dtype)
    groups = max(1, min(_BATCH_GROUPS, n_chunks))
    y, s = _vector(y, X.dtype), _vector(s, X.dtype)
    m, ld = _masks(masks)
    folds = _vector(folds, np.int64)
    total = _run("batch_pass", X, (_ptr(X), n, d, _ptr(y), _ptr(s), _ptr(m), ld, _ptr(folds),
                                   _ptr(Vt), _ptr(vb), n_g, n_p, chunk, groups),
                 groups, n_out * d + n_out + n_g).sum(axis=0)
    G = np.empty((V.shape[0], n_out))
    G[:d] = total[:n_out * d].reshape(n_out, d).T
    if V.shape[0] > d:
        G[d] = total[n_out * d:n_out * d + n_out]
    return total[n_out * d + n_out:], G


def batch_binomial(Z, y, s, masks, row0, folds, n_g, n_p, R):
    """The elementwise step of a binomial model batch for a piece of rows whose scores
    ``Z`` (b, n_g + 2 n_p; C-contiguous) BLAS formed (an X that is not C-contiguous): row i
    of problem j has weight ``s[i] * masks[folds[j], row0 + i]``. Writes ``R`` (b, n_g +
    n_p; C-contiguous): the gradient problems' residuals, then the products' ``p t``;
    returns the n_g loss sums."""
    b, cols = Z.shape
    chunk = 256
    y, s = _vector(y, Z.dtype), _vector(s, Z.dtype)
    m, ld = _masks(masks)
    folds = _vector(folds, np.int64)
    part = _run("batch_step", Z, (_ptr(Z), b, cols, _ptr(y), _ptr(s), _ptr(m), ld, row0,
                                  _ptr(folds), n_g, n_p, _ptr(R), chunk), -(-b // chunk), n_g)
    return part.sum(axis=0)
