"""pytest-benchmark suite: loss+gradient on NumPy and CuPy.

    pytest bench/ --benchmark-columns=median,iqr,rounds

Wall-clock timing; on the GPU every call ends with a host read of the loss, so the
device work is included. For ratios to the memory floor use bench/gradient_floor.py.
"""

import numpy as np
import pytest

from gpulogreg import benchmark
from gpulogreg.loss.objective import LogisticLoss

SHAPES = [(200_000, 64), (50_000, 257)]


@pytest.fixture(params=["numpy", "cupy"])
def xp(request):
    if request.param == "numpy":
        return np
    if not benchmark.gpu_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    import cupy

    return cupy


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{n}x{d}" for n, d in SHAPES])
def test_loss_gradient(benchmark, xp, dtype, shape):
    n, d = shape
    rng = np.random.default_rng(0)
    X = xp.asarray(rng.normal(size=(n, d)).astype(dtype))
    y = xp.asarray((rng.random(n) < 0.5).astype(dtype))
    coef = xp.asarray(rng.normal(size=d + 1) / np.sqrt(d))
    loss = LogisticLoss(X, y, C=1.0)
    benchmark.extra_info["bytes_X"] = int(X.nbytes)
    f, _ = benchmark(loss.loss_gradient, coef)
    assert np.isfinite(f)
