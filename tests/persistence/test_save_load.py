"""Saving and loading a fitted model: the same model back (parameters, coefficients,
labels, feature names), written atomically, and a fit resumed from a file."""

import os

import numpy as np
import pytest
from helpers import backend, dataset
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import gpulogreg
from gpulogreg import LogisticRegression, LogisticRegressionCV


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


def test_save_writes_the_named_path_with_the_umask_and_cleans_up(cancer, tmp_path):
    model = LogisticRegression(class_weight={0: 2.0, 1: 1.0}).fit(*cancer)
    for i in range(3):  # what killed saves of the same target leave behind
        (tmp_path / f".m.bin.killed{i}.tmp").write_bytes(b"partial")
    (tmp_path / ".other.npz.x.tmp").write_bytes(b"another target's")
    old = os.umask(0o022)
    try:
        path = model.save(tmp_path / "m.bin")
    finally:
        os.umask(old)
    assert path == tmp_path / "m.bin"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.npz.x.tmp", "m.bin"]
    assert path.stat().st_mode & 0o777 == 0o644
    loaded = gpulogreg.load(path)
    assert loaded.class_weight == {0: 2.0, 1: 1.0}
    np.testing.assert_array_equal(loaded.coef_, model.coef_)


def test_feature_names_round_trip(cancer, tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(cancer[0][:, :3], columns=["a", "b", "c"])
    loaded = gpulogreg.load(LogisticRegression().fit(frame, cancer[1]).save(tmp_path / "m"))
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(frame[["c", "b", "a"]])


@pytest.mark.parametrize("labels", [
    np.array(["ham", "spam"], dtype=object),  # a pandas Series of strings
    np.array([b"ham", b"spam"]),
    np.array([b"ham", b"spam"], dtype=object),
    np.array([3, 7], dtype=object),
])
def test_save_keeps_every_label_set_with_a_safe_encoding(tmp_path, labels):
    from gpulogreg import load

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = labels[(X[:, 0] > 0).astype(int)]
    model = LogisticRegression().fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.classes_.dtype == model.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_save_of_a_pandas_categorical_target(tmp_path):
    pd = pytest.importorskip("pandas")
    from gpulogreg import load

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = pd.Series(np.where(X[:, 1] > 0, "yes", "no")).astype("category")
    model = LogisticRegression().fit(X, y)
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(load(tmp_path / "m.npz").predict(X), model.predict(X))


def test_labels_without_a_safe_encoding_say_which_work(tmp_path):
    import datetime

    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    model.classes_ = np.array([datetime.date(2020, 1, 1), datetime.date(2021, 1, 1)],
                              dtype=object)
    with pytest.raises(TypeError, match="date labels.*must be numbers, booleans, strings or "
                                        "bytes"):
        model.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_a_saved_cv_is_its_final_model(tmp_path):
    X, y = dataset("iris")
    model = LogisticRegressionCV(Cs=np.logspace(-3, 2, 6), scoring="neg_log_loss", tol=1e-11,
                                 max_iter=10_000, l1_ratios=(0,),
                                 use_legacy_attributes=False).fit(X, y)
    loaded = gpulogreg.load(model.save(tmp_path / "cv.npz"))
    assert type(loaded) is LogisticRegression and loaded.C == model.C_
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
