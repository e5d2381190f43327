"""Extreme input and exhausted memory: finite results or a clear error, never a silent
wrong answer or a RuntimeWarning (with a fuzz test over solvers, dtypes, scales of X and
of the weights, and C)."""

import os
import warnings

import numpy as np
import pytest
from helpers import backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from gpulogreg import LogisticRegression
from gpulogreg.loss.objective import LogisticLoss


def separable(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_separable_without_penalty_is_finite(xp, solver, dtype):
    X, y = separable()
    X = xp.asarray(X.astype(dtype))
    model = LogisticRegression(C=np.inf, solver=solver, max_iter=1000).fit(X, xp.asarray(y))
    assert np.all(np.isfinite(backend.to_numpy(model.coef_)))
    assert model.score(X, xp.asarray(y)) == 1.0
    # no optimum exists (|w| -> inf): with a tiny tol every solver either reports a
    # gradient that small (margins of ~40 make it e^-40) or warns; never inf or NaN
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tight = LogisticRegression(C=np.inf, solver=solver, tol=1e-14, max_iter=200)
        tight.fit(X, xp.asarray(y))
    assert np.all(np.isfinite(backend.to_numpy(tight.coef_)))
    assert np.isfinite(tight.loss_) and np.isfinite(tight.grad_max_)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert warned or tight.grad_max_ <= 1e-14


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_features_of_magnitude_1e30_never_give_nan(xp, solver, dtype):
    """X up to 1e30 (z overflows float32 for moderate w, the first steps are off by ~1e30):
    finite results, no NumPy noise, and the separable data are still separated."""
    X, y = separable(seed=1)
    X = xp.asarray((X * 1e30).astype(dtype))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression(C=np.inf, solver=solver, max_iter=200).fit(X, xp.asarray(y))
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # no numpy noise
    coef = backend.to_numpy(model.coef_)
    assert np.all(np.isfinite(coef)) and np.isfinite(model.loss_)
    assert model.score(X, xp.asarray(y)) == 1.0


def test_newton_cg_with_a_zero_residual_does_not_divide_by_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=1e-3, solver="newton-cg", tol=0).fit([[1e-300], [-1e-300]],
                                                                          [0, 1])
    assert np.isfinite(model.coef_).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiny_and_huge_weights_are_rescaled_not_lost(cancer, dtype):
    X, y = cancer
    X = X.astype(dtype)
    ref = LogisticRegression(C=1.0, tol=1e-6).fit(X, y)
    for scale in (1e-300, 1e300):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no cast overflow or underflow warning either
            model = LogisticRegression(C=1.0 / scale, tol=1e-6).fit(
                X, y, sample_weight=np.full(len(y), scale))
        # weights s and C/s: the same objective as unit weights and C
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=2e-3, atol=1e-4)


@pytest.mark.parametrize("X, match", [
    (np.array([[np.inf, 1.0], [-np.inf, 2.0]]), "Input X contains infinity"),
    (np.array([[1e308, 1e308], [1e308, -1e308], [-1e308, 1e308]]), None),
])
def test_no_runtime_warning_escapes(X, match):
    y = np.array([0, 1, 0])[:len(X)]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if match is None:
            model = LogisticRegression().fit(X, y)
            assert np.isfinite(model.coef_).all() and np.isfinite(model.predict_proba(X)).all()
        else:
            with pytest.raises(ValueError, match=match):
                LogisticRegression().fit(X, y)
    assert not [w for w in seen if not issubclass(w.category, ConvergenceWarning)], \
        [str(w.message) for w in seen]


def test_out_of_memory_says_what_was_needed_and_what_to_do(cancer, monkeypatch):
    def exhausted(self, coef):
        raise MemoryError("Out of memory allocating 4,551,680 bytes")

    monkeypatch.setattr(LogisticLoss, "loss_gradient", exhausted)
    X, y = cancer
    with pytest.raises(MemoryError) as info:
        LogisticRegression().fit(X, y)
    message = str(info.value)
    for part in (f"X takes {X.nbytes:,} bytes", "needs about", "bytes are free",
                 "Out of memory allocating 4,551,680 bytes", "float32", "CPU"):
        assert part in message, message


# GPULOGREG_FUZZ_EXAMPLES=3000 for a long run; CI runs 60
@settings(max_examples=int(os.environ.get("GPULOGREG_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(solver=st.sampled_from(["lbfgs", "newton-cg", "gd"]),
       dtype=st.sampled_from([np.float32, np.float64]),
       x_exp=st.integers(-300, 300), w_exp=st.one_of(st.none(), st.integers(-300, 300)),
       C=st.sampled_from([1e-30, 1e-3, 1.0, 1e30, np.inf]),
       n=st.integers(2, 12), d=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_fuzz_finite_or_a_clear_error(solver, dtype, x_exp, w_exp, C, n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10.0**x_exp
    y = np.arange(n) % 2
    weights = None if w_exp is None else rng.uniform(0.5, 2, size=n) * 10.0**w_exp
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            model = LogisticRegression(solver=solver, C=C, max_iter=50).fit(
                X.astype(dtype), y, sample_weight=weights)
        except (ValueError, TypeError) as exc:
            assert "sample_weight" in str(exc) or "X" in str(exc), exc
            return
        proba = model.predict_proba(X.astype(dtype))
    assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()
    assert np.isfinite(proba).all()
    assert not [w for w in seen if not issubclass(w.category, ConvergenceWarning)], \
        [str(w.message) for w in seen]
