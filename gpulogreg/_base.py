"""What both estimators share: everything but their parameters and ``fit``.

A fitted linear model's predictions, its device and array library, ``sparsify`` and
``densify``, and how it maps to and from a saved model (``io``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TypeVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from . import _backend, _boundary, _fit, _sklearn, _validation, io
from ._statistics import InferenceMixin, at_model_boundary
from ._typing import Array, ArrayLike, PathLike
from .loss import models
from .loss.layout import Layout

_Estimator = TypeVar("_Estimator", bound="LogisticBase")


class LogisticBase(InferenceMixin, _sklearn.CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """The shared part of ``LogisticRegression`` and ``LogisticRegressionCV``.

    Everything but the parameters and ``fit``. Fitted attributes live in the namespace (and,
    with scikit-learn's array API dispatch, the library and device) of the training data.
    """

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

    def sparsify(self: _Estimator) -> _Estimator:
        """Store ``coef_`` as a sparse CSR matrix, as scikit-learn's ``sparsify``.

        SciPy's matrix, or ``cupyx``'s for a GPU model: worth it where most coefficients are
        zero (L1). Predictions are unchanged; ``densify`` undoes it.

        Returns
        -------
        LogisticRegression or LogisticRegressionCV
            The estimator itself.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before sparsifying.")
        if not _backend.is_sparse(self.coef_):
            if _backend.is_gpu(_backend.get_namespace(coef=self.coef_)):
                import cupyx.scipy.sparse as sparse
            else:
                import scipy.sparse as sparse
            self.coef_ = sparse.csr_matrix(self.coef_)
        return self

    def densify(self: _Estimator) -> _Estimator:
        """Store ``coef_`` as a dense array again (the default), as scikit-learn's ``densify``.

        Returns
        -------
        LogisticRegression or LogisticRegressionCV
            The estimator itself.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        """
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

    def save(self, path: PathLike) -> Path:
        """Write the fitted model to ``path`` (.npz, no pickle); read it with ``gpulogreg.load``.

        The file is written under a temporary name and renamed, so an interrupted save never
        leaves a truncated model behind.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (in the ``.npz`` format whatever its name).

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        FileNotFoundError
            If the folder of ``path`` does not exist.

        See Also
        --------
        load : Read the model back.
        """
        return io.write(model_state(self), path)

    @at_model_boundary
    def decision_function(self, X: ArrayLike) -> Array:
        """Compute the raw scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows: NumPy, CuPy, sparse, Dask, or another array library with array API
            dispatch (the one the model was fitted on).

        Returns
        -------
        array of shape (n,) or (n, k)
            For two classes one score per row (positive means ``classes_[1]``), else one
            column per class; in X's namespace (lazy for Dask).
        """
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

    @at_model_boundary
    def predict_proba(self, X: ArrayLike) -> Array:
        """Predict the probability of each class of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows: NumPy, CuPy, sparse, Dask, or another array library with array API
            dispatch (the one the model was fitted on).

        Returns
        -------
        array of shape (n, k)
            One column per class of ``classes_`` (k = 2 for two), in X's namespace.
        """
        return _per_row(models.probabilities, self.decision_function(X))

    @at_model_boundary
    def predict_log_proba(self, X: ArrayLike) -> Array:
        """Predict the log-probability of each class of ``classes_``, computed stably.

        ``-log(1 + e^{-+z})`` for two classes, ``z_c - log sum e^z`` for more: never the log
        of a probability.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows: NumPy, CuPy, sparse, Dask, or another array library with array API
            dispatch (the one the model was fitted on).

        Returns
        -------
        array of shape (n, k)
            One column per class of ``classes_``, in X's namespace.
        """
        return _per_row(models.log_probabilities, self.decision_function(X))

    @at_model_boundary
    def _predict_proba_lr(self, X):
        """scikit-learn's one-vs-rest probabilities (``LinearClassifierMixin``'s): each
        class's sigmoid of its decision value, normalised to sum to one over the classes."""
        z = self.decision_function(X)
        xp = _backend.get_namespace(z=z)
        p = models.sigmoid(z, xp)
        if p.ndim == 1:
            return xp.stack([1 - p, p], axis=1)
        return p / p.sum(axis=1, keepdims=True)

    @at_model_boundary
    def predict(self, X: ArrayLike) -> Array:
        """Predict the class label of each row of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows: NumPy, CuPy, sparse, Dask, or another array library with array API
            dispatch (the one the model was fitted on).

        Returns
        -------
        array of shape (n,)
            Labels of ``classes_`` (of its dtype), in X's namespace; string labels on the
            host.
        """
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

    @at_model_boundary
    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the mean accuracy of ``predict(X)`` against ``y``, computed on X's device.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows.
        y : array-like of shape (n,)
            Their true labels.
        sample_weight : array-like of shape (n,) or None, default=None
            Weights of the rows in the mean.

        Returns
        -------
        float
            The (weighted) share of rows predicted right.
        """
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
