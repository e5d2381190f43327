"""gpulogreg: logistic regression on NumPy (CPU) or CuPy (CUDA) with the same code."""

from ._version import __version__ as __version__
from .api import gradient_step, hessp, loss_gradient
from .cv import LogisticRegressionCV
from .estimator import LogisticRegression, load
from .solvers import DivergenceError

__all__ = ["DivergenceError", "LogisticRegression", "LogisticRegressionCV", "gradient_step",
           "hessp", "load", "loss_gradient"]
