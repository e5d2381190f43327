"""What save writes, load reads, whatever the estimator was fitted on; and every refusal of
a corrupt or forged file is a ValueError naming the file and the reason."""

import io
import json
import zipfile

import numpy as np
import pytest

import gpulogreg
from gpulogreg import LogisticRegression, LogisticRegressionCV


@pytest.fixture
def saved(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "m.npz"
    LogisticRegression().fit(X, y).save(path)
    return path


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def patch_entries(path, flag=None, method=None):
    """Rewrite every entry's general-purpose flag or compression method in place, in the
    local headers and the central directory (what zipfile itself refuses to write)."""
    raw = bytearray(path.read_bytes())
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = raw.find(signature)
        while start >= 0:
            if flag is not None:
                raw[start + at:start + at + 2] = flag.to_bytes(2, "little")
            if method is not None:
                raw[start + at + 2:start + at + 4] = method.to_bytes(2, "little")
            start = raw.find(signature, start + 4)
    path.write_bytes(bytes(raw))


def npy(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def with_metadata(path, change, extra=""):
    """Rewrite the metadata: ``change(dict)``, then ``extra`` JSON text appended as one more
    member (a nesting json.dumps itself could not write)."""
    members = members_of(path)
    metadata = json.loads(str(np.load(io.BytesIO(members["metadata.npy"]))))
    change(metadata)
    text = json.dumps(metadata)
    if extra:
        text = text[:-1] + ", " + extra + "}"
    members["metadata.npy"] = npy(np.array(text))
    write_zip(path, members)


def test_labels_of_any_length_round_trip(tmp_path):
    labels = np.array(["a" * 5000, "b" * 3000])
    X = np.random.default_rng(1).normal(size=(40, 2))
    y = labels[(X[:, 0] > 0).astype(int)]
    model = LogisticRegression().fit(X, y)
    model.save(tmp_path / "long.npz")
    loaded = gpulogreg.load(tmp_path / "long.npz")
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_many_feature_names_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(2)
    names = [f"a_rather_long_feature_name_{j:06d}" for j in range(40_000)]  # > 1 MiB of JSON
    frame = pd.DataFrame(rng.normal(size=(20, len(names))), columns=names)
    model = LogisticRegression(max_iter=3).fit(frame, np.arange(20) % 2)
    model.save(tmp_path / "wide.npz")
    assert list(gpulogreg.load(tmp_path / "wide.npz").feature_names_in_) == names


@pytest.mark.parametrize("forge, match", [
    (lambda p: patch_entries(p, flag=0x1), "not a readable gpulogreg model file"),  # encrypted
    (lambda p: patch_entries(p, method=99), "not a readable"),  # unknown compression
    (lambda p: with_metadata(p, lambda m: m.update(n_iter=1e300)), "n_iter"),
    (lambda p: with_metadata(p, lambda m: m.update(n_iter=2**40)), "n_iter"),
    (lambda p: with_metadata(p, lambda m: m.update(n_iter=float("inf"))), "n_iter"),
    (lambda p: with_metadata(p, lambda m: None,
                             '"nested": ' + "[" * 100_000 + "]" * 100_000), "not valid JSON"),
], ids=["encrypted", "compression", "n_iter huge", "n_iter int32", "n_iter inf", "nested"])
def test_forged_files_are_value_errors_naming_the_file(saved, forge, match):
    forge(saved)
    with pytest.raises(ValueError, match=match) as error:
        gpulogreg.load(saved)
    assert str(saved) in str(error.value)


def test_corrupt_compressed_data_is_a_value_error(saved):
    write_zip(saved, members_of(saved), zipfile.ZIP_DEFLATED)
    raw = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("coef.npy")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[offset + 2:offset + 12] = b"\xff" * 10  # inside the deflate stream
    saved.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="not a valid gpulogreg model file") as error:
        gpulogreg.load(saved)
    assert str(saved) in str(error.value)


def test_a_file_cannot_ask_for_more_than_its_size(saved, tmp_path):
    """A 2**27-feature zero coefficient compresses to almost nothing: refused from the zip
    entries' declared sizes, before anything is decompressed."""
    members = members_of(saved)
    d = 1 << 27
    members["coef.npy"] = npy(np.zeros((1, d)))
    metadata = json.loads(str(np.load(io.BytesIO(members["metadata.npy"]))))
    metadata.update(n_features_in=d)
    members["metadata.npy"] = npy(np.array(json.dumps(metadata)))
    bomb = tmp_path / "bomb.npz"
    write_zip(bomb, members, zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 2 << 20
    opened = []
    original = zipfile.ZipFile.open
    zipfile.ZipFile.open = lambda self, name, *a, **k: (opened.append(getattr(name, "filename", name)),
                                                        original(self, name, *a, **k))[1]
    try:
        with pytest.raises(ValueError, match="declares .* bytes, more than a file of"):
            gpulogreg.load(bomb)
    finally:
        zipfile.ZipFile.open = original
    assert opened == []  # refused from the central directory alone


def test_the_command_line_says_one_line(saved, tmp_path, capsys):
    from gpulogreg import cli

    patch_entries(saved, method=99)
    np.save(tmp_path / "rows.npy", np.zeros((2, 4)))
    assert cli.main(["predict", str(saved), str(tmp_path / "rows.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable" in err


@pytest.mark.parametrize("estimator", [
    LogisticRegression(),
    LogisticRegressionCV(Cs=2, cv=2, l1_ratios=(0,), use_legacy_attributes=False,
                         scoring="accuracy")])
def test_a_model_fitted_on_torch_saves_and_comes_back_there(estimator, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import sklearn

    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(float)
    with sklearn.config_context(array_api_dispatch=True):
        model = estimator.fit(torch.asarray(X), torch.asarray(y))
        model.save(tmp_path / "t.npz")
        loaded = gpulogreg.load(tmp_path / "t.npz")
        assert isinstance(loaded.coef_, torch.Tensor)
        out = loaded.predict_proba(torch.asarray(X))
        assert isinstance(out, torch.Tensor)
        np.testing.assert_allclose(out.numpy(), model.predict_proba(torch.asarray(X)).numpy())
    plain = gpulogreg.load(tmp_path / "t.npz")  # without dispatch: NumPy, as fit would give
    assert isinstance(plain.coef_, np.ndarray)
    np.testing.assert_allclose(plain.coef_, model.coef_.numpy())
