"""scikit-learn's liblinear, as its stopping rule means it at every C: the gradient's 2-norm
(L2) or the pseudo-gradient's 1-norm (L1) below tol * max(min(pos, neg), 1) / n times its
value at zero; L1 problems by proximal Newton (liblinear's own method) where the Hessian
is small, and the answers compared with scikit-learn's liblinear on its own objective."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from gpulogreg import LogisticRegression
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers import prox_newton
from gpulogreg.solvers.iteration import run


def liblinear_objective(model, X, y, C):
    """liblinear's L1 objective: C sum(loss) + ||w||_1 + |b| (the intercept a feature)."""
    z = X @ model.coef_[0] + model.intercept_[0]
    return C * np.sum(np.logaddexp(0, z) - y * z) + np.abs(model.coef_).sum() + \
        abs(model.intercept_[0])


@pytest.mark.parametrize("C", [0.1, 10.0, 100.0, 1000.0])
def test_l1_on_raw_breast_cancer_converges_at_sklearns_defaults(C):
    """Unscaled features, C up to 1000: converged within max_iter=100, no warning, and an
    objective no higher than scikit-learn's liblinear reaches (within 1e-4)."""
    X, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = LogisticRegression(solver="liblinear", l1_ratio=1, C=C).fit(X, y)
    theirs = SkLogisticRegression(solver="liblinear", l1_ratio=1, C=C).fit(X, y)
    assert ours.n_iter_[0] < 100
    assert liblinear_objective(ours, X, y, C) <= liblinear_objective(theirs, X, y, C) * 1.0001


def test_l1_on_wide_sparse_data_meets_the_rule_and_sklearns_answer():
    """Text-like counts, d = 5000 (too wide for the proximal Newton solver: OWL-QN with
    liblinear's rule), C = 50: no silent early stop; the objective and the number of nonzeros
    as scikit-learn's liblinear's."""
    rng = np.random.default_rng(0)
    n, d, nnz = 3000, 5000, 60_000
    X = sp.csr_matrix((np.ones(nnz), (rng.integers(0, n, nnz), rng.zipf(1.3, nnz) % d)),
                      shape=(n, d))
    X.data = np.log1p(X.data)
    y = (X @ (rng.normal(size=d) * (rng.random(d) < 0.02) * 3) + rng.logistic(size=n) > 0
         ).astype(int)
    C = 50.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = LogisticRegression(solver="liblinear", l1_ratio=1, C=C).fit(X, y)
    theirs = SkLogisticRegression(solver="liblinear", l1_ratio=1, C=C).fit(X, y)
    ratio = liblinear_objective(ours, X, y, C) / liblinear_objective(theirs, X, y, C)
    assert ratio == pytest.approx(1, abs=1e-3)
    assert abs((ours.coef_ != 0).sum() - (theirs.coef_ != 0).sum()) <= 0.05 * \
        (theirs.coef_ != 0).sum()


def test_l2_liblinear_uses_the_relative_rule():
    """L2: the fit stops once ||g||_2 <= tol * max(min(pos, neg), 1) / n * ||g(0)||_2 (in the
    coordinates of liblinear's objective), so a looser tol stops no later, and what tol
    asks for is met."""
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    n, pos = len(y), int(y.sum())
    scale = max(min(pos, n - pos), 1) / n
    loss = LogisticLoss(X, y.astype(float), C=1.0)
    g0 = loss.gradient(np.zeros(31))
    g0[-1] += 0  # the intercept's penalty is zero at zero
    for tol in (1e-2, 1e-4, 1e-6):
        model = LogisticRegression(solver="liblinear", C=1.0, tol=tol).fit(X, y)
        g = loss.gradient(np.append(model.coef_[0], model.intercept_))
        g[-1] += model.intercept_[0] / (1.0 * n)  # liblinear penalises the intercept
        assert np.linalg.norm(g) <= tol * scale * np.linalg.norm(g0) * (1 + 1e-9)


def test_prox_newton_reaches_the_l1_optimum():
    """The proximal Newton solver's answer has a pseudo-gradient of zero to 1e-10, on a
    penalised intercept-free problem, and equals OWL-QN's run to the same tolerance."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 8)) * rng.uniform(0.1, 10, 8)
    y = (X @ rng.normal(size=8) + rng.logistic(size=300) > 0).astype(float)
    loss = LogisticLoss(X, y, C=0.5, l1_ratio=1.0, fit_intercept=False)
    result = run(prox_newton.iterate(loss, np.zeros(8), tol=1e-10, max_iter=100), loss)
    assert result.converged and result.n_iter < 30
    from gpulogreg.solvers import owlqn

    other = owlqn.minimize(loss, np.zeros(8), tol=1e-10, max_iter=100_000)
    np.testing.assert_allclose(result.x, other.x, atol=1e-7)
    np.testing.assert_array_equal(result.x == 0, other.x == 0)
