"""OWL-QN, the L1 and elastic-net solver: its pseudo-gradient, and the optimality
conditions of the minimum it reaches."""

import numpy as np
from helpers import dataset

from gpulogreg import LogisticRegression
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers.owlqn import pseudo_gradient

X_BC, Y_BC = dataset("breast_cancer")


def test_pseudo_gradient():
    x = np.array([1.0, -1.0, 0.0, 0.0, 0.0, 2.0])
    g = np.array([0.5, 0.5, 3.0, -3.0, 0.5, 0.25])
    # P = 5: the last entry (an intercept) is not penalised
    np.testing.assert_allclose(pseudo_gradient(x, g, 1.0, 5, np),
                               [1.5, -0.5, 2.0, -2.0, 0.0, 0.25])


def test_solution_satisfies_the_optimality_conditions():
    """At the minimum of f + lam |w|_1: |g_j| <= lam where w_j = 0, g_j = -lam sign(w_j)
    elsewhere, and the intercept's gradient is 0."""
    model = LogisticRegression(solver="owlqn", tol=1e-10, max_iter=100_000, l1_ratio=0.7,
                               C=0.3).fit(X_BC, Y_BC)
    loss = LogisticLoss(X_BC, Y_BC.astype(float), C=0.3, l1_ratio=0.7)
    w = model.coef_[0]
    _, g = loss.loss_gradient(np.append(w, model.intercept_))
    lam, tol = loss.l1, 1e-9
    zero = w == 0
    assert zero.any() and (~zero).any()
    assert np.all(np.abs(g[:-1][zero]) <= lam + tol)
    np.testing.assert_allclose(g[:-1][~zero], -lam * np.sign(w[~zero]), atol=tol)
    assert abs(g[-1]) <= tol
