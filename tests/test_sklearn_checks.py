"""scikit-learn's own estimator checks on NumPy input."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from gpulogreg import LogisticRegression

# Checks that cannot pass yet, each with the reason (see expected_failed_checks).
EXPECTED_FAILED = {}


@parametrize_with_checks([LogisticRegression()], expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)
