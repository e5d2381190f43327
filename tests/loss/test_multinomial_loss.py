"""The multinomial (softmax) loss: against an independent reference, finite differences
and extremes, for any shape and memory layout."""

import numpy as np
import pytest
from helpers import backend, finite_difference_jacobian, layout_matrix
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    assert_matches,
    assert_reordered,
    multinomial_loss_and_gradient,
    reorder_bound,
)

from gpulogreg.loss.models import Multinomial, softmax_residual_and_loss
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.sources.memory import RowBlocks


def problem(xp, n, d, k, dtype=np.float64, layout="C", weights=False, seed=0):
    """A k-class problem: X of the given memory layout, random class indices y, weights s in
    [0.1, 1) or None; and the generator, for the coefficients."""
    rng = np.random.default_rng(seed)
    X = layout_matrix(xp, rng, n, d, dtype, layout)
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


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [np.inf, 3.0])
def test_hessian_and_products_match_finite_differences(fit_intercept, C):
    X, y, s, rng = problem(np, 120, 4, 3, layout="F", weights=True, seed=7)
    loss = LogisticLoss(X, y, s, C=C, fit_intercept=fit_intercept, model=Multinomial(3))
    x = rng.normal(size=loss.n_params)
    H_fd = finite_difference_jacobian(loss.gradient, x)
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




