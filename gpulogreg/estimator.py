"""``LogisticRegression`` with the scikit-learn estimator API, on NumPy or CuPy data."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from . import _backend, _validation
from .loss import models
from .loss.objective import InterceptAsFeature, LogisticLoss
from .sources import source_for
from .solvers import ALIASES, ITERATE, LIBLINEAR, SOLVERS
from .solvers.iteration import run


try:  # scikit-learn 1.9's callbacks (sklearn.callback); older releases fit without them
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # pragma: no cover - scikit-learn < 1.9
    class CallbackSupportMixin:  # noqa: D101 - no set_callbacks before 1.9
        pass

    def with_callbacks(method):
        return method


try:  # what scikit-learn's check_array_api_same_namespace asks array-API estimators to call
    from sklearn.utils._array_api import check_same_namespace
except ImportError:  # pragma: no cover - scikit-learn < 1.9
    def check_same_namespace(X, estimator, *, attribute, method):
        return None


def _at_boundary(method):
    """``_backend.at_boundary`` for an estimator method taking X (see there); with array
    API dispatch, X must first come from the library and device the model was fitted on
    (scikit-learn's ``check_same_namespace``)."""
    def same_namespace_as_fit(arguments):
        model = arguments["self"]
        if hasattr(model, "coef_"):
            check_same_namespace(arguments["X"], model, attribute="coef_",
                                 method=method.__name__)
    return _backend.at_boundary(method, check=same_namespace_as_fit)


class LogisticRegression(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression, minimising scikit-learn's objective: for two classes

        (1/S) sum_i s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S),   z = X w + b,

    and for three or more the multinomial (softmax) loss
    ``(1/S) sum_i s_i [log sum_c e^{z_ic} - z_{i y_i}] + ||W||^2 / (2 C S)``, ``Z = X W + b``,
    with ``S`` the sum of the sample weights, so ``coef_`` matches scikit-learn's.
    Fitted attributes live in the namespace of the training data: CuPy in, CuPy out.

    The constructor takes every parameter of scikit-learn 1.9's ``LogisticRegression``
    (same names, defaults, validation and warnings), plus ``learning_rate``, ``device``
    and ``chunk_rows``.

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet", None}, deprecated
        As in scikit-learn 1.8+: leave it unset and use ``l1_ratio`` (and ``C=np.inf`` for no
        penalty).
    C : float, default=1.0
        Inverse of the regularisation strength; ``np.inf`` means no penalty.
    l1_ratio : float in [0, 1], default=0.0
        The elastic-net mixing of scikit-learn: the penalty is ``(l1_ratio ||w||_1 +
        (1 - l1_ratio) ||w||^2 / 2) / (C S)``. 0 is L2; anything above needs
        ``solver="owlqn"`` (or ``"saga"``), which gives exact zeros in ``coef_``.
    dual : bool, default=False
        Only ``False`` (as for scikit-learn's lbfgs/newton-cg solvers).
    tol : float, default=1e-4
        Stop when ``max|gradient| <= tol``.
    fit_intercept : bool, default=True
        Fit an (unpenalised) intercept ``b``; X is never augmented with a ones column.
    intercept_scaling : float, default=1
        For ``solver="liblinear"`` only, as there: the value of the constant feature whose
        weight, penalised like the others, is the intercept divided by it.
    random_state, n_jobs
        Accepted for compatibility; as in scikit-learn with these solvers, they have no
        effect (``n_jobs`` warns, as there).
    class_weight : dict, "balanced" or None, default=None
        Multiplies each sample's weight by its class's weight (scikit-learn's rule).
    solver : {"lbfgs", "newton-cg", "newton-cholesky", "gd", "owlqn", "saga", "sag", \
"liblinear"}, default="lbfgs"
        ``"lbfgs"``: limited-memory BFGS (memory 10) with a strong-Wolfe line search;
        ``"owlqn"``: orthant-wise L-BFGS for L1 and elastic-net penalties (``"saga"``, the
        name scikit-learn users know, runs it: the same objective, another algorithm);
        ``"newton-cg"``: truncated Newton with Hessian-vector products;
        ``"newton-cholesky"``: Newton with the exact (d+1)x(d+1) Hessian from the same
        pass over X as the gradient, solved by Cholesky (for n >> d; no copy of X, unlike
        scikit-learn's; on a 2-core CPU newton-cg was faster on every measured shape);
        ``"gd"``: gradient descent with Armijo backtracking;
        ``"sag"`` runs newton-cg (the same objective), ``"saga"`` newton-cg for L2 and no
        penalty; ``"liblinear"`` minimises liblinear's objective (binary only; the intercept
        penalised as the weight of a constant feature of value ``intercept_scaling``) with
        newton-cg for L2 and OWL-QN for L1, so ``coef_`` equals scikit-learn's liblinear.
    max_iter : int, default=100
        Maximum number of solver iterations (0 returns the starting point); a
        ``ConvergenceWarning`` says when it was hit.
    verbose : int, default=0
        Print solver progress when positive.
    warm_start : bool, default=False
        Start from the previous ``coef_``/``intercept_`` when refitting.
    learning_rate : float or None, default=None
        ``solver="gd"`` only: a fixed step size ``alpha`` instead of backtracking. If the
        objective rises or overflows, ``fit`` raises ``DivergenceError`` (no result is kept).
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        ``"auto"`` computes where X lives. ``"cpu"`` requires host data. ``"cuda"`` (or
        ``"cuda:N"``) with a NumPy X (or ``np.memmap``) keeps X on the host and streams
        row chunks through that GPU, for X larger than GPU memory; the fitted attributes
        are then CuPy arrays. With a CuPy X, ``"cuda"`` computes on X's GPU and
        ``"cuda:N"`` must name it.
    chunk_rows : int or None, default=None
        Rows per streamed chunk with ``device="cuda"`` (default: two chunks fill half of
        the free GPU memory).

    Attributes
    ----------
    classes_ : (k,) array, the sorted labels; for two, ``classes_[1]`` is the positive class.
    coef_ : (1, d) array of X's dtype for two classes, else (k, d).
    intercept_ : (1,) or (k,) array. For k >= 3 classes the intercepts sum to zero (and,
        without a penalty, so do the coefficients of each feature), scikit-learn's symmetric
        parametrisation: adding a constant to every class changes no probability.
    n_iter_ : (1,) int32 array.  n_features_in_ : int.
    feature_names_in_ : names of the columns of a DataFrame X (only when they are strings).
    loss_ : final objective.  grad_max_ : final ``max|gradient|``.
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None,
                    Hidden(StrOptions({"deprecated"}))],
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions(set(SOLVERS) | set(ALIASES) | {LIBLINEAR})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, Integral],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "device": "no_validation",  # parse_device: one vocabulary, one message
        "chunk_rows": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=1e-4,
                 fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="lbfgs", max_iter=100, verbose=0, warm_start=False,
                 n_jobs=None, learning_rate=None, device="auto", chunk_rows=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.learning_rate = learning_rate
        self.device = device
        self.chunk_rows = chunk_rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # SciPy CSR/CSC (cupyx CSR on the GPU), never densified
        tags.array_api_support = True  # PyTorch, CuPy, array-api-strict: _backend.Boundary
        return tags

    def _effective_penalty(self):
        """Validate the parameters as scikit-learn 1.9 does (same errors and warnings) and
        return ``(C, l1_ratio)`` to minimise with (``C=inf``: no penalty)."""
        self._validate_params()
        return _validation.check_params(self.get_params())

    @with_callbacks
    def fit(self, X, y, sample_weight=None):
        """Fit on X (n, d) and class labels y (n,), optionally weighted per sample: two
        classes fit the binomial model, three or more the multinomial one. Callbacks set
        with ``set_callbacks`` (scikit-learn 1.9) see the fit as one task with a subtask per
        solver iteration, whose ``fitted_estimator`` predicts with that iteration's
        coefficients."""
        C, l1_ratio = self._effective_penalty()
        boundary = _backend.Boundary(X=X, y=y, sample_weight=sample_weight)
        X, y, sample_weight = (boundary.inward(a) for a in (X, y, sample_weight))
        with self._on_device(X, y, sample_weight):
            data = self._prepare(X, y, sample_weight, C)
            tasks = _FitTasks(self, X, y, sample_weight, max_subtasks=max(self.max_iter, 1))
            start = time.perf_counter()
            result, loss = self._solve(data, data.C, l1_ratio=l1_ratio,
                                       on_step=tasks.iterations(tasks.root, data, C))
            if self.verbose:
                print(f"{self.solver}: {'converged' if result.converged else 'stopped'} "
                      f"({result.message}) after {result.n_iter} iterations, {result.n_fev} "
                      f"evaluations, {time.perf_counter() - start:.3f} s", flush=True)
            if not result.converged:
                warnings.warn(_convergence_message(self, result, data.X.dtype),
                              ConvergenceWarning, stacklevel=2 + _validation.FIT_FRAMES)
            self._set_solution(data, result.x, C)
            tasks.end(tasks.root, data, result.x, C)
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.loss_ = result.fun
        self.grad_max_ = result.grad_max
        self._attributes_outward(boundary)
        return self

    _ARRAY_ATTRIBUTES = ("coef_", "intercept_", "classes_", "n_iter_")

    def _attributes_outward(self, boundary):
        """The fitted array attributes in the inputs' array library and device (with
        scikit-learn's array API dispatch; see ``_backend.Boundary``)."""
        for name in self._ARRAY_ATTRIBUTES:
            value = getattr(self, name, None)
            if isinstance(value, dict):
                setattr(self, name, {key: boundary.outward(v) for key, v in value.items()})
            elif value is not None:
                setattr(self, name, boundary.outward(value))

    def _on_device(self, X, y=None, sample_weight=None):
        """The device a fit runs on, as a context (``_backend.on_device``): a CuPy X's own GPU
        (or the one ``device`` names), current for everything from validation to the fitted
        attributes, so they live where X does."""
        device = _backend.parse_device(self.device)
        xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
        return _backend.on_device(device, xp, X)

    def _prepare(self, X, y, sample_weight, C):
        """Validate the data (``_check_feature_names`` included) and return it as a
        ``_Data``: X, labels as class indices, the weights (class weights applied, rescaled
        to a maximum of 1) and the C to minimise with (scaled to match)."""
        device = _backend.parse_device(self.device)
        _check_feature_names(self, X, reset=True)
        xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
        X = _validation.check_X(X, xp)
        n, d = X.shape
        y_index, classes = _validation.check_y(y, n, X.dtype, xp)
        weights, scaled_C = _validation.check_sample_weight(
            sample_weight, n, X.dtype, xp, y_index=y_index, classes=classes,
            class_weight=self.class_weight, C=C)
        return _Data(X, y_index, classes, weights, scaled_C, models.for_classes(len(classes)),
                     xp, device)

    def _set_solution(self, data, x, C):
        """``classes_``, ``coef_``, ``intercept_`` and ``n_features_in_`` from the solver's
        ``[W; b]`` raveled (in its namespace), in scikit-learn's parametrisation."""
        for name, value in self._solution(data, x, C).items():
            setattr(self, name, value)

    def _solution(self, data, x, C):
        """The fitted attributes ``_set_solution`` sets, as a dict (also what a callback's
        ``fitted_estimator`` is made of, at each iteration)."""
        d, k = data.X.shape[1], data.model.k
        W, b = _coef_intercept(x, d, k, self.fit_intercept, math.isinf(C))
        return {"classes_": data.classes, "coef_": W.T.astype(data.X.dtype),
                "intercept_": b.astype(data.X.dtype), "n_features_in_": d}

    def _source(self, data):
        """The data source for a fit: Dask chunks, a host X streamed through the GPU
        (``device='cuda'``), or the arrays in memory."""
        return source_for(data.X, data.y, data.sample_weight, fit_intercept=self.fit_intercept,
                          device=self.device, chunk_rows=getattr(self, "chunk_rows", None))

    def _solve(self, data, C, x0=None, l1_ratio=0.0, on_step=None):
        """Run the solver on ``data`` with ``C`` (and ``l1_ratio``) from ``x0`` (flat
        ``[W; b]``; default: zeros, or the previous fit with ``warm_start``); returns
        ``(Result, LogisticLoss)``."""
        source = self._source(data)
        loss = LogisticLoss(source=source, C=C, model=data.model, l1_ratio=l1_ratio)
        learning_rate = getattr(self, "learning_rate", None)
        options = {} if learning_rate is None else {"learning_rate": learning_rate}
        name = self._our_solver(loss.k, l1_ratio)
        _check_hessian_fits(name, loss.n_params, data.xp)
        x0 = self._initial_coef(loss) if x0 is None else x0
        with _guarded(source, data):
            steps = self._steps(name, loss, x0, options, on_step=on_step)
            result = run(steps, loss)
        return result, loss

    def _our_solver(self, k, l1_ratio):
        """The solver of ours that runs ``self.solver`` for k classes and this penalty:
        ``"saga"`` runs OWL-QN for L1 and elastic-net and the smooth path (``"sag"``'s) for
        L2 or none; ``"liblinear"`` (binary only, as there) OWL-QN for L1, else newton-cg."""
        if self.solver == LIBLINEAR:
            if k > 1:
                raise ValueError("The 'liblinear' solver does not support multiclass "
                                 "classification (n_classes >= 3). Either use another solver "
                                 "or wrap the estimator in a OneVsRestClassifier to keep "
                                 "applying a one-versus-rest scheme.")
            return "owlqn" if l1_ratio > 0 else ALIASES["sag"]
        if self.solver == "saga" and l1_ratio == 0:
            return ALIASES["sag"]
        return ALIASES.get(self.solver, self.solver)

    def _steps(self, name, objective, x0, options=None, verbose=None, on_step=None):
        """Solver ``name``'s generator of evaluation requests on ``objective`` from ``x0``
        (``[W; b]``); for ``"liblinear"`` with an intercept, on liblinear's objective
        (``InterceptAsFeature``: the solver runs in ``[w, b / intercept_scaling]``), its
        Result's x brought back to ``[w, b]``."""
        kwargs = dict(tol=self.tol, max_iter=self.max_iter,
                      verbose=self.verbose if verbose is None else verbose, on_step=on_step,
                      **(options or {}))
        if self.solver != LIBLINEAR or not self.fit_intercept:
            return ITERATE[name](objective, x0, **kwargs)
        feature = InterceptAsFeature(objective, self.intercept_scaling)
        if on_step is not None:  # the solver's points are in u: report them as [w, b]
            kwargs["on_step"] = lambda n, f, g, u: on_step(n, f, g, feature.to_coef(u))
        return _in_coef(feature, feature.steps(ITERATE[name](feature, feature.from_coef(x0),
                                                             **kwargs)))

    def _initial_coef(self, loss):
        """Zeros, or with ``warm_start`` the previous fit, in the solver's namespace (float64),
        as ``[W; b]`` raveled."""
        xp = loss.xp
        d, k = loss.n_features, loss.k
        x0 = xp.zeros(loss.n_params, dtype=np.float64)
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and self.coef_.shape == (k, d):
            Wb = x0.reshape(-1, k)
            Wb[:d] = _backend.to_namespace(self._dense_coef(), xp).T
            if self.fit_intercept:
                Wb[d] = _backend.to_namespace(self.intercept_, xp)
        return x0

    def sparsify(self):
        """Store ``coef_`` as a sparse CSR matrix (SciPy's, or ``cupyx``'s for a GPU model),
        as scikit-learn's ``sparsify``: worth it where most coefficients are zero (L1).
        Predictions are unchanged; ``densify`` undoes it. Returns self."""
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before sparsifying.")
        if not _backend.is_sparse(self.coef_):
            if _backend.is_gpu(_backend.get_namespace(coef=self.coef_)):
                import cupyx.scipy.sparse as sparse
            else:
                import scipy.sparse as sparse
            self.coef_ = sparse.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a dense array again (the default), as scikit-learn's
        ``densify``. Returns self."""
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before densifying.")
        self.coef_ = self._dense_coef()
        return self

    def _dense_coef(self):
        """``coef_`` as a dense NumPy or CuPy array, whether ``sparsify`` made it sparse or
        array API dispatch returned it in another library."""
        coef = _backend.to_internal(self.coef_)
        return coef.toarray() if _backend.is_sparse(coef) else coef

    def save(self, path):
        """Write the fitted model to ``path`` (.npz, no pickle); read it with ``gpulogreg.load``."""
        from .io import save

        return save(self, path)

    @_at_boundary
    def decision_function(self, X):
        """The raw scores ``X @ coef_.T + intercept_``: shape (n,) for two classes (positive
        means ``classes_[1]``), else (n, k), one column per class."""
        check_is_fitted(self)
        _check_feature_names(self, X, reset=False)
        xp = _backend.get_namespace(X=X)
        lazy = _backend.is_dask(xp)  # stays lazy: no pass over X to look for NaN
        X = _validation.check_X(X, xp, finite=not lazy)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        coef = self._dense_coef()
        coef = coef[0] if coef.shape[0] == 1 else coef.T
        if lazy:
            from .sources import dask

            return dask.decision_function(X, coef, self.intercept_)
        coef = _backend.to_namespace(coef, xp)
        intercept = _backend.to_namespace(self.intercept_, xp)
        return X @ coef.astype(X.dtype) + intercept.astype(X.dtype)

    @_at_boundary
    def predict_proba(self, X):
        """Probabilities of each class of ``classes_``, shape (n, k) (k = 2 for two)."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        if z.ndim == 2:
            return _blockwise(models.softmax, z, xp)
        p1 = models.sigmoid(z, xp)
        return xp.stack([1 - p1, p1], axis=1)

    @_at_boundary
    def predict_log_proba(self, X):
        """Log-probabilities, shape (n, k), computed stably: ``-log(1 + e^{-+z})`` for two
        classes, ``z_c - log sum e^z`` for more (never the log of a probability)."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        if z.ndim == 2:
            return _blockwise(models.log_softmax, z, xp)
        tail = xp.log1p(xp.exp(-xp.abs(z)))  # log(1 + e^t) = max(t, 0) + tail for t = +-z
        return xp.stack([-(xp.maximum(z, 0) + tail), -(xp.maximum(-z, 0) + tail)], axis=1)

    @_at_boundary
    def predict(self, X):
        """The predicted class label of each row of X."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        classes = _backend.to_internal(self.classes_)
        if _backend.is_gpu(xp) and classes.dtype.kind not in "biuf":
            z = z.get()  # string labels have no GPU representation
            xp = np

        def index(zb):
            return zb.argmax(axis=1) if zb.ndim == 2 else (zb > 0).astype(np.intp)

        if _backend.is_dask(xp):
            classes = _backend.to_numpy(classes)
            return z.map_blocks(lambda zb: classes[index(zb)], dtype=classes.dtype,
                                drop_axis=[1] if z.ndim == 2 else [])
        classes = _backend.to_namespace(classes, xp)
        return classes[index(z)]  # labels keep classes_'s dtype

    @_at_boundary
    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted), on X's device."""
        pred = self.predict(X)
        xp = _backend.get_namespace(pred=pred, y=y, sample_weight=sample_weight)
        y = xp.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        correct = (pred == y).astype(np.float64)
        if sample_weight is None:
            return float(correct.mean())
        sample_weight = xp.asarray(sample_weight, dtype=np.float64)
        return float((correct * sample_weight).sum() / sample_weight.sum())


class _Data(NamedTuple):
    """A fit's validated data (see ``LogisticRegression._prepare``)."""

    X: Any
    y: Any  # class indices, of X's dtype
    classes: Any
    sample_weight: Any  # None, or rescaled to a maximum of 1
    C: float  # scaled like the weights
    model: Any
    xp: Any
    device: tuple


class _FitTasks:
    """A fit's tasks as scikit-learn 1.9's callbacks see them (``sklearn.callback``): the
    root task, and under it (or under one task per model of a batch) one subtask per solver
    iteration. Nothing is done, not even the root, unless callbacks were set."""

    def __init__(self, estimator, X, y, sample_weight, max_subtasks, sequential=True):
        self.estimator = estimator
        self.root = None
        if getattr(estimator, "_skl_callbacks", None):
            self.root = estimator._init_callback_context(max_subtasks=max_subtasks,
                                                         sequential_subtasks=sequential)
        self.data = {"X": X, "y": y, "metadata": None if sample_weight is None else
                     {"sample_weight": sample_weight}}
        self.begin(self.root)

    def begin(self, context, attributes=None):
        if context is not None:
            context.call_on_fit_task_begin(estimator=self.estimator,
                                           reconstruction_attributes=attributes, **self.data)

    def end(self, context, data=None, x=None, C=None):
        """End ``context``'s task, with the model at ``x`` (``[W; b]``) if given."""
        if context is not None:
            attributes = None if x is None else \
                (lambda: self.estimator._solution(data, x, C))
            context.call_on_fit_task_end(estimator=self.estimator,
                                         reconstruction_attributes=attributes, **self.data)

    def task(self, parent, name, task_id, max_subtasks):
        """A subtask of ``parent`` (begun), or None without callbacks."""
        if parent is None:
            return None
        context = parent.subcontext(task_name=name, task_id=task_id, max_subtasks=max_subtasks)
        self.begin(context)
        return context

    def iterations(self, parent, data, C):
        """A solver's ``on_step``: one subtask of ``parent`` per iteration, begun at the
        previous point and ended at the new one (None without callbacks)."""
        if parent is None:
            return None
        previous = {}

        def on_step(n_iter, f, grad_max, x):
            context = parent.subcontext(task_name="iteration")
            before = previous.get("x")
            self.begin(context, None if before is None else
                       (lambda: self.estimator._solution(data, before, C)))
            self.end(context, data, x, C)
            previous["x"] = x

        return on_step


def _in_coef(feature, steps):
    """``steps`` (``InterceptAsFeature.steps``) with its Result's x as ``[w, b]``."""
    result = yield from steps
    return dataclasses.replace(result, x=feature.to_coef(result.x))


def _check_hessian_fits(solver, n_params, xp, count=1):
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
def _guarded(source, data):
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


def _coef_intercept(x, d, k, fit_intercept, unpenalised):
    """``(W (d, k), b (k,))`` from the raveled ``[W; b]``; for k >= 3 classes in scikit-learn's
    symmetric parametrisation (intercepts, and without a penalty each feature's
    coefficients, summing to zero over the classes: no probability changes)."""
    xp = _backend.get_namespace(x=x)
    Wb = x.reshape(-1, k)
    W = Wb[:d]
    b = Wb[d] if fit_intercept else xp.zeros(k, np.float64)
    if k > 1:
        b = b - b.mean()
        if unpenalised:
            W = W - W.mean(axis=1, keepdims=True)
    return W, b


def _blockwise(function, Z, xp):
    """``function(Z, xp)`` for a row-wise function, lazily per chunk for a Dask Z."""
    if _backend.is_dask(xp):
        return Z.map_blocks(lambda block: function(block, _backend.get_namespace(Z=block)),
                            dtype=Z.dtype)
    return function(Z, xp)


def _convergence_message(model, result, dtype):
    """scikit-learn 1.9's ConvergenceWarning text for the solver name the user gave when
    max_iter ran out (then how far we got); otherwise why we stopped."""
    if result.n_iter >= model.max_iter:
        detail = f"(max|gradient| = {result.grad_max:.3g} > tol = {model.tol:g})"
        sklearn_text = {
            "newton-cg": f"newton-cg failed to converge at loss = {result.fun}. Increase the "
                         "number of iterations.",
            "newton-cholesky": f"Newton solver did not converge after {result.n_iter} "
                               "iterations.",
            "sag": "The max_iter was reached which means the coef_ did not converge",
            "saga": "The max_iter was reached which means the coef_ did not converge",
            "liblinear": "Liblinear failed to converge, increase the number of iterations.",
        }.get(model.solver)
        if sklearn_text is not None:
            return f"{sklearn_text} {detail}"
        return (f"{model.solver} failed to converge after {result.n_iter} iteration(s) "
                f"{detail}.\n\n"
                "Increase the number of iterations to improve the convergence "
                f"(max_iter={model.max_iter}).\nYou might also want to scale the data, or "
                "raise tol.")
    advice = ("use float64 X or a larger tol" if dtype == np.float32
              else "use a larger tol or scale the data")
    return (f"{model.solver} stopped after {result.n_iter} iteration(s) without reaching "
            f"tol={model.tol:g} (max|gradient| = {result.grad_max:.3g}): {result.message}. "
            f"To go further, {advice}.")
