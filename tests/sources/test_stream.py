"""Streaming a host X through the GPU in row chunks: the chunk logic on the CPU (binomial and
multinomial), the double-buffered copies on a GPU (marked ``gpu``)."""

import numpy as np
import pytest
from helpers import backend, dataset, linear_problem
from reference import assert_reordered, reorder_bound

from gpulogreg import LogisticRegression
from gpulogreg.loss.models import Multinomial
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers import SOLVERS
from gpulogreg.sources.stream import StreamedRows, choose_chunk_rows


def test_chunk_size_from_free_memory_or_override():
    # two buffers of (2 d + 4) * itemsize bytes per row in half the free memory
    assert choose_chunk_rows(10**9, 64, 4, free_bytes=(2 * 64 + 4) * 4 * 2 * 5000) == 5000
    assert choose_chunk_rows(3000, 64, 4, free_bytes=10**12) == 3000  # never more than n
    assert choose_chunk_rows(100, 8, 8, free_bytes=10**9, chunk_rows=7) == 7
    assert choose_chunk_rows(5, 8, 8, free_bytes=10**9, chunk_rows=70) == 5
    with pytest.raises(ValueError, match="chunk_rows must be a positive integer"):
        choose_chunk_rows(100, 8, 8, free_bytes=10**9, chunk_rows=0)
    with pytest.raises(MemoryError, match="not even one row"):
        choose_chunk_rows(100, 10**6, 8, free_bytes=1000)


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 1000, 1001, 5000])
def test_chunks_cover_every_row_once_in_order(chunk_rows):
    X, y, _ = linear_problem(1001, 9, seed=0)
    src = StreamedRows(X, y, xp=np, chunk_rows=chunk_rows)
    chunks = src.chunks()
    assert chunks[0][0] == 0 and chunks[-1][1] == len(X)
    assert all(a < b and b - a <= chunk_rows for a, b in chunks)
    assert all(b == a2 for (_, b), (a2, _) in zip(chunks, chunks[1:]))


@pytest.mark.parametrize("chunk_rows", [1, 100, 1001])
@pytest.mark.parametrize("weighted", [False, True])
def test_streamed_sums_equal_in_memory(chunk_rows, weighted):
    X, y, s = linear_problem(1001, 9, seed=1)
    s = s if weighted else None
    coef = np.random.default_rng(2).normal(size=10) / 3
    v = np.random.default_rng(3).normal(size=10)
    mem = LogisticLoss(X, y, s, C=0.7)
    streamed = LogisticLoss(source=StreamedRows(X, y, s, xp=np, chunk_rows=chunk_rows), C=0.7)
    (f1, g1, h1), (f2, g2, h2) = mem.gradient_hessp(coef), streamed.gradient_hessp(coef)
    np.testing.assert_allclose(f2, f1, rtol=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h2(v), h1(v), rtol=1e-10, atol=1e-14)
    for a, b in zip(streamed.gradient_hessian(coef), mem.gradient_hessian(coef)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_on_a_streamed_memmap(tmp_path, solver):
    """An np.memmap X (the typical bigger-than-memory input) through the chunked source."""
    X, y, _ = linear_problem(700, 9, seed=4)
    path = tmp_path / "X.f64"
    X.tofile(path)
    Xm = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    src = StreamedRows(Xm, y, xp=np, chunk_rows=128)
    res = SOLVERS[solver](LogisticLoss(source=src, C=1.0), np.zeros(10), tol=1e-10,
                          max_iter=100_000)
    ref = SOLVERS[solver](LogisticLoss(X, y, C=1.0), np.zeros(10), tol=1e-10, max_iter=100_000)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("chunk_rows", [97, 1000, None])
def test_gpu_streamed_fit_equals_in_memory_fit(cp, solver, chunk_rows):
    X, y, s = linear_problem(5003, 33, seed=5)
    params = dict(solver=solver, tol=1e-10, max_iter=100_000)
    ref = LogisticRegression(**params).fit(X, y, sample_weight=s)
    model = LogisticRegression(device="cuda", chunk_rows=chunk_rows, **params)
    model.fit(X, y, sample_weight=s)
    assert isinstance(model.coef_, cp.ndarray)
    np.testing.assert_allclose(backend.to_numpy(model.coef_), ref.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(model.intercept_), ref.intercept_, rtol=1e-10,
                               atol=1e-12)


@pytest.mark.gpu
def test_gpu_streamed_sums_reuse_buffers_across_passes(cp):
    X, y, _ = linear_problem(4099, 16, seed=6)
    src = StreamedRows(X, y, chunk_rows=1000)  # the real GPU path: pinned buffers, 2 streams
    loss = LogisticLoss(source=src, C=1.0)
    mem = LogisticLoss(cp.asarray(X), cp.asarray(y), C=1.0)
    for seed in range(3):  # several passes over the same buffers
        coef = cp.asarray(np.random.default_rng(seed).normal(size=17))
        f1, g1 = loss.loss_gradient(coef)
        f2, g2 = mem.loss_gradient(coef)
        np.testing.assert_allclose(f1, f2, rtol=1e-12)
        np.testing.assert_allclose(g1.get(), g2.get(), rtol=1e-10, atol=1e-14)


@pytest.mark.gpu
def test_gpu_streamed_big_chunks_every_pass(cp):
    """Chunks of 64 MiB, all streamed on every pass (none resident), several passes: big
    enough that a copy still in flight when a chunk is read would show."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((1 << 21, 32), dtype=np.float32)  # 256 MiB in 4 chunks
    y = (X[:, 0] + rng.standard_normal(1 << 21, dtype=np.float32) > 0).astype(np.float32)
    src = StreamedRows(X, y, chunk_rows=1 << 19)
    src.n_resident = 0
    loss = LogisticLoss(source=src, C=1.0)
    mem = LogisticLoss(cp.asarray(X), cp.asarray(y), C=1.0)
    for seed in range(3):
        coef = cp.asarray(np.random.default_rng(seed).normal(size=33) / 6)
        f1, g1 = loss.loss_gradient(coef)
        f2, g2 = mem.loss_gradient(coef)
        np.testing.assert_allclose(f1, f2, rtol=1e-6)
        np.testing.assert_allclose(g1.get(), g2.get(), rtol=1e-5, atol=1e-6)
    src.close()


def test_multinomial_streamed_chunks_equal_in_memory():
    X, y = dataset("digits")
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
