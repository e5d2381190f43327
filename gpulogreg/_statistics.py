"""Statistical inference on a fitted estimator: ``covariance_matrix`` and ``coef_table``.

A mixin of both estimators (``_base.LogisticBase``); ``_inference`` computes.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.validation import check_is_fitted

from . import _backend, _boundary, _sklearn
from ._typing import Array, ArrayLike


def at_model_boundary(method):
    """``_boundary.at_boundary`` for an estimator method taking X (see there); with array
    API dispatch, X must first come from the library and device the model was fitted on
    (scikit-learn's ``check_same_namespace``)."""
    def same_namespace_as_fit(arguments):
        model = arguments["self"]
        if hasattr(model, "coef_"):
            _sklearn.check_same_namespace(arguments["X"], model, attribute="coef_",
                                          method=method.__name__)
    return _boundary.at_boundary(method, check=same_namespace_as_fit)


class InferenceMixin:
    """The standard errors of a fitted model's parameters, and what follows from them."""

    @at_model_boundary
    def covariance_matrix(self, X: ArrayLike, y: ArrayLike,
                          sample_weight: ArrayLike | None = None, *, cov_type: str = "nonrobust",
                          groups: ArrayLike | None = None) -> Array:
        """Compute the covariance of the fitted parameters on X, y (usually the training data).

        The parameters are ``[coef_ in X's column order, intercept_]`` for two classes; for
        k >= 3 the classes ``classes_[1:]`` relative to ``classes_[0]``, one block per class
        (``coef_[c] - coef_[0]``, then the intercepts' difference), statsmodels' MNLogit
        parametrisation: the symmetric one ``coef_`` holds is not identified without a
        penalty.

        With an L2 penalty (C finite) it is the covariance of the penalised estimator,
        ``H_C^-1 M H_C^-1`` with ``H_C = X^T W X + I / C`` (not on the intercept) and M the
        meat of ``cov_type`` (``X^T W X`` for ``"nonrobust"``); without a penalty it is the
        usual one, statsmodels'. Two passes over X (one for ``"nonrobust"``), on any source:
        NumPy, CuPy, sparse, Dask.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows the covariance is computed on.
        y : array-like of shape (n,)
            Their labels, labels of ``classes_``.
        sample_weight : array-like of shape (n,) or None, default=None
            Frequency weights (statsmodels' GLM ``freq_weights``), times the class weights
            the fit used.
        cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
            ``"nonrobust"``: the inverse observed Fisher information ``(X^T W X)^-1``;
            ``"HC0"``: the sandwich ``H^-1 (sum s_i s_i^T) H^-1`` with the rows' scores s_i;
            ``"HC1"``: HC0 times ``n / (n - p)``; ``"cluster"``: scores summed within
            ``groups``, times ``G / (G - 1) (n - 1) / (n - p)``; n is the sum of the
            weights, p counts the intercept.
        groups : array-like of shape (n,) or None, default=None
            One cluster label per row of X, for ``cov_type="cluster"``.

        Returns
        -------
        array of shape (p, p)
            The covariance, in X's namespace and on its device.

        Raises
        ------
        ValueError
            For an L1 or elastic-net penalty (its estimator has no such covariance), an
            unknown ``cov_type``, or invalid data.

        See Also
        --------
        coef_table : Standard errors, z statistics, p-values and confidence intervals.
        """
        from . import _inference

        check_is_fitted(self)
        return _inference.covariance(self, X, y, sample_weight, cov_type, groups)[0]

    def coef_table(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                   *, cov_type: str = "nonrobust", groups: ArrayLike | None = None,
                   alpha: float = 0.05) -> Any:
        """Tabulate the fitted parameters with their standard errors, z and p-values.

        The p-values are two-sided and the confidence intervals normal, of level
        ``1 - alpha``; the covariance is ``covariance_matrix``'s.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, d)
            The rows the covariance is computed on.
        y : array-like of shape (n,)
            Their labels, labels of ``classes_``.
        sample_weight : array-like of shape (n,) or None, default=None
            Frequency weights, as for ``covariance_matrix``.
        cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
            The covariance, as for ``covariance_matrix``.
        groups : array-like of shape (n,) or None, default=None
            One cluster label per row of X, for ``cov_type="cluster"``.
        alpha : float, default=0.05
            The intervals' level is ``1 - alpha``, in (0, 1).

        Returns
        -------
        pandas.DataFrame or dict
            Columns ``coef, std_err, z, p_value, ci_lower, ci_upper``, indexed by the
            features' names (``feature_names_in_``, else ``x0..``) and ``intercept``; for
            k >= 3 classes each prefixed by its class, ``label:name``. Without pandas, a
            dict of NumPy arrays with those keys and ``"index"``.

        Raises
        ------
        ValueError
            As ``covariance_matrix``, or if ``alpha`` is not in (0, 1).

        See Also
        --------
        covariance_matrix : The covariance of the fitted parameters.
        """
        from . import _inference

        check_is_fitted(self)
        boundary = _boundary.Boundary(X=X, y=y, sample_weight=sample_weight, groups=groups)
        X, y, sample_weight, groups = (boundary.inward(a, name) for a, name in (
            (X, "X"), (y, "y"), (sample_weight, "sample_weight"), (groups, "groups")))
        with _backend.device_of(X):
            return _inference.table(self, X, y, sample_weight, cov_type, groups, alpha)
