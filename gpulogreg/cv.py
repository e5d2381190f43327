"""``LogisticRegressionCV``: the C grid and every cross-validation fold fitted together.

scikit-learn fits one model per fold and C, each on a copy of the fold's rows, along the
path of Cs (each C warm-started from the C before). Here a fold is a weight mask on the
whole X (never a copy), and the folds' paths run side by side in one model batch
(``_batch``): each C of a path starts from the solution of the C before, as in
scikit-learn (lbfgs also from its curvature pairs, made the next C's: ``_carried``), and
each round of the solvers still running is answered by one pass over X.
The folds' test scores come from one more pass (the decision values of every model on its
fold's test rows), and with ``refit`` the best C is fitted on all rows, warm-started from
the folds' mean, as scikit-learn does.
"""

from __future__ import annotations

import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets

from . import _backend, _validation
from .loss import models
from .solvers.batch import ModelBatch
from .sources import source_for, source_kind
from .estimator import (LogisticRegression, _check_hessian_fits, _coef_intercept, _FitTasks,
                        _guarded, with_callbacks)

# scikit-learn 1.9's FutureWarnings for the defaults it is about to change, word for word
_L1_RATIOS_DEFAULT = (
    "The default value for l1_ratios will change from None to (0.0,) in version 1.10. From "
    "version 1.10 onwards, only array-like with values in [0, 1] will be allowed, None will "
    "be forbidden. To avoid this warning, explicitly set a value, e.g. l1_ratios=(0,).")
_L1_RATIOS_NONE = (
    "'l1_ratios=None' was deprecated in version 1.8 and will trigger an error in 1.10. Use an "
    "array-like with values in [0, 1] instead.")
_PENALTY = (
    "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this "
    "warning, leave 'penalty' set to its default value and use 'l1_ratios' and 'Cs' instead. "
    "Use l1_ratios=(0,) instead of penalty='l2', l1_ratios=(1,) instead of penalty='l1', "
    "l1_ratios set to floats between 0 and 1 instead of penalty='elasticnet', and "
    "Cs=(np.inf,) instead of penalty=None.")
_SCORING = (
    "The default value of the parameter 'scoring' will change from None, i.e. accuracy, to "
    "'neg_log_loss' in version 1.11. To silence this warning, explicitly set the scoring "
    "parameter: scoring='neg_log_loss' for the new, scoring='accuracy' or scoring=None for "
    "the old default.")
_LEGACY = (
    "The fitted attributes of {name} will be simplified in scikit-learn 1.10 to remove "
    "redundancy. Set`use_legacy_attributes=False` to enable the new behavior now, or set it "
    "to `True` to silence this warning during the transition period while keeping the "
    "deprecated behavior for the time being. The default value of use_legacy_attributes will "
    "change from True to False in scikit-learn 1.10. See the docstring of {name} for more "
    "details.")

_SCORE_BYTES = 1 << 26  # test-row decision values are computed in pieces of about this size



def _check_Cs(Cs):
    """The grid of C: ``Cs`` values from 1e-4 to 1e4 for an int, else the given values, which
    must be a non-empty 1-D list of positive numbers (``np.inf``: no penalty)."""
    if isinstance(Cs, Integral):
        return np.logspace(-4, 4, Cs)
    try:
        values = np.asarray(Cs)
        if values.dtype.kind not in "iuf":
            raise TypeError
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"Cs must be an int or a 1-D list of positive numbers; got {Cs!r}.") \
            from None
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"Cs must be an int or a non-empty 1-D list of positive numbers; got "
                         f"shape {values.shape}.")
    if not np.all(values > 0):  # NaN fails this too
        raise ValueError(f"Cs must hold positive numbers (np.inf: no penalty); got {Cs!r}.")
    return values


def _carried(memory, old, new):
    """lbfgs's curvature pairs ``(s, y)`` of objective ``old`` made those of ``new`` (another
    C): y, the change of the gradient along s, is a data part, the same for both, plus the
    L2 part ``s_W / (C S)``, which is swapped. A pair whose y is mostly the old L2 part (a
    small C) is left out: its data part would be the difference of nearly equal vectors,
    rounding noise that two equal fits (weights or repeated rows) need not share."""
    out = []
    for s, y in memory:
        old_l2 = old.penalty_gradient(s)
        if float((old_l2 * old_l2).sum()) <= 0.25 * float((y * y).sum()):
            out.append((s, y - old_l2 + new.penalty_gradient(s)))
    return out


def _fold_rows(rows, n, which):
    """A fold's rows as indices: a boolean mask of n entries, or indices in [0, n), as
    scikit-learn accepts them from ``cv``."""
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise ValueError(f"cv gave a boolean {which} mask of shape {rows.shape}; expected "
                             f"({n},), one entry per row of X.")
        return np.flatnonzero(rows)
    if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
        raise ValueError(f"cv must give {which} rows as 1-D integer indices or a boolean "
                         f"mask; got dtype {rows.dtype}, shape {rows.shape}.")
    if rows.size and not (-n <= rows.min() and rows.max() < n):
        raise ValueError(f"cv gave {which} row indices outside 0..{n - 1}.")
    return rows.astype(np.intp) % n

class LogisticRegressionCV(LogisticRegression):
    """Logistic regression with built-in cross-validation of ``C``, scikit-learn 1.9's
    ``LogisticRegressionCV`` (same parameters, attributes, scores and choice of ``C_``),
    binomial or multinomial, on NumPy or CuPy data.

    All folds are fitted together: fold f's model for C is the problem with row weights
    ``sample_weight * [row in fold f's training set]`` and that C, started from fold f's
    solution for the C before it in ``Cs`` (as scikit-learn's path; lbfgs keeps its
    curvature pairs, adjusted to the new C, where scikit-learn's restarts its memory: fewer
    iterations, ``n_iter_`` lower than scikit-learn's), and every round of the
    solvers of all folds costs one pass over X (X is never copied, unlike scikit-learn's
    per-fold ``X[train]``). The test scores of every fold and C come from one more pass.

    Parameters
    ----------
    Cs : int or array-like, default=10
        The grid of C; an int n means ``np.logspace(-4, 4, n)``.
    l1_ratios : array-like, None or "warn", default="warn"
        Only zeros (pure L2) are searched; "warn" and None mean L2, with scikit-learn's
        FutureWarnings. (``LogisticRegression`` itself fits L1 and elastic-net.)
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn: None means 5-fold ``StratifiedKFold``.
    scoring : str, callable, None or "warn", default="warn"
        A scikit-learn scorer name or ``scorer(estimator, X, y)``; None (and "warn", with
        scikit-learn's FutureWarning) is accuracy. A scorer is handed, for each fold and C,
        an estimator holding that model's decision values on the fold's test rows and, in
        place of ``X[test]``, the test rows' indices into X: its ``predict*`` and
        ``decision_function`` accept any of those indices.
    refit : bool, default=True
        Refit the best C (best mean score over folds) on all rows, warm-started from the
        folds' mean coefficients; else average the folds' best models.
    solver, tol, max_iter, class_weight, fit_intercept, verbose, device
        As for ``LogisticRegression``; every solver is batched (newton-cholesky's Hessians
        are formed one problem at a time).
    dual, penalty, intercept_scaling, random_state, n_jobs
        Accepted for compatibility, as in ``LogisticRegression``; ``n_jobs`` has no effect
        (the batch computes every fold at once).
    use_legacy_attributes : bool or "warn", default="warn"
        scikit-learn 1.9's switch between the legacy attribute layout (dicts per class) and
        the new one; "warn" keeps the legacy layout, with its FutureWarning.

    Attributes
    ----------
    Cs_, C_, l1_ratios_, l1_ratio_, coefs_paths_, scores_, n_iter_, coef_, intercept_,
    classes_, n_features_in_, feature_names_in_: as in scikit-learn.
    """

    _parameter_constraints: dict = {
        key: value for key, value in LogisticRegression._parameter_constraints.items()
        if key not in ("C", "warm_start", "l1_ratio", "learning_rate", "chunk_rows")
    }
    _parameter_constraints.update({
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None,
                    Hidden(StrOptions({"warn"}))],
        "refit": ["boolean"],
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}), Hidden(StrOptions({"deprecated"}))],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    })

    def __init__(self, *, Cs=10, l1_ratios="warn", fit_intercept=True, cv=None, dual=False,
                 penalty="deprecated", scoring="warn", solver="lbfgs", tol=1e-4, max_iter=100,
                 class_weight=None, n_jobs=None, verbose=0, refit=True, intercept_scaling=1.0,
                 random_state=None, use_legacy_attributes="warn", device="auto"):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes
        self.device = device

    def _options(self):
        """Validate the parameters as scikit-learn 1.9 does (same errors and FutureWarnings);
        return ``(l1_ratios, scoring, use_legacy_attributes)`` after the defaults."""
        self._validate_params()
        level = 3 + _validation.FIT_FRAMES  # warnings point at the user's call of fit
        l1_ratios = self.l1_ratios
        if isinstance(l1_ratios, str):  # "warn"
            warnings.warn(_L1_RATIOS_DEFAULT, FutureWarning, stacklevel=level)
            l1_ratios = None
        if self.penalty == "deprecated":
            if self.l1_ratios is None:
                warnings.warn(_L1_RATIOS_NONE, FutureWarning, stacklevel=level)
            penalty = "l2" if l1_ratios is None or np.all(np.asarray(l1_ratios) == 0) else (
                "l1" if np.all(np.asarray(l1_ratios) == 1) else "elasticnet")
        else:
            penalty = self.penalty
            warnings.warn(_PENALTY, FutureWarning, stacklevel=level)
        _validation.check_solver(self.solver, penalty, self.dual)
        if penalty == "elasticnet":
            values = [] if l1_ratios is None else list(l1_ratios)
            if not values or any(isinstance(v, bool) or not isinstance(v, Real)
                                 or not 0 <= v <= 1 for v in values):
                raise ValueError(f"l1_ratios must be an array-like of numbers between 0 and 1; "
                                 f"got (l1_ratios={l1_ratios!r})")
        elif l1_ratios is not None and self.penalty != "deprecated":
            warnings.warn(f"l1_ratios parameter is only used when penalty is 'elasticnet'. "
                          f"Got (penalty={penalty})", UserWarning, stacklevel=level)
        scoring = self.scoring
        if isinstance(scoring, str) and scoring == "warn":
            warnings.warn(_SCORING, FutureWarning, stacklevel=level)
            scoring = None
        legacy = self.use_legacy_attributes
        if isinstance(legacy, str):  # "warn"
            warnings.warn(_LEGACY.format(name=type(self).__name__), FutureWarning, stacklevel=level)
            legacy = True
        return l1_ratios, penalty, scoring, legacy

    @with_callbacks
    def fit(self, X, y, sample_weight=None, **params):
        """Fit every fold and C of the grid, choose ``C_`` by the folds' scores and set the
        final model. ``params`` (e.g. ``groups``) go to the splitter's ``split``."""
        l1_ratios, penalty, scoring, legacy = self._options()
        Cs = _check_Cs(self.Cs)
        boundary = _backend.Boundary(X=X, y=y, sample_weight=sample_weight)
        X, y, sample_weight = (boundary.inward(a) for a in (X, y, sample_weight))
        # the l1_ratios_ axis (one entry, None, without l1_ratios) and the L1 share each fits:
        # its value for elastic-net, else that of the penalty (l1: 1, l2: 0), as scikit-learn
        labels = [None] if l1_ratios is None else list(l1_ratios)
        shares = [float(r) if penalty == "elasticnet" else 1.0 if penalty == "l1" else 0.0
                  for r in labels]
        with self._on_device(X, y, sample_weight):  # X's GPU, from validation on
            # the data as LogisticRegression.fit validates it; C=1 gives the weights' scale
            data = self._prepare(X, y, sample_weight, 1.0)
            if source_kind(data.X, self.device) != "memory":
                raise ValueError("LogisticRegressionCV fits NumPy or CuPy arrays in memory; for "
                                 "Dask or streamed X use LogisticRegression per C.")
            scale = data.C  # C * max(weights): the factor the weights were divided by
            classes = _backend.to_numpy(data.classes)
            y_host = classes[_backend.to_numpy(data.y).astype(np.intp)]
            check_classification_targets(y_host)  # the scorers need labels they can classify
            n, d = data.X.shape
            split_X = data.X if data.xp is np else np.empty((n, 0))
            folds = [(_fold_rows(train, n, "training"), np.sort(_fold_rows(test, n, "test")))
                     for train, test in
                     check_cv(self.cv, y_host, classifier=True).split(split_X, y_host, **params)]
            xp, k = data.xp, data.model.k
            masks = xp.zeros((len(folds), n), dtype=bool)
            for f, (train, _) in enumerate(folds):
                masks[f, xp.asarray(train)] = True
            # every (fold, l1 share, C) in one model batch, in that order
            grid = [(f, a, c) for f in range(len(folds)) for a in range(len(shares))
                    for c in range(len(Cs))]
            problems = [(f, Cs[c] * scale, shares[a]) for f, a, c in grid]
            names = [self._our_solver(k, share) for share in shares]
            for name in set(names):
                _check_hessian_fits(name, (d + self.fit_intercept) * k, xp,
                                    len(problems) // len(shares) * names.count(name))
            source = source_for(data.X, data.y, data.sample_weight,
                                fit_intercept=self.fit_intercept, device=self.device)
            batch = ModelBatch(source, data.model, masks, problems)
            # callbacks: a task per (fold, l1_ratio, C) model, the folds' running at once,
            # then one for the refit; each with a subtask per iteration
            tasks = _FitTasks(self, X, y, sample_weight, len(problems) + self.refit,
                              sequential=False)
            contexts = [tasks.task(tasks.root, f"fold {f}, l1_ratio {labels[a]}, C {Cs[c]:g}",
                                   j, self.max_iter) for j, (f, a, c) in enumerate(grid)]

            def start(j, x0, memory=None):
                _, a, c = grid[j]
                return self._steps(names[a], batch.members[j], x0,
                                   None if memory is None else {"memory": memory},
                                   verbose=max(0, self.verbose - 1),
                                   on_step=tasks.iterations(contexts[j], data, Cs[c]))

            def then(j, result):
                """The next C of the path starts from this C's solution, and lbfgs from its
                curvature pairs too, made the next objective's (``_carried``)."""
                if grid[j][2] + 1 == len(Cs):
                    return None
                memory = result.memory and _carried(result.memory, batch.members[j],
                                                    batch.members[j + 1])
                return j + 1, start(j + 1, result.x.copy(), memory)

            # each (fold, l1 share)'s path of Cs in the given order, every path at once
            with _guarded(source, data):
                results = batch.solve([start(j, xp.zeros(batch.n_params)) if c == 0 else None
                                       for j, (_, _, c) in enumerate(grid)], then)
            for (_, _, c), res, context in zip(grid, results, contexts):
                tasks.end(context, data, res.x, Cs[c])
            # paths[f, a, c] = [W; b] of fold f, l1 share a, C c, in scikit-learn's
            # parametrisation: (k, d + 1)
            shape = (len(folds), len(shares), len(Cs))
            paths = np.empty(shape + (k, d + 1))
            for (f, a, c), res in zip(grid, results):
                W, b = _coef_intercept(res.x, d, k, self.fit_intercept, math.isinf(Cs[c]))
                paths[f, a, c, :, :d] = _backend.to_numpy(W).T
                paths[f, a, c, :, d] = _backend.to_numpy(b)
            scores = _fold_scores(data, paths.reshape((len(folds), -1) + paths.shape[3:]),
                                  folds, classes, y_host, sample_weight,
                                  scoring).reshape(shape)
            n_iter = np.array([r.n_iter for r in results], dtype=np.int32).reshape(shape)
            unconverged = sum(not r.converged for r in results)
            if unconverged:
                warnings.warn(f"{self.solver} failed to converge for {unconverged} of "
                              f"{len(results)} (fold, C) fits (max_iter={self.max_iter}, "
                              f"tol={self.tol:g}).\n\nIncrease the number of iterations to "
                              "improve the convergence, or scale the data.", ConvergenceWarning,
                              stacklevel=2 + _validation.FIT_FRAMES)
            # scikit-learn ranks the grid with C first, then l1_ratio (its ties, its choice)
            by_C = scores.transpose(0, 2, 1).reshape(len(folds), -1)  # (folds, Cs * shares)
            if self.refit:
                c, a = np.unravel_index(int(np.argmax(by_C.sum(axis=0))), (len(Cs), len(shares)))
                C_best = Cs[c]
                start = paths[:, a, c].mean(axis=0)  # (k, d + 1), warm start as scikit-learn
                x0 = xp.asarray(np.ascontiguousarray(
                    start.T if self.fit_intercept else start[:, :d].T).reshape(-1))
                context = tasks.task(tasks.root, "refit", len(problems), self.max_iter)
                result, _ = self._solve(data, C_best * scale, x0=x0, l1_ratio=shares[a],
                                        on_step=tasks.iterations(context, data, C_best))
                tasks.end(context, data, result.x, C_best)
                if not result.converged:
                    warnings.warn(f"{self.solver} failed to converge refitting C={C_best:g} "
                                  f"(max|gradient| = {result.grad_max:.3g} > tol = {self.tol:g})."
                                  "\n\nIncrease the number of iterations to improve the "
                                  f"convergence (max_iter={self.max_iter}).", ConvergenceWarning,
                                  stacklevel=2 + _validation.FIT_FRAMES)
                self._set_solution(data, result.x, C_best)
                self.loss_, self.grad_max_ = result.fun, result.grad_max
                C_chosen, l1_ratio_chosen = C_best, labels[a]
                tasks.end(tasks.root, data, result.x, C_best)
            else:
                best = [np.unravel_index(i, (len(Cs), len(shares))) for i in by_C.argmax(axis=1)]
                w = np.mean([paths[f, a, c] for f, (c, a) in enumerate(best)], axis=0)
                self.classes_ = data.classes
                self.coef_ = xp.asarray(w[:, :d] if k > 1 else w[:1, :d]).astype(data.X.dtype)
                self.intercept_ = xp.asarray(w[:, d] if k > 1 else w[:1, d]).astype(data.X.dtype)
                self.n_features_in_ = d
                self.loss_ = self.grad_max_ = math.nan
                C_chosen = float(np.mean([Cs[c] for c, _ in best]))
                l1_ratio_chosen = float(np.mean([labels[a] for _, a in best])) \
                    if penalty == "elasticnet" else 0.0
                tasks.end(tasks.root)
        self._set_cv_attributes(Cs, l1_ratios, penalty, paths, scores, n_iter, classes,
                                C_chosen, l1_ratio_chosen, legacy)
        self._attributes_outward(boundary)
        return self

    _ARRAY_ATTRIBUTES = LogisticRegression._ARRAY_ATTRIBUTES + (
        "Cs_", "C_", "l1_ratio_", "l1_ratios_", "scores_", "coefs_paths_")

    def _set_cv_attributes(self, Cs, l1_ratios, penalty, paths, scores, n_iter, classes, C,
                           l1_ratio, legacy):
        """scikit-learn 1.9's attribute layout, legacy or new, from ``paths`` (folds,
        l1_ratios, Cs, k, d + 1), ``scores`` and ``n_iter`` (folds, l1_ratios, Cs)."""
        k = paths.shape[3]
        dof = paths.shape[4] - (0 if self.fit_intercept else 1)
        paths = paths[..., :dof]
        self.Cs_ = Cs
        self.l1_ratios_ = np.asarray([None] if l1_ratios is None else l1_ratios)
        keys = classes[1:] if k == 1 else classes
        if legacy:
            # (folds, Cs, l1_ratios, ...), the l1_ratios axis only when l1_ratios were given
            def layout(a):
                a = np.swapaxes(a, 1, 2)
                return a if l1_ratios is not None else a[:, :, 0]
            self.coefs_paths_ = {key: layout(paths[..., i, :]) for i, key in enumerate(keys)}
            self.scores_ = {key: layout(scores).copy() for key in keys}
            self.C_ = np.full(len(keys), C)
            self.l1_ratio_ = np.asarray([l1_ratio] * len(keys))
            self.n_iter_ = layout(n_iter)[None]
        else:
            self.coefs_paths_ = paths  # (folds, l1_ratios, Cs, classes, dof)
            self.scores_ = scores
            self.C_ = float(C)
            self.l1_ratio_ = (float(l1_ratio) if l1_ratios is not None else
                              1.0 if self.penalty == "l1" else 0.0)
            self.n_iter_ = n_iter

    def _saved_params(self):
        """What ``save`` stores: the parameters of the ``LogisticRegression`` this fit ended
        with (``C_`` for C), so that ``gpulogreg.load`` gives a model that predicts the same."""
        params = {key: value for key, value in self.get_params().items()
                  if key in LogisticRegression().get_params()}
        return {**params, "C": float(np.ravel(self.C_)[0])}

    def score(self, X, y, *, sample_weight=None):
        """The ``scoring`` of the model on X, y: accuracy by default (on X's device, as
        ``LogisticRegression.score``); a scikit-learn scorer needs host (NumPy) data."""
        scoring = self.scoring
        if scoring is None or isinstance(scoring, str) and scoring in ("warn", "accuracy"):
            return super().score(X, y, sample_weight=sample_weight)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        return _scorer(scoring, _backend.to_numpy(self.classes_))(self, X, y, **weights)




def _scorer(scoring, classes):
    """The scorer for ``scoring`` (None: accuracy), given every class label where its score
    function takes ``labels`` (a fold's test rows may miss a class), as scikit-learn does."""
    scorer = get_scorer("accuracy" if scoring is None else scoring)
    function = getattr(scorer, "_score_func", None)
    if function is None or "labels" not in inspect.signature(function).parameters:
        return scorer
    extra = {}
    if len(classes) <= 2 and "pos_label" in inspect.signature(function).parameters:
        extra["pos_label"] = classes[-1]
    return make_scorer(function, greater_is_better=scorer._sign == 1,
                       response_method=scorer._response_method, labels=classes, **extra,
                       **getattr(scorer, "_kwargs", {}))


class _FoldModel(ClassifierMixin, BaseEstimator):
    """One (fold, C) model as a scorer sees it: its decision values on the fold's test rows,
    looked up by row index (the scorer's "X" is those indices)."""

    def __init__(self, classes, test, scores):
        self.classes_, self.test, self.scores = classes, test, scores

    def decision_function(self, rows):
        position = np.searchsorted(self.test, rows)
        if not np.array_equal(self.test[np.minimum(position, len(self.test) - 1)], rows):
            raise ValueError("this fold's model knows the decision values of its test rows "
                             "only; pass indices of those rows")
        return self.scores[position]

    def predict_proba(self, rows):
        z = self.decision_function(rows)
        if z.ndim == 2:
            return models.softmax(z, np)
        p1 = models.sigmoid(z, np)
        return np.stack([1 - p1, p1], axis=1)

    def predict_log_proba(self, rows):
        z = self.decision_function(rows)
        if z.ndim == 2:
            return models.log_softmax(z, np)
        tail = np.log1p(np.exp(-np.abs(z)))
        return np.stack([-(np.maximum(z, 0) + tail), -(np.maximum(-z, 0) + tail)], axis=1)

    def predict(self, rows):
        return self.labels(self.decision_function(rows))

    def labels(self, z):
        """The predicted labels of decision values z (rows, or rows x classes)."""
        return self.classes_[z.argmax(axis=1) if z.ndim == 2 else (z > 0).astype(np.intp)]


def _fold_scores(data, paths, folds, classes, y_host, sample_weight, scoring):
    """``scores[f, c]``: the score of fold f's model for C c on fold f's test rows (with
    their raw sample weights), from the decision values of every C's model on those rows,
    computed in pieces of test rows (a piece of X at a time, never the fold's copy)."""
    X, xp = data.X, data.xp
    d = X.shape[1]
    n_Cs, k = paths.shape[1], paths.shape[2]
    scorer = _scorer(scoring, classes)
    raw = None if sample_weight is None else np.broadcast_to(
        np.asarray(_backend.to_numpy(sample_weight) if hasattr(sample_weight, "shape")
                   else sample_weight, dtype=np.float64), (X.shape[0],))
    scores = np.empty((len(folds), n_Cs))
    for f, (_, test) in enumerate(folds):
        W = xp.asarray(paths[f, :, :, :d].transpose(2, 0, 1).reshape(d, n_Cs * k)).astype(X.dtype)
        b = xp.asarray(paths[f, :, :, d].reshape(-1)).astype(X.dtype)
        Z = np.empty((len(test), n_Cs * k), dtype=X.dtype)
        step = max(1, _SCORE_BYTES // (max(d, n_Cs * k) * X.dtype.itemsize))
        for start in range(0, len(test), step):
            rows = xp.asarray(test[start:start + step])
            Z[start:start + step] = _backend.to_numpy(X[rows] @ W + b)
        Z = Z.reshape(len(test), n_Cs, k)
        weights = {} if raw is None else {"sample_weight": raw[test]}
        for c in range(n_Cs):
            model = _FoldModel(classes, test, Z[:, c, 0] if k == 1 else Z[:, c])
            if scoring in (None, "accuracy"):  # accuracy_score's own arithmetic, without
                # its label checks per model (np.unique of the test rows: 0.47 of 2.3 s at
                # n = 10^6, 50 models)
                scores[f, c] = float(np.average(model.labels(model.scores) == y_host[test],
                                                weights=weights.get("sample_weight")))
            else:
                scores[f, c] = scorer(model, test, y_host[test], **weights)
    return scores
