"""Solvers: each module exposes ``minimize(objective, x0, *, tol, max_iter, verbose) -> Result``
and ``iterate(...)``, the same solver as a generator of evaluation requests (``_common``),
which ``minimize`` answers from ``objective`` and a batch driver can answer for many
models at once.

``objective.loss_gradient(x)`` returns ``(f, grad)``: the objective as a Python
float and its gradient as an array of the namespace of ``x``; Newton-CG also
uses ``objective.gradient_hessp(x) -> (f, grad, hessp)`` and Newton-Cholesky
``objective.gradient_hessian(x) -> (f, grad, H)``; OWL-QN adds ``objective.l1 *
||x[:objective.n_penalised]||_1`` to the smooth objective. Solvers know functions
and vectors, never X; their state stays on the device of ``x0``.
"""

from __future__ import annotations

from . import gradient_descent, lbfgs, newton_cg, newton_cholesky, owlqn, prox_newton
from .iteration import DivergenceError, Result

__all__ = ["ALIASES", "ITERATE", "LIBLINEAR", "SOLVERS", "DivergenceError", "Result"]

_MODULES = {
    "gd": gradient_descent,
    "lbfgs": lbfgs,
    "newton-cg": newton_cg,
    "newton-cholesky": newton_cholesky,
    "owlqn": owlqn,  # L-BFGS for L1 and elastic-net penalties
}
# scikit-learn's names that the estimator accepts for ours: "saga" (its L1 and elastic-net
# solver) runs OWL-QN on the same objective (the estimator runs "sag"'s solver for L2 or no
# penalty), "sag" (smooth objectives only) newton-cg, the
# fastest of ours on every shape measured on a CPU (README, "Which solver"); "liblinear"
# runs these on liblinear's objective (its intercept penalised), see the estimator
ALIASES = {"saga": "owlqn", "sag": "newton-cg"}
LIBLINEAR = "liblinear"
SOLVERS = {name: module.minimize for name, module in _MODULES.items()}
ITERATE = {name: module.iterate for name, module in _MODULES.items()}
# not a solver name users give: what runs scikit-learn's liblinear for L1 where the exact
# Hessian fits (as liblinear's newGLMNET; see prox_newton and _params.our_solver)
ITERATE["prox-newton"] = prox_newton.iterate
