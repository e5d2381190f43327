"""Solvers: each module exposes ``minimize(fun, x0, *, tol, max_iter, verbose) -> Result``.

``fun(x)`` returns ``(f, grad)``: the objective as a Python float and its
gradient as an array of the namespace of ``x``. Solvers know functions and
vectors, never X; their state stays on the device of ``x0``.
"""

from __future__ import annotations

from . import gradient_descent
from ._result import Result

__all__ = ["SOLVERS", "Result"]

SOLVERS = {
    "gd": gradient_descent.minimize,
}
