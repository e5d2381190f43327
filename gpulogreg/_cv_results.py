"""What a cross-validation leaves: ``LogisticRegressionCV``'s fitted attributes.

scikit-learn 1.9's attribute layout (legacy or new), the model averaged over the folds
with ``refit=False``, and the per-fold models that a callable ``scoring`` sees.
"""

from __future__ import annotations

import math

import numpy as np

from .estimator import LogisticRegression


def set_cv_attributes(model, Cs, l1_ratios, paths, scores, n_iter, classes, C, l1_ratio,
                      legacy):
    """Set scikit-learn 1.9's attribute layout, legacy or new, from ``paths`` (folds,
    l1_ratios, Cs, k, d + 1), ``scores`` and ``n_iter`` (folds, l1_ratios, Cs)."""
    k = paths.shape[3]
    dof = paths.shape[4] - (0 if model.fit_intercept else 1)
    paths = paths[..., :dof]
    model.Cs_ = Cs
    model.l1_ratios_ = np.asarray([None] if l1_ratios is None else l1_ratios)
    keys = classes[1:] if k == 1 else classes
    if legacy:
        # (folds, Cs, l1_ratios, ...), the l1_ratios axis only when l1_ratios were given
        def layout(a):
            a = np.swapaxes(a, 1, 2)
            return a if l1_ratios is not None else a[:, :, 0]
        model.coefs_paths_ = {key: layout(paths[..., i, :]) for i, key in enumerate(keys)}
        model.scores_ = {key: layout(scores).copy() for key in keys}
        model.C_ = np.full(len(keys), C)
        model.l1_ratio_ = np.asarray([l1_ratio] * len(keys))
        model.n_iter_ = layout(n_iter)[None]
    else:
        model.coefs_paths_ = paths  # (folds, l1_ratios, Cs, classes, dof)
        model.scores_ = scores
        model.C_ = float(C)
        model.l1_ratio_ = (float(l1_ratio) if l1_ratios is not None else
                           1.0 if model.penalty == "l1" else 0.0)
        model.n_iter_ = n_iter


def set_fold_average(model, data, paths, by_C, Cs, shares, labels, penalty):
    """With ``refit=False``: set the fitted model to the mean of each fold's best (C, L1
    share) model, as scikit-learn; return ``(C, l1_ratio)`` to report (the means)."""
    xp, k, d = data.xp, paths.shape[3], paths.shape[4] - 1
    best = [np.unravel_index(i, (len(Cs), len(shares))) for i in by_C.argmax(axis=1)]
    w = np.mean([paths[f, a, c] for f, (c, a) in enumerate(best)], axis=0)
    model.classes_ = data.classes
    dtype = model._coef_dtype(data.X.dtype)
    model.coef_ = xp.asarray(w[:, :d] if k > 1 else w[:1, :d]).astype(dtype)
    model.intercept_ = xp.asarray(w[:, d] if k > 1 else w[:1, d]).astype(dtype)
    model.n_features_in_ = d
    model.loss_ = model.grad_max_ = math.nan
    C_chosen = float(np.mean([Cs[c] for c, _ in best]))
    model._penalty_ = (C_chosen, float(np.mean([shares[a] for _, a in best])))
    l1_ratio_chosen = float(np.mean([labels[a] for _, a in best])) \
        if penalty == "elasticnet" else 0.0
    return C_chosen, l1_ratio_chosen


def fold_estimator(model, data):
    """``make(C, coef (k, d), intercept (k,))``: a fitted ``LogisticRegression`` holding
    one (fold, C) model, what a callable ``scoring`` gets, as scikit-learn's does."""
    params = shared_params(model)

    def make(C, coef, intercept):
        fold = LogisticRegression(**{**params, "C": float(C)})
        fold.classes_ = data.classes
        fold.coef_ = data.xp.asarray(coef).astype(data.X.dtype)
        fold.intercept_ = data.xp.asarray(intercept).astype(data.X.dtype)
        fold.n_features_in_ = data.X.shape[1]
        if hasattr(model, "feature_names_in_"):
            fold.feature_names_in_ = model.feature_names_in_
        return fold

    return make


def shared_params(model):
    """The parameters ``model`` shares with ``LogisticRegression``."""
    return {key: value for key, value in model.get_params().items()
            if key in LogisticRegression().get_params()}
