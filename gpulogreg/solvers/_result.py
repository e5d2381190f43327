"""The value every solver returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any



@dataclass
class Result:
    """Outcome of a solver run."""

    x: Any  # the coefficients, same namespace and dtype as x0
    fun: float  # objective at x
    grad_max: float  # max |gradient| at x
    n_iter: int  # accepted steps
    n_fev: int  # objective/gradient evaluations
    converged: bool  # grad_max <= tol
    message: str
