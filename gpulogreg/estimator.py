"""``LogisticRegression``, with scikit-learn's estimator API, and ``load``.

The estimator fits NumPy or CuPy data; ``load`` reads a saved model back into one.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _backend, _boundary, _fit, _params, io
from ._base import LogisticBase
from ._callbacks import FitTasks
from ._sklearn import FIT_FRAMES, with_callbacks
from ._typing import ArrayLike, PathLike


class LogisticRegression(LogisticBase):
    """Logistic regression with scikit-learn's API, on NumPy, CuPy, sparse or Dask data.

    For two classes it minimises scikit-learn's objective ::

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
    penalty : {"l1", "l2", "elasticnet", None}, default="deprecated"
        As in scikit-learn 1.8+: leave it unset and use ``l1_ratio`` (and ``C=np.inf`` for no
        penalty).
    C : float, default=1.0
        Inverse of the regularisation strength; ``np.inf`` means no penalty.
    l1_ratio : float, default=0.0
        The elastic-net mixing of scikit-learn, in [0, 1]: the penalty is ``(l1_ratio ||w||_1
        + (1 - l1_ratio) ||w||^2 / 2) / (C S)``. 0 is L2; anything above needs
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
    class_weight : dict, "balanced" or None, default=None
        Multiplies each sample's weight by its class's weight (scikit-learn's rule).
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility; as in scikit-learn with these solvers, no effect.
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
    n_jobs : int or None, default=None
        Accepted for compatibility; no effect (it warns, as scikit-learn's does).
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
    classes_ : array of shape (k,)
        The sorted labels; for two, ``classes_[1]`` is the positive class.
    coef_ : array of shape (1, d) for two classes, else (k, d)
        The weights, of X's dtype (float64 for ``solver="liblinear"``); a sparse matrix
        after ``sparsify``.
    intercept_ : array of shape (1,) or (k,)
        For k >= 3 classes the intercepts sum to zero (and, without a penalty, so do the
        coefficients of each feature), scikit-learn's symmetric parametrisation: adding a
        constant to every class changes no probability.
    n_iter_ : int32 array of shape (1,)
        The solver's iterations.
    n_features_in_ : int
        The number of columns of X.
    feature_names_in_ : object array of shape (d,)
        The names of the columns of a DataFrame X (only when they are strings).
    loss_ : float
        The final objective.
    grad_max_ : float
        The final ``max|gradient|``.

    See Also
    --------
    LogisticRegressionCV : Cross-validation of ``C``, all folds fitted at once.
    load : Read a model written by ``save``.

    Examples
    --------
    >>> import numpy as np
    >>> from gpulogreg import LogisticRegression
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> model = LogisticRegression().fit(X, y)
    >>> model.predict(X)
    array([0, 0, 1, 1])
    >>> model.predict_proba(X[:1]).round(3)
    array([[0.808, 0.192]])
    """

    _parameter_constraints: dict = _params.CONSTRAINTS

    def __init__(self, penalty: str | None = "deprecated", *, C: float = 1.0,
                 l1_ratio: float = 0.0, dual: bool = False, tol: float = 1e-4,
                 fit_intercept: bool = True, intercept_scaling: float = 1,
                 class_weight: dict | str | None = None, random_state: Any = None,
                 solver: str = "lbfgs", max_iter: int = 100, verbose: int = 0,
                 warm_start: bool = False, n_jobs: int | None = None,
                 learning_rate: float | None = None, device: str = "auto",
                 chunk_rows: int | None = None) -> None:
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

    def _fit_options(self):
        return dataclasses.replace(super()._fit_options(), chunk_rows=self.chunk_rows,
                                   learning_rate=self.learning_rate)

    def _effective_penalty(self):
        """Validate the parameters as scikit-learn 1.9 does (same errors and warnings) and
        return ``(C, l1_ratio)`` to minimise with (``C=inf``: no penalty)."""
        self._validate_params()
        return _params.check_params(self.get_params())

    @with_callbacks
    def fit(self, X: ArrayLike, y: ArrayLike,
            sample_weight: ArrayLike | None = None) -> LogisticRegression:
        """Fit the model on X and the class labels y, optionally weighted per sample.

        Two classes fit the binomial model, three or more the multinomial one. Callbacks set
        with ``set_callbacks`` (scikit-learn 1.9) see the fit as one task with a subtask per
        solver iteration, whose ``fitted_estimator`` predicts with that iteration's
        coefficients.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The training rows: NumPy, CuPy, SciPy or cupyx sparse, Dask, or with array API
            dispatch PyTorch and others; float32 is computed in float32.
        y : array-like of shape (n,)
            The class labels.
        sample_weight : array-like of shape (n,) or None, default=None
            Non-negative weights of the rows (None: all one).

        Returns
        -------
        LogisticRegression
            The fitted estimator (self).

        Raises
        ------
        ValueError
            If a parameter or the data is invalid (scikit-learn's errors and messages).
        DivergenceError
            With ``solver="gd"`` and a fixed ``learning_rate``, if the objective rises or
            overflows (no result is kept).

        See Also
        --------
        LogisticRegressionCV.fit : Choose ``C`` by cross-validation.
        """
        C, l1_ratio = self._effective_penalty()
        boundary = _boundary.Boundary(X=X, y=y, sample_weight=sample_weight)
        user_data = (X, y, sample_weight)  # what callbacks see: the user's kind
        X, y, sample_weight = (boundary.inward(a, name) for a, name in
                               ((X, "X"), (y, "y"), (sample_weight, "sample_weight")))
        with self._on_device(X, y, sample_weight):
            data = self._prepare(X, y, sample_weight, C)
            tasks = FitTasks(self, *user_data, max(self.max_iter, 1) + 1, self._solution,
                             outward=boundary.outward)
            start = time.perf_counter()
            iterations = tasks.iterations(tasks.root, data, C)
            result, _ = _fit.solve(data, self._fit_options(), data.C,
                                   warm=self._warm_start(data), l1_ratio=l1_ratio,
                                   on_step=iterations)
            if iterations is not None:
                iterations.close()
            if self.verbose:
                print(f"{self.solver}: {'converged' if result.converged else 'stopped'} "
                      f"({result.message}) after {result.n_iter} iterations, {result.n_fev} "
                      f"evaluations, {time.perf_counter() - start:.3f} s", flush=True)
            if not result.converged:
                warnings.warn(_params.convergence_message(self, result, data.X.dtype),
                              ConvergenceWarning, stacklevel=2 + FIT_FRAMES)
            self._set_solution(data, result.x, C)
            tasks.end(tasks.root, data, result.x, C)
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.loss_ = result.fun
        self.grad_max_ = result.grad_max
        self._attributes_outward(boundary)
        return self

    def _inference_penalty(self):
        """``(C, l1_ratio)`` the fit minimised with (``C=inf``: no penalty)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecations are for fit time
            return self._effective_penalty()

    def _warm_start(self, data):
        """With ``warm_start``, the previous fit's ``(coef_, intercept_)`` where they fit this
        data's shape; else None (the solver starts from zeros)."""
        if not self.warm_start or getattr(self, "coef_", None) is None \
                or self.coef_.shape != (data.model.k, data.X.shape[1]):
            return None
        return self._dense_coef(), self.intercept_


def from_state(state: io.ModelState, device: str = "auto") -> LogisticRegression:
    """A fitted ``LogisticRegression`` from an ``io.ModelState``: its parameters checked as
    ``fit`` checks them (a ValueError names the first that fails), its arrays in the
    namespace ``device`` asks for (``"cpu"``: NumPy; ``"cuda"``, ``"cuda:N"``: CuPy;
    ``"auto"``: where the model was fitted when possible, else the CPU). A model fitted on
    another library's arrays (PyTorch) comes back in that library, as ``fit`` returned it,
    when scikit-learn's array API dispatch is on and the library imports."""
    device = _backend.parse_device(device)
    estimator = LogisticRegression()
    params = state.params
    try:
        if not set(params) <= set(estimator.get_params()):
            raise ValueError(f"unknown parameters in {sorted(params)!r}")
        estimator.set_params(**params)  # C = inf round-trips as Infinity
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecations are for fit time, not loading
            estimator._effective_penalty()
    except (ValueError, TypeError) as exc:  # sklearn's InvalidParameterError is both
        raise ValueError(f"invalid params ({exc})") from None
    xp = _namespace_for(device, state.namespace)
    classes = state.classes
    with _backend.on_device(device, xp):
        estimator.coef_ = _backend.to_namespace(state.coef, xp)
        estimator.intercept_ = _backend.to_namespace(state.intercept, xp)
        estimator.classes_ = (classes if classes.dtype.kind in "USO"  # labels stay on the host
                              else _backend.to_namespace(classes, xp))
    estimator.n_features_in_ = state.n_features_in
    if state.feature_names_in is not None:
        estimator.feature_names_in_ = np.array(state.feature_names_in, dtype=object)
    estimator.n_iter_ = np.array([state.n_iter], dtype=np.int32)
    estimator.loss_, estimator.grad_max_ = state.loss, state.grad_max
    if state.array_library is not None and _boundary.array_api_dispatch():
        # fitted on another library's arrays: back there, as fit returned it
        boundary = _boundary.Boundary.towards(state.array_library, state.array_device)
        if boundary is not None:
            estimator._attributes_outward(boundary)
    return estimator


def load(path: PathLike, device: str = "auto") -> LogisticRegression:
    """Read a model written by ``save``.

    A ``LogisticRegressionCV`` is stored, and read back, as the ``LogisticRegression`` it
    ended with. Every check (format, shapes, dtypes, sizes, parameters) is made before any
    array is read, so a forged file cannot make ``load`` allocate more than a model of its
    declared size.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        ``"cpu"`` gives NumPy attributes; ``"cuda"`` (or ``"cuda:N"``) CuPy ones (needs a
        GPU); ``"auto"`` restores where the model was fitted when possible, else the CPU.

    Returns
    -------
    LogisticRegression
        The fitted model.

    Raises
    ------
    ValueError
        If the file is not a valid model file (the message says why), or ``device`` asks
        for a GPU that is not available.
    FileNotFoundError
        If there is no such file.

    See Also
    --------
    LogisticRegression.save : Write a fitted model.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from gpulogreg import LogisticRegression, load
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> _ = LogisticRegression().fit(X, y).save(path)
    >>> load(path, device="cpu").predict(X)
    array([0, 0, 1, 1])
    """
    return load_with_state(path, device)[1]


def load_with_state(path: PathLike, device: str = "auto"
                    ) -> tuple[io.ModelState, LogisticRegression]:
    """``(io.ModelState, LogisticRegression)`` of a model file, as ``load`` reads it (the
    command line reads the state's column names too)."""
    _backend.parse_device(device)
    state = io.read(path)
    try:
        return state, from_state(state, device)
    except ValueError as exc:
        if str(exc).startswith("invalid params"):
            raise ValueError(f"{path} is not a valid gpulogreg model file: {exc}.") from None
        raise


def _namespace_for(device, saved):
    """NumPy or CuPy for a loaded model: see ``from_state``."""
    kind, _ = device
    if kind == "cpu" or (kind == "auto" and saved != "cupy"):
        return np
    if not _backend.gpu_available():
        if kind == "cuda":
            raise ValueError("device='cuda' asked for, but CuPy with a CUDA device is not "
                             "available; load with device='cpu'.")
        return np
    import cupy

    return cupy
