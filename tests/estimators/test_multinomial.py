"""The multinomial (softmax) estimator against scikit-learn on iris, wine and digits for every
solver, weighted and class-weighted, with and without intercept; its labels,
probabilities, warm start and saved file."""

import warnings

import numpy as np
import pytest
from helpers import backend, dataset, sklearn_fit
from reference import multinomial_loss_and_gradient

from gpulogreg import LogisticRegression, load
from gpulogreg.solvers import SOLVERS


def _data():
    rng = np.random.default_rng(0)
    out = {}
    for name in ("iris", "wine", "digits"):
        X, y = dataset(name)
        out[name] = (X, y, None)
    X, y = out["wine"][:2]
    out["wine_weighted"] = (X, y, rng.uniform(0, 3, size=len(y)))
    return out


DATA = _data()


CASES = [("iris", True, 1.0), ("iris", False, 1.0), ("wine", True, 0.1),
         ("wine_weighted", True, 1.0), ("wine_weighted", False, 10.0), ("digits", True, 1.0)]


def sk_fit(X, y, s, **params):
    return sklearn_fit(X, y, s, solver="newton-cholesky", tol=1e-12, max_iter=1000, **params)


def assert_same_model(ours, exact, X):
    np.testing.assert_allclose(backend.to_numpy(ours.coef_), exact.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(backend.to_numpy(ours.intercept_), exact.intercept_, rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(backend.to_numpy(ours.predict_proba(X)), exact.predict_proba(X),
                               atol=1e-7)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("name, fit_intercept, C", CASES,
                         ids=[f"{n}-icpt{int(i)}-C{c}" for n, i, c in CASES])
def test_float64_matches_sklearn(xp, solver, name, fit_intercept, C):
    X, y, s = DATA[name]
    if solver == "gd" and name == "digits":
        pytest.skip("gd needs ~10^4 iterations on 10-class digits; lbfgs covers it")
    exact = sk_fit(X, y, s, C=C, fit_intercept=fit_intercept)
    model = LogisticRegression(C=C, fit_intercept=fit_intercept, solver=solver, tol=1e-10,
                               max_iter=100_000)
    model.fit(xp.asarray(X), xp.asarray(y), sample_weight=None if s is None else xp.asarray(s))
    k = len(np.unique(y))
    assert model.coef_.shape == (k, X.shape[1]) and model.intercept_.shape == (k,)
    assert_same_model(model, exact, X if xp is np else xp.asarray(X))
    np.testing.assert_array_equal(backend.to_numpy(model.predict(xp.asarray(X))), exact.predict(X))


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 4.0, 2: 0.25}])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
def test_class_weight_matches_sklearn(solver, class_weight):
    X, y, s = DATA["wine_weighted"]
    exact = sk_fit(X, y, s, class_weight=class_weight)
    model = LogisticRegression(solver=solver, class_weight=class_weight, tol=1e-10,
                               max_iter=10_000).fit(X, y, sample_weight=s)
    assert_same_model(model, exact, X)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_no_penalty_uses_the_symmetric_parametrisation(solver):
    """Without a penalty adding a constant to every class changes nothing, so the
    coefficients are those whose classes sum to zero, as scikit-learn returns them."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 4))
    y = np.argmax(X @ rng.normal(size=(4, 3)) + rng.gumbel(size=(500, 3)), axis=1)
    exact = sk_fit(X, y, None, C=np.inf)
    model = LogisticRegression(solver=solver, C=np.inf, tol=1e-10,
                               max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(model.coef_.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(model.intercept_.sum(), 0, atol=1e-12)
    assert_same_model(model, exact, X)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_float32_reaches_the_float64_objective(solver):
    X, y, _ = DATA["wine"]
    exact = sk_fit(X, y, None)
    model = LogisticRegression(solver=solver, tol=1e-5, max_iter=100_000)
    model.fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32

    def objective(m):
        b = np.asarray(m.intercept_, dtype=np.float64)
        return multinomial_loss_and_gradient(X, np.searchsorted(m.classes_, y),
                                             m.coef_.T.astype(np.float64), b, None, 1.0)[0]

    f, f_opt = objective(model), objective(exact)
    assert 0 <= f - f_opt <= 1e-5 * f_opt


def test_labels_probabilities_and_log_probabilities():
    X, y, _ = DATA["iris"]
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LogisticRegression().fit(X, names)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    assert model.predict(X).dtype == names.dtype
    assert model.score(X, names) > 0.95
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba), rtol=1e-10)
    scores = model.decision_function(X)
    assert scores.shape == (len(y), 3)
    np.testing.assert_array_equal(model.predict(X), model.classes_[scores.argmax(axis=1)])
    # log-probabilities far out stay finite (the log of a probability would be -inf)
    far = model.predict_log_proba(X[:3] * 1e30)
    assert np.isfinite(far).all() and (far <= 0).all()


def test_warm_start_resumes_and_save_load_round_trips(tmp_path):
    X, y, _ = DATA["wine"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=3 stops early on purpose
        model = LogisticRegression(max_iter=3).fit(X, y)
    loaded = load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    loaded.set_params(warm_start=True, max_iter=1000, tol=1e-10).fit(X, y)
    assert loaded.n_iter_[0] < LogisticRegression(max_iter=1000, tol=1e-10).fit(X, y).n_iter_[0]
    assert_same_model(loaded, sk_fit(X, y, None), X)
