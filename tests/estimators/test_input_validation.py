"""Input the estimator cannot use is a clear error naming what is wrong: bad X, y,
weights and parameters at fit, a predict before fit or with other features."""

import re

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from gpulogreg import LogisticRegression


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        LogisticRegression().predict(np.ones((2, 2)))


def _fitted():
    return LogisticRegression().fit(np.array([[0.0, 1], [1, 0], [2, 2]]), np.array([0, 1, 1]))


X_OK = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
Y_OK = np.array([0, 1, 1])
NAN_X = X_OK.copy()
NAN_X[1, 1] = np.nan
INF_X = X_OK.copy()
INF_X[0, 0] = -np.inf


BAD_FIT = [
    # (id, estimator params, X, y, sample_weight, error type, message fragment)
    ("y continuous", {}, X_OK, np.array([0.5, 1.0, 2.0]), None, ValueError, "Unknown label type: continuous"),
    ("y None", {}, X_OK, None, None, ValueError, "requires y to be passed"),
    ("y one class", {}, X_OK, np.array([1, 1, 1]), None, ValueError, "only one class"),
    ("y length", {}, X_OK, np.array([0, 1]), None, ValueError, "Found input variables with inconsistent numbers of samples: [3, 2]"),
    ("y 2-D", {}, X_OK, np.ones((3, 2)), None, ValueError, "y must be 1-D"),
    ("y NaN", {}, X_OK, np.array([0.0, np.nan, 1.0]), None, ValueError, "Input y contains NaN"),
    ("y inf", {}, X_OK, np.array([0.0, np.inf, 1.0]), None, ValueError, "Input y contains infinity"),
    ("X NaN", {}, NAN_X, Y_OK, None, ValueError, "Input X contains NaN"),
    ("X inf", {}, INF_X, Y_OK, None, ValueError, "Input X contains infinity"),
    ("X 1-D", {}, np.ones(3), Y_OK, None, ValueError, "Expected 2D array for X, got 1D"),
    ("X 3-D", {}, np.ones((3, 2, 1)), Y_OK, None, ValueError, "Expected 2D array for X, got 3D"),
    ("X no rows", {}, np.ones((0, 2)), np.array([]), None, ValueError, "0 sample(s) (shape=(0, 2))"),
    ("X no columns", {}, np.ones((3, 0)), Y_OK, None, ValueError, "0 feature(s) (shape=(3, 0))"),
    ("X strings", {}, np.array([["a", "b"]] * 3), Y_OK, None, TypeError, "X must be numeric"),
    ("X complex", {}, X_OK + 1j, Y_OK, None, ValueError, "Complex data not supported: X"),
    ("X objects", {}, np.array([[object()]] * 3), Y_OK, None, TypeError, "X must hold numbers"),
    ("weight length", {}, X_OK, Y_OK, np.ones(2), ValueError, "sample_weight must be 1-D"),
    ("weight negative", {}, X_OK, Y_OK, np.array([1.0, -1.0, 1.0]), ValueError, "non-negative"),
    ("weight all zero", {}, X_OK, Y_OK, np.zeros(3), ValueError, "at least one positive"),
    ("weight NaN", {}, X_OK, Y_OK, np.array([1.0, np.nan, 1.0]), ValueError, "Input sample_weight contains NaN"),
    ("weight inf", {}, X_OK, Y_OK, np.array([1.0, np.inf, 1.0]), ValueError, "Input sample_weight contains infinity"),
    ("weight strings", {}, X_OK, Y_OK, np.array(["a", "b", "c"]), TypeError, "sample_weight must hold real numbers"),
    ("C zero", {"C": 0.0}, X_OK, Y_OK, None, ValueError, "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]"),
    ("C negative", {"C": -1.0}, X_OK, Y_OK, None, ValueError, "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]"),
    ("C NaN", {"C": np.nan}, X_OK, Y_OK, None, ValueError, "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]"),
    ("C string", {"C": "1"}, X_OK, Y_OK, None, ValueError, "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]. Got '1' instead."),
    ("tol negative", {"tol": -1e-4}, X_OK, Y_OK, None, ValueError, "The 'tol' parameter of LogisticRegression must be a float in the range [0.0, inf)"),
    ("tol NaN", {"tol": np.nan}, X_OK, Y_OK, None, ValueError, "The 'tol' parameter of LogisticRegression must be a float in the range [0.0, inf)"),
    ("max_iter negative", {"max_iter": -1}, X_OK, Y_OK, None, ValueError, "The 'max_iter' parameter of LogisticRegression must be an int in the range [0, inf)"),
    ("max_iter float", {"max_iter": 10.5}, X_OK, Y_OK, None, ValueError, "The 'max_iter' parameter of LogisticRegression must be an int"),
    ("solver unknown", {"solver": "sgd"}, X_OK, Y_OK, None, ValueError, "The 'solver' parameter of LogisticRegression must be a str among"),
    ("fit_intercept", {"fit_intercept": "yes"}, X_OK, Y_OK, None, ValueError, "The 'fit_intercept' parameter of LogisticRegression must be an instance of 'bool'"),
    ("penalty l1", {"penalty": "l1"}, X_OK, Y_OK, None, ValueError, "Solver lbfgs supports only 'l2' or None penalties, got l1 penalty"),
    ("l1_ratio", {"l1_ratio": 0.5}, X_OK, Y_OK, None, ValueError, "Solver lbfgs supports only 'l2' or None penalties, got elasticnet penalty"),
    ("dual", {"dual": True}, X_OK, Y_OK, None, ValueError, "Solver lbfgs supports only dual=False, got dual=True"),
    ("device", {"device": "gpu"}, X_OK, Y_OK, None, ValueError, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ("chunk_rows on cpu", {"chunk_rows": 10}, X_OK, Y_OK, None, ValueError, "chunk_rows applies to device='cuda'"),
    ("y mixed types", {}, X_OK, np.array([0, "a", 0], dtype=object), None, TypeError, "y mixes label types (int, str)"),
    ("learning_rate 0", {"solver": "gd", "learning_rate": 0.0}, X_OK, Y_OK, None, ValueError, "The 'learning_rate' parameter of LogisticRegression must be a float in the range (0.0, inf)"),
    ("learning_rate inf", {"solver": "gd", "learning_rate": np.inf}, X_OK, Y_OK, None, ValueError, "The 'learning_rate' parameter of LogisticRegression must be a float in the range (0.0, inf)"),
    ("learning_rate lbfgs", {"learning_rate": 0.1}, X_OK, Y_OK, None, ValueError, "learning_rate applies to solver='gd' only"),
]


@pytest.mark.filterwarnings("ignore:'penalty' was deprecated:FutureWarning")
@pytest.mark.parametrize("params, X, y, sample_weight, error, match",
                         [case[1:] for case in BAD_FIT], ids=[case[0] for case in BAD_FIT])
def test_bad_fit_input_is_a_clear_error(params, X, y, sample_weight, error, match):
    with pytest.raises(error, match=re.escape(match)):
        LogisticRegression(**params).fit(X, y, sample_weight=sample_weight)


def test_predict_with_wrong_number_of_features():
    with pytest.raises(ValueError, match="X has 3 features, but LogisticRegression is expecting 2"):
        _fitted().predict(np.ones((2, 3)))


def test_feature_names_are_checked_like_scikit_learn(cancer):
    pd = pytest.importorskip("pandas")
    X, y = cancer
    frame = pd.DataFrame(X[:, :5], columns=[f"f{i}" for i in range(5)])
    model = LogisticRegression().fit(frame, y)
    assert list(model.feature_names_in_) == list(frame.columns) and model.n_features_in_ == 5
    reordered = frame[frame.columns[::-1]]
    with pytest.raises(ValueError, match="feature names should match those that were passed"):
        model.predict(reordered)  # unchecked, it predicts from the wrong columns (accuracy 0.23)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(frame.to_numpy())
    plain = LogisticRegression().fit(frame.to_numpy(), y)
    with pytest.warns(UserWarning, match="X has feature names, but LogisticRegression was"):
        plain.predict(frame)
    np.testing.assert_array_equal(model.predict(frame), plain.predict(frame.to_numpy()))


def test_y_mixing_types_names_y():
    with pytest.raises(TypeError, match="y mixes label types"):
        LogisticRegression().fit([[0.0], [1.0]], np.array([0, "a"], dtype=object))


def test_penalty_beyond_float64_is_a_clear_error():
    with pytest.raises(ValueError, match=r"C \* max\(sample_weight\) underflows"):
        LogisticRegression(C=1e-30).fit([[0.0], [1.0]], [0, 1], sample_weight=[1e-300, 1e-300])


@pytest.mark.gpu
def test_mixed_devices_are_a_type_error(cp):
    with pytest.raises(TypeError, match="y is a NumPy"):
        LogisticRegression().fit(cp.asarray(X_OK), Y_OK)
