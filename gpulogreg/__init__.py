"""gpulogreg: logistic regression on NumPy (CPU) or CuPy (CUDA) with the same code."""

from .estimator import LogisticRegression
from .io import load
from .solvers import DivergenceError

__all__ = ["DivergenceError", "LogisticRegression", "load"]
__version__ = "0.1.0"
