"""The binary LogisticLoss against the independent float64 reference, finite differences and
extremes, for any shape and memory layout, without copying X; its GPU paths (fused and
one-pass kernels) against the general one."""

import tracemalloc

import numpy as np
import pytest
from helpers import backend, central_difference, finite_difference_jacobian, make_problem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    assert_matches,
    assert_reordered,
    hessian,
    hessian_reorder_bound,
    loss_and_gradient,
    reorder_bound,
)

from gpulogreg.loss import models, passes
from gpulogreg.loss.objective import LogisticLoss

LAYOUTS = ("C", "F", "sliced")


def check_against_reference(loss, coef, dtype):
    f, g = loss.loss_gradient(coef)
    c = backend.to_numpy(coef)
    d = loss.n_features
    src = loss.source
    f_ref, g_ref = loss_and_gradient(src.X, src.y, c[:d], c[d] if loss.fit_intercept else 0.0,
                                     src.sample_weight, loss.C, loss.fit_intercept)
    g = backend.to_numpy(g)
    assert g.dtype == np.float64 and g.shape == g_ref.shape
    assert_matches(f, g, f_ref, g_ref, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("C", [np.inf, 0.5])
def test_matches_reference(xp, dtype, fit_intercept, weights, C):
    X, y, s, coef = make_problem(xp, 300, 17, dtype, weights=weights)
    coef = coef if fit_intercept else coef[:-1]
    loss = LogisticLoss(X, y, s, C=C, fit_intercept=fit_intercept)
    check_against_reference(loss, coef, dtype)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 70),
    d=st.one_of(st.integers(1, 40), st.sampled_from([33, 257])),
    layout=st.sampled_from(LAYOUTS),
    dtype=st.sampled_from([np.float64, np.float32]),
    fit_intercept=st.booleans(),
    weights=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_shapes_and_layouts(xp, n, d, layout, dtype, fit_intercept, weights, seed):
    X, y, s, coef = make_problem(xp, n, d, dtype, layout, weights, seed)
    coef = coef if fit_intercept else coef[:-1]
    loss = LogisticLoss(X, y, s, C=2.0, fit_intercept=fit_intercept)
    check_against_reference(loss, coef, dtype)


def test_finite_differences():
    X, y, s, coef = make_problem(np, 40, 5, np.float64, weights=True, seed=3)
    loss = LogisticLoss(X, y, s, C=0.7)
    g = loss.gradient(coef)
    np.testing.assert_allclose(g, finite_difference_jacobian(loss.loss, coef), rtol=1e-6,
                               atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_hessp_matches_explicit_hessian(xp, dtype, fit_intercept, weights):
    X, y, s, coef = make_problem(xp, 257, 33, dtype, layout="F", weights=weights, seed=7)
    coef = coef if fit_intercept else coef[:-1]
    loss = LogisticLoss(X, y, s, C=0.8, fit_intercept=fit_intercept)
    f, g, hessp = loss.gradient_hessp(coef)
    f_ref, g_ref = loss.loss_gradient(coef)
    c = backend.to_numpy(coef)
    Xh = backend.to_numpy(X)
    sh = None if s is None else backend.to_numpy(s)
    assert_reordered((f, backend.to_numpy(g)), (f_ref, backend.to_numpy(g_ref)),
                     reorder_bound(Xh, sh, c, fit_intercept=fit_intercept))
    H = hessian(X, c[:33], c[33] if fit_intercept else 0.0, s, C=0.8, fit_intercept=fit_intercept)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    for seed in range(3):
        v = np.random.default_rng(seed).normal(size=c.size)
        hv = backend.to_numpy(hessp(xp.asarray(v)))
        assert hv.dtype == np.float64
        assert np.linalg.norm(hv - H @ v) <= rtol * np.linalg.norm(H @ v)


def test_hessp_finite_differences_of_gradient():
    X, y, s, coef = make_problem(np, 60, 6, np.float64, weights=True, seed=9)
    loss = LogisticLoss(X, y, s, C=0.5)
    _, _, hessp = loss.gradient_hessp(coef)
    v = np.random.default_rng(1).normal(size=coef.size)
    fd = central_difference(loss.gradient, coef, v)
    np.testing.assert_allclose(hessp(v), fd, rtol=1e-6, atol=1e-10)


def test_gradient_without_penalty_is_the_mean_residual_times_x():
    """C=inf, no weights, no intercept: exactly (1/n) X^T (sigmoid(Xw) - y)."""
    X, y, _, coef = make_problem(np, 50, 4, np.float64, seed=5)
    w = coef[:4]
    g = LogisticLoss(X, y, C=np.inf, fit_intercept=False).gradient(w)
    np.testing.assert_allclose(g, X.T @ (1 / (1 + np.exp(-X @ w)) - y) / 50, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e4, 1e30])
def test_extreme_z_is_finite_and_right(xp, dtype, scale):
    """z = +-scale for both labels: loss and gradient finite and equal to the reference."""
    X = xp.asarray(np.array([[scale], [-scale], [scale], [-scale], [0.5]], dtype=dtype))
    y = xp.asarray(np.array([0, 0, 1, 1, 1], dtype=dtype))
    coef = xp.asarray(np.array([1.0, 0.0]))
    loss = LogisticLoss(X, y, C=np.inf)
    f, g = loss.loss_gradient(coef)
    g = backend.to_numpy(g)
    assert np.isfinite(f) and np.all(np.isfinite(g))
    f_ref, g_ref = loss_and_gradient(X, y, np.array([1.0]), 0.0)
    np.testing.assert_allclose(f, f_ref, rtol=1e-6)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)


def test_residual_has_no_cancellation():
    """sigmoid(z) - 1 for large z keeps full relative precision (e^-z, not 1 - 1 = 0)."""
    z = np.array([30.0, 40.0, -30.0])
    r, l = models.residual_and_loss(z, np.array([1.0, 1.0, 0.0]), None, np)
    np.testing.assert_allclose(r, [-np.exp(-30) / (1 + np.exp(-30)), -np.exp(-40) / (1 + np.exp(-40)),
                                   np.exp(-30) / (1 + np.exp(-30))], rtol=1e-14)
    np.testing.assert_allclose(l, np.log1p(np.exp(-np.abs(z))), rtol=1e-14)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_never_copies_X(layout):
    """loss_gradient allocates O(block + d), never a copy of X (NumPy allocations are traced)."""
    X, y, _, coef = make_problem(np, 40_000, 50, np.float64, layout=layout)  # 16 MB
    loss = LogisticLoss(X, y, C=1.0)
    assert loss.source.X is X
    tracemalloc.start()
    loss.loss_gradient(coef)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 8, f"peak allocation {peak} bytes for X of {X.nbytes} bytes"


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", [False, True])
def test_fused_kernel_matches_general_path(cp, dtype, weights):
    X, y, s, coef = make_problem(cp, 5000, 33, dtype, weights=weights)
    fused = LogisticLoss(X, y, s, C=1.0)
    general = LogisticLoss(X, y, s, C=1.0, fused=False)
    assert fused.fused is None and general.fused is False
    f1, g1 = fused.loss_gradient(coef)
    f2, g2 = general.loss_gradient(coef)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(f1, f2, rtol=rtol)
    np.testing.assert_allclose(backend.to_numpy(g1), backend.to_numpy(g2), rtol=rtol,
                               atol=rtol * float(cp.linalg.norm(g2)))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cpu_gpu_equivalence(cp, dtype):
    X, y, s, coef = make_problem(np, 2000, 40, dtype, weights=True, seed=11)
    f_cpu, g_cpu = LogisticLoss(X, y, s, C=0.3).loss_gradient(coef)
    f_gpu, g_gpu = LogisticLoss(cp.asarray(X), cp.asarray(y), cp.asarray(s),
                                C=0.3).loss_gradient(cp.asarray(coef))
    assert isinstance(g_gpu, cp.ndarray)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(f_gpu, f_cpu, rtol=rtol)
    np.testing.assert_allclose(g_gpu.get(), g_cpu, rtol=rtol, atol=rtol * np.linalg.norm(g_cpu))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradient_hessian_matches_explicit_hessian(xp, dtype, fit_intercept, weights, layout):
    """One pass gives the loss and gradient of loss_gradient (up to the order of the sums: the
    compiled and NumPy paths may both be in play), and the explicit Hessian."""
    X, y, s, coef = make_problem(xp, 257, 33, dtype, layout=layout, weights=weights, seed=4)
    coef = coef if fit_intercept else coef[:-1]
    loss = LogisticLoss(X, y, s, C=0.8, fit_intercept=fit_intercept)
    f, g, H = loss.gradient_hessian(coef)
    f_ref, g_ref = loss.loss_gradient(coef)
    c = backend.to_numpy(coef)
    Xh = backend.to_numpy(X)
    sh = None if s is None else backend.to_numpy(s)
    assert_reordered((f, backend.to_numpy(g)), (f_ref, backend.to_numpy(g_ref)),
                     reorder_bound(Xh, sh, c, fit_intercept=fit_intercept))
    H_ref = hessian(X, c[:33], c[33] if fit_intercept else 0.0, s, C=0.8,
                    fit_intercept=fit_intercept)
    H = backend.to_numpy(H)
    assert H.dtype == np.float64 and np.array_equal(H, H.T)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.abs(H - H_ref).max() <= rtol * np.abs(H_ref).max()


def test_gradient_hessian_pieces_add_up(monkeypatch):
    """A block split into many Hessian pieces (as a whole GPU block is) gives the same sums."""
    X, y, s, coef = make_problem(np, 1000, 7, np.float64, weights=True)
    whole = LogisticLoss(X, y, s, C=3.0).gradient_hessian(coef)
    monkeypatch.setattr(passes, "_HESSIAN_PIECE_BYTES", 7 * 8 * 10)  # 10-row pieces
    pieces = LogisticLoss(X, y, s, C=3.0).gradient_hessian(coef)
    assert_reordered(pieces[:2], whole[:2], reorder_bound(X, s, coef))
    assert_reordered(pieces[2], whole[2], (None, hessian_reorder_bound(X, s, coef)))


def test_hessian_finite_differences_of_gradient():
    X, y, s, coef = make_problem(np, 60, 6, np.float64, weights=True, seed=9)
    loss = LogisticLoss(X, y, s, C=0.5)
    _, _, H = loss.gradient_hessian(coef)
    fd = finite_difference_jacobian(loss.gradient, coef).T  # row j: the derivative along e_j
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_gradient_hessian_never_copies_X(layout):
    X, y, _, coef = make_problem(np, 40_000, 50, np.float64, layout=layout)  # 16 MB
    loss = LogisticLoss(X, y, C=1.0)
    tracemalloc.start()
    loss.gradient_hessian(coef)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 2, f"peak allocation {peak} bytes for X of {X.nbytes} bytes"


@pytest.mark.gpu
@pytest.mark.parametrize("n, d", [(1, 1), (70, 33), (5000, 1000), (100_003, 64), (3001, 4096)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_one_pass_kernels_match_the_general_path(cp, monkeypatch, n, d, dtype, weights,
                                                 fit_intercept):
    """The one-pass kernels (logistic_grad.cu, switched on) against the cuBLAS + general
    elementwise path and the float64 reference: loss, gradient, stored curvature, Hessian
    products; bitwise equal from one call to the next."""
    from gpulogreg.loss import cuda

    monkeypatch.setattr(cuda, "ONE_PASS", True)
    X, y, s, coef = make_problem(cp, n, d, dtype, weights=weights, seed=n + d)
    coef = coef if fit_intercept else coef[:-1]
    one = LogisticLoss(X, y, s, C=0.7, fit_intercept=fit_intercept)
    general = LogisticLoss(X, y, s, C=0.7, fit_intercept=fit_intercept, fused=False)
    v = cp.asarray(np.random.default_rng(1).normal(size=coef.size))
    f, g, hessp = one.gradient_hessp(coef)
    f2, g2, hessp2 = one.gradient_hessp(coef)
    assert f == f2 and bool((g == g2).all()) and bool((hessp(v) == hessp2(v)).all())
    f_ref, g_ref, hessp_ref = general.gradient_hessp(coef)
    if dtype == np.float64:
        assert_reordered((f, g), (f_ref, g_ref), reorder_bound(X, s, coef,
                                                               fit_intercept=fit_intercept))
        assert_reordered(hessp(v), hessp_ref(v), reorder_bound(X, s, coef, v=v,
                                                               fit_intercept=fit_intercept))
    else:
        check_against_reference(one, coef, dtype)
        Hv, Hv_ref = backend.to_numpy(hessp(v)), backend.to_numpy(hessp_ref(v))
        assert np.linalg.norm(Hv - Hv_ref) <= 1e-5 * max(np.linalg.norm(Hv_ref), 1.0)


def test_loss_at_float_max_margins_is_finite():
    big = np.finfo(np.float32).max / 2
    X = np.array([[big], [-big], [big], [-big]], dtype=np.float32)
    y = np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32)
    f, g = LogisticLoss(X, y, C=np.inf, fit_intercept=False).loss_gradient(np.array([1.0]))
    assert np.isfinite(f) and np.all(np.isfinite(g))
