"""Backend dispatch: one namespace per call, mixing devices is a TypeError naming the arrays."""

import sys
import types

import numpy as np
import pytest
from helpers import backend


@pytest.fixture
def fake_cupy(monkeypatch):
    """A stand-in ``cupy`` module, so the dispatch logic is tested without a GPU."""
    module = types.ModuleType("cupy")

    class ndarray:  # noqa: N801 - mirrors cupy.ndarray
        pass

    module.ndarray = ndarray
    monkeypatch.setitem(sys.modules, "cupy", module)
    return module


def test_numpy_and_host_objects_resolve_to_numpy():
    assert backend.get_namespace(X=np.ones((2, 2)), y=[0, 1], sample_weight=None) is np
    assert backend.get_namespace() is np
    assert not backend.is_gpu(np)


def test_cupy_arrays_resolve_to_cupy(fake_cupy):
    gpu = fake_cupy.ndarray()
    assert backend.get_namespace(X=gpu, y=fake_cupy.ndarray(), sample_weight=None) is fake_cupy
    assert backend.is_gpu(fake_cupy)


def test_mixing_devices_names_the_arrays(fake_cupy):
    with pytest.raises(TypeError, match=r"X is a CuPy \(GPU\) array while y and sample_weight "
                                        r"are NumPy \(host\) arrays"):
        backend.get_namespace(X=fake_cupy.ndarray(), y=np.zeros(2), sample_weight=[1, 2])


def test_cupy_is_not_imported_by_the_package():
    import subprocess

    code = "import gpulogreg, gpulogreg.cli, sys; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_device_name_cpu():
    assert backend.device_name(np) == "cpu"
    assert backend.to_namespace(np.arange(3), np) is not None


def cupy_stand_in(devices=1, cublas_error=None):
    """A stand-in for the few CuPy calls the GPU check makes."""

    class Array:
        def __matmul__(self, other):
            if cublas_error:
                raise ImportError(cublas_error)
            return {(0, 0): 2.0}

    def count():
        if isinstance(devices, Exception):
            raise devices
        return devices

    cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=count),
                                 nvrtc=types.SimpleNamespace(getVersion=lambda: (13, 0)))
    return types.SimpleNamespace(__version__="14.2.0", cuda=cuda, float32="float32",
                                 ones=lambda shape, dtype=None: Array(),
                                 ndarray=type("ndarray", (), {}))  # no array is one


@pytest.mark.parametrize("cupy, expected", [
    (None, "CuPy is not installed"),
    (cupy_stand_in(devices=0), "CuPy sees no CUDA device"),
    (cupy_stand_in(devices=RuntimeError("cudaErrorInsufficientDriver")),
     "finds no usable CUDA driver or device: cudaErrorInsufficientDriver"),
    (cupy_stand_in(cublas_error="libcublas.so.13: cannot open shared object file"),
     r"sees a GPU but cannot run on it: libcublas.so.13: cannot open shared object file "
     r"\(pip install 'gpulogreg\[cuda13\]'"),
])
def test_gpu_status_says_what_is_missing(monkeypatch, capsys, cupy, expected):
    import re
    import sys

    from gpulogreg import cli

    monkeypatch.setitem(sys.modules, "cupy", cupy)
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
    import sys

    monkeypatch.setitem(sys.modules, "cupy", cupy_stand_in())
    backend.gpu_status.cache_clear()
    try:
        assert backend.gpu_status() == (True, "")
    finally:
        backend.gpu_status.cache_clear()
