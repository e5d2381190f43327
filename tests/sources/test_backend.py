"""Backend dispatch and device logic: one namespace per call, mixing devices is a TypeError
naming the arrays; the GPU check says what is missing; a call computes on the GPU holding X;
the Cholesky solve catches a matrix that is not positive definite (CuPy's does not raise)."""

import sys

import fake_cupy
import numpy as np
import pytest
from helpers import backend


def test_numpy_and_host_objects_resolve_to_numpy():
    assert backend.get_namespace(X=np.ones((2, 2)), y=[0, 1], sample_weight=None) is np
    assert backend.get_namespace() is np
    assert not backend.is_gpu(np)


def test_cupy_arrays_resolve_to_cupy(fake_gpu):
    cp = fake_gpu()
    gpu = cp.asarray(np.zeros(2))
    assert backend.get_namespace(X=gpu, y=cp.asarray(np.zeros(2)), sample_weight=None) is cp
    assert backend.is_gpu(cp)


def test_mixing_devices_names_the_arrays(fake_gpu):
    cp = fake_gpu()
    with pytest.raises(TypeError, match=r"X is a CuPy \(GPU\) array while y and sample_weight "
                                        r"are NumPy \(host\) arrays"):
        backend.get_namespace(X=cp.asarray(np.zeros(2)), y=np.zeros(2), sample_weight=[1, 2])


def test_cupy_is_not_imported_by_the_package():
    import subprocess

    code = "import gpulogreg, gpulogreg.cli, sys; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_device_name_cpu():
    assert backend.device_name(np) == "cpu"
    a = np.arange(3)
    assert backend.to_namespace(a, np) is a  # already NumPy: the array itself, not a copy


# cupy: the options of the CuPy stand-in (fake_cupy.make) that the GPU check finds, or None
# where CuPy is not installed
@pytest.mark.parametrize("cupy, expected", [
    (None, "CuPy is not installed"),
    ({"device_count": 0}, "CuPy sees no CUDA device"),
    ({"device_count": RuntimeError("cudaErrorInsufficientDriver")},
     "finds no usable CUDA driver or device: cudaErrorInsufficientDriver"),
    ({"matmul_error": ImportError("libcublas.so.13: cannot open shared object file")},
     r"sees a GPU but cannot run on it: libcublas.so.13: cannot open shared object file "
     r"\(pip install 'gpulogreg\[cuda13\]'"),
])
def test_gpu_status_says_what_is_missing(monkeypatch, capsys, cupy, expected):
    import re

    from gpulogreg import cli

    monkeypatch.setitem(sys.modules, "cupy", None if cupy is None else fake_cupy.make(**cupy)[0])
    backend.gpu_status.cache_clear()
    try:
        ok, why = backend.gpu_status()
        assert not ok and re.search(expected, why), why
        assert not backend.gpu_available()
        assert cli.main(["demo", "--device", "auto"]) == 0
        assert re.search(expected, capsys.readouterr().out)  # the demo says it too
    finally:
        backend.gpu_status.cache_clear()


def test_gpu_status_true_when_everything_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy.make()[0])
    backend.gpu_status.cache_clear()
    try:
        assert backend.gpu_status() == (True, "")
    finally:
        backend.gpu_status.cache_clear()


def test_auto_device_computes_on_the_gpu_holding_x(fake_gpu):
    cp = fake_gpu()
    with cp.cuda.Device(1):
        X = cp.asarray(np.ones((3, 2)))
    assert cp.cuda.Device().id == 0
    with backend.on_device(("auto", None), cp, X):
        assert cp.cuda.Device().id == 1  # allocations and kernels go to X's GPU
    assert cp.cuda.Device().id == 0


def test_cupyx_sparse_x_is_placed_by_its_values_device(fake_gpu):
    """cupyx sparse matrices raise on ``.device``: placement asks their values array."""
    cp = fake_gpu()
    import cupyx.scipy.sparse as gpu_sparse

    with cp.cuda.Device(1):
        X = gpu_sparse.csr_matrix(np.eye(3))
    with pytest.raises(NotImplementedError):
        X.device
    assert backend.array_device(X).id == 1
    for device in (("auto", None), ("cuda", None)):
        with backend.on_device(device, cp, X):
            assert cp.cuda.Device().id == 1
    with pytest.raises(ValueError, match="X lives on cuda:1"):
        backend.on_device(("cuda", 0), cp, X)


def test_a_cholesky_that_does_not_raise_is_still_caught(fake_gpu):
    """CuPy's cholesky returns a factor for a matrix that is not positive definite (its
    default linalg='ignore'): the solve must see it (errstate, or the factor's diagonal)."""
    cp = fake_gpu()
    A = cp.asarray(np.array([[1.0, 2.0], [2.0, 1.0]]))  # eigenvalues 3 and -1
    b = cp.asarray(np.ones(2))
    assert bool(cp.isfinite(cp.linalg.cholesky(A)).all())  # no error, a finite "factor"
    assert backend.cholesky_solve(A, b, cp) is None
    good = cp.asarray(np.array([[2.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_allclose(np.asarray(backend.cholesky_solve(good, b, cp)), [1 / 3, 1 / 3])
    import cupyx

    with cupyx.errstate(linalg="ignore"):  # even where the caller set 'ignore'
        assert backend.cholesky_solve(A, b, cp) is None
