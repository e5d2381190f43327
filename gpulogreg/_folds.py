"""The folds of ``LogisticRegressionCV``: their rows as the splitter gives them, and the
test scores of every (fold, C) model, from their decision values on the fold's test rows
(computed in pieces of rows: never a copy of the fold)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from . import _backend
from ._sklearn import scorer_with_labels
from .loss import models

_SCORE_BYTES = 1 << 26  # test-row decision values are computed in pieces of about this size


def fold_rows(rows, n, which):
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


class HostScores(ClassifierMixin, BaseEstimator):
    """A model as a scikit-learn scorer sees it, from its decision values on some rows, on
    the host: its "X" is those rows' indices (a fold's test rows, or all rows of a
    ``score``), its responses are computed from the decision values with NumPy."""

    def __init__(self, classes, test, scores):
        self.classes_, self.test, self.scores = classes, test, scores

    def decision_function(self, rows):
        position = np.searchsorted(self.test, rows)
        if not np.array_equal(self.test[np.minimum(position, len(self.test) - 1)], rows):
            raise ValueError("this model view knows the decision values of its rows only; "
                             "pass indices of those rows")
        return self.scores[position]

    def predict_proba(self, rows):
        return models.probabilities(self.decision_function(rows), np)

    def predict_log_proba(self, rows):
        return models.log_probabilities(self.decision_function(rows), np)

    def predict(self, rows):
        return self.labels(self.decision_function(rows))

    def labels(self, z):
        """The predicted labels of decision values z (rows, or rows x classes)."""
        return self.classes_[models.class_index(z)]


def fold_scores(data, paths, folds, classes, y_host, scoring, score_params, sample_weight,
                Cs, fold_estimator):
    """``scores[f, j]``: the score of fold f's model j (``paths[f, j]``: (k, d + 1) in
    scikit-learn's parametrisation, its C ``Cs[j]``) on fold f's test rows, as
    scikit-learn's ``LogisticRegressionCV`` scores them: ``scoring=None`` is the accuracy
    weighted by the fit's ``sample_weight``; a scorer gets ``score_params`` (the routed
    metadata) restricted to the test rows.

    A scorer named by a string gets every model's decision values on the fold's test rows
    from one product per piece of rows (never the fold's copy) through ``HostScores``, its
    "X" the rows' indices; a callable ``scoring`` gets what scikit-learn's does, a fitted
    ``LogisticRegression`` (``fold_estimator(C, coef, intercept)``) and the test rows
    themselves."""
    X, xp = data.X, data.xp
    n, d = X.shape
    n_models, k = paths.shape[1], paths.shape[2]
    scorer = None if scoring is None or callable(scoring) else \
        scorer_with_labels(scoring, classes)
    fit_weights = None if sample_weight is None else np.broadcast_to(
        np.asarray(_backend.to_numpy(sample_weight) if hasattr(sample_weight, "shape")
                   else sample_weight, dtype=np.float64), (n,))
    scores = np.empty((len(folds), n_models))
    for f, (_, test) in enumerate(folds):
        params = {key: _backend.to_numpy(value)[test]
                  if hasattr(value, "shape") and value.shape[:1] == (n,) else value
                  for key, value in score_params.items()}
        if callable(scoring):
            rows = X[xp.asarray(test)]
            for j in range(n_models):
                model = fold_estimator(Cs[j], paths[f, j, :, :d], paths[f, j, :, d])
                scores[f, j] = scoring(model, rows, y_host[test], **params)
            continue
        W = xp.asarray(paths[f, :, :, :d].transpose(2, 0, 1).reshape(d, n_models * k)
                       ).astype(X.dtype)
        b = xp.asarray(paths[f, :, :, d].reshape(-1)).astype(X.dtype)
        Z = np.empty((len(test), n_models * k), dtype=X.dtype)
        step = max(1, _SCORE_BYTES // (max(d, n_models * k) * X.dtype.itemsize))
        for start in range(0, len(test), step):
            rows = xp.asarray(test[start:start + step])
            Z[start:start + step] = _backend.to_numpy(X[rows] @ W + b)
        Z = Z.reshape(len(test), n_models, k)
        accuracy = scoring is None or (scoring == "accuracy" and set(params) <= {"sample_weight"})
        weights = (None if fit_weights is None else fit_weights[test]) if scoring is None \
            else params.get("sample_weight")
        for j in range(n_models):
            model = HostScores(classes, test, Z[:, j, 0] if k == 1 else Z[:, j])
            if accuracy:  # accuracy_score's own arithmetic, without its label checks per
                # model (np.unique of the test rows: 0.47 of 2.3 s at n = 10^6, 50 models)
                scores[f, j] = float(np.average(model.labels(model.scores) == y_host[test],
                                                weights=weights))
            else:
                scores[f, j] = scorer(model, test, y_host[test], **params)
    return scores
