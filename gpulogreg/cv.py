"""``LogisticRegressionCV``: the C grid and every cross-validation fold fitted together.

A fold is a weight mask on the whole X, never a copy; the folds' paths of Cs run side by
side in one model batch (``solvers.batch``; lbfgs carries its curvature pairs from C to C:
``solvers.quasi_newton.carried``), the class docstring says how. The folds' test scores
come from one more pass (``_folds``); the fitted attributes are set by ``_cv_results``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import check_cv
from sklearn.utils.metadata_routing import MetadataRouter
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _backend, _boundary, _fit, _params, _sklearn
from ._base import LogisticBase
from ._callbacks import FitTasks
from ._cv_results import fold_estimator, set_cv_attributes, set_fold_average, shared_params
from ._folds import HostScores, fold_rows, fold_scores
from ._sklearn import FIT_FRAMES, with_callbacks
from ._typing import ArrayLike
from .loss.layout import Layout
from .solvers.batch import ModelBatch
from .solvers.quasi_newton import carried
from .sources import source_for, source_kind


class LogisticRegressionCV(LogisticBase):
    """Logistic regression with built-in cross-validation of ``C``.

    scikit-learn 1.9's ``LogisticRegressionCV`` (same parameters, attributes, scores and
    choice of ``C_``), binomial or multinomial, on NumPy or CuPy data. All folds are fitted
    together: fold f's model for C is the problem with row weights
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
        The L1 shares searched, each in [0, 1], as ``LogisticRegression``'s ``l1_ratio``
        (all 0: L2; all 1: L1; else elastic-net); "warn" and None mean L2, with
        scikit-learn's FutureWarnings.
    fit_intercept : bool, default=True
        As for ``LogisticRegression``.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn: None means 5-fold ``StratifiedKFold``.
    dual : bool, default=False
        Only ``False``, as for ``LogisticRegression``.
    penalty : {"l1", "l2", "elasticnet"}, default="deprecated"
        Deprecated in scikit-learn 1.8: leave it unset and use ``l1_ratios``.
    scoring : str, callable, None or "warn", default="warn"
        A scikit-learn scorer name or ``scorer(estimator, X, y)``; None (and "warn", with
        scikit-learn's FutureWarning) is accuracy. A scorer is handed, for each fold and C,
        an estimator holding that model's decision values on the fold's test rows and, in
        place of ``X[test]``, the test rows' indices into X: its ``predict*`` and
        ``decision_function`` accept any of those indices.
    solver : str, default="lbfgs"
        As for ``LogisticRegression``; every solver is batched (newton-cholesky's Hessians
        are formed one problem at a time).
    tol : float, default=1e-4
        As for ``LogisticRegression``.
    max_iter : int, default=100
        As for ``LogisticRegression``, per fold and C.
    class_weight : dict, "balanced" or None, default=None
        As for ``LogisticRegression``.
    n_jobs : int or None, default=None
        No effect: the batch computes every fold at once.
    verbose : int, default=0
        As for ``LogisticRegression``.
    refit : bool, default=True
        Refit the best C (best mean score over folds) on all rows, warm-started from the
        folds' mean coefficients; else average the folds' best models.
    intercept_scaling : float, default=1.0
        As for ``LogisticRegression`` (``solver="liblinear"`` only).
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility; no effect.
    use_legacy_attributes : bool or "warn", default="warn"
        The scikit-learn 1.9 switch between the legacy attribute layout (dicts per class) and
        the new one; "warn" keeps the legacy layout, with its FutureWarning.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        As for ``LogisticRegression``, for data in memory (no streaming).

    Attributes
    ----------
    Cs_ : ndarray of shape (n_Cs,)
        The grid of C.
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The L1 shares searched (``[None]`` without ``l1_ratios``).
    C_ : float, or ndarray of shape (n_classes,) in the legacy layout
        The chosen C (with ``refit=False`` the mean of the folds' best).
    l1_ratio_ : float, or ndarray of shape (n_classes,) in the legacy layout
        The chosen L1 share.
    coefs_paths_ : ndarray or dict
        The coefficients (and intercept) of every fold, L1 share and C: shape (n_folds,
        n_l1_ratios, n_Cs, k, d or d + 1), or in the legacy layout a dict per class.
    scores_ : ndarray or dict
        The test score of every fold, L1 share and C, laid out as ``coefs_paths_``.
    n_iter_ : int32 ndarray
        The iterations of every fold, L1 share and C, laid out as ``scores_``.
    coef_, intercept_, classes_, n_features_in_, feature_names_in_, loss_, grad_max_
        The final model's, as for ``LogisticRegression`` (``coef_`` and ``intercept_`` in
        float64; ``loss_`` and ``grad_max_`` NaN with ``refit=False``).

    See Also
    --------
    LogisticRegression : One C.

    Examples
    --------
    >>> import numpy as np
    >>> from gpulogreg import LogisticRegressionCV
    >>> X = np.random.default_rng(0).normal(size=(60, 3))
    >>> y = (X[:, 0] + 0.5 * X[:, 2] > 0).astype(int)
    >>> model = LogisticRegressionCV(Cs=4, cv=3, l1_ratios=(0.0,), scoring="accuracy",
    ...                              use_legacy_attributes=False).fit(X, y)
    >>> model.scores_.shape  # (folds, l1_ratios, Cs)
    (3, 1, 4)
    """

    _parameter_constraints: dict = _params.CV_CONSTRAINTS
    __metadata_request__score = {"sample_weight": _sklearn.UNUSED}  # for the scorer, not us

    def __init__(self, *, Cs: int | ArrayLike = 10, l1_ratios: ArrayLike | str | None = "warn",
                 fit_intercept: bool = True, cv: Any = None, dual: bool = False,
                 penalty: str = "deprecated", scoring: str | Callable | None = "warn",
                 solver: str = "lbfgs", tol: float = 1e-4, max_iter: int = 100,
                 class_weight: dict | str | None = None, n_jobs: int | None = None,
                 verbose: int = 0, refit: bool = True, intercept_scaling: float = 1.0,
                 random_state: Any = None, use_legacy_attributes: bool | str = "warn",
                 device: str = "auto") -> None:
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
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
            **params: Any) -> LogisticRegressionCV:
        """Fit every fold and C of the grid, choose ``C_`` by the folds' scores, set the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The training rows, NumPy or CuPy (dense or sparse) in memory, or another array
            library with array API dispatch.
        y : array-like of shape (n,)
            The class labels.
        sample_weight : array-like of shape (n,) or None, default=None
            Non-negative weights of the rows (None: all one).
        **params : dict
            With scikit-learn's metadata routing enabled, parameters (e.g. ``groups``) for
            the splitter's ``split`` and the scorer, as they request them; without it, extra
            parameters are an error, as in scikit-learn.

        Returns
        -------
        LogisticRegressionCV
            The fitted estimator (self).

        Raises
        ------
        ValueError
            If a parameter or the data is invalid, or X is Dask or streamed.

        See Also
        --------
        LogisticRegression.fit : Fit one C.
        """
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
                                 fold_estimator(self, data)).reshape(shape)
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
                C_chosen, l1_ratio_chosen = set_fold_average(self, data, paths, by_C, Cs,
                                                             shares, labels, penalty)
                tasks.end(tasks.root)
        set_cv_attributes(self, Cs, l1_ratios, paths, scores, n_iter, classes, C_chosen,
                          l1_ratio_chosen, legacy)
        self._attributes_outward(boundary)
        return self

    _ARRAY_ATTRIBUTES = LogisticBase._ARRAY_ATTRIBUTES + (
        "Cs_", "C_", "l1_ratio_", "l1_ratios_", "scores_", "coefs_paths_")

    def _coef_dtype(self, dtype):
        """float64 whatever X's dtype, as scikit-learn's ``LogisticRegressionCV``."""
        return np.float64

    def _state_params(self):
        """What ``save`` stores: the parameters of the ``LogisticRegression`` it ended with."""
        C, share = self._inference_penalty()
        return {**shared_params(self), "C": C, "l1_ratio": share}

    def _inference_penalty(self):
        """``(C, l1_ratio)`` this fit ended with: the refit's, or the folds' best's mean."""
        check_is_fitted(self)
        return self._penalty_

    def score(self, X: ArrayLike, y: ArrayLike, *, sample_weight: ArrayLike | None = None,
              **score_params: Any) -> float:
        """Return the ``scoring`` of the model on X, y (accuracy by default).

        Accuracy is computed on X's device, as ``LogisticRegression.score`` does. A scorer
        named by a string scores the decision values brought to the host
        (``_folds.HostScores``), so it runs on NumPy whatever library X comes from.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows.
        y : array-like of shape (n,)
            Their true labels.
        sample_weight : array-like of shape (n,) or None, default=None
            Weights of the rows, for the scorer.
        **score_params : dict
            Parameters for the scorer, with scikit-learn's metadata routing enabled.

        Returns
        -------
        float
            The score.
        """
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

    def get_metadata_routing(self) -> MetadataRouter:
        """Get the routing of ``fit``'s extra parameters (splitter, scorer) and ``score``'s.

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRouter
            The routing.
        """
        return _sklearn.cv_router(self, self.cv, self._get_scorer())
