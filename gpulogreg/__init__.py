"""gpulogreg: logistic regression on NumPy (CPU) or CuPy (CUDA) with the same code."""

from .estimator import LogisticRegression

__all__ = ["LogisticRegression"]
__version__ = "0.1.0"
