"""The command line: ``gpulogreg demo`` (the README's first command), ``fit`` and ``predict``."""

import csv
import io
import subprocess
import sys

import numpy as np
import pytest
from helpers import backend

from gpulogreg import LogisticRegression, cli


def test_demo_trains_and_reports(capsys):
    assert cli.main(["demo", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for field in ("backend", "device", "test accuracy", "final loss", "max|gradient|", "fit time"):
        assert field in out
    accuracy = float(out.split("test accuracy")[1].split()[0])
    assert accuracy > 0.93
    gradient = float(out.split("max|gradient|")[1].split()[0])
    assert gradient <= 1e-4
    # side by side with scikit-learn, then a large-batch pass against the floor
    assert "scikit-learn lbfgs" in out
    difference = float(out.split("max |difference|")[1].split()[0])
    assert difference < 1e-3
    ratio = float(out.split("large-batch pass (numpy")[1].split("x the floor")[0].split()[-1])
    assert ratio > 0.5  # bigger than the caches: a pass cannot beat one read of X by much
    assert "go further: 'gpulogreg bench --quick'" in out


@pytest.mark.parametrize("solver", ["gd", "newton-cg"])
def test_demo_float32_and_other_solvers(capsys, solver):
    assert cli.main(["demo", "--device", "cpu", "--dtype", "float32", "--solver", solver]) == 0
    out = capsys.readouterr().out
    assert "float32" in out and f"solver={solver}" in out


def test_demo_help_explains_options():
    out = subprocess.run([sys.executable, "-m", "gpulogreg.cli", "demo", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--device" in out and "breast-cancer" in out


def test_demo_gpu_without_gpu_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.setattr(backend, "gpu_status",
                        lambda: (False, "CuPy sees no CUDA device"))
    assert cli.main(["demo", "--device", "cuda"]) == 2
    assert "the GPU path cannot run: CuPy sees no CUDA device" in capsys.readouterr().err


def test_unknown_command_exits_with_usage():
    with pytest.raises(SystemExit) as exc:
        cli.main(["train"])
    assert exc.value.code == 2


@pytest.fixture
def csv_data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.logistic(size=200) > 0).astype(int)
    path = tmp_path / "train.csv"
    np.savetxt(path, np.column_stack([X[:, :1], y, X[:, 1:]]), delimiter=",",
               header="a,label,b,c", comments="")
    return path, X, y


def test_fit_then_predict_end_to_end(csv_data, tmp_path, capsys):
    path, X, y = csv_data
    assert cli.main(["fit", str(path), "--target", "label", "-o", str(tmp_path / "m.npz"),
                     "--C", "0.5"]) == 0
    assert "saved" in capsys.readouterr().out
    reference = LogisticRegression(C=0.5, max_iter=1000).fit(X, y)
    np.save(tmp_path / "rows.npy", X)
    assert cli.main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "rows.npy"),
                     "--proba", "-o", str(tmp_path / "p.csv")]) == 0
    proba = np.loadtxt(tmp_path / "p.csv", skiprows=1)
    np.testing.assert_allclose(proba, reference.predict_proba(X)[:, 1], rtol=1e-5)
    np.savez(tmp_path / "xy.npz", X=X, y=y)
    assert cli.main(["fit", str(tmp_path / "xy.npz"), "-o", str(tmp_path / "m2")]) == 0
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "m2"), str(tmp_path / "xy.npz")]) == 0
    out = capsys.readouterr().out.split()
    default_C = LogisticRegression(max_iter=1000).fit(X, y)  # the CLI's defaults
    assert out[0] == "label" and [int(v) for v in out[1:]] == default_C.predict(X).tolist()


@pytest.mark.parametrize("args, match", [
    (["fit", "{csv}", "--target", "nope", "-o", "{tmp}/m"], "--target 'nope' is not a column"),
    (["fit", "{csv}", "-o", "{tmp}/m"], "--target is required: name the label column of"),
    (["fit", "{tmp}/missing.csv", "--target", "label", "-o", "{tmp}/m"], "cannot read"),
    (["fit", "{tmp}/data.xlsx", "--target", "label", "-o", "{tmp}/m"], "unknown data format"),
    (["fit", "{tmp}/data.parquet", "--target", "label", "-o", "{tmp}/m"], "cannot read"),
    (["fit", "{tmp}/raw.f64", "--shape", "10,3", "--target", "1", "-o", "{tmp}/m"],
     "the label column must be the first or the last"),
    (["predict", "{csv}", "{csv}"], "not a valid gpulogreg model file"),
])
def test_bad_files_are_one_line_errors(csv_data, tmp_path, capsys, args, match):
    args = [a.format(csv=csv_data[0], tmp=tmp_path) for a in args]
    (tmp_path / "data.parquet").write_bytes(b"PAR1")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    np.zeros((10, 3)).tofile(tmp_path / "raw.f64")
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and err.count("\n") == 1


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "gpulogreg", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("gpulogreg ")


def test_raw_memmap_fit_and_predict_read_in_place(tmp_path, capsys, monkeypatch):
    """A raw float32 table with the label last: fit and predict read it as an np.memmap
    (the features a view, never loaded whole) and agree with the estimator."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] + rng.logistic(size=300) > 0).astype(np.float32)
    np.column_stack([X, y]).tofile(tmp_path / "train.f32")
    X.tofile(tmp_path / "rows.f32")
    seen = []
    original = LogisticRegression.fit
    monkeypatch.setattr(LogisticRegression, "fit",
                        lambda self, X_, y_, **kw: seen.append(X_) or original(self, X_, y_))
    assert cli.main(["fit", str(tmp_path / "train.f32"), "--shape", "300,5", "--dtype",
                     "float32", "--target", "4", "-o", str(tmp_path / "m.npz")]) == 0
    assert isinstance(seen[0], np.memmap) and not seen[0].flags.owndata  # a view of the file
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "rows.f32"),
                     "--shape", "300,4", "--dtype", "float32", "--proba"]) == 0
    out = capsys.readouterr().out.split()
    assert out[0] == "proba_1.0"  # the positive class, as the raw float file holds it
    proba = np.array(out[1:], dtype=float)
    reference = original(LogisticRegression(max_iter=1000), X, y)
    np.testing.assert_allclose(proba, reference.predict_proba(X)[:, 1], rtol=1e-4)


@pytest.mark.parametrize("shape", ["10", "0,3", "a,b"])
def test_bad_shape_is_a_usage_error(tmp_path, capsys, shape):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fit", str(tmp_path / "x.f64"), "--shape", shape, "-o", str(tmp_path / "m")])
    assert exc.value.code == 2 and "--shape must be ROWS,COLUMNS" in capsys.readouterr().err


def test_parquet_fit_and_predict(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    labels = np.where(X[:, 1] + rng.logistic(size=200) > 0, "spam", "ham")
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "kind": labels, "c": X[:, 2]}),
                   tmp_path / "train.parquet")
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}), tmp_path / "rows.pq")
    assert cli.main(["fit", str(tmp_path / "train.parquet"), "--target", "kind", "-o",
                     str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "rows.pq")]) == 0
    out = capsys.readouterr().out.split()
    reference = LogisticRegression(max_iter=1000).fit(X, labels)
    assert out[0] == "kind" and out[1:] == reference.predict(X).tolist()


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    assert cli.main(["fit", str(tmp_path / "d.parquet"), "--target", "y", "-o",
                     str(tmp_path / "m")]) == 2
    assert "needs pyarrow: pip install 'gpulogreg[parquet]'" in capsys.readouterr().err


def test_ctrl_c_ends_cleanly_and_saves_nothing(csv_data, tmp_path, capsys, monkeypatch):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(LogisticRegression, "fit", interrupted)
    out = tmp_path / "m.npz"
    assert cli.main(["fit", str(csv_data[0]), "--target", "label", "-o", str(out)]) == 130
    assert "interrupted; nothing was saved" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


def test_bench_quick_writes_its_table_and_plots(tmp_path, capsys):
    """`gpulogreg bench --quick` measures this machine and writes bench.md (and the PNG plots
    when matplotlib is installed), naming the machine; --quick runs the small configuration
    (three widths, a 200,000 x 32 problem), not the full one."""
    assert cli.main(["bench", "--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "bench.md").read_text()
    assert text.startswith("# gpulogreg bench --quick\n")
    assert "Machine: " in text and "cores" in text
    for expected in ("| numpy | 64 |", "| ours lbfgs (numpy) |", "| scikit-learn lbfgs |"):
        assert expected in text
    widths = [int(line.split("|")[2]) for line in text.splitlines()
              if line.startswith("| numpy |")]
    assert widths == [16, 64, 256]
    assert "(n=200,000, d=32," in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    for name in ("passes.png", "time_to_solution.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


def test_verbose_fit_is_a_progress_line_on_a_terminal_and_plain_lines_otherwise(
        csv_data, tmp_path, capsys):
    import io

    stream = io.StringIO()
    live = cli.progress.LiveLines(stream)
    for line in ("lbfgs iter     1  f=0.6  max|g|=1e-1", "lbfgs iter     2  f=0.5  max|g|=1e-2",
                 "lbfgs: converged after 2 iterations"):
        print(line, file=live)  # as the solvers print: text, then the newline
    assert stream.getvalue() == ("\r\x1b[Klbfgs iter     1  f=0.6  max|g|=1e-1"
                                 "\r\x1b[Klbfgs iter     2  f=0.5  max|g|=1e-2"
                                 "\nlbfgs: converged after 2 iterations\n")
    # not a terminal (captured): one plain line per iteration
    assert cli.main(["fit", str(csv_data[0]), "--target", "label", "-v", "-o",
                     str(tmp_path / "m.npz")]) == 0
    out = capsys.readouterr().out
    assert "\r" not in out and out.count(" iter ") >= 2


def test_fit_and_predict_three_classes(tmp_path, capsys):
    """Three labels fit the multinomial model; --proba writes one column per class."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = np.array([3, 5, 7])[np.argmax(X @ rng.normal(size=(3, 3)), axis=1)]
    path = tmp_path / "train.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="x0,x1,x2,label",
               comments="")
    assert cli.main(["fit", str(path), "--target", "label", "-o", str(tmp_path / "m.npz")]) == 0
    reference = LogisticRegression(max_iter=1000).fit(X, y)
    np.save(tmp_path / "rows.npy", X)
    assert cli.main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "rows.npy"),
                     "--proba", "-o", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "proba_3.0,proba_5.0,proba_7.0"
    proba = np.loadtxt(tmp_path / "p.csv", skiprows=1, delimiter=",")
    np.testing.assert_allclose(proba, reference.predict_proba(X), rtol=1e-5, atol=1e-8)
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "rows.npy")]) == 0
    out = capsys.readouterr().out.split()
    assert out[0] == "label"
    np.testing.assert_array_equal(np.array(out[1:], dtype=float), reference.predict(X))


def test_fit_with_an_l1_penalty(csv_data, tmp_path, capsys):
    path, X, y = csv_data
    assert cli.main(["fit", str(path), "--target", "label", "--solver", "owlqn", "--l1-ratio",
                     "1", "--C", "0.02", "-o", str(tmp_path / "m.npz")]) == 0
    from gpulogreg import load

    model = load(tmp_path / "m.npz")
    reference = LogisticRegression(solver="owlqn", l1_ratio=1, C=0.02, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-9)
    assert (model.coef_ == 0).any()
    assert cli.main(["fit", str(path), "--target", "label", "--l1-ratio", "1", "-o",
                     str(tmp_path / "bad.npz")]) == 2
    assert "Use solver='owlqn'" in capsys.readouterr().err


def _write(path, text):
    path.write_text(text)
    return str(path)


def _run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_selects_the_fitted_columns_by_name(tmp_path, capsys):
    """Columns in another order, extra columns (the label itself, ids), or the very file the
    model was fitted on: the same probabilities; a missing column is a one-line error."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(150, 2)) * 2
    y = (X[:, 0] - X[:, 1] + rng.logistic(size=150) > 0).astype(int)
    train = _write(tmp_path / "train.csv", "x1,x2,label\n" + "".join(
        f"{a:.17g},{b:.17g},{c}\n" for (a, b), c in zip(X, y)))
    assert _run(capsys, "fit", train, "--target", "label", "-o", tmp_path / "m.npz")[0] == 0
    reference = LogisticRegression(max_iter=1000).fit(X, y).predict_proba(X)[:, 1]
    swapped = _write(tmp_path / "swapped.csv", "id,x2,x1\n" + "".join(
        f"{i},{b:.17g},{a:.17g}\n" for i, (a, b) in enumerate(X)))
    for rows in (swapped, train):
        code, out, _ = _run(capsys, "predict", tmp_path / "m.npz", rows, "--proba")
        assert code == 0
        lines = out.split()
        assert lines[0] == "proba_1"
        np.testing.assert_allclose(np.array(lines[1:], dtype=float), reference, rtol=1e-4)
    code, out, err = _run(capsys, "predict", tmp_path / "m.npz",
                          _write(tmp_path / "less.csv", "x2,x3\n1,2\n"))
    assert code == 2 and "lacks the column(s) ['x1']" in err and err.count("\n") == 1
    # files without names keep the positional rule
    np.save(tmp_path / "rows.npy", X)
    code, out, _ = _run(capsys, "predict", tmp_path / "m.npz", tmp_path / "rows.npy",
                        "--proba")
    np.testing.assert_allclose(np.array(out.split()[1:], dtype=float), reference, rtol=1e-4)


@pytest.mark.parametrize("text, match", [
    ("a,label\n1,0,5\n2,1,6\n", "line 2: 3 fields, but the header names 2 columns"),
    ("a,b,label\n1,0\n", "line 2: 2 fields, but the header names 3 columns"),
    ("a,b,label\n", "has a header but no data rows"),
    ("", "is empty; expected a header row"),
    ("a,a,label\n1,2,0\n", "the header names ['a'] more than once"),
    ("a,,label\n1,2,0\n", "column 2 of the header has no name"),
    ("a,b,label\n1,x,0\n", "line 2: column 'b' holds 'x', not a number"),
    ("a,b,label\n1,2,0\n#3,4,1\n", "line 3: column 'a' holds '#3', not a number"),
])
def test_csv_that_disagrees_with_its_header_is_an_error(tmp_path, capsys, text, match):
    data = _write(tmp_path / "d.csv", text)
    code, out, err = _run(capsys, "fit", data, "--target", "label", "-o", tmp_path / "m.npz")
    assert code == 2 and match in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "m.npz").exists()


def test_csv_quoting_string_classes_and_labels_as_written(tmp_path, capsys):
    """Quoted numbers are numbers, a '#' is data, three string classes fit the multinomial
    model, and labels and probability columns keep the file's own values."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(240, 2))
    names = np.array(["#red", "green, light", "blue"])
    y = names[np.argmax(X @ rng.normal(size=(2, 3)) * 3 + rng.gumbel(size=(240, 3)), axis=1)]
    path = tmp_path / "colours.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL)
        writer.writerow(["colour", "u", "v"])
        writer.writerows([c, f"{a:.17g}", f"{b:.17g}"] for c, (a, b) in zip(y, X))
    code, out, err = _run(capsys, "fit", path, "--target", "colour", "-o", tmp_path / "m.npz")
    assert code == 0, err
    reference = LogisticRegression(max_iter=1000).fit(X, y)
    code, out, _ = _run(capsys, "predict", tmp_path / "m.npz", path)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["colour"] and [r[0] for r in rows[1:]] == reference.predict(X).tolist()
    code, out, _ = _run(capsys, "predict", tmp_path / "m.npz", path, "--proba")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [f"proba_{c}" for c in sorted(names)]
    np.testing.assert_allclose(np.array(rows[1:], dtype=float), reference.predict_proba(X),
                               rtol=1e-4, atol=1e-6)
    # integer labels print as the integers the file holds, not 1.0
    ints = _write(tmp_path / "ints.csv", "a,label\n" + "".join(
        f"{v:.17g},{int(v > 0)}\n" for v in X[:, 0]))
    assert _run(capsys, "fit", ints, "--target", "label", "-o", tmp_path / "i.npz")[0] == 0
    code, out, _ = _run(capsys, "predict", tmp_path / "i.npz", ints)
    assert set(out.split()[1:]) == {"0", "1"}
    code, out, _ = _run(capsys, "predict", tmp_path / "i.npz", ints, "--proba",
                        "-o", tmp_path / "p.csv")
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "proba_1"  # names the class


def test_saga_on_the_command_line(csv_data, tmp_path, capsys):
    path, X, y = csv_data
    code, _, err = _run(capsys, "fit", path, "--target", "label", "--solver", "saga",
                        "--l1-ratio", "1", "--C", "0.05", "-o", tmp_path / "m.npz")
    assert code == 0, err


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_saving_where_no_file_can_be_is_a_clear_error(csv_data, tmp_path, capsys, where):
    path, X, y = csv_data
    target = tmp_path / "nope" / "m.npz" if where == "missing folder" else tmp_path
    code, _, err = _run(capsys, "fit", path, "--target", "label", "-o", target)
    assert code == 2 and err.count("\n") == 1 and ".tmp" not in err
    assert f"cannot save the model to {target}" in err
    model = LogisticRegression().fit(X, y)
    with pytest.raises(OSError, match="cannot save the model to") as caught:
        model.save(target)
    assert ".tmp" not in str(caught.value)
