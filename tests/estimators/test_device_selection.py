"""The one device vocabulary ('auto', 'cpu', 'cuda', 'cuda:N') of the estimator and of load."""

import numpy as np
import pytest
from helpers import backend

import gpulogreg
from gpulogreg import LogisticRegression


def test_one_device_vocabulary(cancer, tmp_path, monkeypatch):
    X, y = cancer
    saved = LogisticRegression().fit(X, y).save(tmp_path / "m.npz")
    for bad in ("gpu", "cuda:x", "tpu", 0):
        with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
            gpulogreg.load(saved, device=bad)
        with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
            LogisticRegression(device=bad).fit(X, y)
    assert isinstance(gpulogreg.load(saved, device="cpu").coef_, np.ndarray)
    LogisticRegression(device="cpu").fit(X, y)
    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda' needs CuPy and a CUDA GPU"):
        LogisticRegression(device="cuda:0").fit(X, y)
    with pytest.raises(ValueError, match="device='cuda' asked for"):
        gpulogreg.load(saved, device="cuda")
