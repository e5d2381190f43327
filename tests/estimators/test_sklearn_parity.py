"""Same optimum as scikit-learn, for every solver, on real and random data.

The reference is scikit-learn run to tol=1e-12. Its lbfgs stops on a relative
change of the objective (scipy's ftol = 64 eps) and leaves max|grad| near 1e-8,
which on "digit 8 vs rest" moves coefficients by up to 4e-3 relative; its
newton-cholesky reaches max|grad| < 1e-12 on the same objective. So coefficients
are compared with newton-cholesky at rtol 1e-5, and against lbfgs we require an
objective at least as low as scikit-learn's (up to rounding). On breast cancer and a small
weighted problem scikit-learn's lbfgs does stop close enough for its coefficients to be
compared directly.
"""


import numpy as np
import pytest
from helpers import backend, dataset, linear_problem, sklearn_fit

from gpulogreg import LogisticRegression
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers import SOLVERS


def datasets():
    X, y = dataset("breast_cancer")
    yield "breast_cancer", X, y, None
    X, y = dataset("digits")
    yield "digit8_vs_rest", X, (y == 8).astype(int), None
    X, y, s = linear_problem(400, 12, scale_columns=True, offset=0.5, weights=(0, 3), labels=int)
    yield "random", X, y, None
    yield "random_weighted", X, y, s


DATA = {name: (X, y, s) for name, X, y, s in datasets()}
CASES = [(name, fit_intercept, C) for name in DATA for fit_intercept in (True, False)
         for C in (1.0, 0.1)]


def sk_fit(solver, X, y, s, C, fit_intercept):
    return sklearn_fit(X, y, s, C=C, fit_intercept=fit_intercept, solver=solver, tol=1e-12,
                       max_iter=10_000)


@pytest.fixture(scope="module")
def references():
    cache = {}

    def get(name, fit_intercept, C):
        key = (name, fit_intercept, C)
        if key not in cache:
            X, y, s = DATA[name]
            cache[key] = tuple(sk_fit(solver, X, y, s, C, fit_intercept)
                               for solver in ("newton-cholesky", "lbfgs"))
        return cache[key]

    return get


def objective(X, y, s, C, fit_intercept, coef, intercept):
    loss = LogisticLoss(X, y.astype(float), s, C=C, fit_intercept=fit_intercept)
    c = np.append(coef.ravel(), intercept) if fit_intercept else coef.ravel()
    return loss.loss_gradient(c.astype(np.float64))


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("name, fit_intercept, C", CASES, ids=[f"{n}-icpt{int(i)}-C{c}"
                                                               for n, i, c in CASES])
def test_float64_matches_sklearn(xp, references, solver, name, fit_intercept, C):
    X, y, s = DATA[name]
    exact, sk_lbfgs = references(name, fit_intercept, C)
    tol = 1e-10
    model = LogisticRegression(C=C, fit_intercept=fit_intercept, solver=solver, tol=tol,
                               max_iter=100_000)
    model.fit(xp.asarray(X), xp.asarray(y), sample_weight=None if s is None else xp.asarray(s))
    coef, intercept = backend.to_numpy(model.coef_), backend.to_numpy(model.intercept_)
    # the penalty makes the Hessian >= I/(C S) in w, so roughly |coef - optimum| <= |grad| C S
    S = len(y) if s is None else s.sum()
    atol = np.sqrt(X.shape[1] + 1) * tol * C * S
    np.testing.assert_allclose(coef, exact.coef_, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(intercept, exact.intercept_, rtol=1e-5, atol=atol)
    f, g = objective(X, y, s, C, fit_intercept, coef, intercept)
    assert np.abs(g).max() <= tol  # the gradient at our solution, recomputed on the CPU
    f_sk, _ = objective(X, y, s, C, fit_intercept, sk_lbfgs.coef_, sk_lbfgs.intercept_)
    # ours at least as low, up to the rounding of the two evaluations: each sums n + d terms
    # (recursive summation: at most (n + d) u of the total each)
    assert f <= f_sk * (1 + 2 * (X.shape[0] + X.shape[1]) * np.finfo(np.float64).eps)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("name", ["breast_cancer", "digit8_vs_rest"])
def test_float32_reaches_the_float64_objective(xp, references, solver, name):
    """float32 resolves max|grad| only to ~1e-6 (float32 sums), so the check is on the
    objective: within 1e-5 relative of the float64 optimum; coefficients within 2e-2."""
    X, y, s = DATA[name]
    exact, _ = references(name, True, 1.0)
    model = LogisticRegression(solver=solver, tol=1e-5, max_iter=100_000)
    model.fit(xp.asarray(X.astype(np.float32)), xp.asarray(y))
    assert model.coef_.dtype == np.float32
    coef, intercept = backend.to_numpy(model.coef_), backend.to_numpy(model.intercept_)
    f, _ = objective(X, y, s, 1.0, True, coef, intercept)
    f_opt, _ = objective(X, y, s, 1.0, True, exact.coef_, exact.intercept_)
    assert 0 <= f - f_opt <= 1e-5 * f_opt
    np.testing.assert_allclose(coef, exact.coef_, atol=2e-2)


@pytest.mark.parametrize("C", [1.0, 0.05])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_matches_sklearn_on_breast_cancer(xp, cancer, C, fit_intercept):
    X, y = cancer
    ours = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-9, max_iter=100_000)
    ours.fit(xp.asarray(X), xp.asarray(y))
    ref = sk_fit("lbfgs", X, y, None, C, fit_intercept)
    np.testing.assert_allclose(backend.to_numpy(ours.coef_), ref.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(backend.to_numpy(ours.intercept_), ref.intercept_, rtol=1e-5,
                               atol=1e-7)
    assert ours.grad_max_ <= 1e-9


def test_matches_sklearn_with_sample_weights(xp):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 6))
    y = (X @ rng.normal(size=6) + rng.normal(size=300) > 0).astype(int)
    s = rng.uniform(0, 4, size=300)
    s[:10] = 0.0  # zero weights are allowed: those rows do not count
    ours = LogisticRegression(C=0.5, tol=1e-10, max_iter=100_000)
    ours.fit(xp.asarray(X), xp.asarray(y), sample_weight=xp.asarray(s))
    ref = sk_fit("lbfgs", X, y, s, 0.5, True)
    np.testing.assert_allclose(backend.to_numpy(ours.coef_), ref.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(backend.to_numpy(ours.intercept_), ref.intercept_, rtol=1e-5,
                               atol=1e-7)
