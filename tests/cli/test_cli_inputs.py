"""The command line with the inputs users have: missing labels, Excel's byte-order mark,
non-numeric Parquet columns, closed pipes, bad options; and the coefficient table."""

import subprocess
import sys

import numpy as np
import pytest

from gpulogreg import cli


def write_csv(path, header, rows, bom=False):
    text = ",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def rows_of(n=60, seed=0, missing=()):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    labels = np.where(X[:, 0] + rng.logistic(size=n) > 0, "yes", "no").astype(object)
    for i in missing:
        labels[i] = ["", "NA"][i % 2]
    return [[a, b, label] for (a, b), label in zip(X, labels)]


@pytest.mark.parametrize("missing", ["", "NA"])
def test_a_missing_label_is_an_error_naming_the_line(tmp_path, capsys, missing):
    rows = rows_of()
    rows[4][2] = missing
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows)
    assert cli.main(["fit", str(data), "--target", "label", "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "line 6: the label (--target label) is missing" in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_missing_labels_dropped_on_request(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows_of(missing=(3, 8)))
    out = tmp_path / "m.npz"
    assert cli.main(["fit", str(data), "--target", "label", "-o", str(out),
                     "--drop-missing-labels"]) == 0
    assert "dropped 2 row(s)" in capsys.readouterr().out
    from gpulogreg import load

    assert list(load(out).classes_) == ["no", "yes"]  # no class of its own for the blanks


def test_a_parquet_null_label_is_missing(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = rows_of()
    labels = [r[2] for r in rows]
    labels[7] = None
    table = pa.table({"a": [r[0] for r in rows], "b": [r[1] for r in rows], "label": labels})
    pq.write_table(table, tmp_path / "d.parquet")
    assert cli.main(["fit", str(tmp_path / "d.parquet"), "--target", "label", "-o",
                     str(tmp_path / "m")]) == 2
    assert "row 8: the label (--target label) is missing" in capsys.readouterr().err


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows_of(), bom=True)
    assert cli.main(["fit", str(data), "--target", "label", "-o", str(tmp_path / "m.npz")]) == 0
    from gpulogreg import load

    assert list(load(tmp_path / "m.npz").feature_names_in_) == ["a", "b"]


def test_non_numeric_parquet_features_are_refused_by_name(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import datetime

    rows = rows_of(n=10)
    when = [datetime.datetime(2026, 1, 1 + i) for i in range(10)]
    pq.write_table(pa.table({"a": [r[0] for r in rows], "seen": when,
                             "label": [r[2] for r in rows]}), tmp_path / "d.parquet")
    assert cli.main(["fit", str(tmp_path / "d.parquet"), "--target", "label", "-o",
                     str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "feature columns must be numbers; seen (timestamp" in err


def test_warnings_and_option_errors_are_one_line(tmp_path):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows_of())
    run = subprocess.run([sys.executable, "-m", "gpulogreg", "fit", str(data), "--target",
                          "label", "-o", str(tmp_path / "m"), "--max-iter", "1"],
                         capture_output=True, text=True)
    assert run.returncode == 0
    assert run.stderr.count("\n") == 1 and "ConvergenceWarning: lbfgs failed" in run.stderr
    bad = subprocess.run([sys.executable, "-m", "gpulogreg", "fit", str(data), "--C", "abc"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("gpulogreg fit: error: argument --C: invalid float value")


def test_fit_without_target_says_target_is_required(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows_of())
    assert cli.main(["fit", str(data), "-o", str(tmp_path / "m")]) == 2
    assert "--target is required" in capsys.readouterr().err


def test_liblinear_and_the_named_proba_column(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows_of())
    assert cli.main(["fit", str(data), "--target", "label", "-o", str(tmp_path / "m.npz"),
                     "--solver", "liblinear"]) == 0
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "m.npz"), str(data), "--proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "proba_yes"


def test_a_closed_pipe_is_a_quiet_exit(tmp_path):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows_of())
    assert cli.main(["fit", str(data), "--target", "label", "-o", str(tmp_path / "m.npz")]) == 0
    np.save(tmp_path / "many.npy", np.random.default_rng(0).normal(size=(200_000, 2)))
    command = (f"{sys.executable} -m gpulogreg predict {tmp_path / 'm.npz'} "
               f"{tmp_path / 'many.npy'} | head -n 2")
    run = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # no "Broken pipe", no traceback
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and lines[0] == "label" and lines[1] in ("no", "yes")


def test_summary_prints_the_coefficient_table(tmp_path, capsys):
    rows = rows_of(n=300, seed=2)
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows)
    assert cli.main(["fit", str(data), "--target", "label", "-o", str(tmp_path / "m.npz"),
                     "--C", "inf", "--summary"]) == 0
    fit_out = capsys.readouterr().out.splitlines()
    assert fit_out[1].split() == ["parameter", "coef", "std_err", "z", "p_value", "ci_lower",
                                  "ci_upper"]
    assert [line.split()[0] for line in fit_out[2:]] == ["a", "b", "intercept"]
    assert cli.main(["summary", str(tmp_path / "m.npz"), str(data)]) == 0
    assert capsys.readouterr().out.splitlines() == fit_out[1:]
    groups = write_csv(tmp_path / "g.csv", ["a", "b", "label", "site"],
                       [r + [i % 5] for i, r in enumerate(rows)])
    assert cli.main(["summary", str(tmp_path / "m.npz"), str(groups), "--cov-type", "cluster",
                     "--groups", "site"]) == 0
    clustered = capsys.readouterr().out.splitlines()
    assert clustered[0].split()[0] == "parameter" and clustered != fit_out[1:]
