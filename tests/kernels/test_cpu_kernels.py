"""The compiled CPU passes (C) against the NumPy reference passes and the float64 reference."""

import numpy as np
import pytest
from helpers import make_problem
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import (
    assert_reordered,
    fitted_vector,
    hessian,
    hessian_reorder_bound,
    loss_and_gradient,
    optimum_radius,
    reorder_bound,
)

from gpulogreg import LogisticRegression
from gpulogreg.loss import cpu
from gpulogreg.loss.objective import LogisticLoss

pytestmark = pytest.mark.skipif(not cpu.enabled(), reason="the compiled CPU passes were not built "
                                "(no C compiler at install) or are switched off")


@pytest.fixture
def compiled_everywhere(monkeypatch):
    """Compiled passes for any size (whatever MIN_ELEMENTS says)."""
    monkeypatch.setattr(cpu, "MIN_ELEMENTS", 0)
    monkeypatch.delenv("GPULOGREG_DISABLE_CPU_KERNELS", raising=False)


def both(X, y, s, C, fit_intercept):
    """The same loss with the compiled passes and with the NumPy reference passes."""
    compiled = LogisticLoss(X, y, s, C=C, fit_intercept=fit_intercept)
    reference = LogisticLoss(X, y, s, C=C, fit_intercept=fit_intercept)
    reference.compiled = False
    assert compiled.compiled
    return compiled, reference


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 70), d=st.one_of(st.integers(1, 40), st.sampled_from([33, 257])),
       fit_intercept=st.booleans(), weights=st.booleans(), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_compiled_passes_match_the_reference(n, d, fit_intercept, weights, seed, dtype):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpu, "MIN_ELEMENTS", 0)
        mp.delenv("GPULOGREG_DISABLE_CPU_KERNELS", raising=False)
        X, y, s, coef = make_problem(np, n, d, dtype, weights=weights, seed=seed)
        coef = coef if fit_intercept else coef[:-1]
        compiled, reference = both(X, y, s, 0.9, fit_intercept)
        c = coef
        f_ref, g_ref = loss_and_gradient(X, y, c[:d], c[d] if fit_intercept else 0.0, s, 0.9,
                                         fit_intercept)
        H_ref = hessian(X, c[:d], c[d] if fit_intercept else 0.0, s, 0.9, fit_intercept)
        v = np.random.default_rng(seed).normal(size=c.size)
        f, g, hp = compiled.gradient_hessp(c)
        bounds = reorder_bound(X, s, c, fit_intercept=fit_intercept)
        assert_reordered((f, g), (f_ref, g_ref), bounds)
        assert_reordered(hp(v), H_ref @ v,
                         reorder_bound(X, s, c, fit_intercept=fit_intercept, v=v))
        f2, g2, H = compiled.gradient_hessian(c)  # that pass stays on NumPy's BLAS
        assert_reordered((f2, g2), (f, g), bounds)
        assert_reordered(H, H_ref, (None, hessian_reorder_bound(X, s, c,
                                                                fit_intercept=fit_intercept)))


def test_chunk_boundaries(compiled_everywhere, monkeypatch):
    """Rows split into chunks of 7 (and one short chunk) add up to the 256-row chunks' sums."""
    X, y, s, coef = make_problem(np, 1000, 9, np.float64, weights=True, seed=2)
    compiled, _ = both(X, y, s, 2.0, True)
    f1, g1, h1 = compiled.gradient_hessp(coef)
    monkeypatch.setattr(cpu, "_CHUNK_ROWS", 7)
    f2, g2, h2 = compiled.gradient_hessp(coef)
    v = np.arange(coef.size, dtype=float)
    assert_reordered((f2, g2), (f1, g1), reorder_bound(X, s, coef))
    assert_reordered(h2(v), h1(v), reorder_bound(X, s, coef, v=v))


def test_deterministic_whatever_the_thread_count(compiled_everywhere, monkeypatch):
    """Fixed chunks, partial sums added in a fixed order: bitwise equal with 1, 2 or 7
    threads (more than the cores: the counter hands out chunks to whoever asks)."""
    X, y, s, coef = make_problem(np, 20_000, 33, np.float64, weights=True, seed=4)
    compiled, _ = both(X, y, s, 1.0, True)
    monkeypatch.setenv("GPULOGREG_NUM_THREADS", "2")
    first = compiled.gradient_hessp(coef)
    again = compiled.gradient_hessp(coef)
    results = [again]
    for threads in ("1", "7"):
        monkeypatch.setenv("GPULOGREG_NUM_THREADS", threads)
        results.append(compiled.gradient_hessp(coef))
    v = np.linspace(-1, 1, coef.size)
    for other in results:
        assert other[0] == first[0]
        assert np.array_equal(other[1], first[1])
        assert np.array_equal(other[2](v), first[2](v))


@pytest.mark.parametrize("scale", [1e4, 1e30, 1e300])
def test_extreme_z_is_finite(compiled_everywhere, scale):
    dtype = np.float64
    X = np.array([[scale], [-scale], [scale], [-scale], [0.5]], dtype=dtype)
    y = np.array([0, 0, 1, 1, 1], dtype=dtype)
    compiled, _ = both(X, y, None, np.inf, True)
    f, g = compiled.loss_gradient(np.array([1.0, 0.0]))
    f_ref, g_ref = loss_and_gradient(X, y, np.array([1.0]), 0.0)
    np.testing.assert_allclose(f, f_ref, rtol=1e-6)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)


def test_who_gets_the_compiled_passes(monkeypatch):
    X, y, _, _ = make_problem(np, 100, 5, np.float64)
    monkeypatch.setattr(cpu, "MIN_ELEMENTS", 1000)
    assert not LogisticLoss(X, y).compiled  # below the threshold
    monkeypatch.setattr(cpu, "MIN_ELEMENTS", 0)
    assert LogisticLoss(X, y).compiled  # the default: even a tiny X is faster compiled
    monkeypatch.delenv("GPULOGREG_DISABLE_CPU_KERNELS", raising=False)
    assert LogisticLoss(X, y).compiled
    assert not LogisticLoss(np.asfortranarray(X), y).compiled  # NumPy's BLAS handles F order
    assert not LogisticLoss(X[::2], y[::2]).compiled  # nor any strided view
    assert LogisticLoss(X.astype(np.float32), y.astype(np.float32)).compiled
    assert not LogisticLoss(X.astype(np.float16), y).compiled  # the estimators widen float16
    wide = np.zeros((2, cpu.MAX_FEATURES + 1))
    assert not LogisticLoss(wide, np.array([0.0, 1.0])).compiled  # BLAS is as fast there
    monkeypatch.setenv("GPULOGREG_DISABLE_CPU_KERNELS", "1")
    assert not LogisticLoss(X, y).compiled
    monkeypatch.setenv("GPULOGREG_DISABLE_CPU_KERNELS", "0")
    monkeypatch.setattr(cpu, "_library", lambda: None)  # not built
    assert not LogisticLoss(X, y).compiled


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-cholesky"])
def test_fit_is_the_same_with_and_without_the_compiled_passes(compiled_everywhere, monkeypatch, solver):
    X, y, s, _ = make_problem(np, 2000, 12, np.float64, weights=True, seed=6)
    compiled = LogisticRegression(solver=solver, C=0.5, tol=1e-10).fit(X, y, sample_weight=s)
    monkeypatch.setenv("GPULOGREG_DISABLE_CPU_KERNELS", "1")
    ref = LogisticRegression(solver=solver, C=0.5, tol=1e-10).fit(X, y, sample_weight=s)
    # the compiled and NumPy passes round differently: both fits are within their stopping
    # rule's guarantee of the optimum
    bound = sum(optimum_radius(m, X, y, s, C=0.5) for m in (compiled, ref))
    assert np.abs(fitted_vector(compiled) - fitted_vector(ref)).max() <= bound


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 70), d=st.one_of(st.integers(1, 40), st.sampled_from([33, 257])),
       k=st.integers(3, 11), fit_intercept=st.booleans(), weights=st.booleans(),
       seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float64, np.float32]))
def test_compiled_multinomial_passes_match_the_reference(n, d, k, fit_intercept, weights, seed,
                                                          dtype):
    """The multinomial kernels (loss + gradient with the stored softmax, Hessian products)
    against the NumPy reference passes and the independent float64 reference."""
    from reference import multinomial_loss_and_gradient

    from gpulogreg.loss.models import Multinomial

    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * 3).astype(dtype)
    y = rng.integers(0, k, size=n).astype(dtype)
    s = rng.uniform(0.0, 1.0, size=n).astype(dtype) if weights else None
    coef = rng.normal(size=(d + fit_intercept) * k)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpu, "MIN_ELEMENTS", 0)
        mp.delenv("GPULOGREG_DISABLE_CPU_KERNELS", raising=False)
        compiled = LogisticLoss(X, y, s, C=0.9, fit_intercept=fit_intercept,
                                model=Multinomial(k))
        reference = LogisticLoss(X, y, s, C=0.9, fit_intercept=fit_intercept,
                                 model=Multinomial(k))
        reference.compiled = False
        assert compiled.compiled
        f, g, hp = compiled.gradient_hessp(coef)
        f_ref, g_ref, hp_ref = reference.gradient_hessp(coef)
    Wb = coef.reshape(-1, k)
    f_exact, g_exact = multinomial_loss_and_gradient(X, y, Wb[:d], Wb[d] if fit_intercept
                                                     else None, s, 0.9)
    bounds = reorder_bound(X, s, coef, k=k, fit_intercept=fit_intercept)
    assert_reordered((f, g), (f_exact, g_exact.ravel()), bounds)
    assert_reordered((f, g), (f_ref, g_ref), bounds)
    v = rng.normal(size=coef.size)
    assert_reordered(hp(v), hp_ref(v),
                     reorder_bound(X, s, coef, k=k, fit_intercept=fit_intercept, v=v))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3000), d=st.integers(1, 40), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float64, np.float32]), signed=st.booleans())
def test_weighted_gram_matches_float64(n, d, seed, dtype, signed):
    """The Hessian's Gram kernel: ``X^T diag(w) X``, ``X^T w`` and ``sum w`` against float64
    NumPy, for weights of any sign (a multinomial Hessian's off-diagonal blocks), n not a
    multiple of the four-row step or of the groups. Products are formed in float64 from X's
    values, so the error is float64 rounding of n-term sums: <= 2 n eps sum |w x x|."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    w = rng.uniform(-1 if signed else 0, 1, size=n).astype(dtype)
    G, Xw, sw = cpu.weighted_gram(X, w)
    X64, w64 = X.astype(np.float64), w.astype(np.float64)
    eps = 2 * n * np.finfo(np.float64).eps
    assert np.array_equal(G, G.T)
    A = np.abs(X64)
    assert np.all(np.abs(G - (X64 * w64[:, None]).T @ X64) <= eps * (A * np.abs(w64)[:, None]).T @ A)
    assert np.all(np.abs(Xw - X64.T @ w64) <= eps * np.abs(X64).T @ np.abs(w64))
    assert abs(sw - w64.sum()) <= eps * np.abs(w64).sum()


def _pass_in_child(queue):
    X, y, s, coef = make_problem(np, 5000, 9, np.float64, weights=True, seed=3)
    queue.put(float(LogisticLoss(X, y, s).loss_gradient(coef)[0]))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork on this platform")
def test_a_forked_child_runs_the_passes(compiled_everywhere, monkeypatch):
    """A child forked after the parent ran a pass on two threads inherits a copy of the
    thread pool without its threads: it must make its own, not wait forever."""
    import multiprocessing

    monkeypatch.setenv("GPULOGREG_NUM_THREADS", "2")
    X, y, s, coef = make_problem(np, 5000, 9, np.float64, weights=True, seed=3)
    expected = float(LogisticLoss(X, y, s).loss_gradient(coef)[0])
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_pass_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung in the compiled pass"
    assert queue.get(timeout=5) == expected
