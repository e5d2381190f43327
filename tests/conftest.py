"""Shared fixtures: ``xp`` runs a test on NumPy always and on CuPy when a GPU is present;
``cancer`` is the standardized breast-cancer data set; ``fake_gpu`` installs the CuPy
stand-in of tests/fake_cupy.py."""

import os

# scikit-learn's array API dispatch (tests/estimators/test_array_api.py) needs SciPy's, set
# before SciPy is first imported; NumPy inputs behave the same with it
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import NO_GPU, backend, dataset, install_fake_cupy  # noqa: E402


def _cupy_or_skip():
    if not backend.gpu_available():
        pytest.skip(NO_GPU)
    import cupy

    return cupy


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request):
    """The array namespace under test."""
    return np if request.param == "numpy" else _cupy_or_skip()


@pytest.fixture
def cp():
    """CuPy, for tests that only make sense on a GPU (mark them ``gpu``)."""
    return _cupy_or_skip()


@pytest.fixture(scope="module")
def cancer():
    """scikit-learn's breast-cancer data, standardized: ``(X, y)``."""
    return dataset("breast_cancer")


@pytest.fixture
def fake_gpu(monkeypatch):
    """``fake_gpu(**options)`` installs the CuPy stand-in (options of ``fake_cupy.make``:
    ``free_bytes``, ``fail_pinned``, ...) for this test, as helpers.install_fake_cupy does,
    and returns the stand-in ``cupy``."""
    return lambda **options: install_fake_cupy(monkeypatch, **options)
