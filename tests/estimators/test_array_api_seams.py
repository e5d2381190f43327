"""Where the array API boundary meets other features: callbacks, scorers, inputs DLPack
cannot export. Every case as scikit-learn 1.9 behaves on the same input."""

import os

import numpy as np
import pytest
import sklearn

from gpulogreg import LogisticRegression, LogisticRegressionCV, loss_gradient

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1",
                                reason="array API dispatch needs SCIPY_ARRAY_API=1")


def problem(seed=0, n=120, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X @ rng.normal(size=d) + rng.logistic(size=n) > 0).astype(float)


@pytest.mark.parametrize("estimator", [
    LogisticRegression(),
    LogisticRegressionCV(Cs=2, cv=2, l1_ratios=(0,), use_legacy_attributes=False,
                         scoring="accuracy")])
def test_callbacks_see_the_users_library(estimator):
    """A callback scoring the user's torch data with each iteration's fitted_estimator: the
    data it sees and the estimator's attributes are torch tensors, as scikit-learn's."""
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9: no callbacks")
    X, y = problem()
    seen = []

    class Scoring:
        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
            pass

        def on_fit_task_end(self, estimator, context, *, X=None, y=None,
                            fitted_estimator=None):
            if fitted_estimator is not None:
                seen.append((X, y, fitted_estimator))

    with sklearn.config_context(array_api_dispatch=True):
        estimator.set_callbacks(Scoring()).fit(torch.asarray(X), torch.asarray(y))
        assert seen
        for X_seen, y_seen, model in seen:
            assert isinstance(X_seen, torch.Tensor) and isinstance(model.coef_, torch.Tensor)
            assert 0 <= model.score(X_seen, y_seen) <= 1
        assert seen[-1][2].score(torch.asarray(X), torch.asarray(y)) > 0.7


@pytest.mark.parametrize("scoring", ["neg_log_loss", "roc_auc", "neg_brier_score"])
def test_cv_score_on_torch_equals_numpy(scoring):
    X, y = problem(seed=1)
    params = dict(Cs=3, cv=3, l1_ratios=(0,), use_legacy_attributes=False, scoring=scoring)
    numpy_score = LogisticRegressionCV(**params).fit(X, y).score(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        model = LogisticRegressionCV(**params).fit(torch.asarray(X), torch.asarray(y))
        score = model.score(torch.asarray(X), torch.asarray(y))
    assert score == pytest.approx(numpy_score, rel=1e-9)


def test_requires_grad_is_read_detached():
    X, y = problem(seed=2)
    plain = LogisticRegression().fit(X, y)
    grad = LogisticRegression().fit(torch.asarray(X, requires_grad=True), torch.asarray(y))
    np.testing.assert_array_equal(np.asarray(grad.coef_), plain.coef_)


@pytest.mark.parametrize("convert, match", [
    (lambda X: torch.asarray(X).to_sparse(), "X is a torch array on cpu with a sparse layout"),
    (lambda X: torch.asarray(X).to(torch.bfloat16), "X is a torch array on cpu of dtype "
                                                   "torch.bfloat16"),
], ids=["sparse", "bfloat16"])
@pytest.mark.parametrize("dispatch", [False, True])
def test_tensors_dlpack_cannot_export_are_type_errors_naming_them(convert, match, dispatch):
    X, y = problem(seed=3)
    with sklearn.config_context(array_api_dispatch=dispatch):
        with pytest.raises(TypeError, match=match):
            LogisticRegression().fit(convert(X), torch.asarray(y))
        with pytest.raises(TypeError, match=match):
            loss_gradient(convert(X), y, np.zeros(3))
        model = LogisticRegression().fit(torch.asarray(X), torch.asarray(y))
        with pytest.raises(TypeError, match=match):
            model.predict(convert(X))
