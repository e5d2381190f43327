"""Shared fixtures: ``xp`` runs a test on NumPy always and on CuPy when a GPU is present."""

import numpy as np
import pytest

from gpulogreg import _backend

NO_GPU = "needs a CUDA GPU and CuPy (none found here; GPU tests run on a CUDA machine)"


def _cupy_or_skip():
    if not _backend.gpu_available():
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
