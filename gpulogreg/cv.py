"""``LogisticRegressionCV``: the C grid and every cross-validation fold fitted together.

scikit-learn fits one model per fold and C, each on a copy of the fold's rows, along the
path of Cs (each C warm-started from the C before). Here a fold is a weight mask on the
whole X (never a copy), and the folds' paths run side by side in one model batch
(``solvers.batch``): each C of a path starts from the solution of the C before, as in
scikit-learn (lbfgs also from its curvature pairs, made the next C's:
``solvers.quasi_newton.carried``), and each round of the solvers still running is answered
by one pass over X. The folds' test scores come from one more pass (``_folds``), and with
``refit`` the best C is fitted on all rows, warm-started from the folds' mean, as
scikit-learn does.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import check_cv
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _backend, _boundary, _fit, _params, _sklearn
from ._base import LogisticBase
from ._callbacks import FitTasks
from ._folds import HostScores, fold_rows, fold_scores
from ._sklearn import FIT_FRAMES, with_callbacks
from .estimator import LogisticRegression
from .loss.layout import Layout
from .solvers.batch import ModelBatch
from .solvers.quasi_newton import carried
from .sources import source_for, source_kind


class LogisticRegressionCV(LogisticBase):
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

    _parameter_constraints: dict = _params.CV_CONSTRAINTS
    # score's sample_weight is routed to the scorer, not consumed here (as in scikit-learn)
    __metadata_request__score = {"sample_weight": _sklearn.UNUSED}

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

    @with_callbacks
    def fit(self, X, y, sample_weight=None, **params):
        """Fit every fold and C of the grid, choose ``C_`` by the folds' scores and set the
        final model. With scikit-learn's metadata routing enabled, ``params`` (e.g.
        ``groups``) go to the splitter's ``split`` and the scorer as they request them (without
        it, extra parameters are an error, as in scikit-learn)."""
        l1_ratios, penalty, scoring, legacy = _params.cv_options(self)
        Cs = _params.check_Cs(self.Cs)
        boundary = _boundary.Boundary(X=X, y=y, sample_weight=sample_weight)
        user_data = (X, y, sample_weight)  # what callbacks see: the user's kind
        X, y, sample_weight = (boundary.inward(a, name) for a, name in
                               ((X, "X"), (y, "y"), (sample_weight, "sample_weight")))
        split_params, score_params = _sklearn.routed(self, "fit", params, sample_weight)
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
            folds = [(fold_rows(train, n, "training"), np.sort(fold_rows(test, n, "test")))
                     for train, test in
                     check_cv(self.cv, y_host, classifier=True).split(split_X, y_host,
                                                                       **split_params)]
            xp, k = data.xp, data.model.k
            masks = xp.zeros((len(folds), n), dtype=bool)
            for f, (train, _) in enumerate(folds):
                masks[f, xp.asarray(train)] = True
            # every (fold, l1 share, C) in one model batch, in that order
            grid = [(f, a, c) for f in range(len(folds)) for a in range(len(shares))
                    for c in range(len(Cs))]
            problems = [(f, Cs[c] * scale, shares[a]) for f, a, c in grid]
            layout = Layout(d, k, self.fit_intercept)
            names = [_params.our_solver(self.solver, k, share, layout.n_params)
                     for share in shares]
            for name in set(names):
                _fit.check_hessian_fits(name, layout.n_params, xp,
                                        len(problems) // len(shares) * names.count(name))
            source = source_for(data.X, data.y, data.sample_weight,
                                fit_intercept=self.fit_intercept, device=self.device)
            batch = ModelBatch(source, data.model, masks, problems)
            # callbacks: a task per (fold, l1_ratio, C) model, the folds' running at once,
            # then one for the refit; each with a subtask per iteration
            tasks = FitTasks(self, *user_data, len(problems) + self.refit, self._solution,
                             sequential=False, outward=boundary.outward)
            contexts = [tasks.task(tasks.root, f"fold {f}, l1_ratio {labels[a]}, C {Cs[c]:g}",
                                   j, max(self.max_iter, 1) + 1)
                        for j, (f, a, c) in enumerate(grid)]
            iterations = [tasks.iterations(contexts[j], data, Cs[c])
                          for j, (_, _, c) in enumerate(grid)]

            options = self._fit_options()
            liblinear = self.solver == "liblinear"  # each C from zero, as liblinear's path
            scales = [_fit.liblinear_scale(data.y, masks[f]) if liblinear else 1.0
                      for f in range(len(folds))]

            def start(j, x0, memory=None):
                f, a, c = grid[j]
                return _fit.steps(names[a], batch.members[j], x0, options, memory=memory,
                                  verbose=max(0, self.verbose - 1), on_step=iterations[j],
                                  liblinear_scale=scales[f])

            def then(j, result):
                """The next C of the path starts from this C's solution, and lbfgs from its
                curvature pairs too, made the next objective's (``carried``)."""
                if grid[j][2] + 1 == len(Cs):
                    return None
                if liblinear:
                    return j + 1, start(j + 1, layout.zeros(xp))
                memory = result.memory and carried(result.memory, batch.members[j],
                                                   batch.members[j + 1])
                return j + 1, start(j + 1, result.x.copy(), memory)

            # each (fold, l1 share)'s path of Cs in the given order, every path at once
            with _fit.guarded(source, data):
                results = batch.solve([start(j, layout.zeros(xp)) if c == 0 else None
                                       for j, (_, _, c) in enumerate(grid)], then)
            for (_, _, c), res, context, steps in zip(grid, results, contexts, iterations):
                if steps is not None:
                    steps.close()
                tasks.end(context, data, res.x, Cs[c])
            # paths[f, a, c] = [W; b] of fold f, l1 share a, C c, in scikit-learn's
            # parametrisation: (k, d + 1)
            shape = (len(folds), len(shares), len(Cs))
            paths = np.empty(shape + (k, d + 1))
            for (f, a, c), res in zip(grid, results):
                coef, b = layout.to_estimator(res.x, unpenalised=math.isinf(Cs[c]))
                paths[f, a, c, :, :d] = _backend.to_numpy(coef)
                paths[f, a, c, :, d] = _backend.to_numpy(b)
            scores = fold_scores(data, paths.reshape((len(folds), -1) + paths.shape[3:]),
                                 folds, classes, y_host, scoring, score_params, sample_weight,
                                 [Cs[c] for _ in shares for c in range(len(Cs))],
                                 self._fold_estimator(data)).reshape(shape)
            n_iter = np.array([r.n_iter for r in results], dtype=np.int32).reshape(shape)
            unconverged = sum(not r.converged for r in results)
            if unconverged:
                warnings.warn(_params.cv_convergence_message(self, unconverged, len(results)),
                              ConvergenceWarning, stacklevel=2 + FIT_FRAMES)
            # scikit-learn ranks the grid with C first, then l1_ratio (its ties, its choice)
            by_C = scores.transpose(0, 2, 1).reshape(len(folds), -1)  # (folds, Cs * shares)
            if self.refit:
                c, a = np.unravel_index(int(np.argmax(by_C.sum(axis=0))), (len(Cs), len(shares)))
                C_best = Cs[c]
                start = paths[:, a, c].mean(axis=0)  # (k, d + 1), warm start as scikit-learn
                x0 = layout.from_estimator(start[:, :d], start[:, d], xp)
                context = tasks.task(tasks.root, "refit", len(problems),
                                     max(self.max_iter, 1) + 1)
                steps = tasks.iterations(context, data, C_best)
                result, _ = _fit.solve(data, options, C_best * scale, x0=x0, l1_ratio=shares[a],
                                       on_step=steps)
                if steps is not None:
                    steps.close()
                tasks.end(context, data, result.x, C_best)
                if not result.converged:
                    warnings.warn(_params.refit_convergence_message(self, C_best, result),
                                  ConvergenceWarning, stacklevel=2 + FIT_FRAMES)
                self._set_solution(data, result.x, C_best)
                self.loss_, self.grad_max_ = result.fun, result.grad_max
                C_chosen, l1_ratio_chosen = C_best, labels[a]
                self._penalty_ = (float(C_best), shares[a])
                tasks.end(tasks.root, data, result.x, C_best)
            else:
                best = [np.unravel_index(i, (len(Cs), len(shares))) for i in by_C.argmax(axis=1)]
                w = np.mean([paths[f, a, c] for f, (c, a) in enumerate(best)], axis=0)
                self.classes_ = data.classes
                dtype = self._coef_dtype(data.X.dtype)
                self.coef_ = xp.asarray(w[:, :d] if k > 1 else w[:1, :d]).astype(dtype)
                self.intercept_ = xp.asarray(w[:, d] if k > 1 else w[:1, d]).astype(dtype)
                self.n_features_in_ = d
                self.loss_ = self.grad_max_ = math.nan
                C_chosen = float(np.mean([Cs[c] for c, _ in best]))
                self._penalty_ = (C_chosen, float(np.mean([shares[a] for _, a in best])))
                l1_ratio_chosen = float(np.mean([labels[a] for _, a in best])) \
                    if penalty == "elasticnet" else 0.0
                tasks.end(tasks.root)
        self._set_cv_attributes(Cs, l1_ratios, penalty, paths, scores, n_iter, classes,
                                C_chosen, l1_ratio_chosen, legacy)
        self._attributes_outward(boundary)
        return self

    _ARRAY_ATTRIBUTES = LogisticBase._ARRAY_ATTRIBUTES + (
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

    def _coef_dtype(self, dtype):
        """float64 whatever X's dtype, as scikit-learn's ``LogisticRegressionCV``."""
        return np.float64

    def _fold_estimator(self, data):
        """``make(C, coef (k, d), intercept (k,))``: a fitted ``LogisticRegression`` holding
        one (fold, C) model, what a callable ``scoring`` gets, as scikit-learn's does."""
        params = self._shared_params()

        def make(C, coef, intercept):
            model = LogisticRegression(**{**params, "C": float(C)})
            model.classes_ = data.classes
            model.coef_ = data.xp.asarray(coef).astype(data.X.dtype)
            model.intercept_ = data.xp.asarray(intercept).astype(data.X.dtype)
            model.n_features_in_ = data.X.shape[1]
            if hasattr(self, "feature_names_in_"):
                model.feature_names_in_ = self.feature_names_in_
            return model

        return make

    def _shared_params(self):
        """The parameters this estimator shares with ``LogisticRegression``."""
        return {key: value for key, value in self.get_params().items()
                if key in LogisticRegression().get_params()}

    def _state_params(self):
        """What ``save`` stores: the parameters of the ``LogisticRegression`` this fit ended
        with (its C and L1 share), so that ``gpulogreg.load`` gives that model."""
        C, share = self._inference_penalty()
        return {**self._shared_params(), "C": C, "l1_ratio": share}

    def _inference_penalty(self):
        """``(C, l1_ratio)`` of the model this fit ended with (the refit's, or with
        ``refit=False`` the means of the folds' best)."""
        check_is_fitted(self)
        return self._penalty_

    def score(self, X, y, *, sample_weight=None, **score_params):
        """The ``scoring`` of the model on X, y (accuracy by default, computed on X's device
        as ``LogisticRegression.score`` does). ``score_params`` go to the scorer with
        scikit-learn's metadata routing enabled, as in scikit-learn. A scorer named by a
        string scores the decision values brought to the host (``_folds.HostScores``), so
        it runs on NumPy whatever library X comes from."""
        _, params = _sklearn.routed(self, "score", score_params, sample_weight)
        scoring = self.scoring
        if (scoring is None or isinstance(scoring, str) and scoring in ("warn", "accuracy")) \
                and set(params) <= {"sample_weight"}:
            return super().score(X, y, sample_weight=params.get("sample_weight"))
        if callable(scoring):
            return scoring(self, X, y, **params)
        z = _backend.to_numpy(self.decision_function(X))
        rows = np.arange(z.shape[0])
        return self._get_scorer()(HostScores(_backend.to_numpy(self.classes_), rows, z), rows,
                                  _backend.to_numpy(y),
                                  **{key: _backend.to_numpy(value) if hasattr(value, "shape")
                                     else value for key, value in params.items()})

    def _get_scorer(self):
        """The scorer of ``scoring`` (accuracy by default), as scikit-learn's."""
        return get_scorer("accuracy" if self.scoring == "warn" else self.scoring or "accuracy")

    def get_metadata_routing(self):
        """scikit-learn's metadata routing: ``fit``'s extra parameters go to the splitter's
        ``split`` and the scorer, ``score``'s to the scorer, as each requests them."""
        return _sklearn.cv_router(self, self.cv, self._get_scorer())
