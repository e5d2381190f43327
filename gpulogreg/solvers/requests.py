"""What a solver asks of its objective: the evaluation requests of DESIGN.md section 6.

A solver is a generator (``iterate``) that yields ``Request``s and receives their answers,
so it knows functions and vectors, never X, and never how its evaluations are scheduled:
``iteration.run`` answers one solver from one objective; ``batch.ModelBatch`` answers the
requests of many solvers with one pass over X; ``loss.liblinear`` translates them into
another parametrisation.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple


class Ask(enum.Enum):
    """The kinds of request; each value names the objective's method that answers it."""

    LOSS_GRADIENT = "loss_gradient"  # at x: (f, g)
    GRADIENT_HESSP = "gradient_hessp"  # at x: (f, g, curvature), curvature(v) = H v
    GRADIENT_HESSIAN = "gradient_hessian"  # at x: (f, g, H)
    HESSP = "hessp"  # the Hessian times x, by a curvature a GRADIENT_HESSP answer returned


class Request(NamedTuple):
    """``ask`` at ``x`` (for ``Ask.HESSP``: the direction), with the ``curvature`` a
    ``GRADIENT_HESSP`` answer returned for a Hessian product."""

    ask: Ask
    x: Any
    curvature: Any = None

    def answer(self, objective):
        """The answer of ``objective`` (a ``LogisticLoss`` or anything with its methods)."""
        if self.ask is Ask.HESSP:
            return self.curvature(self.x)
        return getattr(objective, self.ask.value)(self.x)
