"""The compiled CPU passes (numba) against the NumPy reference passes and the float64 reference."""

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

pytest.importorskip("numba", reason="numba is not installed: the compiled passes are off")


@pytest.fixture
def jit_everything(monkeypatch):
    """Compiled passes for any size (the threshold only spares small fits the compile)."""
    monkeypatch.setattr(cpu, "MIN_ELEMENTS", 0)
    monkeypatch.delenv("GPULOGREG_DISABLE_JIT", raising=False)


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
        mp.delenv("GPULOGREG_DISABLE_JIT", raising=False)
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


def test_chunk_boundaries(jit_everything, monkeypatch):
    """Rows split into chunks of 7 (and one short chunk) add up to the 256-row chunks' sums."""
    X, y, s, coef = make_problem(np, 1000, 9, np.float64, weights=True, seed=2)
    compiled, _ = both(X, y, s, 2.0, True)
    f1, g1, h1 = compiled.gradient_hessp(coef)
    monkeypatch.setattr(cpu, "_CHUNK_ROWS", 7)
    f2, g2, h2 = compiled.gradient_hessp(coef)
    v = np.arange(coef.size, dtype=float)
    assert_reordered((f2, g2), (f1, g1), reorder_bound(X, s, coef))
    assert_reordered(h2(v), h1(v), reorder_bound(X, s, coef, v=v))


def test_deterministic_whatever_the_thread_count(jit_everything):
    """Fixed chunks, partial sums added in a fixed order: bitwise equal with 1 or 2 threads."""
    import numba

    X, y, s, coef = make_problem(np, 20_000, 33, np.float64, weights=True, seed=4)
    compiled, _ = both(X, y, s, 1.0, True)
    threads = numba.get_num_threads()
    first = compiled.gradient_hessp(coef)
    again = compiled.gradient_hessp(coef)
    numba.set_num_threads(1)
    try:
        single = compiled.gradient_hessp(coef)
    finally:
        numba.set_num_threads(threads)
    v = np.linspace(-1, 1, coef.size)
    for other in (again, single):
        assert other[0] == first[0]
        assert np.array_equal(other[1], first[1])
        assert np.array_equal(other[2](v), first[2](v))


@pytest.mark.parametrize("scale", [1e4, 1e30, 1e300])
def test_extreme_z_is_finite(jit_everything, scale):
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
    assert not LogisticLoss(X, y).compiled  # small: no compile for a tiny fit
    monkeypatch.setattr(cpu, "MIN_ELEMENTS", 0)
    monkeypatch.delenv("GPULOGREG_DISABLE_JIT", raising=False)
    assert LogisticLoss(X, y).compiled
    assert not LogisticLoss(np.asfortranarray(X), y).compiled  # NumPy's BLAS handles F order
    assert not LogisticLoss(X[::2], y[::2]).compiled  # nor any strided view
    assert LogisticLoss(X.astype(np.float32), y.astype(np.float32)).compiled
    assert not LogisticLoss(X.astype(np.float16), y).compiled  # the estimators widen float16
    wide = np.zeros((2, cpu.MAX_FEATURES + 1))
    assert not LogisticLoss(wide, np.array([0.0, 1.0])).compiled  # BLAS is as fast there
    monkeypatch.setenv("GPULOGREG_DISABLE_JIT", "1")
    assert not LogisticLoss(X, y).compiled
    monkeypatch.setenv("GPULOGREG_DISABLE_JIT", "0")
    monkeypatch.setattr(cpu, "_kernels", lambda: None)  # numba missing
    assert not LogisticLoss(X, y).compiled


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-cholesky"])
def test_fit_is_the_same_with_and_without_jit(jit_everything, monkeypatch, solver):
    X, y, s, _ = make_problem(np, 2000, 12, np.float64, weights=True, seed=6)
    jit = LogisticRegression(solver=solver, C=0.5, tol=1e-10).fit(X, y, sample_weight=s)
    monkeypatch.setenv("GPULOGREG_DISABLE_JIT", "1")
    ref = LogisticRegression(solver=solver, C=0.5, tol=1e-10).fit(X, y, sample_weight=s)
    # the compiled and NumPy passes round differently: both fits are within their stopping
    # rule's guarantee of the optimum
    bound = sum(optimum_radius(m, X, y, s, C=0.5) for m in (jit, ref))
    assert np.abs(fitted_vector(jit) - fitted_vector(ref)).max() <= bound


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
        mp.delenv("GPULOGREG_DISABLE_JIT", raising=False)
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


_COMPILE_ONE_KERNEL = """
import numpy as np
from gpulogreg.loss.cpu import primitives as k
z = np.empty(3)
k.matvec(np.ones((3, 2)), 0, 3, np.ones(2), 1.0, z)
assert (z == 3).all(), z
print(k.matvec.stats.cache_path)
"""


def _kernel_cache_files(folder):
    return {p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")}


@pytest.mark.parametrize("where", ["user cache folder", "NUMBA_CACHE_DIR", "nowhere writable"])
def test_compiled_kernels_are_never_cached_inside_the_package(tmp_path, where):
    """numba's default for cache=True writes beside the module, into the installed package,
    where pip's RECORD does not list it: `pip uninstall` then leaves a gpulogreg folder that
    shadows the next install. The cache goes to the user's cache folder, or NUMBA_CACHE_DIR,
    or, where neither is writable, nowhere (the kernels still run)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import gpulogreg

    package = Path(gpulogreg.__file__).parent
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env.pop("GPULOGREG_DISABLE_JIT", None)
    expected = tmp_path / "xdg" / "gpulogreg" / "numba"
    if where == "NUMBA_CACHE_DIR":
        expected = env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    elif where == "nowhere writable":
        env["XDG_CACHE_HOME"] = os.devnull  # a file: no folder can be made under it
    before = _kernel_cache_files(package)
    run = subprocess.run([sys.executable, "-c", _COMPILE_ONE_KERNEL], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert _kernel_cache_files(package) == before
    cache_path = run.stdout.strip().splitlines()[-1]
    if where == "nowhere writable":
        assert cache_path == "None"
    else:
        assert Path(cache_path).is_relative_to(expected)
        assert _kernel_cache_files(Path(cache_path))
