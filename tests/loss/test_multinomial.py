"""Multinomial (softmax) logistic regression: the loss against an independent reference,
finite differences and extremes; the estimator against scikit-learn on iris, wine and digits
for every solver, weighted and class-weighted, with and without intercept."""

import warnings

import numpy as np
import pytest
from helpers import backend, dataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    assert_matches,
    assert_reordered,
    fitted_vector,
    multinomial_loss_and_gradient,
    optimum_radius,
    reorder_bound,
)
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from gpulogreg import LogisticRegression, load
from gpulogreg.loss.models import Multinomial, softmax_residual_and_loss
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers import SOLVERS
from gpulogreg.sources.memory import RowBlocks


def problem(xp, n, d, k, dtype=np.float64, layout="C", weights=False, seed=0):
    rng = np.random.default_rng(seed)
    if layout == "sliced":
        X = xp.asarray(rng.normal(size=(2 * n, 2 * d)).astype(dtype))[::2, ::2]
    else:
        X = xp.asarray(rng.normal(size=(n, d)).astype(dtype), order=layout)
    y = xp.asarray(rng.integers(0, k, size=n).astype(dtype))
    s = xp.asarray(rng.uniform(0.1, 1.0, size=n).astype(dtype)) if weights else None
    return X, y, s, rng


def flat(W, b):
    """[W; b] raveled, the solvers' layout."""
    return np.vstack([W, b]).ravel() if b is not None else W.ravel()


def check(loss, W, b, dtype):
    X, y, s = loss.source.X, loss.source.y, loss.source.sample_weight
    f, g = loss.loss_gradient(loss.xp.asarray(flat(W, b)))
    f_ref, g_ref = multinomial_loss_and_gradient(X, y, W, b, s, loss.C)
    g = backend.to_numpy(g).reshape(g_ref.shape)
    assert_matches(f, g, f_ref, g_ref, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("C", [np.inf, 0.5])
def test_loss_matches_reference(xp, dtype, fit_intercept, weights, C):
    X, y, s, rng = problem(xp, 300, 17, 5, dtype, weights=weights)
    W, b = rng.normal(size=(17, 5)), rng.normal(size=5) if fit_intercept else None
    loss = LogisticLoss(X, y, s, C=C, fit_intercept=fit_intercept, model=Multinomial(5))
    check(loss, W, b, dtype)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 40), d=st.integers(1, 37), k=st.integers(3, 7),
       layout=st.sampled_from(["C", "F", "sliced"]), weights=st.booleans(),
       fit_intercept=st.booleans())
def test_loss_any_shape_and_layout(n, d, k, layout, weights, fit_intercept):
    X, y, s, rng = problem(np, n, d, k, layout=layout, weights=weights, seed=n * d + k)
    W, b = rng.normal(size=(d, k)), rng.normal(size=k) if fit_intercept else None
    check(LogisticLoss(X, y, s, C=2.0, fit_intercept=fit_intercept, model=Multinomial(k)),
          W, b, np.float64)


def finite_difference_hessian(loss, x, h=1e-6):
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((loss.gradient(x + e) - loss.gradient(x - e)) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [np.inf, 3.0])
def test_hessian_and_products_match_finite_differences(fit_intercept, C):
    X, y, s, rng = problem(np, 120, 4, 3, layout="F", weights=True, seed=7)
    loss = LogisticLoss(X, y, s, C=C, fit_intercept=fit_intercept, model=Multinomial(3))
    x = rng.normal(size=loss.n_params)
    H_fd = finite_difference_hessian(loss, x)
    f, g, H = loss.gradient_hessian(x)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=0)
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-8)
    f2, g2, hessp = loss.gradient_hessp(x)
    fit_intercept = loss.fit_intercept
    assert_reordered((f, g), (f2, g2), reorder_bound(X, s, x, k=3, fit_intercept=fit_intercept))
    for _ in range(3):
        v = rng.normal(size=loss.n_params)
        assert_reordered(hessp(v), H @ v,
                         reorder_bound(X, s, x, k=3, fit_intercept=fit_intercept, v=v))


def test_hessp_recomputed_per_block_equals_stored():
    """A source that keeps no per-row arrays (Dask) recomputes the softmax per block."""
    X, y, s, rng = problem(np, 200, 6, 4, weights=True, seed=3)
    x = rng.normal(size=7 * 4)
    v = rng.normal(size=7 * 4)
    stored = LogisticLoss(X, y, s, C=1.0, model=Multinomial(4))
    source = RowBlocks(X, y, s)
    source.keeps_rows = False
    source._block_rows = 64
    recomputed = LogisticLoss(source=source, C=1.0, model=Multinomial(4))
    assert_reordered(recomputed.gradient_hessp(x)[2](v), stored.gradient_hessp(x)[2](v),
                     reorder_bound(X, s, x, k=4, v=v))


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e300), (np.float32, 3e38)])
def test_extreme_scores_stay_finite_and_exact(xp, dtype, big):
    """Scores up to the float maximum: loss and residuals finite; the true class's residual
    of a confident row is -sum(other probabilities), not 1 - 1 = 0."""
    Z = xp.asarray(np.array([[big, -big, 0.0], [0.0, 40.0, 0.0], [-big, -big, big],
                             [5.0, 5.0, 5.0]], dtype=dtype))
    y = xp.asarray(np.array([0, 1, 0, 2], dtype=dtype))
    R, l, P = softmax_residual_and_loss(Z, y, None, xp)
    R, l, P = backend.to_numpy(R), backend.to_numpy(l), backend.to_numpy(P)
    assert np.isfinite(R).all() and np.isfinite(l).all() and np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(R.sum(axis=1), 0, atol=1e-6)
    # row 1: y is the argmax with margin 40; R[y] = -2 e^-40 / (1 + 2 e^-40), relative exact
    tail = 2 * np.exp(-40.0)
    np.testing.assert_allclose(R[1, 1], -tail / (1 + tail), rtol=1e-6)
    np.testing.assert_allclose(l[1], np.log1p(tail), rtol=1e-6)
    # row 2: the label is a class the row is sure against: loss 2 big, finite
    np.testing.assert_allclose(l[2], 2.0 * big, rtol=1e-6)
    np.testing.assert_allclose(l[3], np.log(3.0), rtol=1e-6)


# --- the estimator against scikit-learn -----------------------------------------------------

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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SkLogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=1000,
                                    **params).fit(X, y, sample_weight=s)


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


def test_dask_multinomial_equals_in_memory():
    da = pytest.importorskip("dask.array")
    X, y, _ = DATA["wine"]
    ours = LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dask

        with dask.config.set(scheduler="synchronous"):
            lazy = LogisticRegression(tol=1e-10, max_iter=1000).fit(
                da.from_array(X, chunks=(50, -1)), da.from_array(y, chunks=50))
            proba = lazy.predict_proba(da.from_array(X, chunks=(50, -1))).compute()
            labels = lazy.predict(da.from_array(X, chunks=(50, -1))).compute()
    bound = sum(optimum_radius(m, X, y, C=1.0) for m in (lazy, ours))
    assert np.abs(fitted_vector(lazy) - fitted_vector(ours)).max() <= bound
    # a probability moves by at most |dz|/2 for a change dz of the scores
    dz = bound * (np.abs(X).sum(axis=1) + 1)
    assert (np.abs(proba - ours.predict_proba(X)) <= dz[:, None] / 2 + 1e-15).all()
    np.testing.assert_array_equal(labels, ours.predict(X))


def test_streamed_chunks_equal_in_memory():
    from gpulogreg.sources.stream import StreamedRows

    X, y, _ = DATA["digits"]
    y_index = y.astype(np.float64)
    model = Multinomial(10)
    whole = LogisticLoss(X, y_index, C=1.0, model=model)
    streamed = LogisticLoss(source=StreamedRows(X, y_index, xp=np, chunk_rows=333), C=1.0,
                            model=model)
    x = np.random.default_rng(0).normal(size=whole.n_params) / 10
    f, g, hessp = whole.gradient_hessp(x)
    f_s, g_s, hessp_s = streamed.gradient_hessp(x)
    assert_reordered((f_s, g_s), (f, g), reorder_bound(X, None, x, k=10))
    assert_reordered(hessp_s(x), hessp(x), reorder_bound(X, None, x, k=10, v=x))
    res = SOLVERS["newton-cg"](streamed, np.zeros(whole.n_params), tol=1e-10, max_iter=100)
    assert res.converged
    np.testing.assert_array_less(np.abs(whole.gradient(res.x)), 1e-9)
