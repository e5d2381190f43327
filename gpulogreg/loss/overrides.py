"""Which code computes a pass for a block: the one place that decides (DESIGN.md 6, 6b).

Every pass has a reference implementation in plain ``xp`` code (``passes.reference``).
Where an override computes the same sums faster it is chosen here, per block, and tested
against the reference:

- **compiled CPU kernels** (``cpu``, C built at install): for a C-contiguous float32/float64
  NumPy block of a problem that asked for them (``compiled_for``, ``batch_compiled_for``:
  decided once per problem from the whole X). They chunk X themselves, so their passes ask
  for X in one block; the gradient+Hessian pass uses them for its loss and gradient, and
  for its Gram matrices up to ``cpu.GRAM_MAX_FEATURES`` columns (beyond, the pass stays
  on NumPy: BLAS's SYRK, whose idle threads spin, would slow the kernels' threads).
- **one-pass CUDA kernels** (``cuda.logistic_grad``, ``cuda.logistic_hessp``): X read once
  for the binomial loss + gradient or Hessian product of a C-contiguous CuPy block, when
  switched on (``cuda.ONE_PASS``: off by default until measured on a GPU).
- **fused CUDA elementwise kernels** (``cuda.sigmoid_residual``, ``cuda.softmax_residual``):
  the reference pass with the residual step fused, for other CuPy blocks, unless the pass
  says ``fused=False`` (a model batch's elementwise step, or a test of one path by the other).

Everything else runs the reference.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _backend
from . import cpu, cuda
from .models import hessian_weight

_FLOATS = (np.float32, np.float64)


def compiled_for(source) -> bool:
    """Whether a problem on ``source`` uses the compiled CPU kernels: a C-contiguous float32
    or float64 NumPy X computed on the CPU (never Dask, CuPy, or a host X streamed through
    the GPU), large enough (``cpu.MIN_ELEMENTS``) and not too wide (``cpu.MAX_FEATURES``),
    with the kernels built and not switched off."""
    X = source.X
    return (source.xp is np and _backend.is_host_array(X) and X.dtype in _FLOATS
            and X.flags.c_contiguous and X.size >= cpu.MIN_ELEMENTS
            and X.shape[1] <= cpu.MAX_FEATURES and cpu.enabled())


def batch_compiled_for(model, n_rows, n_problems, xp) -> bool:
    """Whether a model batch uses the compiled CPU kernels: binomial, on NumPy, from
    ``cpu.BATCH_MIN_ENTRIES`` (row, problem) entries (below that, loading the kernels
    would not pay)."""
    return (model.k == 1 and xp is np and n_rows * n_problems >= cpu.BATCH_MIN_ENTRIES
            and cpu.enabled())


def _compiled_block(pass_, X) -> bool:
    return pass_.compiled and _backend.is_host_array(X) and X.flags.c_contiguous


def _one_pass_block(pass_, X) -> bool:
    """A binomial, C-contiguous float32/float64 CuPy block of at most
    ``cuda.ONE_PASS_MAX_FEATURES`` columns, with the one-pass kernels switched on."""
    return (cuda.ONE_PASS and pass_.k == 1 and pass_.fused is not False
            and _backend.is_gpu(_backend.get_namespace(X=X)) and X.ndim == 2
            and X.dtype in _FLOATS and X.flags.c_contiguous
            and X.shape[1] <= cuda.ONE_PASS_MAX_FEATURES and X.shape[0] > 0)


def choose(pass_, rows, X):
    """The function computing ``pass_`` for the block ``X`` (rows ``rows`` of the data
    set), called as ``f(rows, X, y, s)``: an override where one applies (module
    docstring), else the pass's reference."""
    kind = pass_.kind
    if kind == "loss_gradient":
        if _compiled_block(pass_, X):
            return functools.partial(_compiled_loss_gradient, pass_)
        if _one_pass_block(pass_, X):
            return functools.partial(_one_pass_loss_gradient, pass_)
        if pass_.fused is not False and _backend.is_gpu(_backend.get_namespace(X=X)):
            return functools.partial(pass_.reference, residual=_FUSED[pass_.k == 1])
    elif kind == "hessp" and pass_.p is not None:
        if _compiled_block(pass_, X):
            return functools.partial(_compiled_hessp, pass_)
        if _one_pass_block(pass_, X):
            return functools.partial(_one_pass_hessp, pass_)
    elif kind == "gradient_hessian" and _compiled_block(pass_, X) \
            and X.shape[1] <= cpu.GRAM_MAX_FEATURES[X.dtype]:
        return functools.partial(pass_.reference, gram=cpu.weighted_gram)
    elif kind == "batch" and pass_.compiled:
        if _compiled_block(pass_, X) and (rows.start or 0) == 0:
            return functools.partial(_compiled_batch_pass, pass_)
        return functools.partial(pass_.reference,
                                 elementwise=functools.partial(_compiled_batch_step, pass_))
    return pass_.reference


# --- the fused CUDA elementwise step, in the signature of the models' residual_and_loss --

def _fused_binomial(z, y, s, xp, curvature_out=None):
    if curvature_out is not None:
        curvature_out[...] = hessian_weight(z, s, xp)
    return cuda.sigmoid_residual(z, y, s)


def _fused_multinomial(Z, y, s, xp, curvature_out=None):
    R, l, P = cuda.softmax_residual(Z, y, s, want_p=curvature_out is not None)
    if curvature_out is not None:
        curvature_out[...] = P
    return R, l


_FUSED = {True: _fused_binomial, False: _fused_multinomial}


# --- the overrides, in the signature of a pass: (rows, X, y, s) -> partial sums ----------

def _compiled_loss_gradient(pass_, rows, X, y, s):
    p_out = None if pass_.p_out is None else pass_.p_out[rows]
    if pass_.k == 1:
        return cpu.loss_gradient(X, y, s, pass_.coef, pass_.layout, p_out)
    return cpu.multinomial_loss_gradient(X, y, s, pass_.coef, pass_.layout, p_out)


def _compiled_hessp(pass_, rows, X, y, s):
    if pass_.k == 1:
        return (cpu.hessp(X, pass_.p[rows], pass_.v, pass_.layout),)
    return (cpu.multinomial_hessp(X, pass_.p[rows], s, pass_.v, pass_.layout),)


def _one_pass_loss_gradient(pass_, rows, X, y, s):
    p_out = None if pass_.p_out is None else pass_.p_out[rows]
    loss, grad = cuda.logistic_grad(X, y, s, pass_.coef, p_out)
    return loss, grad[:pass_.n_params]


def _one_pass_hessp(pass_, rows, X, y, s):
    return (cuda.logistic_hessp(X, pass_.p[rows], pass_.v)[:pass_.n_params],)


def _compiled_batch_pass(pass_, rows, X, y, s):
    """A binomial batch's whole pass in one read of X (``cpu.batch_binomial_pass``)."""
    V = pass_.V.astype(X.dtype)
    return cpu.batch_binomial_pass(X, y, s, pass_.masks, pass_.folds, V[:, :, 0], pass_.n_g,
                                   pass_.n_p)


def _compiled_batch_step(pass_, Z, y, s, first, R):
    """A binomial batch's elementwise step between BLAS's products (an X that is not
    C-contiguous), in the signature of ``BatchPass._elementwise``."""
    b = Z.shape[0]
    return cpu.batch_binomial(Z.reshape(b, -1), y, s, pass_.masks, first, pass_.folds,
                              pass_.n_g, pass_.n_p, R.reshape(b, -1))
