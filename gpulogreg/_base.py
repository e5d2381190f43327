"""What both estimators share: a fitted linear model's predictions, its device and array
library, ``sparsify``/``densify``, and how it maps to and from a saved model (``io``)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from . import _backend, _boundary, _fit, _sklearn, _validation, io
from .loss import models
from .loss.layout import Layout


def _at_boundary(method):
    """``_boundary.at_boundary`` for an estimator method taking X (see there); with array
    API dispatch, X must first come from the library and device the model was fitted on
    (scikit-learn's ``check_same_namespace``)."""
    def same_namespace_as_fit(arguments):
        model = arguments["self"]
        if hasattr(model, "coef_"):
            _sklearn.check_same_namespace(arguments["X"], model, attribute="coef_",
                                          method=method.__name__)
    return _boundary.at_boundary(method, check=same_namespace_as_fit)


class LogisticBase(_sklearn.CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """The shared part of ``LogisticRegression`` and ``LogisticRegressionCV``: everything
    but the parameters and ``fit``. Fitted attributes live in the namespace (and, with
    scikit-learn's array API dispatch, the library and device) of the training data."""

    _ARRAY_ATTRIBUTES = ("coef_", "intercept_", "classes_", "n_iter_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # SciPy CSR/CSC (cupyx CSR on the GPU), never densified
        tags.array_api_support = True  # PyTorch, CuPy, array-api-strict: _boundary.Boundary
        return tags

    def _fit_options(self):
        """The ``_fit.FitOptions`` of the parameters both estimators share."""
        return _fit.FitOptions(solver=self.solver, tol=self.tol, max_iter=self.max_iter,
                               verbose=self.verbose, fit_intercept=self.fit_intercept,
                               intercept_scaling=self.intercept_scaling,
                               class_weight=self.class_weight, device=self.device)

    def _attributes_outward(self, boundary):
        """The fitted array attributes in the inputs' array library and device (with
        scikit-learn's array API dispatch; see ``_boundary.Boundary``)."""
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
        """Check the feature names as scikit-learn does and validate the data
        (``_fit.prepare``)."""
        _sklearn.check_feature_names(self, X, reset=True)
        return _fit.prepare(X, y, sample_weight, C, self._fit_options())

    def _set_solution(self, data, x, C):
        """``classes_``, ``coef_``, ``intercept_`` and ``n_features_in_`` from the solver's
        ``[W; b]`` raveled (in its namespace), in scikit-learn's parametrisation."""
        for name, value in self._solution(data, x, C).items():
            setattr(self, name, value)

    def _solution(self, data, x, C):
        """The fitted attributes ``_set_solution`` sets, as a dict (also what a callback's
        ``fitted_estimator`` is made of, at each iteration)."""
        d = data.X.shape[1]
        layout = Layout(d, data.model.k, self.fit_intercept)
        coef, intercept = layout.to_estimator(x, unpenalised=math.isinf(C))
        dtype = self._coef_dtype(data.X.dtype)
        return {"classes_": data.classes, "coef_": coef.astype(dtype),
                "intercept_": intercept.astype(dtype), "n_features_in_": d}

    def _coef_dtype(self, dtype):
        """The dtype of ``coef_`` for X of ``dtype``, as scikit-learn's: X's (float32 stays
        float32), but float64 for ``solver="liblinear"``, which works in float64."""
        return np.float64 if self.solver == "liblinear" else dtype

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

    def _state_params(self):
        """The parameters a saved model keeps: those of the ``LogisticRegression`` that
        predicts as this model does."""
        return self.get_params()

    def save(self, path):
        """Write the fitted model to ``path`` (.npz, no pickle); read it with ``gpulogreg.load``."""
        return io.write(model_state(self), path)

    @_at_boundary
    def covariance_matrix(self, X, y, sample_weight=None, *, cov_type="nonrobust",
                          groups=None):
        """The covariance of the fitted parameters on data X, y (usually the training data),
        ``(p, p)`` in X's namespace and device.

        The parameters are ``[coef_ in X's column order, intercept_]`` for two classes; for
        k >= 3 the classes ``classes_[1:]`` relative to ``classes_[0]``, one block per class
        (``coef_[c] - coef_[0]``, then the intercepts' difference), statsmodels' MNLogit
        parametrisation: the symmetric one ``coef_`` holds is not identified without a
        penalty.

        Parameters
        ----------
        X, y : the rows and labels the covariance is computed on (y: labels of ``classes_``).
        sample_weight : frequency weights (statsmodels' GLM ``freq_weights``), times the
            class weights the fit used.
        cov_type : ``"nonrobust"`` (the inverse observed Fisher information
            ``(X^T W X)^-1``), ``"HC0"`` (the sandwich ``H^-1 (sum s_i s_i^T) H^-1`` with the
            rows' scores s_i), ``"HC1"`` (HC0 times ``n / (n - p)``) or ``"cluster"`` (scores
            summed within ``groups``, times ``G / (G - 1) (n - 1) / (n - p)``); n is the sum
            of the weights, p counts the intercept.
        groups : one cluster label per row of X, for ``cov_type="cluster"``.

        With an L2 penalty (C finite) it is the covariance of the penalised estimator,
        ``H_C^-1 M H_C^-1`` with ``H_C = X^T W X + I / C`` (not on the intercept) and M the
        meat of ``cov_type`` (``X^T W X`` for ``"nonrobust"``); without a penalty it is the
        usual one, statsmodels'. L1 and elastic-net penalties are a ValueError: their
        estimator has no such covariance. Two passes over X (one for ``"nonrobust"``), on
        any source: NumPy, CuPy, sparse, Dask.
        """
        from . import _inference

        check_is_fitted(self)
        return _inference.covariance(self, X, y, sample_weight, cov_type, groups)[0]

    def coef_table(self, X, y, sample_weight=None, *, cov_type="nonrobust", groups=None,
                   alpha=0.05):
        """The fitted parameters with their standard errors, z statistics, two-sided
        p-values and ``1 - alpha`` normal confidence intervals: a pandas DataFrame (columns
        ``coef, std_err, z, p_value, ci_lower, ci_upper``, indexed by the features' names
        (``feature_names_in_``, else ``x0..``) and ``intercept``; for k >= 3 classes each
        prefixed by its class, ``label:name``), or without pandas a dict of NumPy arrays
        with those keys and ``"index"``. Arguments as for ``covariance_matrix``."""
        from . import _inference

        check_is_fitted(self)
        boundary = _boundary.Boundary(X=X, y=y, sample_weight=sample_weight, groups=groups)
        X, y, sample_weight, groups = (boundary.inward(a, name) for a, name in (
            (X, "X"), (y, "y"), (sample_weight, "sample_weight"), (groups, "groups")))
        with _backend.device_of(X):
            return _inference.table(self, X, y, sample_weight, cov_type, groups, alpha)

    @_at_boundary
    def decision_function(self, X):
        """The raw scores ``X @ coef_.T + intercept_``: shape (n,) for two classes (positive
        means ``classes_[1]``), else (n, k), one column per class."""
        check_is_fitted(self)
        _sklearn.check_feature_names(self, X, reset=False)
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
        return _per_row(models.probabilities, self.decision_function(X))

    @_at_boundary
    def predict_log_proba(self, X):
        """Log-probabilities, shape (n, k), computed stably: ``-log(1 + e^{-+z})`` for two
        classes, ``z_c - log sum e^z`` for more (never the log of a probability)."""
        return _per_row(models.log_probabilities, self.decision_function(X))

    @_at_boundary
    def _predict_proba_lr(self, X):
        """scikit-learn's one-vs-rest probabilities (``LinearClassifierMixin``'s): each
        class's sigmoid of its decision value, normalised to sum to one over the classes."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        p = models.sigmoid(z, xp)
        if p.ndim == 1:
            return xp.stack([1 - p, p], axis=1)
        return p / p.sum(axis=1, keepdims=True)

    @_at_boundary
    def predict(self, X):
        """The predicted class label of each row of X."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        classes = _backend.to_internal(self.classes_)
        if _backend.is_gpu(xp) and classes.dtype.kind not in "biuf":
            z = z.get()  # string labels have no GPU representation
            xp = np
        if _backend.is_dask(xp):
            classes = _backend.to_numpy(classes)
            return z.map_blocks(lambda zb: classes[models.class_index(zb)],
                                dtype=classes.dtype, drop_axis=[1] if z.ndim == 2 else [])
        classes = _backend.to_namespace(classes, xp)
        return classes[models.class_index(z)]  # labels keep classes_'s dtype

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


def _per_row(function, z):
    """``function(z, xp)`` of decision values, lazily per chunk for a Dask (n, k) z."""
    xp = _backend.get_namespace(z=z)
    if _backend.is_dask(xp) and z.ndim == 2:
        return z.map_blocks(lambda block: function(block, _backend.get_namespace(z=block)),
                            dtype=z.dtype)
    return function(z, xp)


def model_state(model):
    """The ``io.ModelState`` of a fitted estimator: NumPy arrays (coefficients dense),
    plain numbers and names, whatever library and device it was fitted on (recorded, to
    come back there: ``estimator.from_state``)."""
    check_is_fitted(model)
    library = _boundary.library_of(model.coef_)
    return io.ModelState(
        coef=_backend.to_numpy(model._dense_coef()),
        intercept=_backend.to_numpy(model.intercept_),
        classes=_backend.to_numpy(model.classes_),
        params=model._state_params(),
        n_iter=int(np.max(_backend.to_numpy(model.n_iter_))),  # CV: the most of any fold/C
        loss=float(model.loss_), grad_max=float(model.grad_max_),
        namespace="cupy" if _backend.is_gpu(_backend.get_namespace(
            coef=_backend.to_internal(model.intercept_))) else "numpy",
        feature_names_in=([str(name) for name in model.feature_names_in_]
                          if hasattr(model, "feature_names_in_") else None),
        array_library=None if library is None else library[0],
        array_device=None if library is None else library[1])
