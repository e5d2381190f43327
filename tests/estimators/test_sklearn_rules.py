"""scikit-learn's rules where they are easy to miss: metadata routing in the CV, the
callable scorer's estimator, coefficient dtypes, lbfgs's convergence by the objective,
saga's tol, the callbacks' tasks, and a two-class multinomial in the functional API."""

import re
import warnings

import numpy as np
import pytest
from helpers import dataset
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV
from sklearn.metrics import get_scorer
from sklearn.model_selection import GroupKFold

import gpulogreg
from gpulogreg import LogisticRegression, LogisticRegressionCV

CV = dict(Cs=3, cv=3, l1_ratios=(0,), use_legacy_attributes=False)


def test_cv_fit_params_need_metadata_routing_as_in_sklearn():
    import sklearn

    X, y = dataset("breast_cancer")
    groups = np.arange(len(y)) % 7
    for estimator in (LogisticRegressionCV(scoring="accuracy", **CV),
                      SkLogisticRegressionCV(scoring="accuracy", **CV)):
        with pytest.raises(ValueError, match="is only supported if enable_metadata_routing"):
            estimator.fit(X, y, groups=groups)
    with sklearn.config_context(enable_metadata_routing=True):
        ours = LogisticRegressionCV(scoring="accuracy", **{**CV, "cv": GroupKFold(3)}).fit(
            X, y, groups=groups)
        theirs = SkLogisticRegressionCV(scoring="accuracy",
                                        **{**CV, "cv": GroupKFold(3)}).fit(X, y, groups=groups)
    np.testing.assert_allclose(ours.scores_, theirs.scores_, atol=0.02)


def test_sample_weight_reaches_the_scorer_only_when_requested():
    import sklearn

    X, y = dataset("breast_cancer")
    w = np.where(np.arange(len(y)) < len(y) // 2, 2.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        quiet = get_scorer("accuracy").set_score_request(sample_weight=False)
        asks = get_scorer("accuracy").set_score_request(sample_weight=True)
        a = LogisticRegressionCV(scoring=quiet, **CV).fit(X, y, sample_weight=w)
        b = LogisticRegressionCV(scoring=asks, **CV).fit(X, y, sample_weight=w)
        assert not np.allclose(a.scores_, b.scores_)
        with pytest.raises(TypeError, match=re.escape(
                "LogisticRegressionCV.score got unexpected argument(s) {'sample_weight'}")):
            a.score(X, y, sample_weight=w)
        assert b.score(X, y, sample_weight=w) != a.score(X, y)
    assert LogisticRegressionCV(scoring=None, **CV)._get_scorer()._score_func.__name__ == \
        "accuracy_score"


def test_a_callable_cv_scorer_gets_a_fitted_model_and_the_test_rows():
    X, y = dataset("breast_cancer")
    seen = []

    def scorer(estimator, X_test, y_test):
        seen.append((estimator.C, estimator.coef_.shape, estimator.intercept_.shape,
                     X_test.shape, list(estimator.classes_)))
        return float((estimator.predict(X_test) == y_test).mean())

    model = LogisticRegressionCV(scoring=scorer, **CV).fit(X, y)
    reference = LogisticRegressionCV(scoring="accuracy", **CV).fit(X, y)
    np.testing.assert_allclose(model.scores_, reference.scores_)
    assert len(seen) == 9 and seen[0][:3] == (1e-4, (1, 30), (1,))
    assert seen[0][3][0] in (189, 190) and seen[0][4] == [0, 1]


@pytest.mark.parametrize("solver, expected", [("lbfgs", np.float32), ("liblinear", np.float64)])
def test_coef_dtypes_are_sklearns(solver, expected):
    X, y = dataset("breast_cancer")
    X32 = X.astype(np.float32)
    assert LogisticRegression(solver=solver).fit(X32, y).coef_.dtype == expected
    assert SkLogisticRegression(solver=solver).fit(X32, y).coef_.dtype == expected
    cv = LogisticRegressionCV(solver=solver, scoring="accuracy", **CV).fit(X32, y)
    sk_cv = SkLogisticRegressionCV(solver=solver, scoring="accuracy", **CV).fit(X32, y)
    assert cv.coef_.dtype == sk_cv.coef_.dtype == np.float64


def test_float32_lbfgs_converges_where_the_objective_cannot_fall():
    """scikit-learn's lbfgs stops (converged) when the objective's relative reduction is
    below 64 eps: a float32 fit asked for tol=1e-12 ends without a warning, below max_iter."""
    X, y = dataset("iris")
    with pytest.warns() as record:
        import warnings

        warnings.warn("marker")  # pytest.warns needs one
        model = LogisticRegression(C=1e-2, tol=1e-12, max_iter=500).fit(
            X.astype(np.float32), y)
    assert not [w for w in record if issubclass(w.category, ConvergenceWarning)]
    assert model.n_iter_[0] < 500


@pytest.mark.parametrize("solver, l1_ratio, ours", [
    ("saga", 0.5, "owlqn"), ("saga", 0.0, "newton-cg"), ("sag", 0.0, "newton-cg")])
def test_sag_and_saga_tol_bounds_the_weights_change(solver, l1_ratio, ours):
    """sag's and saga's tol means what scikit-learn's means: the last step changes the
    weights by at most tol relative to the largest weight (besides our gradient rule), for
    L1 and elastic-net (OWL-QN) and for L2 (newton-cg)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=1000, n_features=20, n_informative=10,
                               random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    params = dict(l1_ratio=l1_ratio, C=100.0, fit_intercept=False, tol=1e-4)
    model = LogisticRegression(solver=solver, **params).fit(X, y)
    n = model.n_iter_[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        before = LogisticRegression(solver=solver, **params, max_iter=n - 1).fit(X, y)
    change = np.abs(model.coef_ - before.coef_).max() / np.abs(model.coef_).max()
    assert change <= 1e-4
    assert n > LogisticRegression(solver=ours, **params).fit(X, y).n_iter_[0]  # it asked more


def test_callbacks_report_tasks_as_sklearns_lbfgs():
    """scikit-learn's lbfgs reports a root task, an iteration task per iteration (begun at
    the point it starts from) and one more, begun for an iteration that does not run and
    ended empty: its own test counts 1 + max(n_iter, 1) + 1 of each hook (max_iter=0 still
    reports one iteration, ending where it began)."""
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9: no callbacks")
    X, y = dataset("breast_cancer")
    for max_iter in (0, 3, 1000):
        hooks = {"begin": 0, "end": 0}

        class Counting:
            def setup(self, estimator, context):
                pass

            def teardown(self, estimator, context):
                pass

            def on_fit_task_begin(self, estimator, context):
                hooks["begin"] += 1

            def on_fit_task_end(self, estimator, context):
                hooks["end"] += 1

        model = LogisticRegression(max_iter=max_iter).set_callbacks(Counting()).fit(X, y)
        count = 1 + max(model.n_iter_[0], 1) + 1
        assert hooks == {"begin": count, "end": count}


def test_two_class_multinomial_coef_in_the_functional_api():
    """A (2, d) coef means two classes under the softmax: the gradient is the multinomial
    one (a broadcast error before)."""
    from scipy.special import softmax

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)), rng.integers(0, 2, 50)
    W, b = rng.normal(size=(2, 3)), rng.normal(size=2)
    f, g_W, g_b = gpulogreg.loss_gradient(X, y, W, b)
    P = softmax(X @ W.T + b, axis=1)
    R = (P - np.eye(2)[y]) / len(y)
    assert f == pytest.approx(-np.mean(np.log(P[np.arange(50), y])), rel=1e-12)
    np.testing.assert_allclose(g_W, R.T @ X, rtol=1e-10)
    np.testing.assert_allclose(g_b, R.sum(axis=0), rtol=1e-10, atol=1e-15)
    Hv_W, Hv_b = gpulogreg.hessp(X, y, W, b, W, b)
    assert Hv_W.shape == (2, 3) and Hv_b.shape == (2,)
    new_W, new_b, f0 = gpulogreg.gradient_step(X, y, W, b, learning_rate=0.5)
    np.testing.assert_allclose(new_W, W - 0.5 * g_W)
    assert f0 == f
