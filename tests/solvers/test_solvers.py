"""The solvers on objectives with known minimisers: optimum reached, descent kept, honest stops."""

import numpy as np
import pytest
from helpers import dataset

from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers import SOLVERS, gradient_descent, lbfgs, newton_cg


class Objective:
    """``loss_gradient`` / ``gradient_hessp`` from plain functions; records every objective value."""

    def __init__(self, fun, hess=None):
        self.fun, self.hess, self.values = fun, hess, []

    def loss_gradient(self, x):
        f, g = self.fun(x)
        self.values.append(f)
        return f, g

    def gradient_hessp(self, x):
        f, g = self.loss_gradient(x)
        H = self.hess(x)
        return f, g, lambda v: H @ v

    def gradient_hessian(self, x):
        f, g = self.loss_gradient(x)
        return f, g, self.hess(x)


def quadratic(A, b, shift=0.0):
    return Objective(lambda x: (0.5 * x @ A @ x - b @ x + shift, A @ x - b), lambda x: A)


def logistic_problem(seed=0, n=200, scales=(1, 3, 10, 0.3, 1)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(scales))) * np.asarray(scales)
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(float)
    return LogisticLoss(X, y, C=1.0)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_ill_conditioned_quadratic(name):
    A = np.diag([100.0, 1.0, 0.1])
    b = np.array([1.0, 2.0, 3.0])
    obj = quadratic(A, b)
    res = SOLVERS[name](obj, np.zeros(3), tol=1e-10, max_iter=100_000)
    assert res.converged and res.grad_max <= 1e-10
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-8)
    assert res.fun <= min(obj.values) + 1e-14 * abs(res.fun)  # the best point seen, to rounding
    assert res.n_fev == len(obj.values)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_logistic_optimum_has_small_gradient(name):
    loss = logistic_problem()
    res = SOLVERS[name](loss, np.zeros(6), tol=1e-9, max_iter=100_000)
    assert res.converged
    np.testing.assert_array_less(np.abs(loss.gradient(res.x)), 1e-9)
    ref = SOLVERS["lbfgs"](loss, np.zeros(6), tol=1e-11, max_iter=1000)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_iteration_decreases_the_objective(name):
    loss = logistic_problem(seed=1)
    x = np.zeros(6)
    for _ in range(15):  # one iteration per call, restarted from the last point
        if np.abs(loss.gradient(x)).max() < 1e-7:  # decreases below here are rounding noise
            break
        res = SOLVERS[name](loss, x, tol=0.0, max_iter=1)
        assert res.n_iter == 1 and res.fun < loss.loss(x)
        x = res.x


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_max_iter_stops_unconverged(name):
    loss = logistic_problem(seed=2)
    res = SOLVERS[name](loss, np.zeros(6), tol=0.0, max_iter=2)
    assert res.n_iter == 2 and not res.converged and "max_iter" in res.message


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_tol_zero_ends_without_hanging(name):
    """No solver can reach max|g| = 0 in floating point; each must say so and stop."""
    obj = quadratic(np.diag([1.0, 1e-3]), np.zeros(2), shift=1.0)
    res = SOLVERS[name](obj, np.array([1.0, 1.0]), tol=0.0, max_iter=10**6)
    assert res.grad_max < 1e-12
    if not res.converged:
        assert ("tol is below what this data and dtype can resolve" in res.message
                or "underflows" in res.message), res.message


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_non_finite_trial_points_are_backtracked(name):
    """exp overflows far from the start: steps shrink instead of returning inf/NaN."""
    obj = Objective(lambda x: (float(np.sum(np.exp(x) - x)), np.exp(x) - 1),
                    lambda x: np.diag(np.exp(x)))
    with np.errstate(over="ignore"):
        kwargs = {"step": 1e3} if name == "gd" else {}
        res = SOLVERS[name](obj, np.array([3.0, -2.0]), tol=1e-10, max_iter=10_000, **kwargs)
    assert res.converged and np.all(np.abs(res.x) < 1e-9)


def test_gd_backtracks_a_huge_first_step():
    obj = quadratic(np.diag([1000.0, 1.0]), np.array([1.0, 1.0]))
    res = gradient_descent.minimize(obj, np.zeros(2), tol=1e-10, max_iter=100_000, step=1e6)
    assert res.converged and obj.values[1] > obj.values[0]  # the first trial was rejected


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_a_first_step_off_by_1e30_is_rescaled_not_halved(name):
    """f grows linearly far out (like the logistic loss on features of size 1e30): a trial
    step that raises f by ~1e29 is scaled back in one go, so few evaluations are spent."""
    scale = 1e30
    obj = Objective(lambda x: (float(np.sum(np.logaddexp(0, scale * x) - 0.5 * scale * x)),
                               scale * (1 / (1 + np.exp(-scale * x)) - 0.5)),
                    lambda x: np.diag(scale**2 * 0.25 / np.cosh(scale * x / 2) ** 2))
    with np.errstate(over="ignore"):
        res = SOLVERS[name](obj, np.array([3e-30, -1e-30]), tol=1e-6 * scale, max_iter=100)
    assert res.converged and res.n_fev < 40, (res.n_fev, res.message)


def test_gd_stops_when_float32_data_cannot_resolve_tol():
    """A tol below what float32 data can resolve: gd stops and says it stalled, within a few
    thousand iterations, rather than stepping on rounding noise until max_iter."""
    X, y = dataset("digits")
    X = X.astype(np.float32)
    loss = LogisticLoss(X, (y == 8).astype(np.float32), C=1.0)
    res = gradient_descent.minimize(loss, np.zeros(65), tol=1e-9, max_iter=100_000)
    assert not res.converged and "stalled" in res.message
    assert res.n_iter < 5_000 and res.grad_max < 1e-5


def test_lbfgs_memory_size_is_respected():
    loss = logistic_problem(seed=3)
    a = lbfgs.minimize(loss, np.zeros(6), tol=1e-10, max_iter=1000, m=2)
    b = lbfgs.minimize(loss, np.zeros(6), tol=1e-10, max_iter=1000, m=10)
    assert a.converged and b.converged
    np.testing.assert_allclose(a.x, b.x, rtol=1e-7, atol=1e-9)


def test_newton_cg_converges_superlinearly_on_a_quadratic():
    """Inexact Newton with forcing term min(0.5, sqrt(|g|_1)): few outer iterations."""
    B = np.random.default_rng(0).normal(size=(5, 5))
    A = B @ B.T + 0.01 * np.eye(5)  # positive definite, condition number ~ 1e3
    b = np.arange(1.0, 6.0)
    res = newton_cg.minimize(quadratic(A, b), np.zeros(5), tol=1e-10, max_iter=8)
    assert res.converged
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-8)
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-12)


@pytest.mark.parametrize("name", ["newton-cg", "newton-cholesky"])
def test_newton_solvers_take_one_pass_per_iteration(name):
    """An accepted Newton step is one evaluation: the trial point's pass also gives what the
    next iteration's Hessian (or its products) needs, not a second pass over X."""
    loss = logistic_problem(seed=3)
    res = SOLVERS[name](loss, np.zeros(6), tol=1e-12, max_iter=100)
    assert res.converged and res.n_iter <= 12
    assert res.n_fev == res.n_iter + 1


def test_newton_line_search_recomputes_curvature_only_for_a_shorter_step():
    from gpulogreg.solvers import iteration, line_search
    from gpulogreg.solvers.requests import Ask

    calls = []
    obj = quadratic(np.diag([1.0, 4.0]), np.zeros(2))

    def gradient_hessp(x):
        calls.append("H")
        return (*obj.loss_gradient(x), "curvature")

    obj.gradient_hessp = gradient_hessp
    x = np.array([1.0, 1.0])
    f, g = obj.loss_gradient(x)
    for d, evals in ((-np.array([1.0, 1.0]), 1), (-np.array([8.0, 8.0]), 3)):
        calls.clear()
        ls, curvature = iteration.run(
            line_search.newton(Ask.GRADIENT_HESSP, x, f, g, d, float(g @ d)), obj)
        assert ls.ok and curvature == "curvature" and ls.n_fev == evals
        assert calls == (["H"] if evals == 1 else ["H", "H"])  # first trial, then accepted


def test_newton_cholesky_with_a_singular_hessian():
    """No penalty and a duplicated column: H is singular, the shifted solve still converges
    to a minimiser (the duplicated pair shares its weight)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    X = np.column_stack([X, X[:, 0]])
    y = (X[:, 0] - X[:, 1] + rng.normal(size=300) > 0).astype(float)
    loss = LogisticLoss(X, y, C=np.inf)
    res = SOLVERS["newton-cholesky"](loss, np.zeros(5), tol=1e-9, max_iter=100)
    assert res.converged
    ref = SOLVERS["lbfgs"](loss, np.zeros(5), tol=1e-10, max_iter=1000)
    assert res.fun <= ref.fun + 1e-12


def test_newton_direction_falls_back_where_cholesky_fails():
    from gpulogreg.solvers.newton_cholesky import newton_direction

    g = np.array([1.0, -2.0])
    np.testing.assert_allclose(newton_direction(np.diag([2.0, 4.0]), g, np), [-0.5, 0.5])
    d = newton_direction(np.diag([1.0, 0.0]), g, np)  # singular: shifted solve, still descent
    assert g @ d < 0 and np.all(np.isfinite(d))
    np.testing.assert_array_equal(newton_direction(np.zeros((2, 2)), g, np), -g)
    np.testing.assert_array_equal(newton_direction(np.full((2, 2), np.nan), g, np), -g)
    # indefinite beyond every shift tried: steepest descent
    np.testing.assert_array_equal(newton_direction(np.diag([1.0, -1.0]), g, np), -g)


def test_lbfgs_starts_from_a_given_memory():
    """lbfgs returns its curvature pairs, and started from them (a nearby start, the same
    objective) it needs fewer iterations than from an empty memory (were the memory ignored,
    the two runs would be the same run and take as many)."""
    from gpulogreg.solvers import ITERATE
    from gpulogreg.solvers.iteration import run

    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 5)) * rng.uniform(0.2, 5, size=5)  # ill-conditioned
    y = (X @ rng.normal(size=5) + rng.logistic(size=500) > 0).astype(float)
    loss = LogisticLoss(X, y, C=10.0)
    first = run(ITERATE["lbfgs"](loss, np.zeros(6), tol=1e-8, max_iter=1000), loss)
    assert first.converged and 0 < len(first.memory) <= 10
    x0 = first.x + rng.normal(size=6) * 1e-2
    cold = run(ITERATE["lbfgs"](loss, x0, tol=1e-8, max_iter=1000), loss)
    warm = run(ITERATE["lbfgs"](loss, x0, tol=1e-8, max_iter=1000, memory=first.memory), loss)
    assert cold.converged and warm.converged
    assert warm.n_iter < cold.n_iter, (warm.n_iter, cold.n_iter)
