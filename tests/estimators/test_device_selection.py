"""Where the estimator computes: the one device vocabulary ('auto', 'cpu', 'cuda', 'cuda:N') of
the estimator and of load, device='cuda' without a GPU, and X on another GPU than the
current one (the CuPy stand-in)."""

import numpy as np
import pytest
from helpers import backend, linear_problem

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


def test_device_cuda_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    X, y, _ = linear_problem(50, 9, seed=0)
    with pytest.raises(ValueError, match="device='cuda' needs CuPy and a CUDA GPU"):
        LogisticRegression(device="cuda").fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"device": "gpu"}, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ({"chunk_rows": 100}, "chunk_rows applies to device='cuda'"),
])
def test_bad_streaming_params(params, match):
    X, y, _ = linear_problem(50, 9, seed=0)
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**params).fit(X, y)


@pytest.mark.parametrize("classes", [2, 3])
def test_x_on_another_gpu_than_the_current_one(fake_gpu, classes):
    """X on cuda:1 while cuda:0 is current: the stand-in refuses any kernel mixing devices
    (as CuPy does without peer access). Every public call computes on X's GPU, and the
    fitted attributes live there."""
    cp = fake_gpu()
    import gpulogreg
    from gpulogreg import LogisticRegressionCV

    rng = np.random.default_rng(0)
    X_host = rng.normal(size=(300, 4))
    y_host = np.argmax(X_host[:, :classes] + rng.gumbel(size=(300, classes)), axis=1)
    with cp.cuda.Device(1):
        X, y = cp.asarray(X_host), cp.asarray(y_host)
    assert cp.cuda.Device().id == 0 and X.device.id == 1
    with pytest.raises(RuntimeError, match="Peer access"):  # the stand-in does catch it
        X + 1
    for device in ("auto", "cuda"):
        model = LogisticRegression(device=device).fit(X, y)
        assert model.coef_.device.id == 1 and model.intercept_.device.id == 1
        for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
            assert getattr(model, method)(X).device.id == 1
        assert 0.5 < model.score(X, y) <= 1
    reference = LogisticRegression().fit(X_host, y_host)
    np.testing.assert_allclose(np.asarray(model.coef_), reference.coef_, rtol=1e-6, atol=1e-9)
    cv = LogisticRegressionCV(Cs=3, cv=3, l1_ratios=(0,), use_legacy_attributes=False,
                              scoring="accuracy").fit(X, y)
    assert cv.coef_.device.id == 1 and cv.predict(X).device.id == 1
    if classes == 2:
        w = rng.normal(size=4)
        with cp.cuda.Device(1):
            yf = y.astype(np.float64)
        f, g, b = gpulogreg.loss_gradient(X, yf, w, 0.1, C=2.0)
        assert g.device.id == 1
        hv, _ = gpulogreg.hessp(X, yf, w, 0.1, w, 0.0)
        new_w, _, _ = gpulogreg.gradient_step(X, yf, w, 0.1, learning_rate=0.5)
        assert hv.device.id == 1 and new_w.device.id == 1
        f_ref, g_ref, _ = gpulogreg.loss_gradient(X_host, y_host.astype(float), w, 0.1, C=2.0)
        np.testing.assert_allclose(np.asarray(g), g_ref, rtol=1e-12)
