"""The fit engine both estimators use: validated data, the source, the solver, the run.

An estimator holds scikit-learn's parameters; a fit turns them into explicit
``FitOptions`` and asks this module for the rest: ``prepare`` validates the data,
``solve`` picks the data source (``sources.source_for``), builds the objective, picks our
solver for the one the user named (``_params.our_solver``), runs it (``steps``: on
liblinear's objective where that solver was named) and explains a device that ran out of
memory (``guarded``). ``LogisticRegressionCV`` runs many problems at once through the same
``steps`` and ``guarded``, and its refit through ``solve``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, NamedTuple

import numpy as np

from . import _backend, _params, _validation
from .loss.liblinear import InterceptAsFeature
from .loss.models import for_classes
from .loss.objective import LogisticLoss
from .solvers import ITERATE, LIBLINEAR
from .solvers.iteration import run
from .sources import source_for


@dataclasses.dataclass(frozen=True)
class FitOptions:
    """How to fit, from an estimator's parameters (scikit-learn's names)."""

    solver: str
    tol: float
    max_iter: int
    verbose: int = 0
    fit_intercept: bool = True
    intercept_scaling: float = 1.0
    class_weight: Any = None
    device: Any = "auto"
    chunk_rows: Any = None  # rows per streamed chunk (device="cuda" with a host X)
    learning_rate: Any = None  # solver="gd" only: a fixed step


class Data(NamedTuple):
    """A fit's validated data (see ``prepare``)."""

    X: Any
    y: Any  # class indices, of X's dtype
    classes: Any
    sample_weight: Any  # None, or rescaled to a maximum of 1
    C: float  # scaled like the weights
    model: Any
    xp: Any


def prepare(X, y, sample_weight, C, options):
    """Validate X, y and sample_weight (NumPy, CuPy or Dask arrays of one kind) and return
    them as ``Data``: X, labels as class indices, the weights (class weights applied,
    rescaled to a maximum of 1) and the C to minimise with (scaled to match)."""
    _backend.parse_device(options.device)
    xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
    X = _validation.check_X(X, xp)
    n = X.shape[0]
    y_index, classes = _validation.check_y(y, n, X.dtype, xp)
    weights, scaled_C = _validation.check_sample_weight(
        sample_weight, n, X.dtype, xp, y_index=y_index, classes=classes,
        class_weight=options.class_weight, C=C)
    return Data(X, y_index, classes, weights, scaled_C, for_classes(len(classes)), xp)


def solve(data, options, C, *, x0=None, warm=None, l1_ratio=0.0, on_step=None):
    """Run the solver on ``data`` with ``C`` (and ``l1_ratio``) from ``x0`` (``[W; b]``
    raveled, in the solver's namespace), or from ``warm`` (a fitted ``(coef_, intercept_)``),
    or from zeros; returns ``(Result, LogisticLoss)``."""
    source = source_for(data.X, data.y, data.sample_weight,
                        fit_intercept=options.fit_intercept, device=options.device,
                        chunk_rows=options.chunk_rows)
    loss = LogisticLoss(source=source, C=C, model=data.model, l1_ratio=l1_ratio)
    name = _params.our_solver(options.solver, loss.k, l1_ratio, loss.n_params)
    check_hessian_fits(name, loss.n_params, data.xp)
    if options.solver == LIBLINEAR:  # liblinear starts from zero: its tol is relative to it
        x0 = warm = None
    if x0 is None:  # in the solver's namespace: the client's NumPy for Dask chunks
        x0 = (loss.layout.zeros(loss.xp) if warm is None else
              loss.layout.from_estimator(*warm, loss.xp))
    with guarded(source, data):
        result = run(steps(name, loss, x0, options, on_step=on_step,
                           liblinear_scale=liblinear_scale(data.y)), loss)
    return result, loss


def liblinear_scale(y, rows=None):
    """liblinear's factor on tol for a binary problem, ``max(min(pos, neg), 1) / n``, from
    the labels' class indices ``y`` (0/1) of the rows used (``rows``: a boolean mask)."""
    positive = y == 1
    n, pos = (y.shape[0], positive.sum()) if rows is None else \
        (rows.sum(), (positive & rows).sum())
    n, pos = int(_backend.materialize(n)), int(_backend.materialize(pos))
    return max(min(pos, n - pos), 1) / max(n, 1)


# OWL-QN iterations allowed per iteration of scikit-learn's liblinear (its max_iter) where
# OWL-QN runs liblinear's L1 problems (too wide for the proximal Newton solver): on sparse
# text features at C = 50 it needs ~8x liblinear's count to meet liblinear's stopping rule
LIBLINEAR_OWLQN_ITERATIONS = 10


def steps(name, objective, x0, options, *, memory=None, verbose=None, on_step=None,
          liblinear_scale=1.0):
    """Solver ``name``'s generator of evaluation requests on ``objective`` from ``x0``
    (``[W; b]``); for scikit-learn's ``"liblinear"``, with liblinear's stopping rule (the
    gradient's 2-norm, or for L1 the pseudo-gradient's 1-norm, below ``tol *
    liblinear_scale`` times its value at the start, zero) and, with an intercept, on
    liblinear's objective (``InterceptAsFeature``: the solver runs in ``[w, b /
    intercept_scaling]``), its Result's x brought back to ``[w, b]``. ``memory``: lbfgs's
    curvature pairs to start from."""
    kwargs = dict(tol=options.tol, max_iter=options.max_iter,
                  verbose=options.verbose if verbose is None else verbose, on_step=on_step)
    if options.learning_rate is not None:
        kwargs["learning_rate"] = options.learning_rate
    if memory is not None:
        kwargs["memory"] = memory
    if options.solver in ("sag", "saga"):  # their tol also bounds the weights' last change
        kwargs["step_tol"] = options.tol
    if options.solver == LIBLINEAR:
        kwargs.update(tol=options.tol * liblinear_scale, relative=True,
                      norm="l2" if name == "newton-cg" else "l1")
        if name == "owlqn":  # liblinear's max_iter counts Newton iterations, each a
            # coordinate-descent solve of a quadratic model: many OWL-QN iterations' worth
            kwargs["max_iter"] = options.max_iter * LIBLINEAR_OWLQN_ITERATIONS
    if options.solver != LIBLINEAR or not options.fit_intercept:
        return ITERATE[name](objective, x0, **kwargs)
    feature = InterceptAsFeature(objective, options.intercept_scaling)
    if on_step is not None:  # the solver's points are in u: report them as [w, b]
        kwargs["on_step"] = lambda n, f, g, u: on_step(n, f, g, feature.to_coef(u))
    return feature.solution(feature.steps(ITERATE[name](feature, feature.from_coef(x0),
                                                        **kwargs)))


def check_hessian_fits(solver, n_params, xp, count=1):
    """newton-cholesky forms ``count`` dense (p x p) float64 Hessians, p = (d + 1) k, and a
    Cholesky factor beside each: refuse, before allocating, where that exceeds the device's
    whole memory (wide X, such as sparse text features), saying which solvers fit."""
    if solver != "newton-cholesky":
        return
    need = 2 * count * 8 * n_params ** 2
    info = _backend.memory_info(xp)
    if info is not None and need > info[1]:
        raise MemoryError(
            f"solver='newton-cholesky' forms the dense Hessian of all {n_params:,} "
            f"coefficients and its Cholesky factor: {need / 2**30:,.1f} GiB, more than the "
            f"{info[1] / 2**30:,.1f} GiB of memory on {_backend.device_name(xp)}. It suits "
            "up to a few thousand features; for wide X use solver='lbfgs' or 'newton-cg' "
            "(memory linear in the number of features).")


@contextlib.contextmanager
def guarded(source, data):
    """Around a solve: NumPy's floating-point warnings off (a trial point may overflow, and
    solvers reject such points), out-of-memory errors explained, and the source's pinned and
    device buffers given back at the end (streamed X)."""
    try:
        with np.errstate(all="ignore"):
            yield
    except MemoryError as exc:  # also CuPy's OutOfMemoryError
        if hasattr(source, "describe"):  # streamed: the device ran out, not the host
            raise MemoryError(f"out of memory on {source.describe()} ({exc}). Pass a "
                              "smaller chunk_rows, or free device memory.") from exc
        raise MemoryError(_backend.out_of_memory_message(data.xp, data.X, exc)) from exc
    finally:
        if hasattr(source, "close"):
            source.close()  # pinned host memory and device buffers go back now
