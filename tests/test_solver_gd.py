"""Gradient descent: reaches the optimum, never increases the objective, stops honestly."""

import numpy as np

from gpulogreg._loss import LogisticLoss
from gpulogreg.solvers import SOLVERS, gradient_descent


def recording(fun):
    values = []

    def wrapped(x):
        f, g = fun(x)
        values.append(f)
        return f, g

    return wrapped, values


def test_quadratic_reaches_minimum_from_huge_initial_step():
    """f = 1/2 x^T A x - b^T x with L = 1000: a first step of 1e6 must be backtracked, not taken."""
    A = np.diag([1000.0, 1.0, 0.1])
    b = np.array([1.0, 2.0, 3.0])
    fun, values = recording(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b))
    res = gradient_descent.minimize(fun, np.zeros(3), tol=1e-10, max_iter=100_000, step=1e6)
    assert res.converged and res.grad_max <= 1e-10
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-8)
    assert values[-1] <= min(values) + 1e-14 * abs(values[-1])  # best seen, up to rounding
    assert res.n_fev == len(values)


def test_every_accepted_step_decreases_the_logistic_objective():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * np.array([1, 3, 10, 0.3, 1])
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(float)
    loss = LogisticLoss(X, y, C=1.0)
    x = np.zeros(6)
    for _ in range(50):  # one accepted step per call, restarted from the last point
        res = gradient_descent.minimize(loss.loss_gradient, x, tol=0.0, max_iter=1, step=10.0)
        assert res.n_iter == 1 and res.fun < loss.loss(x)
        x = res.x
    res = gradient_descent.minimize(loss.loss_gradient, np.zeros(6), tol=1e-9, max_iter=100_000)
    assert res.converged and res.grad_max <= 1e-9
    np.testing.assert_array_less(np.abs(loss.gradient(res.x)), 1e-9)


def test_max_iter_stops_unconverged():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    y = (rng.random(50) < 0.5).astype(float)
    res = SOLVERS["gd"](LogisticLoss(X, y, C=1.0).loss_gradient, np.zeros(4), tol=0.0, max_iter=3)
    assert res.n_iter == 3 and not res.converged and "max_iter" in res.message


def test_tol_zero_ends_in_line_search_failure_not_a_hang():
    A = np.diag([1.0, 1e-3])
    fun = lambda x: (0.5 * x @ A @ x + 1.0, A @ x)  # noqa: E731
    res = gradient_descent.minimize(fun, np.array([1.0, 1.0]), tol=0.0, max_iter=10**7)
    assert not res.converged and "line search failed" in res.message
    assert res.grad_max < 1e-12


def test_non_finite_trial_points_are_backtracked():
    """exp overflow far from the start: the step shrinks instead of returning inf/NaN."""
    fun = lambda x: (float(np.exp(x[0]) - x[0]), np.exp(x) - 1)  # noqa: E731, min at 0
    res = gradient_descent.minimize(fun, np.array([3.0]), tol=1e-10, max_iter=10_000, step=1e3)
    assert res.converged and abs(res.x[0]) < 1e-9
