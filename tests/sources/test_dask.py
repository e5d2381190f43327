"""Dask arrays: fit on a 2-worker LocalCluster (binomial) or the synchronous scheduler
(multinomial), the same coefficients as the in-memory fit; lazy predictions; clear errors."""

import sys
import warnings

import numpy as np
import pytest
from helpers import dataset, linear_problem

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from reference import (  # noqa: E402
    assert_reordered,
    fitted_vector,
    hessian_reorder_bound,
    optimum_radius,
    reorder_bound,
)

from gpulogreg import LogisticRegression  # noqa: E402
from gpulogreg.loss.objective import LogisticLoss  # noqa: E402
from gpulogreg.sources import source_for  # noqa: E402
from gpulogreg.sources.dask import DaskRows, require_dask  # noqa: E402

UNEVEN = (300, 1, 450, 249)  # one chunk holds a single row


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def problem(n=1000, d=7, seed=0):
    """Columns of different scales, integer labels, weights in [0, 2) (some near zero)."""
    return linear_problem(n, d, seed, scale_columns=True, weights=(0.0, 2.0), labels=int)


def as_dask(a, row_chunks):
    return da.from_array(a, chunks=(row_chunks,) + tuple((s,) for s in a.shape[1:]))


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
@pytest.mark.parametrize("chunks", [UNEVEN, (250, 250, 250, 250)], ids=["uneven", "even"])
@pytest.mark.parametrize("weighted, fit_intercept", [(False, True), (True, False), (True, True)])
def test_dask_fit_equals_in_memory_fit(client, solver, chunks, weighted, fit_intercept):
    X, y, s = problem()
    s = s if weighted else None
    params = dict(solver=solver, C=0.5, fit_intercept=fit_intercept, tol=1e-12, max_iter=1000)
    ref = LogisticRegression(**params).fit(X, y, sample_weight=s)
    Xd, yd = client.persist([as_dask(X, chunks), as_dask(y, chunks)])  # as users should
    model = LogisticRegression(**params).fit(
        Xd, yd, sample_weight=None if s is None else as_dask(s, (500, 500)))  # misaligned
    assert isinstance(model.coef_, np.ndarray) and model.coef_.dtype == np.float64
    # chunked and whole sums round differently: both fits are within their stopping rule's
    # guarantee of the optimum
    bound = sum(optimum_radius(m, X, y, s, C=0.5) for m in (model, ref))
    assert np.abs(fitted_vector(model) - fitted_vector(ref)).max() <= bound
    np.testing.assert_array_equal(model.classes_, ref.classes_)


def test_dask_gd_and_float32(client):
    X, y, _ = problem(seed=1, n=300, d=3)
    ref = LogisticRegression(solver="gd", tol=1e-6, max_iter=10_000).fit(X, y)
    model = LogisticRegression(solver="gd", tol=1e-6, max_iter=10_000)
    model.fit(as_dask(X, (100, 200)), as_dask(y, (100, 200)))
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    m32 = LogisticRegression().fit(as_dask(X.astype(np.float32), (150, 150)),
                                   as_dask(y, (150, 150)))
    assert m32.coef_.dtype == np.float32


def test_source_sums_match_in_memory(client):
    """The data-source seam: Dask partial sums equal the in-memory ones."""
    X, y, s = problem(seed=2, n=500)
    coef = np.random.default_rng(0).normal(size=8)
    v = np.random.default_rng(1).normal(size=8)
    mem = LogisticLoss(X, y.astype(float), s, C=2.0)
    source = source_for(as_dask(X, (123, 377)), as_dask(y.astype(float), (500,)),
                        as_dask(s, (250, 250)))
    assert isinstance(source, DaskRows)
    dsk = LogisticLoss(source=source, C=2.0)
    bounds = reorder_bound(X, s / s.max(), coef)  # chunks and blocks add in other orders
    assert_reordered(dsk.loss_gradient(coef), mem.loss_gradient(coef), bounds)
    (_, _, h_mem), (_, _, h_dsk) = mem.gradient_hessp(coef), dsk.gradient_hessp(coef)
    assert_reordered(h_dsk(v), h_mem(v), reorder_bound(X, s / s.max(), coef, v=v))
    (f, g, H), (f_mem, g_mem, H_mem) = dsk.gradient_hessian(coef), mem.gradient_hessian(coef)
    assert_reordered((f, g), (f_mem, g_mem), bounds)
    assert_reordered(H, H_mem, (None, hessian_reorder_bound(X, s / s.max(), coef)))


def test_predictions_are_lazy_dask_arrays(client):
    X, y, _ = problem(seed=3)
    model = LogisticRegression().fit(X, y)
    Xd = as_dask(X, UNEVEN)
    for method in ("decision_function", "predict_proba", "predict", "predict_log_proba"):
        out = getattr(model, method)(Xd)
        assert isinstance(out, da.Array), method
        np.testing.assert_allclose(out.compute(), getattr(model, method)(X), rtol=1e-12)
    assert model.score(Xd, as_dask(y, UNEVEN)) == model.score(X, y)


def test_string_labels_on_dask(client):
    X, y, _ = problem(seed=4, n=200)
    labels = np.array(["no", "yes"])[y]
    model = LogisticRegression().fit(as_dask(X, (100, 100)), as_dask(labels, (100, 100)))
    pred = model.predict(as_dask(X, (100, 100)))
    np.testing.assert_array_equal(pred.compute(), LogisticRegression().fit(X, labels).predict(X))


def test_column_chunks_are_refused():
    X, y, _ = problem(n=50)
    with pytest.raises(ValueError, match=r"2 column chunks.*X.rechunk\(\{1: -1\}\)"):
        LogisticRegression().fit(da.from_array(X, chunks=(25, 4)), as_dask(y, (25, 25)))


def test_bad_dask_input_is_a_clear_error():
    X, y, _ = problem(n=50)
    with pytest.raises(TypeError, match="X is a Dask array while y is a NumPy"):
        LogisticRegression().fit(as_dask(X, (25, 25)), y)
    bad = X.copy()
    bad[30, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LogisticRegression().fit(as_dask(bad, (25, 25)), as_dask(y, (25, 25)))
    unknown = as_dask(X, (25, 25))[as_dask(X[:, 0], (25, 25)) > -10]  # unknown chunk sizes
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        LogisticRegression().fit(unknown, as_dask(y, (25, 25)))


def test_missing_dask_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"pip install 'gpulogreg\[dask\]'"):
        require_dask()


def test_dask_multinomial_equals_in_memory():
    X, y = dataset("wine")
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
