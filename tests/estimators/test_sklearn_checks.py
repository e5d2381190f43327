"""scikit-learn's own estimator checks on NumPy input (none are expected to fail)."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gpulogreg import LogisticRegression


# gd on the checks' unscaled toy data needs more than max_iter steps; that warning is expected
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.DataConversionWarning")
@parametrize_with_checks([LogisticRegression(), LogisticRegression(solver="newton-cg"),
                          LogisticRegression(solver="gd", max_iter=1000)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
