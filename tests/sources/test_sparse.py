"""Sparse X (SciPy CSR/CSC, cupyx CSR on a GPU): the same loss, passes and fits as the dense
X holding the same numbers, without ever densifying X."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import backend
from reference import (
    assert_reordered,
    convexity,
    fitted_vector,
    hessian_reorder_bound,
    optimum_radius,
    reorder_bound,
)
from sklearn.exceptions import DataConversionWarning

from gpulogreg import LogisticRegression, LogisticRegressionCV
from gpulogreg.loss.models import Multinomial
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers import SOLVERS


def sparse_problem(n=600, d=40, density=0.1, k=2, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed,
                  data_rvs=lambda m: rng.normal(size=m) * 2).astype(dtype)
    w = rng.normal(size=(d, k))
    z = X @ w
    y = (z[:, 0] + rng.logistic(size=n) > 0).astype(int) if k == 2 else \
        np.argmax(z + rng.gumbel(size=(n, k)), axis=1)
    return X, y, rng.uniform(0.1, 2.0, size=n)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_passes_equal_dense(fmt, k, fit_intercept, dtype):
    X, y, s = sparse_problem(k=k, dtype=dtype)
    X = X.asformat(fmt)
    model = Multinomial(k) if k > 2 else None
    y = y.astype(dtype)
    s = s.astype(dtype) / s.max()
    sparse = LogisticLoss(X, y, s, C=0.7, fit_intercept=fit_intercept, model=model)
    dense = LogisticLoss(X.toarray(), y, s, C=0.7, fit_intercept=fit_intercept, model=model)
    coef = np.random.default_rng(1).normal(size=sparse.n_params) / 3
    kk = model.k if model else 1
    bounds = reorder_bound(X, s, coef, k=kk, fit_intercept=fit_intercept)
    f, g, hessp = sparse.gradient_hessp(coef)
    f_d, g_d, hessp_d = dense.gradient_hessp(coef)
    assert_reordered((f, g), (f_d, g_d), bounds)
    v = np.random.default_rng(2).normal(size=coef.size)
    assert_reordered(hessp(v), hessp_d(v),
                     reorder_bound(X, s, coef, k=kk, fit_intercept=fit_intercept, v=v))
    _, _, H = sparse.gradient_hessian(coef)
    _, _, H_d = dense.gradient_hessian(coef)
    assert_reordered(H, H_d, (None, hessian_reorder_bound(X, s, coef, k=kk,
                                                          fit_intercept=fit_intercept)))


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("k", [2, 3])
def test_fits_equal_dense(solver, k):
    X, y, s = sparse_problem(k=k, seed=3)
    params = {"solver": solver, "tol": 1e-12, "max_iter": 100_000, "C": 0.5}
    if solver == "owlqn":
        params["l1_ratio"] = 0.5
    sparse = LogisticRegression(**params).fit(X, y, sample_weight=s)
    dense = LogisticRegression(**params).fit(X.toarray(), y, sample_weight=s)
    # sparse and dense sums round differently, and the solvers' paths carry that to the end:
    # each fit is only as close to the optimum as its stopping rule guarantees
    bound = sum(optimum_radius(m, X, y, s, C=0.5, l1_ratio=params.get("l1_ratio", 0.0))
                for m in (sparse, dense))
    assert np.abs(fitted_vector(sparse) - fitted_vector(dense)).max() <= bound
    np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X.toarray()),
                               rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(sparse.predict(X.tocsc()), dense.predict(X.toarray()))


def test_formats_values_and_arrays():
    X, y, _ = sparse_problem()
    reference = LogisticRegression(tol=1e-10).fit(X, y)
    with pytest.warns(DataConversionWarning, match="sparse COO matrix: converted to CSR"):
        coo = LogisticRegression(tol=1e-10).fit(X.tocoo(), y)
    np.testing.assert_allclose(coo.coef_, reference.coef_, rtol=1e-12)
    array = LogisticRegression(tol=1e-10).fit(sp.csr_array(X), y)  # the sparray API
    np.testing.assert_allclose(array.coef_, reference.coef_, rtol=1e-12)
    counts = sp.csr_matrix((X != 0).astype(np.int64))  # integer values: converted once
    assert LogisticRegression().fit(counts, y).coef_.dtype == np.float64
    bad = X.copy()
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LogisticRegression().fit(bad, y)
    with pytest.raises(ValueError, match="X is empty"):
        LogisticRegression().fit(sp.csr_matrix((0, 3)), [])


def test_x_is_never_densified():
    """A sparse X whose dense form would take 80 GB: a pass allocates O(n + d), never n x d."""
    n, d = 100_000, 100_000
    rng = np.random.default_rng(0)
    nnz = 200_000
    X = sp.csr_matrix((rng.normal(size=nnz), (rng.integers(0, n, nnz), rng.integers(0, d, nnz))),
                      shape=(n, d))
    y = (np.arange(n) % 2).astype(np.float64)
    loss = LogisticLoss(X, y, C=1.0)
    coef = np.full(d + 1, 0.1)
    tracemalloc.start()
    try:
        loss.gradient_hessp(coef)[2](coef)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * (n + d) * 8, peak


def test_cross_validation_on_sparse_x():
    """Sparse and dense X give the same CV: the same C, and each (fold, C) model and the
    refit within what their stopping rule guarantees (``optimum_radius``: max|grad| <= tol,
    mu from the exact Hessian), scores within what those coefficients can move a log-loss
    (|d loss / d z| <= 1: at most the test rows' mean of 1 + |x|_1 times the coefficients'
    distance)."""
    from sklearn.model_selection import check_cv

    X, y, _ = sparse_problem(n=400, seed=5)
    Cs, tol = [0.1, 1.0, 10.0], 1e-10
    grid = {"Cs": Cs, "cv": 3, "scoring": "neg_log_loss", "l1_ratios": (0,),
            "use_legacy_attributes": False, "tol": tol, "max_iter": 10_000}
    sparse = LogisticRegressionCV(**grid).fit(X, y)
    dense = LogisticRegressionCV(**grid).fit(X.toarray(), y)
    assert sparse.C_ == dense.C_
    Xd = X.toarray()
    for f, (train, test) in enumerate(check_cv(3, y, classifier=True).split(Xd, y)):
        for c, C in enumerate(Cs):
            x = dense.coefs_paths_[f, 0, c, 0]
            loss = LogisticLoss(Xd[train], y[train], C=C)
            radius = np.sqrt(x.size) * tol / convexity(loss.gradient_hessian(x)[2])
            distance = np.abs(sparse.coefs_paths_[f, 0, c, 0] - x).max()
            assert distance <= 2 * radius
            move = np.mean(1 + np.abs(Xd[test]).sum(axis=1)) * 2 * radius
            assert abs(sparse.scores_[f, 0, c] - dense.scores_[f, 0, c]) <= move
    bound = sum(optimum_radius(m, Xd, y, C=sparse.C_) for m in (sparse, dense))
    assert np.abs(fitted_vector(sparse) - fitted_vector(dense)).max() <= bound


def test_dask_array_of_sparse_chunks():
    da = pytest.importorskip("dask.array")
    import dask

    X, y, _ = sparse_problem(n=500, seed=6)
    dense = LogisticRegression(tol=1e-10, max_iter=1000).fit(X.toarray(), y)
    chunks = [X[i:i + 100] for i in range(0, 500, 100)]
    Xd = da.concatenate([da.from_array(c, chunks=c.shape, asarray=False) for c in chunks])
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lazy = LogisticRegression(tol=1e-10, max_iter=1000).fit(Xd, da.from_array(y, chunks=100))
    np.testing.assert_allclose(lazy.coef_, dense.coef_, rtol=1e-8, atol=1e-12)
    bad = X.copy()
    bad.data[-1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        LogisticRegression().fit(da.from_array(bad, chunks=(100, -1), asarray=False),
                                 da.from_array(y, chunks=100))


@pytest.mark.gpu
def test_cupyx_csr_equals_scipy(cp):
    import cupyx.scipy.sparse as csp

    X, y, s = sparse_problem(k=3, seed=7)
    host = LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y, sample_weight=s)
    gpu = LogisticRegression(tol=1e-10, max_iter=1000).fit(
        csp.csr_matrix(X), cp.asarray(y), sample_weight=cp.asarray(s))
    np.testing.assert_allclose(backend.to_numpy(gpu.coef_), host.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(backend.to_numpy(gpu.predict_proba(csp.csr_matrix(X))),
                               host.predict_proba(X), atol=1e-10)


@pytest.mark.parametrize("estimator", ["LogisticRegression", "LogisticRegressionCV"])
def test_newton_cholesky_on_very_wide_x_refuses_before_allocating(estimator):
    """10^6 sparse columns: the dense Hessian would take 7.3 TiB. The error says so, and which
    solvers fit, before anything that size is allocated."""
    X = sp.random(50, 10**6, density=1e-5, format="csr", random_state=0)
    y = np.arange(50) % 2
    tracemalloc.start()
    try:
        with pytest.raises(MemoryError, match=r"dense Hessian.*use solver='lbfgs' or "
                                              r"'newton-cg'"):
            if estimator == "LogisticRegression":
                LogisticRegression(solver="newton-cholesky").fit(X, y)
            else:
                LogisticRegressionCV(solver="newton-cholesky", Cs=2, cv=2).fit(X, y)
        assert tracemalloc.get_traced_memory()[1] < 200 * 2**20
    finally:
        tracemalloc.stop()


def test_a_sparse_pass_reads_x_in_place():
    """A sparse X is one block: the pass gets X itself, not X[0:n] (a copy of every nonzero
    in SciPy and cupyx)."""
    X, y, s = sparse_problem(n=20_000, d=200, density=0.25)  # X dwarfs O(n) vectors
    loss = LogisticLoss(X, y.astype(float), s / s.max(), C=1.0)
    coef = np.zeros(loss.n_params)
    loss.loss_gradient(coef)
    tracemalloc.start()
    try:
        loss.loss_gradient(coef)
        _, _, hessp = loss.gradient_hessp(coef)
        hessp(coef)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    nonzeros = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert peak < nonzeros / 2, (peak, nonzeros)
