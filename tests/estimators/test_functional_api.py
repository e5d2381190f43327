"""The functional API: the estimator's loss, one call at a time, against independent references."""

import numpy as np
import pytest
from helpers import backend, central_difference
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import hessian, loss_and_gradient

import gpulogreg


def problem(xp, n=300, d=7, seed=0, order="C"):
    rng = np.random.default_rng(seed)
    X = np.asarray(rng.normal(size=(n, d)), order=order)
    y = (X[:, 0] + rng.logistic(size=n) > 0).astype(np.float64)
    w, b, s = rng.normal(size=d), 0.3, rng.uniform(0.5, 2, size=n)
    return xp.asarray(X), xp.asarray(y), w, b, xp.asarray(s)


@pytest.mark.parametrize("C", [np.inf, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradient_matches_the_reference(xp, C, weighted):
    X, y, w, b, s = problem(xp)
    s = s if weighted else None
    f, g_w, g_b = gpulogreg.loss_gradient(X, y, w, b, sample_weight=s, C=C)
    f_ref, g_ref = loss_and_gradient(X, y, w, b, sample_weight=s, C=C)
    assert isinstance(f, float) and isinstance(g_b, float)
    assert type(g_w) is type(X)  # the namespace of the input
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(g_w), g_ref[:-1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g_b, g_ref[-1], rtol=1e-10, atol=1e-14)


def test_gradient_without_penalty_is_the_mean_residual_times_x():
    """C=inf, no weights: exactly (1/n) X^T (sigmoid(Xw + b) - y) and its bias term."""
    X, y, w, b, _ = problem(np, n=50, d=3)
    _, g_w, g_b = gpulogreg.loss_gradient(X, y, w, b)
    r = 1 / (1 + np.exp(-(X @ w + b))) - y
    np.testing.assert_allclose(g_w, X.T @ r / len(y), rtol=1e-12)
    np.testing.assert_allclose(g_b, r.mean(), rtol=1e-12)


def test_hessp_matches_the_explicit_hessian(xp):
    X, y, w, b, s = problem(xp, order="F")
    v = np.random.default_rng(1).normal(size=X.shape[1] + 1)
    hv_w, hv_b = gpulogreg.hessp(X, y, w, b, v[:-1], v[-1], sample_weight=s, C=2.0)
    expected = hessian(X, w, b, sample_weight=s, C=2.0) @ v
    np.testing.assert_allclose(backend.to_numpy(hv_w), expected[:-1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(hv_b, expected[-1], rtol=1e-10, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), d=st.integers(1, 37), seed=st.integers(0, 1000))
def test_gradient_is_the_derivative_of_the_loss(n, d, seed):
    X, y, w, b, s = problem(np, n=n, d=d, seed=seed)
    _, g_w, g_b = gpulogreg.loss_gradient(X[:, ::-1], y, w, b, sample_weight=s, C=1.0)

    def loss(w, b):
        return gpulogreg.loss_gradient(X[:, ::-1], y, w, b, sample_weight=s, C=1.0)[0]

    for j in range(min(d, 4)):
        fd = central_difference(lambda w_: loss(w_, b), w, np.eye(d)[j])
        np.testing.assert_allclose(g_w[j], fd, rtol=1e-5, atol=1e-8)
    fd = central_difference(lambda b_: loss(w, b_), b, 1.0)
    np.testing.assert_allclose(g_b, fd, rtol=1e-5, atol=1e-8)


def test_gradient_step_is_the_plain_update():
    X, y, w, b, _ = problem(np)
    f, g_w, g_b = gpulogreg.loss_gradient(X, y, w, b)
    new_w, new_b, f_old = gpulogreg.gradient_step(X, y, w, b, learning_rate=0.5)
    assert f_old == f
    np.testing.assert_allclose(new_w, w - 0.5 * g_w, rtol=1e-15)
    np.testing.assert_allclose(new_b, b - 0.5 * g_b, rtol=1e-15)


def test_a_training_loop_reaches_the_estimators_optimum():
    X, y, _, _, _ = problem(np, n=2000, d=5)
    w, b = np.zeros(5), 0.0
    for _ in range(3000):
        w, b, _ = gpulogreg.gradient_step(X, y, w, b, learning_rate=2.0, C=1.0)
    model = gpulogreg.LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(w, model.coef_[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b, model.intercept_[0], rtol=1e-4, atol=1e-6)


def test_dask_arrays_give_the_same_result():
    da = pytest.importorskip("dask.array")
    X, y, w, b, s = problem(np, n=1001)
    f, g_w, g_b = gpulogreg.loss_gradient(X, y, w, b, sample_weight=s, C=3.0)
    dX, dy, ds = (da.from_array(a, chunks=250) for a in (X, y, s))
    f_d, g_wd, g_bd = gpulogreg.loss_gradient(dX, dy, w, b, sample_weight=ds, C=3.0)
    np.testing.assert_allclose([f_d, g_bd], [f, g_b], rtol=1e-12)
    np.testing.assert_allclose(g_wd, g_w, rtol=1e-10)


@pytest.mark.parametrize("call, error, match", [
    (lambda X, y, w: gpulogreg.loss_gradient(X, y * 2, w), ValueError, "y must hold only 0 and 1"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y[:-1], w), ValueError, "one 0/1 label per row"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w[:-1]), ValueError, r"coef must have shape \(7,\)"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, np.nan), ValueError, "intercept must be one finite"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, C=0), ValueError, "C must be a positive"),
    (lambda X, y, w: gpulogreg.loss_gradient(X[:, 0], y, w), ValueError, "Expected 2D array for X"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y.astype(str), w), TypeError, r"y must hold real numbers \(0/1 labels\)"),
    (lambda X, y, w: gpulogreg.hessp(X, y, w, 0.0, w[:3]), ValueError, r"v_coef must have shape"),
    (lambda X, y, w: gpulogreg.gradient_step(X, y, w, learning_rate=-1), ValueError,
     "learning_rate must be a positive"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, sample_weight=-y), ValueError,
     "sample_weight must be non-negative"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w + 1j), TypeError,
     "coef must be an array of real numbers; got dtype complex128"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w.astype(str)), TypeError,
     "coef must be an array of real numbers"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w > 0), TypeError,
     "coef must be an array of real numbers; got dtype bool"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, True), TypeError,
     "intercept must be one real number; got True"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, "0.5"), TypeError,
     "intercept must be one real number"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, 1 + 2j), TypeError,
     "intercept must be one real number"),
    (lambda X, y, w: gpulogreg.hessp(X, y, w, 0.0, w, np.bool_(True)), TypeError,
     "v_intercept must be one real number"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, C=True), TypeError,
     "C must be a positive number"),
    (lambda X, y, w: gpulogreg.loss_gradient(X.astype(np.float32), y, w * 1e39), ValueError,
     "coef and intercept must lie within the range of X's dtype float32"),
    (lambda X, y, w: gpulogreg.loss_gradient(X.astype(np.float32), y, w, 1e300), ValueError,
     "coef and intercept must lie within the range of X's dtype float32"),
    (lambda X, y, w: gpulogreg.loss_gradient(X, y, w, C=1e-320), ValueError,
     "objective or its gradient at this point exceeds the range"),
    (lambda X, y, w: gpulogreg.hessp(X, y, w, 0.0, w, C=1e-320), ValueError,
     "Hessian product at this point exceeds the range"),
])
def test_bad_input_is_a_clear_error(call, error, match):
    X, y, w, _, _ = problem(np)
    with pytest.raises(error, match=match):
        call(X, y, w)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_finite_wherever_the_exact_value_is(dtype):
    """Extreme but representable inputs give the exact, finite values, with no warning
    (pyproject turns RuntimeWarnings into errors): scores far beyond exp's range, and a C so
    small that C S is subnormal (computed as C S, the penalty lost its digits or overflowed)."""
    X, y, _, _, _ = problem(np, n=40, d=3)
    X = X.astype(dtype)
    big = float(np.finfo(dtype).max) / 1e4  # |z| up to ~1e34 (float32) / ~1e304 (float64)
    w = np.array([big / 10, 0.0, 0.0])
    f, g_w, g_b = gpulogreg.loss_gradient(X, y, w, 0.0)
    f_ref, g_ref = loss_and_gradient(X, y, w, 0.0)
    np.testing.assert_allclose(f, f_ref, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(np.append(g_w, g_b), g_ref, rtol=1e-6, atol=1e-12)
    # C = 1e-320: C S = 4e-319 is subnormal; the exact penalty of w = 1e-160 is 0.0125...
    X64 = X.astype(np.float64)
    w = np.full(3, 1e-160)
    f, g_w, _ = gpulogreg.loss_gradient(X64, y, w, C=1e-320)
    f0, _ = loss_and_gradient(X64, y, w, 0.0)
    from fractions import Fraction

    exact = 3 * Fraction(1e-160) ** 2 / (2 * Fraction(1e-320) * len(y))  # of the doubles given
    np.testing.assert_allclose(f - f0, float(exact), rtol=1e-12)
    assert np.all(np.isfinite(g_w)) and np.all(g_w > 1e150)
    new_w, new_b, _ = gpulogreg.gradient_step(X64, y, w, learning_rate=1e-170, C=1e-320)
    assert np.all(np.isfinite(new_w)) and np.isfinite(new_b)


def test_multinomial_functional_api_matches_the_reference():
    """A (k, d) coef is the multinomial model (scikit-learn's coef_ layout), y class indices:
    loss, gradient, Hessian product and step against the independent reference and finite
    differences."""
    from reference import multinomial_loss_and_gradient

    rng = np.random.default_rng(3)
    n, d, k = 200, 5, 3
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n)
    W, b = rng.normal(size=(k, d)) / 2, rng.normal(size=k)
    s = rng.uniform(0.2, 1.0, size=n)
    f, g_W, g_b = gpulogreg.loss_gradient(X, y, W, b, sample_weight=s, C=0.7)
    f_ref, g_ref = multinomial_loss_and_gradient(X, y, W.T, b, s, 0.7)
    assert g_W.shape == (k, d) and g_b.shape == (k,)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g_W, g_ref[:d].T, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g_b, g_ref[d], rtol=1e-10, atol=1e-14)
    V, v_b = rng.normal(size=(k, d)), rng.normal(size=k)
    h = 1e-6
    plus = gpulogreg.loss_gradient(X, y, W + h * V, b + h * v_b, sample_weight=s, C=0.7)
    minus = gpulogreg.loss_gradient(X, y, W - h * V, b - h * v_b, sample_weight=s, C=0.7)
    Hv_W, Hv_b = gpulogreg.hessp(X, y, W, b, V, v_b, sample_weight=s, C=0.7)
    np.testing.assert_allclose(Hv_W, (plus[1] - minus[1]) / (2 * h), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(Hv_b, (plus[2] - minus[2]) / (2 * h), rtol=1e-5, atol=1e-8)
    new_W, new_b, f_old = gpulogreg.gradient_step(X, y, W, b, learning_rate=0.5,
                                                  sample_weight=s, C=0.7)
    assert f_old == f
    np.testing.assert_allclose(new_W, W - 0.5 * g_W, rtol=1e-15)
    np.testing.assert_allclose(new_b, b - 0.5 * g_b, rtol=1e-15)
    with pytest.raises(ValueError, match=r"y must hold class indices 0..2"):
        gpulogreg.loss_gradient(X, y + 1, W, b)
    with pytest.raises(ValueError, match=r"intercept must hold 3 number"):
        gpulogreg.loss_gradient(X, y, W, b[:2])
    with pytest.raises(ValueError, match=r"coef must have shape \(5,\).* or \(k, 5\)"):
        gpulogreg.loss_gradient(X, y, W[:, :4], b)


@pytest.mark.parametrize("multinomial", [False, True])
def test_check_input_false_gives_the_same_answers(multinomial):
    """Without the checks, the same values for inputs the checks accept (y and weights of
    X's dtype, weights at most 1), in float64 and float32."""
    rng = np.random.default_rng(4)
    for dtype in (np.float64, np.float32):
        X = rng.normal(size=(300, 6)).astype(dtype)
        k = 3 if multinomial else 1
        y = rng.integers(0, 3 if multinomial else 2, size=300).astype(dtype)
        s = rng.uniform(0.1, 1.0, size=300)
        s = (s / s.max()).astype(dtype)  # as the checks leave them: a maximum of 1
        coef = rng.normal(size=(k, 6) if multinomial else 6)
        b = rng.normal(size=k) if multinomial else 0.2
        for fn, extra in ((gpulogreg.loss_gradient, {}),
                          (gpulogreg.gradient_step, {"learning_rate": 0.3})):
            checked = fn(X, y, coef, b, sample_weight=s, C=2.0, **extra)
            fast = fn(X, y, coef, b, sample_weight=s, C=2.0, check_input=False, **extra)
            for a, c in zip(checked, fast):
                np.testing.assert_array_equal(a, c)
        checked = gpulogreg.hessp(X, y, coef, b, coef, b, sample_weight=s)
        fast = gpulogreg.hessp(X, y, coef, b, coef, b, sample_weight=s, check_input=False)
        for a, c in zip(checked, fast):
            np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        gpulogreg.loss_gradient(X[:, 0], y, coef, b, check_input=False)
