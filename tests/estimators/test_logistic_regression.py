"""LogisticRegression: fitting, the prediction API, labels, dtypes and namespaces, warm
starts, stopping and its messages, the fixed step of solver='gd', the GPU fit."""

import warnings

import numpy as np
import pytest
from helpers import backend
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from gpulogreg import DivergenceError, LogisticRegression
from gpulogreg.loss.objective import LogisticLoss


def test_float32_stays_float32_and_reaches_the_float64_objective(xp, cancer):
    X, y = cancer
    m32 = LogisticRegression(tol=1e-5, max_iter=10_000)
    m32.fit(xp.asarray(X.astype(np.float32)), xp.asarray(y))
    m64 = LogisticRegression(tol=1e-10, max_iter=100_000).fit(X, y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    # float32 data resolves max|grad| to a few 1e-6 on this problem; the float64
    # objective at the float32 solution is within 1e-5 relative of the optimum
    loss = LogisticLoss(X, y.astype(float), C=1.0)
    f32 = loss.loss(np.append(backend.to_numpy(m32.coef_[0]),
                              backend.to_numpy(m32.intercept_)).astype(float))
    f64 = loss.loss(np.append(m64.coef_[0], m64.intercept_))
    assert 0 <= f32 - f64 <= 1e-5 * f64
    np.testing.assert_allclose(backend.to_numpy(m32.coef_), m64.coef_, atol=1e-2)


def test_outputs_live_in_the_input_namespace(xp, cancer):
    X, y = (xp.asarray(a) for a in cancer)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    for out in (model.coef_, model.intercept_, model.decision_function(X),
                model.predict_proba(X), model.predict(X)):
        assert type(out) is type(X)
    assert model.coef_.shape == (1, X.shape[1]) and model.intercept_.shape == (1,)


def test_prediction_api_is_consistent(cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=1000).fit(X, y)
    z = model.decision_function(X)
    np.testing.assert_allclose(z, X @ model.coef_[0] + model.intercept_[0], rtol=1e-12)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), (z > 0).astype(int))
    assert model.score(X, y) > 0.97
    assert model.n_features_in_ == X.shape[1] and model.n_iter_[0] > 0


@pytest.mark.parametrize("labels", [(-1, 1), ("ham", "spam"), (False, True), (3.0, 7.0)])
def test_any_two_labels(cancer, labels):
    X, y01 = cancer
    y = np.asarray(labels)[y01]
    model = LogisticRegression(max_iter=1000).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.sort(np.asarray(labels)))
    ref = LogisticRegression(max_iter=1000).fit(X, y01)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.asarray(labels)[ref.predict(X)])


def test_convergence_warning_when_max_iter_is_reached(cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning, match=r"(?s)lbfgs failed to converge.*Increase the number of iterations"):
        model = LogisticRegression(max_iter=2).fit(X, y)
    assert model.n_iter_[0] == 2


def test_column_vector_y_is_accepted_with_a_warning(cancer):
    from sklearn.exceptions import DataConversionWarning

    X, y = cancer
    with pytest.warns(DataConversionWarning):
        model = LogisticRegression(max_iter=1000).fit(X, y[:, None])
    np.testing.assert_allclose(model.coef_, LogisticRegression(max_iter=1000).fit(X, y).coef_)


@pytest.mark.parametrize("dtype, fitted", [(np.float16, np.float32), (np.longdouble, np.float64),
                                           (np.bool_, np.float64), (np.uint8, np.float64)])
def test_other_numeric_X_dtypes_are_converted(dtype, fitted):
    X = np.array([[0, 1], [1, 0], [1, 1], [0, 0]]).astype(dtype)
    model = LogisticRegression().fit(X, np.array([0, 1, 1, 0]))
    assert model.coef_.dtype == fitted


def test_integer_X_is_converted_once():
    X = np.array([[0, 1], [1, 0], [2, 2], [3, 1]], dtype=np.int64)
    y = np.array([0, 0, 1, 1])
    model = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, LogisticRegression().fit(X.astype(float), y).coef_)
    assert model.coef_.dtype == np.float64


def test_predict_log_proba_is_stable_and_consistent(cancer):
    X, y = cancer
    model = LogisticRegression().fit(X, y)
    far = np.vstack([X, X[:1] * 1e3, X[:1] * -1e3])  # |z| ~ 1e4: probabilities round to 0, 1
    z = model.decision_function(far)
    log_p = model.predict_log_proba(far)
    assert np.all(np.isfinite(log_p))
    np.testing.assert_allclose(log_p, np.stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)], 1),
                               rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_p), model.predict_proba(far), rtol=1e-12, atol=1e-16)


def test_penalty_none_is_C_inf():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + rng.logistic(size=200) > 0).astype(int)  # not separable
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"), \
            pytest.warns(UserWarning, match="Setting penalty=None will ignore the C"):
        a = LogisticRegression(penalty=None, C=0.01, tol=1e-10).fit(X, y)
    b = LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-7)
    c = LogisticRegression(C=0.01, tol=1e-10).fit(X, y)
    assert np.abs(c.coef_).sum() < 0.5 * np.abs(b.coef_).sum()  # C matters only with "l2"


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_warm_start_resumes_to_the_same_optimum(cancer, solver):
    X, y = cancer
    full = LogisticRegression(solver=solver, tol=1e-10, max_iter=10_000).fit(X, y)
    resumed = LogisticRegression(solver=solver, tol=1e-10, max_iter=2, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        resumed.fit(X, y)  # interrupted
    resumed.set_params(max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(resumed.coef_, full.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(resumed.intercept_, full.intercept_, rtol=1e-6, atol=1e-8)
    # from a converged model a warm refit has nothing to do; a cold one starts over
    assert full.set_params(warm_start=True).fit(X, y).n_iter_[0] == 0
    assert full.set_params(warm_start=False).fit(X, y).n_iter_[0] > 0


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_verbose_prints_progress(capsys, cancer, solver):
    X, y = cancer
    with pytest.warns(ConvergenceWarning):
        LogisticRegression(solver=solver, verbose=1, max_iter=3).fit(X[:100], y[:100])
    lines = capsys.readouterr().out.splitlines()
    steps = [line for line in lines if line.startswith(f"{solver} iter")]
    assert len(steps) == 3 and all("max|g|=" in l and "step=" in l and "elapsed=" in l
                                   for l in steps)
    assert lines[-1].startswith(f"{solver}: stopped (max_iter=3 reached) after 3 iterations")


def test_clone_and_params_roundtrip(cancer):
    """A clone of a fitted model holds the parameters the model was given, and fits to the
    same coefficients; set_params changes the clone only."""
    from sklearn.base import clone

    X, y = cancer
    model = LogisticRegression(C=0.3, solver="newton-cg", warm_start=True).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert (copy.C, copy.solver, copy.warm_start) == (0.3, "newton-cg", True)
    np.testing.assert_array_equal(copy.fit(X, y).coef_, model.coef_)
    assert copy.set_params(C=2.0).C == 2.0 and model.C == 0.3


@pytest.mark.gpu
def test_gpu_matches_cpu_fit(cp, cancer):
    X, y = cancer
    cpu = LogisticRegression(tol=1e-8, max_iter=100_000).fit(X, y)
    gpu = LogisticRegression(tol=1e-8, max_iter=100_000).fit(cp.asarray(X), cp.asarray(y))
    np.testing.assert_allclose(gpu.coef_.get(), cpu.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gpu.intercept_.get(), cpu.intercept_, rtol=1e-7, atol=1e-9)


@pytest.mark.gpu
def test_gpu_model_predicts_host_data(cp, cancer):
    """A model fitted on the GPU serves NumPy rows (only coef_ moves, never X)."""
    X, y = cancer
    gpu = LogisticRegression(max_iter=1000).fit(cp.asarray(X), cp.asarray(y))
    out = gpu.predict_proba(X)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, gpu.predict_proba(cp.asarray(X)).get(), rtol=1e-12)


def test_sparsify_and_densify_as_scikit_learn(tmp_path):
    """scikit-learn's SparseCoefMixin: coef_ as CSR and back, predictions unchanged, for a
    binary and a multiclass L1 model; save() stores it dense; unfitted is NotFittedError."""
    import scipy.sparse as sp
    from sklearn.datasets import load_iris
    from sklearn.exceptions import NotFittedError

    import gpulogreg

    X, y = load_iris(return_X_y=True)
    for labels in (y == 2, y):
        model = LogisticRegression(solver="owlqn", l1_ratio=1, C=0.1, tol=1e-10,
                                   max_iter=10_000).fit(X, labels)
        dense_coef, proba = model.coef_.copy(), model.predict_proba(X)
        assert model.sparsify() is model and sp.issparse(model.coef_)
        assert model.coef_.format == "csr" and model.coef_.nnz == np.count_nonzero(dense_coef)
        np.testing.assert_array_equal(model.predict_proba(X), proba)
        np.testing.assert_array_equal(model.decision_function(X),
                                      LogisticRegression().set_params(**model.get_params())
                                      .fit(X, labels).decision_function(X))
        model.save(tmp_path / "m.npz")
        np.testing.assert_array_equal(gpulogreg.load(tmp_path / "m.npz").coef_, dense_coef)
        model.set_params(warm_start=True).fit(X, labels)  # warm start from a sparse coef_
        assert model.densify() is model and isinstance(model.coef_, np.ndarray)
        np.testing.assert_allclose(model.coef_, dense_coef, rtol=1e-6, atol=1e-8)  # converged
    with pytest.raises(NotFittedError, match="must be fitted before sparsifying"):
        LogisticRegression().sparsify()


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_float32_tiny_tol_stops_early_and_says_why(solver):
    """Below what float32 resolves, every solver stops on its own long before max_iter;
    lbfgs, as scikit-learn's, calls that converged (it can no longer decrease the
    objective) and says nothing; the others say why they stopped."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5_000, 20)).astype(np.float32)
    y = (X @ rng.normal(size=20) + rng.logistic(size=5_000) > 0).astype(int)
    if solver == "lbfgs":
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            model = LogisticRegression(solver=solver, tol=1e-10, max_iter=100_000).fit(X, y)
    else:
        with pytest.warns(ConvergenceWarning, match="float64 X or a larger tol") as caught:
            model = LogisticRegression(solver=solver, tol=1e-10, max_iter=100_000).fit(X, y)
        message = next(str(w.message) for w in caught if w.category is ConvergenceWarning)
        # it stopped on its own (the gradient stopped improving), long before max_iter
        assert f"stopped after {model.n_iter_[0]} iteration(s)" in message
        assert "tol is below what this data and dtype can resolve" in message
    assert model.n_iter_[0] < 500
    ref = LogisticRegression(tol=1e-8).fit(X.astype(np.float64), y)
    assert model.loss_ <= ref.loss_ * (1 + 1e-5)  # it did reach float32's optimum


def test_predict_returns_labels_of_the_classes_dtype(cancer):
    X, y = cancer
    labels = np.array(["benign", "malignant"], dtype=object)[y]
    model = LogisticRegression().fit(X, labels)
    assert model.classes_.dtype == object and model.predict(X).dtype == object
    assert model.n_iter_.dtype == np.int32
    sk = SkLogisticRegression().fit(X, labels)
    assert model.predict(X).dtype == sk.predict(X).dtype and sk.n_iter_.dtype == np.int32


def test_too_large_learning_rate_is_reported_not_returned(cancer):
    X, y = cancer
    model = LogisticRegression(solver="gd", learning_rate=1e4, max_iter=100)
    with pytest.raises(DivergenceError, match=r"diverged at iteration 1: .*learning_rate=10000"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)  # nothing from the diverged run was kept


def test_a_safe_learning_rate_reaches_the_optimum(cancer):
    """solver='gd' with a fixed learning_rate small enough to converge reaches the optimum
    newton-cg finds."""
    X, y = cancer
    fixed = LogisticRegression(solver="gd", learning_rate=0.5, tol=1e-8, max_iter=100_000)
    fixed.fit(X, y)
    ref = LogisticRegression(solver="newton-cg", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(fixed.coef_, ref.coef_, rtol=1e-5, atol=1e-5)


def test_fixed_step_follows_w_minus_alpha_grad_exactly():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (rng.random(50) < 0.5).astype(int)
    with pytest.warns(ConvergenceWarning):
        model = LogisticRegression(solver="gd", learning_rate=0.1, C=np.inf, max_iter=2,
                                   tol=0.0).fit(X, y)
    loss = LogisticLoss(X, y.astype(float), C=np.inf)
    x = np.zeros(4)
    for _ in range(2):
        x = x - 0.1 * loss.gradient(x)
    np.testing.assert_allclose(np.append(model.coef_[0], model.intercept_), x, rtol=1e-14)


@pytest.mark.gpu
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_gpu_fit_is_bitwise_deterministic(cp, cancer, solver):
    X, y = (cp.asarray(a) for a in cancer)
    a = LogisticRegression(solver=solver, tol=1e-8, max_iter=1000).fit(X, y)
    b = LogisticRegression(solver=solver, tol=1e-8, max_iter=1000).fit(X, y)
    assert a.n_iter_[0] == b.n_iter_[0]
    assert cp.array_equal(a.coef_, b.coef_) and cp.array_equal(a.intercept_, b.intercept_)
