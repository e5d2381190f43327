"""Dirty and extreme input, divergence, out-of-memory, persistence and resume (issue 6)."""

import json
import warnings

import numpy as np
import pytest
from helpers import backend
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import gpulogreg
from gpulogreg import DivergenceError, LogisticRegression
from gpulogreg.loss.objective import LogisticLoss


def separable(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


# --- extreme values --------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_separable_without_penalty_is_finite(xp, solver, dtype):
    X, y = separable()
    X = xp.asarray(X.astype(dtype))
    model = LogisticRegression(C=np.inf, solver=solver, max_iter=1000).fit(X, xp.asarray(y))
    assert np.all(np.isfinite(backend.to_numpy(model.coef_))) and model.score(X, xp.asarray(y)) == 1.0
    # no optimum exists (|w| -> inf): with a tiny tol every solver either reports a
    # gradient that small (margins of ~40 make it e^-40) or warns; never inf or NaN
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tight = LogisticRegression(C=np.inf, solver=solver, tol=1e-14, max_iter=200)
        tight.fit(X, xp.asarray(y))
    assert np.all(np.isfinite(backend.to_numpy(tight.coef_)))
    assert np.isfinite(tight.loss_) and np.isfinite(tight.grad_max_)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert warned or tight.grad_max_ <= 1e-14


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_features_of_magnitude_1e30_never_give_nan(xp, solver, dtype):
    """X up to 1e30 (z overflows float32 for moderate w, the first steps are off by ~1e30):
    finite results, no NumPy noise, and the separable data are still separated."""
    X, y = separable(seed=1)
    X = xp.asarray((X * 1e30).astype(dtype))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression(C=np.inf, solver=solver, max_iter=200).fit(X, xp.asarray(y))
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # no numpy noise
    coef = backend.to_numpy(model.coef_)
    assert np.all(np.isfinite(coef)) and np.isfinite(model.loss_)
    assert model.score(X, xp.asarray(y)) == 1.0


def test_loss_at_float_max_margins_is_finite():
    big = np.finfo(np.float32).max / 2
    X = np.array([[big], [-big], [big], [-big]], dtype=np.float32)
    y = np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32)
    f, g = LogisticLoss(X, y, C=np.inf, fit_intercept=False).loss_gradient(np.array([1.0]))
    assert np.isfinite(f) and np.all(np.isfinite(g))


# --- divergence guard ------------------------------------------------------------------

def test_too_large_learning_rate_is_reported_not_returned(cancer):
    X, y = cancer
    model = LogisticRegression(solver="gd", learning_rate=1e4, max_iter=100)
    with pytest.raises(DivergenceError, match=r"diverged at iteration 1: .*learning_rate=10000"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)  # nothing from the diverged run was kept


def test_safe_learning_rate_is_the_seeds_update(cancer):
    X, y = cancer
    fixed = LogisticRegression(solver="gd", learning_rate=0.5, tol=1e-8, max_iter=100_000)
    fixed.fit(X, y)
    ref = LogisticRegression(solver="newton-cg", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(fixed.coef_, ref.coef_, rtol=1e-5, atol=1e-5)


def test_fixed_step_follows_w_minus_alpha_grad_exactly():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (rng.random(50) < 0.5).astype(int)
    with pytest.warns(ConvergenceWarning):
        model = LogisticRegression(solver="gd", learning_rate=0.1, C=np.inf, max_iter=2,
                                   tol=0.0).fit(X, y)
    loss = LogisticLoss(X, y.astype(float), C=np.inf)
    x = np.zeros(4)
    for _ in range(2):
        x = x - 0.1 * loss.gradient(x)
    np.testing.assert_allclose(np.append(model.coef_[0], model.intercept_), x, rtol=1e-14)


# --- out of memory ---------------------------------------------------------------------

def test_out_of_memory_says_what_was_needed_and_what_to_do(cancer, monkeypatch):
    def exhausted(self, coef):
        raise MemoryError("Out of memory allocating 4,551,680 bytes")

    monkeypatch.setattr(LogisticLoss, "loss_gradient", exhausted)
    X, y = cancer
    with pytest.raises(MemoryError) as info:
        LogisticRegression().fit(X, y)
    message = str(info.value)
    for part in (f"X takes {X.nbytes:,} bytes", "needs about", "bytes are free",
                 "Out of memory allocating 4,551,680 bytes", "float32", "CPU"):
        assert part in message, message


# --- persistence -----------------------------------------------------------------------

def fitted(xp, cancer, labels=(0, 1), **params):
    X, y = cancer
    y = np.asarray(labels)[y]
    return LogisticRegression(**params).fit(xp.asarray(X), xp.asarray(y) if y.dtype.kind != "U"
                                            else y)


@pytest.mark.parametrize("params", [{}, {"C": np.inf, "solver": "newton-cg"},
                                    {"C": np.inf, "fit_intercept": False}])
def test_save_load_round_trip(xp, cancer, tmp_path, params):
    model = fitted(xp, cancer, **params)
    path = model.save(tmp_path / "model")
    assert path == tmp_path / "model" and path.is_file()  # exactly the path named
    loaded = gpulogreg.load(path)
    assert loaded.get_params() == model.get_params()
    X = xp.asarray(cancer[0])
    assert type(loaded.coef_) is type(model.coef_)
    np.testing.assert_array_equal(backend.to_numpy(loaded.coef_), backend.to_numpy(model.coef_))
    np.testing.assert_array_equal(backend.to_numpy(loaded.predict_proba(X)),
                                  backend.to_numpy(model.predict_proba(X)))
    cpu = gpulogreg.load(path, device="cpu")
    assert isinstance(cpu.coef_, np.ndarray)
    np.testing.assert_array_equal(cpu.predict(cancer[0]), backend.to_numpy(model.predict(X)))


def test_string_labels_and_float32_round_trip(cancer, tmp_path):
    X, y = cancer
    model = LogisticRegression().fit(X.astype(np.float32), np.array(["ham", "spam"])[y])
    loaded = gpulogreg.load(model.save(tmp_path / "m.npz"))
    assert loaded.coef_.dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(X.astype(np.float32)),
                                  model.predict(X.astype(np.float32)))


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        LogisticRegression().save(tmp_path / "m.npz")


def rewrite(path, change):
    """Rewrite a saved .npz after ``change(arrays, metadata)`` edits its content."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    metadata = json.loads(str(arrays.pop("metadata")))
    change(arrays, metadata)
    np.savez(path, metadata=np.array(json.dumps(metadata)), **arrays)


TAMPERED = [
    ("pickled object", lambda a, m: a.update(classes=np.array([0, object()], dtype=object)),
     "contains pickled objects"),
    ("coef shape", lambda a, m: a.update(coef=a["coef"][:, :5]), r"coef: has shape \(1, 5\)"),
    ("coef NaN", lambda a, m: a["coef"].__setitem__((0, 0), np.nan), "NaN or infinity"),
    ("intercept dtype", lambda a, m: a.update(intercept=a["intercept"].astype(np.float16)),
     "coef and intercept must both be float32 or float64"),
    ("classes", lambda a, m: a.update(classes=np.array([1, 0])), "classes must be sorted distinct labels"),
    ("extra array", lambda a, m: a.update(payload=np.zeros(3)), "expected arrays"),
    ("missing array", lambda a, m: a.pop("intercept"), "expected arrays"),
    ("format", lambda a, m: m.update(format="something.else"), "not a valid gpulogreg model file: format 'something.else'"),
    ("version", lambda a, m: m.update(format_version=99), "format version 99"),
    ("params", lambda a, m: m["params"].update(evil="__import__('os')"), "invalid params"),
    ("n_classes", lambda a, m: m.update(n_classes=3), r"coef: has shape \(1, 30\)"),
    ("n_classes type", lambda a, m: m.update(n_classes="3"), "n_classes is '3'"),
    ("n_classes huge", lambda a, m: m.update(n_classes=2**40), "not a count of classes"),
]


@pytest.mark.parametrize("change, match", [c[1:] for c in TAMPERED], ids=[c[0] for c in TAMPERED])
def test_tampered_files_are_refused(cancer, tmp_path, change, match):
    path = fitted(np, cancer).save(tmp_path / "m.npz")
    rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        gpulogreg.load(path)


def test_pickle_is_never_unpickled(cancer, tmp_path, monkeypatch):
    """Even a file whose metadata is a pickle: refused before any unpickling happens."""
    import pickle

    path = fitted(np, cancer).save(tmp_path / "m.npz")
    rewrite(path, lambda a, m: a.update(coef=np.array([{"x": 1}], dtype=object)))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled!"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled!"))
    with pytest.raises(ValueError, match="pickled objects"):
        gpulogreg.load(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.0])
def test_truncated_files_are_refused(cancer, tmp_path, keep):
    path = fitted(np, cancer).save(tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match="not a valid gpulogreg model file: not a readable"):
        gpulogreg.load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(2))
    with pytest.raises(ValueError, match="expected arrays"):
        gpulogreg.load(path)
    with pytest.raises(FileNotFoundError):
        gpulogreg.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="device must be"):
        gpulogreg.load(path, device="tpu")


def test_save_is_atomic(cancer, tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous file intact and no temporary behind."""
    model = fitted(np, cancer)
    path = model.save(tmp_path / "m.npz")
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# --- resume ----------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_interrupted_fit_resumed_from_file_reaches_the_same_optimum(cancer, tmp_path, solver):
    X, y = cancer
    full = LogisticRegression(solver=solver, tol=1e-10, max_iter=10_000).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        part = LogisticRegression(solver=solver, tol=1e-10, max_iter=3).fit(X, y)
    resumed = gpulogreg.load(part.save(tmp_path / "part.npz"))
    resumed.set_params(warm_start=True, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(resumed.coef_, full.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(resumed.intercept_, full.intercept_, rtol=1e-6, atol=1e-8)


# --- determinism -----------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_gpu_fit_is_bitwise_deterministic(cp, cancer, solver):
    X, y = (cp.asarray(a) for a in cancer)
    a = LogisticRegression(solver=solver, tol=1e-8, max_iter=1000).fit(X, y)
    b = LogisticRegression(solver=solver, tol=1e-8, max_iter=1000).fit(X, y)
    assert a.n_iter_[0] == b.n_iter_[0]
    assert cp.array_equal(a.coef_, b.coef_) and cp.array_equal(a.intercept_, b.intercept_)
