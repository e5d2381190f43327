"""Trust: no silent wrong answers, no stalls, a clear error for every bad input and file.

Each test keeps the exact input of a report in issue 13 ("Trust: ...") as a regression test.
"""

import io
import json
import os
import time
import warnings
import zipfile

import numpy as np
import pytest
from helpers import backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import gpulogreg
from gpulogreg import LogisticRegression

# --- 1. feature names --------------------------------------------------------------------

def test_feature_names_are_checked_like_scikit_learn(cancer):
    pd = pytest.importorskip("pandas")
    X, y = cancer
    frame = pd.DataFrame(X[:, :5], columns=[f"f{i}" for i in range(5)])
    model = LogisticRegression().fit(frame, y)
    assert list(model.feature_names_in_) == list(frame.columns) and model.n_features_in_ == 5
    reordered = frame[frame.columns[::-1]]
    with pytest.raises(ValueError, match="feature names should match those that were passed"):
        model.predict(reordered)  # was: accuracy 0.23 with no warning
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(frame.to_numpy())
    plain = LogisticRegression().fit(frame.to_numpy(), y)
    with pytest.warns(UserWarning, match="X has feature names, but LogisticRegression was"):
        plain.predict(frame)
    np.testing.assert_array_equal(model.predict(frame), plain.predict(frame.to_numpy()))


# --- 2. float32 with a tol below its resolution --------------------------------------------

@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_float32_tiny_tol_stops_early_and_says_why(solver):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5_000, 20)).astype(np.float32)
    y = (X @ rng.normal(size=20) + rng.logistic(size=5_000) > 0).astype(int)
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match="float64 X or a larger tol"):
        model = LogisticRegression(solver=solver, tol=1e-10, max_iter=100_000).fit(X, y)
    assert model.n_iter_[0] < 500 and time.perf_counter() - start < 30
    ref = LogisticRegression(tol=1e-8).fit(X.astype(np.float64), y)
    assert model.loss_ <= ref.loss_ * (1 + 1e-5)  # it did reach float32's optimum


# --- 3. label dtype, n_iter_ dtype ------------------------------------------------------

def test_predict_returns_labels_of_the_classes_dtype(cancer):
    X, y = cancer
    labels = np.array(["benign", "malignant"], dtype=object)[y]
    model = LogisticRegression().fit(X, labels)
    assert model.classes_.dtype == object and model.predict(X).dtype == object
    assert model.n_iter_.dtype == np.int32
    sk = SkLogisticRegression().fit(X, labels)
    assert model.predict(X).dtype == sk.predict(X).dtype and sk.n_iter_.dtype == np.int32


# --- 4-7. crashes, unclear errors, leaked warnings ----------------------------------------

def test_newton_cg_with_a_zero_residual_does_not_divide_by_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=1e-3, solver="newton-cg", tol=0).fit([[1e-300], [-1e-300]],
                                                                          [0, 1])
    assert np.isfinite(model.coef_).all()


def test_y_mixing_types_names_y():
    with pytest.raises(TypeError, match="y mixes label types"):
        LogisticRegression().fit([[0.0], [1.0]], np.array([0, "a"], dtype=object))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiny_and_huge_weights_are_rescaled_not_lost(cancer, dtype):
    X, y = cancer
    X = X.astype(dtype)
    ref = LogisticRegression(C=1.0, tol=1e-6).fit(X, y)
    for scale in (1e-300, 1e300):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no cast overflow or underflow warning either
            model = LogisticRegression(C=1.0 / scale, tol=1e-6).fit(
                X, y, sample_weight=np.full(len(y), scale))
        # weights s and C/s: the same objective as unit weights and C
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=2e-3, atol=1e-4)


def test_penalty_beyond_float64_is_a_clear_error():
    with pytest.raises(ValueError, match=r"C \* max\(sample_weight\) underflows"):
        LogisticRegression(C=1e-30).fit([[0.0], [1.0]], [0, 1], sample_weight=[1e-300, 1e-300])


@pytest.mark.parametrize("X, match", [
    (np.array([[np.inf, 1.0], [-np.inf, 2.0]]), "Input X contains infinity"),
    (np.array([[1e308, 1e308], [1e308, -1e308], [-1e308, 1e308]]), None),
])
def test_no_runtime_warning_escapes(X, match):
    y = np.array([0, 1, 0])[:len(X)]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if match is None:
            model = LogisticRegression().fit(X, y)
            assert np.isfinite(model.coef_).all() and np.isfinite(model.predict_proba(X)).all()
        else:
            with pytest.raises(ValueError, match=match):
                LogisticRegression().fit(X, y)
    assert not [w for w in seen if not issubclass(w.category, ConvergenceWarning)], \
        [str(w.message) for w in seen]


# --- 8-9. model files ---------------------------------------------------------------------

@pytest.fixture
def saved(cancer, tmp_path):
    return LogisticRegression().fit(*cancer).save(tmp_path / "m.npz")


def write_npz(path, members):
    """An .npz written by hand: ``members`` maps a name to raw .npy bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename[:-4]: archive.read(info) for info in archive.infolist()}


def test_npy_renamed_npz_is_not_a_model(tmp_path):
    path = tmp_path / "x.npz"
    np.save(tmp_path / "x.npy", np.zeros(3))
    os.replace(tmp_path / "x.npy", path)
    with pytest.raises(ValueError, match="not a valid gpulogreg model file: not a readable"):
        gpulogreg.load(path)


def test_forged_shape_is_refused_before_allocating(saved, tmp_path):
    members = members_of(saved)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (1, 10**12)})  # 7 TiB
    members["coef"] = header.getvalue()
    forged = tmp_path / "forged.npz"
    write_npz(forged, members)
    with pytest.raises(ValueError, match=r"coef: has shape \(1, 1000000000000\)"):
        gpulogreg.load(forged)


def test_zip_bomb_is_refused_before_decompressing(saved, tmp_path):
    members = members_of(saved)
    members["coef"] = members["coef"] + bytes(50 << 20)  # 50 MB of zeros: ~50 KB compressed
    bomb = tmp_path / "bomb.npz"
    write_npz(bomb, members)
    assert bomb.stat().st_size < 1 << 20
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"coef: declares 52,4\d\d,\d\d\d bytes"):
        gpulogreg.load(bomb)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("change, match", [
    (lambda m: m.update(n_features_in="30"), "n_features_in is '30'"),
    (lambda m: m.update(n_iter="x"), "n_iter is not a number"),
    (lambda m: m["params"].update(C=-5), "invalid params.*'C' parameter"),
    (lambda m: m["params"].update(solver="evil"), "invalid params.*'solver' parameter"),
    (lambda m: m.update(params=[1, 2]), "invalid params"),
    (lambda m: m["params"].update(class_weight={"pairs": 3}), "invalid params.*class_weight"),
], ids=["n_features type", "n_iter type", "C=-5", "solver evil", "params list", "class_weight"])
def test_tampered_metadata_is_a_clear_error(saved, change, match):
    members = members_of(saved)
    metadata = json.loads(str(np.load(io.BytesIO(members["metadata"]))))
    change(metadata)
    members["metadata"] = npy_bytes(np.array(json.dumps(metadata)))
    write_npz(saved, members)
    with pytest.raises(ValueError, match=match):
        gpulogreg.load(saved)


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


# --- 10. one device vocabulary ------------------------------------------------------------

def test_one_device_vocabulary(saved, cancer, monkeypatch):
    X, y = cancer
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


# --- 13-14. drop-in for scikit-learn code ---------------------------------------------------

def test_every_scikit_learn_parameter_is_accepted():
    ours = set(LogisticRegression().get_params())
    assert set(SkLogisticRegression().get_params()) <= ours


@pytest.mark.parametrize("params", [
    {"random_state": 0}, {"intercept_scaling": 3.0}, {"class_weight": "balanced"},
    {"class_weight": {0: 3.0}}, {"max_iter": 0}, {"l1_ratio": 0.0}, {"dual": False},
])
def test_parameters_behave_as_in_scikit_learn(cancer, params):
    X, y = cancer
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = LogisticRegression(tol=1e-10, **params).fit(X, y, sample_weight=weights)
        sk = SkLogisticRegression(tol=1e-10, solver="newton-cholesky", **params).fit(
            X, y, sample_weight=weights)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=1e-5, atol=1e-8)


def outcome(Model, params, fit_args):
    """What ``Model(**params).fit(*fit_args)`` raises or warns, as comparable text."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            Model(**params).fit(*fit_args)
            error = None
        except Exception as exc:  # noqa: BLE001 - the point is to compare what is raised
            error = (type(exc), str(exc))
    return error, [(w.category, str(w.message)) for w in seen]


X_SMALL = np.random.default_rng(1).normal(size=(20, 3))
Y_SMALL = np.arange(20) % 2

SAME_AS_SKLEARN = [
    # (id, params, fit args, what must agree: "error" or a warning category; prefix of text)
    ("invalid solver", {"solver": "evil"}, (X_SMALL, Y_SMALL), "error",
     "The 'solver' parameter of LogisticRegression must be a str among"),
    ("invalid C", {"C": -5}, (X_SMALL, Y_SMALL), "error",
     "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]."),
    ("inconsistent samples", {}, (X_SMALL, Y_SMALL[:5]), "error",
     "Found input variables with inconsistent numbers of samples: [20, 5]"),
    ("dual", {"dual": True}, (X_SMALL, Y_SMALL), "error",
     "Solver lbfgs supports only dual=False, got dual=True"),
    ("elastic-net", {"l1_ratio": 0.5}, (X_SMALL, Y_SMALL), "error",
     "Solver lbfgs supports only 'l2' or None penalties, got elasticnet penalty."),
    ("penalty deprecated", {"penalty": "l2"}, (X_SMALL, Y_SMALL), FutureWarning,
     "'penalty' was deprecated in version 1.8 and will be removed in 1.10."),
    ("penalty None with C", {"penalty": None, "C": 2.0}, (X_SMALL, Y_SMALL), UserWarning,
     "Setting penalty=None will ignore the C and l1_ratio parameters"),
    ("n_jobs", {"n_jobs": 2}, (X_SMALL, Y_SMALL), FutureWarning, "'n_jobs' has no effect"),
    ("max_iter", {"max_iter": 1}, (X_SMALL, Y_SMALL), ConvergenceWarning,
     "lbfgs failed to converge after 1 iteration(s)"),
]


@pytest.mark.parametrize("params, fit_args, kind, prefix", [c[1:] for c in SAME_AS_SKLEARN],
                         ids=[c[0] for c in SAME_AS_SKLEARN])
def test_errors_and_warnings_read_as_scikit_learns(params, fit_args, kind, prefix):
    ours = outcome(LogisticRegression, params, fit_args)
    theirs = outcome(SkLogisticRegression, params, fit_args)
    for error, seen in (ours, theirs):
        if kind == "error":
            assert error is not None and issubclass(error[0], ValueError)
            assert error[1].startswith(prefix), error[1]
        else:
            assert any(issubclass(c, kind) and m.startswith(prefix) for c, m in seen), seen
    if kind == "error":
        assert ours[0][0] is theirs[0][0]  # the same class (sklearn's InvalidParameterError)
    if kind is ConvergenceWarning:
        assert all("Increase the number of iterations" in m for c, m in ours[1] + theirs[1]
                   if c is ConvergenceWarning)


# --- fuzzing: every solver, dtype, scale, weights and C -------------------------------------

# GPULOGREG_FUZZ_EXAMPLES=3000 for a long run; CI runs 60
@settings(max_examples=int(os.environ.get("GPULOGREG_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(solver=st.sampled_from(["lbfgs", "newton-cg", "gd"]),
       dtype=st.sampled_from([np.float32, np.float64]),
       x_exp=st.integers(-300, 300), w_exp=st.one_of(st.none(), st.integers(-300, 300)),
       C=st.sampled_from([1e-30, 1e-3, 1.0, 1e30, np.inf]),
       n=st.integers(2, 12), d=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_fuzz_finite_or_a_clear_error(solver, dtype, x_exp, w_exp, C, n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10.0**x_exp
    y = np.arange(n) % 2
    weights = None if w_exp is None else rng.uniform(0.5, 2, size=n) * 10.0**w_exp
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            model = LogisticRegression(solver=solver, C=C, max_iter=50).fit(
                X.astype(dtype), y, sample_weight=weights)
        except (ValueError, TypeError) as exc:
            assert "sample_weight" in str(exc) or "X" in str(exc), exc
            return
        proba = model.predict_proba(X.astype(dtype))
    assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()
    assert np.isfinite(proba).all()
    assert not [w for w in seen if not issubclass(w.category, ConvergenceWarning)], \
        [str(w.message) for w in seen]


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
