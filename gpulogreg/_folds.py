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
        return models.probabilities(self.decision_function(rows), np)

    def predict_log_proba(self, rows):
        return models.log_probabilities(self.decision_function(rows), np)

    def predict(self, rows):
        return self.labels(self.decision_function(rows))

    def labels(self, z):
        """The predicted labels of decision values z (rows, or rows x classes)."""
        return self.classes_[models.class_index(z)]


def fold_scores(data, paths, folds, classes, y_host, sample_weight, scoring):
    """``scores[f, c]``: the score of fold f's model for C c on fold f's test rows (with
    their raw sample weights), from the decision values of every C's model on those rows,
    computed in pieces of test rows (a piece of X at a time, never the fold's copy)."""
    X, xp = data.X, data.xp
    d = X.shape[1]
    n_Cs, k = paths.shape[1], paths.shape[2]
    scorer = scorer_with_labels(scoring, classes)
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
