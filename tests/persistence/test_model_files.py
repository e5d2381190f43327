"""Model files that are not what gpulogreg.load expects (renamed, forged, truncated,
tampered with, pickled, oversized) are refused with a clear error, before anything
large is allocated or decompressed and without unpickling anything."""

import io
import json
import os
import zipfile

import numpy as np
import pytest
from helpers import members_of, npy_bytes, rewrite_model, write_npz

import gpulogreg
from gpulogreg import LogisticRegression


@pytest.fixture
def saved(cancer, tmp_path):
    return LogisticRegression().fit(*cancer).save(tmp_path / "m.npz")


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


def test_zip_bomb_is_refused_before_decompressing(saved, tmp_path, monkeypatch):
    """A member that declares far more bytes than the model needs is refused from its
    declared size, read from the zip directory: it is never opened."""
    members = members_of(saved)
    members["coef"] = members["coef"] + bytes(50 << 20)  # 50 MB of zeros: ~50 KB compressed
    bomb = tmp_path / "bomb.npz"
    write_npz(bomb, members)
    assert bomb.stat().st_size < 1 << 20
    opened, read = [], []
    real_open, real_read = zipfile.ZipFile.open, zipfile.ZipExtFile.read

    def recording_open(self, member, *args, **kwargs):
        opened.append(getattr(member, "filename", member))
        return real_open(self, member, *args, **kwargs)

    def counting_read(self, *args, **kwargs):
        data = real_read(self, *args, **kwargs)
        read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    with pytest.raises(ValueError, match=r"coef: declares 52,4\d\d,\d\d\d bytes"):
        gpulogreg.load(bomb)
    assert "coef.npy" not in opened  # declared sizes are checked before any member is read
    assert sum(read) < 1 << 16  # at most a few KB decompressed, never 50 MB


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
def test_tampered_files_are_refused(saved, change, match):
    rewrite_model(saved, change)
    with pytest.raises(ValueError, match=match):
        gpulogreg.load(saved)


def test_pickle_is_never_unpickled(saved, monkeypatch):
    """A file holding a pickled object array (here in place of coef) is refused before
    anything is unpickled."""
    import pickle

    rewrite_model(saved, lambda a, m: a.update(coef=np.array([{"x": 1}], dtype=object)))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled!"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled!"))
    with pytest.raises(ValueError, match="pickled objects"):
        gpulogreg.load(saved)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.0])
def test_truncated_files_are_refused(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match="not a valid gpulogreg model file: not a readable"):
        gpulogreg.load(saved)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(2))
    with pytest.raises(ValueError, match="expected arrays"):
        gpulogreg.load(path)
    with pytest.raises(FileNotFoundError):
        gpulogreg.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="device must be"):
        gpulogreg.load(path, device="tpu")
