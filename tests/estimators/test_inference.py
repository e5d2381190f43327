"""Inference: covariance_matrix and coef_table against statsmodels, on every source."""

import numpy as np
import pytest
import scipy.sparse as sp

from gpulogreg import LogisticRegression, LogisticRegressionCV

sm = pytest.importorskip("statsmodels.api")


def binary_problem(n=500, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.3 + rng.logistic(size=n) > 0).astype(int)
    return X, y


def exact(**params):
    return LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000, **params)


def assert_cov(ours, ref, rtol=1e-6):
    ref = np.asarray(ref)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * np.abs(ref).max())


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
def test_binary_covariances_equal_statsmodels(cov_type):
    X, y = binary_problem()
    groups = np.arange(len(y)) % 20
    model = exact().fit(X, y)
    Xc = sm.add_constant(X, prepend=False)  # the intercept last, as ours
    kwds = {"groups": groups} if cov_type == "cluster" else None
    ref = sm.Logit(y, Xc).fit(disp=0, method="newton", tol=1e-14, maxiter=100,
                              cov_type="HC0" if cov_type == "HC1" else cov_type,
                              cov_kwds=kwds).cov_params()
    if cov_type == "HC1":  # HC0 times n / (n - p), p counting the intercept
        ref = ref * len(y) / (len(y) - X.shape[1] - 1)
    extra = {"groups": groups} if cov_type == "cluster" else {}
    assert_cov(model.covariance_matrix(X, y, cov_type=cov_type, **extra), ref)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_frequency_weights_equal_glm(cov_type):
    X, y = binary_problem(seed=1)
    w = np.random.default_rng(2).integers(1, 4, len(y)).astype(float)
    model = exact().fit(X, y, sample_weight=w)
    glm = sm.GLM(y, sm.add_constant(X, prepend=False), family=sm.families.Binomial(),
                 freq_weights=w).fit(tol=1e-14, cov_type=cov_type)
    assert_cov(model.covariance_matrix(X, y, w, cov_type=cov_type), glm.cov_params())
    # frequency weights are repeated rows
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    repeated = exact().fit(X[rows], y[rows])
    assert_cov(model.covariance_matrix(X, y, w, cov_type=cov_type),
               repeated.covariance_matrix(X[rows], y[rows], cov_type=cov_type), rtol=1e-5)


def test_multinomial_is_mnlogit_relative_to_the_first_class():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    y = np.argmax(X @ rng.normal(size=(3, 3)) + rng.gumbel(size=(600, 3)), axis=1)
    model = exact().fit(X, y)
    ref = sm.MNLogit(y, sm.add_constant(X, prepend=False)).fit(disp=0, method="newton",
                                                               tol=1e-14, maxiter=100)
    assert_cov(model.covariance_matrix(X, y), ref.cov_params())
    table = model.coef_table(X, y)
    # both fits stop at their own tolerances: within 1e-6 of the largest coefficient
    coef = np.asarray(ref.params).ravel("F")
    np.testing.assert_allclose(np.asarray(table["coef"]), coef, atol=1e-6 * abs(coef).max())
    assert list(table.index[:4]) == ["1:x0", "1:x1", "1:x2", "1:intercept"]


def test_table_columns_are_normal_based():
    from scipy.stats import norm

    X, y = binary_problem(seed=3)
    model = exact().fit(X, y)
    table = model.coef_table(X, y, alpha=0.1)
    ref = sm.Logit(y, sm.add_constant(X, prepend=False)).fit(disp=0, method="newton",
                                                             tol=1e-14)
    np.testing.assert_allclose(np.asarray(table["std_err"]), np.asarray(ref.bse), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(table["p_value"]), np.asarray(ref.pvalues),
                               rtol=1e-5)
    half = norm.ppf(0.95) * np.asarray(table["std_err"])
    np.testing.assert_allclose(np.asarray(table["ci_upper"] - table["coef"]), half)
    assert list(table.index) == ["x0", "x1", "x2", "x3", "intercept"]


def test_feature_names_index_the_table():
    pd = pytest.importorskip("pandas")
    X, y = binary_problem(d=2)
    frame = pd.DataFrame(X, columns=["age", "income"])
    model = LogisticRegression().fit(frame, y)
    assert list(model.coef_table(frame, y).index) == ["age", "income", "intercept"]


def test_penalised_covariance_is_the_sandwich_of_the_penalised_hessian():
    X, y = binary_problem(seed=4)
    C = 0.05
    model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    Xa = np.hstack([X, np.ones((len(y), 1))])  # a test reference may copy
    p = 1 / (1 + np.exp(-(Xa @ np.append(model.coef_[0], model.intercept_))))
    H = Xa.T @ (Xa * (p * (1 - p))[:, None])
    H_C = H + np.diag([1 / C] * X.shape[1] + [0.0])
    inv = np.linalg.inv(H_C)
    assert_cov(model.covariance_matrix(X, y), inv @ H @ inv, rtol=1e-8)
    scores = Xa * (p - y)[:, None]
    assert_cov(model.covariance_matrix(X, y, cov_type="HC0"), inv @ scores.T @ scores @ inv,
               rtol=1e-8)


@pytest.mark.parametrize("k", [2, 3])
def test_sparse_and_dask_equal_dense(k):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3)) * (rng.random((400, 3)) < 0.6)
    y = rng.integers(0, k, 400)
    groups = np.arange(400) % 9
    model = LogisticRegression(C=1.0).fit(X, y)
    for cov_type in ("nonrobust", "HC1", "cluster"):
        extra = {"groups": groups} if cov_type == "cluster" else {}
        dense = model.covariance_matrix(X, y, cov_type=cov_type, **extra)
        sparse = model.covariance_matrix(sp.csr_matrix(X), y, cov_type=cov_type, **extra)
        np.testing.assert_allclose(sparse, dense, rtol=1e-10, atol=1e-14)
        da = pytest.importorskip("dask.array")
        chunked = model.covariance_matrix(da.from_array(X, chunks=(70, 3)),
                                          da.from_array(y, chunks=70), cov_type=cov_type,
                                          **extra)
        np.testing.assert_allclose(chunked, dense, rtol=1e-10, atol=1e-14)


def test_cv_model_has_a_table():
    X, y = binary_problem(seed=6)
    cv = LogisticRegressionCV(Cs=3, cv=3, l1_ratios=(0,), use_legacy_attributes=False,
                              scoring="accuracy").fit(X, y)
    single = LogisticRegression(C=cv.C_).fit(X, y)
    assert_cov(cv.covariance_matrix(X, y), single.covariance_matrix(X, y), rtol=1e-3)


@pytest.mark.parametrize("bad, match", [
    ({"cov_type": "HC3"}, "cov_type must be one of"),
    ({"cov_type": "cluster"}, "needs groups"),
    ({"cov_type": "cluster", "groups": np.arange(3)}, "groups must be 1-D with one label"),
    ({"cov_type": "cluster", "groups": np.zeros(500)}, "at least two clusters"),
    ({"cov_type": "cluster", "groups": np.r_[np.nan, np.arange(499.0)]}, "groups contain NaN"),
])
def test_bad_arguments_are_clear_errors(bad, match):
    X, y = binary_problem()
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match=match):
        model.covariance_matrix(X, y, **bad)


def test_other_bad_input():
    from sklearn.exceptions import NotFittedError

    X, y = binary_problem()
    with pytest.raises(NotFittedError):
        LogisticRegression().coef_table(X, y)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        model.covariance_matrix(X[:, :3], y)
    with pytest.raises(ValueError, match="labels the model was not fitted on"):
        model.covariance_matrix(X, y + 5)
    with pytest.raises(ValueError, match="alpha must be"):
        model.coef_table(X, y, alpha=1.5)
    with pytest.raises(ValueError, match="L1 or elastic-net"):
        LogisticRegression(l1_ratio=1, solver="saga").fit(X, y).covariance_matrix(X, y)


def test_perfect_separation_says_so():
    X = np.r_[np.linspace(-3, -1, 20), np.linspace(1, 3, 20)][:, None]
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression(C=np.inf, max_iter=50).fit(X, y)
    with pytest.raises(ValueError, match="perfectly separated"):
        model.covariance_matrix(X, y)


@pytest.mark.gpu
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
@pytest.mark.parametrize("k", [2, 3])
def test_cupy_and_streamed_equal_numpy(cp, cov_type, k):
    """On a GPU: CuPy X gives a CuPy covariance equal to NumPy's, and a model fitted with
    device="cuda" on a host X streams it, with the same result."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, 5))
    y = np.argmax(X @ rng.normal(size=(5, k)) + rng.gumbel(size=(3000, k)), axis=1)
    groups = np.arange(len(y)) % 11
    model = exact().fit(X, y)
    ref = model.covariance_matrix(X, y, cov_type=cov_type, groups=groups)
    on_gpu = model.covariance_matrix(cp.asarray(X), cp.asarray(y), cov_type=cov_type,
                                     groups=cp.asarray(groups))
    assert isinstance(on_gpu, cp.ndarray)
    assert_cov(cp.asnumpy(on_gpu), ref, rtol=1e-9)
    streamed = exact(device="cuda", chunk_rows=500).fit(X, y)
    assert_cov(np.asarray(streamed.covariance_matrix(X, y, cov_type=cov_type, groups=groups)),
               exact().fit(X, y).covariance_matrix(X, y, cov_type=cov_type, groups=groups),
               rtol=1e-6)
