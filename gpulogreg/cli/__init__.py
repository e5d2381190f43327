"""Command line: ``gpulogreg demo | fit | predict`` (also ``python -m gpulogreg``)."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .. import _backend
from ..loss import cpu
from ..estimator import LogisticRegression
from ..solvers import ALIASES, SOLVERS


SOLVER_NAMES = sorted(set(SOLVERS) | set(ALIASES))  # saga, as scikit-learn users spell it


def _demo_data(dtype):
    """scikit-learn's bundled breast-cancer set, split 75/25 and standardised on the train part."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return ((X_train - mean) / std).astype(dtype), ((X_test - mean) / std).astype(dtype), \
        y_train, y_test


def _fit_once(xp, args, data):
    X_train, X_test, y_train, y_test = (xp.asarray(a) for a in data)
    model = LogisticRegression(C=args.C, solver=args.solver, tol=args.tol,
                               max_iter=args.max_iter)
    model.fit(X_train, y_train)  # warm-up: kernel compilation and memory pools
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start  # fit ends on a host read of the gradient norm
    fitted = np.append(_backend.to_numpy(model.coef_[0]), _backend.to_numpy(model.intercept_))
    return fitted, {
        "backend": xp.__name__,
        "device": _backend.device_name(xp),
        "dtype": str(X_train.dtype),
        "iterations": str(int(model.n_iter_[0])),
        "train accuracy": f"{float(model.score(X_train, y_train)):.4f}",
        "test accuracy": f"{float(model.score(X_test, y_test)):.4f}",
        "final loss": f"{model.loss_:.8f}",
        "max|gradient|": f"{model.grad_max_:.2e}",
        "fit time": f"{seconds * 1e3:.2f} ms",
    }


def demo(args) -> int:
    data = _demo_data(np.dtype(args.dtype))
    print(f"gpulogreg demo: breast cancer (scikit-learn), {data[0].shape[0]} train / "
          f"{data[1].shape[0]} test rows, {data[0].shape[1]} standardised features; "
          f"solver={args.solver} C={args.C} tol={args.tol}")
    kind, index = _backend.parse_device(args.device, name="--device")
    namespaces = []
    if kind in ("auto", "cpu"):
        namespaces.append(np)
    if kind in ("auto", "cuda"):
        if _backend.gpu_available():
            import cupy

            namespaces.append(cupy)
        elif kind == "cuda":
            print(f"error: --device {args.device} asked for, but the GPU path cannot run: "
                  f"{_backend.gpu_status()[1]}.", file=sys.stderr)
            return 2
        else:
            print(f"(no usable CUDA GPU: {_backend.gpu_status()[1]}; running on the CPU only)")
    with _backend.on_device((kind, index), None):
        fits = [_fit_once(xp, args, data) for xp in namespaces]
    reference, sk_row = _sklearn_once(args, data)
    rows = [row for _, row in fits] + [sk_row]
    width = max(len(key) for key in rows[0])
    for key in rows[0]:
        print(f"  {key:<{width}}  " + "  ".join(f"{row[key]:>26}" for row in rows))
    difference = max(float(np.abs(coef - reference).max()) for coef, _ in fits)
    print(f"coefficients and intercept agree with scikit-learn's to max |difference| "
          f"{difference:.1e} (both stop at tol={args.tol:g})")
    _demo_throughput(namespaces)
    print(cpu.status())
    print("go further: 'gpulogreg bench --quick' measures this machine; 'gpulogreg fit DATA "
          "--target COLUMN -o model.npz' fits your data; the README says which solver suits "
          "which shape.")
    return 0


def _sklearn_once(args, data):
    """The same fit with scikit-learn (its lbfgs where ours is gd), timed the same way,
    with our objective and gradient evaluated at its solution."""
    from sklearn.linear_model import LogisticRegression as Sk

    from ..loss.objective import LogisticLoss

    X_train, X_test, y_train, y_test = data
    solver = "lbfgs" if args.solver == "gd" else args.solver
    model = Sk(C=args.C, solver=solver, tol=args.tol, max_iter=args.max_iter)
    model.fit(X_train, y_train)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    X64 = X_train.astype(np.float64)
    loss = LogisticLoss(X64, (y_train == model.classes_[1]).astype(np.float64), C=args.C)
    fitted = np.append(model.coef_[0], model.intercept_)
    f, g = loss.loss_gradient(fitted)
    return fitted, {
        "backend": f"scikit-learn {solver}", "device": "cpu", "dtype": str(X_train.dtype),
        "iterations": str(int(model.n_iter_[0])),
        "train accuracy": f"{model.score(X_train, y_train):.4f}",
        "test accuracy": f"{model.score(X_test, y_test):.4f}",
        "final loss": f"{f:.8f}", "max|gradient|": f"{float(abs(g).max()):.2e}",
        "fit time": f"{seconds * 1e3:.2f} ms",
    }


def _demo_throughput(namespaces):
    """One synthetic float64 problem per backend, sized to the machine's memory: the
    loss+gradient pass against the floor (one read of X at the copy bandwidth measured just
    before)."""
    from .. import benchmark

    for xp in namespaces:
        # bigger than the caches, so the pass and the floor both read memory: 1 GB of X on a
        # GPU, 512 MB on a CPU, at most an eighth of the free memory (X and the floor's copy)
        info = _backend.memory_info(xp)
        elements = min(2**27 if _backend.is_gpu(xp) else 2**26,
                       2**62 if info is None else info[0] // (8 * 8))
        row = benchmark.pass_rows(xp, [64], elements, warmup=2, repeat=5)[0]
        print(f"large-batch pass ({xp.__name__}, float64, n={row['n']:,}, d=64): "
              f"{row['ours ms']:.1f} ms = {row['GB/s']:.1f} GB/s, "
              f"{row['ours ms'] / row['floor ms']:.2f}x the floor of one read of X "
              f"({row['floor GB/s']:.1f} GB/s copy bandwidth measured here)")


def _read_table(path, target=None, shape=None, dtype="float64", columns=None):
    """``(X, y, names)`` from a CSV with a header row, a 2-D ``.npy``, an ``.npz`` holding
    ``X`` (and ``y``), a Parquet file (with pyarrow), or with ``shape`` a raw binary file
    read as an ``np.memmap`` (never loaded whole). ``target`` names the label column (a
    header name, or a column index for ``.npy`` and raw files); ``y`` is None without one.
    ``names`` are the feature columns' names for files that have them (CSV, Parquet), else
    None; ``columns`` (names) selects and orders the features of such files (others, such as
    the target, are not read). Errors are ``ValueError`` naming the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if shape is not None:
            table = np.memmap(path, dtype=dtype, mode="r", shape=shape)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                if "X" not in data.files:
                    raise ValueError(f"{path} holds {sorted(data.files)}; expected arrays 'X' "
                                     "(and 'y' for fit)")
                return data["X"], (data["y"] if "y" in data.files else None), None
        elif suffix == ".npy":
            table = np.load(path, allow_pickle=False)
            if table.ndim != 2:
                raise ValueError(f"{path} holds a {table.ndim}-D array; expected a 2-D table")
        elif suffix in (".csv", ".txt"):
            return _read_csv(path, target, columns)
        elif suffix in (".parquet", ".pq"):
            return _read_parquet(path, target, columns)
        else:
            raise ValueError(f"{path}: unknown data format {suffix!r}; use .csv (with a header "
                             "row), .npy, .npz, .parquet, or a raw binary file with --shape")
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if target is None:
        return table, None, None
    positions = [str(i) for i in range(table.shape[1])]
    if target not in positions:
        raise ValueError(f"--target {target!r} is not a column index of {path}, which has "
                         f"{table.shape[1]} columns (0 to {table.shape[1] - 1})")
    column = positions.index(target)
    if column in (0, len(positions) - 1):  # a view of the other columns: X is not copied
        features = slice(1, None) if column == 0 else slice(None, -1)
        return table[:, features], np.asarray(table[:, column]), None
    if isinstance(table, np.memmap):
        raise ValueError(f"--target {target}: for a raw file the label column must be the "
                         "first or the last, so that the features are read in place")
    features = [i for i in range(table.shape[1]) if i != column]
    return table[:, features], table[:, column], None


_CSV_BLOCK_ROWS = 1 << 14  # rows parsed to strings before they are converted to numbers


def _check_header(path, names, target, columns=None):
    """The header's names: none empty or repeated, ``target`` among them; return the indices
    of the features: ``columns`` (names) in their order, else every column but the target."""
    if not names or not any(names):
        raise ValueError(f"{path} is empty; expected a header row of column names")
    seen, repeated = set(), []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise ValueError(f"{path}: the header names {repeated} more than once; every column "
                         "needs a name of its own")
    if "" in names:
        raise ValueError(f"{path}: column {names.index('') + 1} of the header has no name")
    shown = f"{names[:20]}{' ...' if len(names) > 20 else ''}"
    if target is not None and target not in names:
        raise ValueError(f"--target {target!r} is not a column of {path}; its columns are "
                         f"{shown}")
    if columns is None:
        return [i for i, name in enumerate(names) if name != target]
    missing = [name for name in columns if name not in names]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing[:20]} the model was fitted on; "
                         f"its columns are {shown}")
    index = {name: i for i, name in enumerate(names)}
    return [index[name] for name in columns]


def _labels(values):
    """Label strings as pandas would read them: integers if all are, else numbers if all
    are, else the strings themselves."""
    strings = np.array(values, dtype=str)
    for kind in (np.int64, np.float64):
        try:
            return strings.astype(kind)
        except (ValueError, OverflowError):
            pass
    return strings


def _read_csv(path, target, columns=None):
    """``(X, y, names)`` from a CSV file with a header row, read with Python's ``csv``
    module (RFC 4180 quoting; no comment lines: a '#' is data), a block of rows at a time.
    Every row must have as many fields as the header, every feature value must be a number;
    the labels keep their own values (integers, numbers or strings); blank lines are
    skipped."""
    with open(path, newline="") as f:
        reader = csv.reader(f, skipinitialspace=True)
        names = [name.strip() for name in next(reader, [])]
        features = _check_header(path, names, target, columns)
        column = None if target is None else names.index(target)
        blocks, labels, rows, lines = [], [], [], []

        def convert():
            table = np.array(rows, dtype=str).reshape(len(rows), len(names))
            try:
                blocks.append(table[:, features].astype(np.float64))
            except ValueError:  # find the first field that is not a number, for the message
                for line, row in zip(lines, rows):
                    for i in features:
                        try:
                            float(row[i])
                        except ValueError:
                            raise ValueError(f"{path}, line {line}: column {names[i]!r} holds "
                                             f"{row[i]!r}, not a number") from None
                raise
            if column is not None:
                labels.extend(table[:, column].tolist())
            rows.clear()
            lines.clear()

        for row in reader:
            if not row or row == [""]:
                continue
            if len(row) != len(names):
                raise ValueError(f"{path}, line {reader.line_num}: {len(row)} fields, but the "
                                 f"header names {len(names)} columns")
            rows.append([field.strip() for field in row])
            lines.append(reader.line_num)
            if len(rows) == _CSV_BLOCK_ROWS:
                convert()
        if rows:
            convert()
    if not blocks:
        raise ValueError(f"{path} has a header but no data rows")
    X = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    y = None if column is None else _labels(labels)
    return X, y, [names[i] for i in features]


def _read_parquet(path, target, columns=None):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"reading {path} needs pyarrow: pip install 'gpulogreg[parquet]'") \
            from None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"cannot read {path}: {' '.join(str(exc).split())}") from None
    names = list(table.column_names)
    features = [names[i] for i in _check_header(path, names, target, columns)]
    if table.num_rows == 0:
        raise ValueError(f"{path} has columns but no rows")
    try:
        X = np.column_stack([table.column(name).to_numpy().astype(np.float64)
                             for name in features])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: feature columns must be numeric ({exc})") from None
    y = None if target is None else table.column(target).to_numpy()
    if y is not None and y.dtype == object:  # Arrow strings come back as Python objects
        y = y.astype(str)
    return X, y, features


def _shape(text):
    try:
        n, d = (int(part) for part in text.split(","))
        if n < 1 or d < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape must be ROWS,COLUMNS (positive integers); "
                                         f"got {text!r}") from None
    return n, d


class _LiveLines(io.TextIOBase):
    """stdout on a terminal during ``fit -v``: the solvers' per-iteration lines ("NAME iter
    ...": iteration, objective, max|gradient|, step, elapsed) rewrite one line in place, a
    progress line; every other line is written as it comes."""

    def __init__(self, stream):
        self.stream, self.live, self.pending = stream, False, ""

    def write(self, text):
        self.pending += text  # print() writes a line and its newline in separate calls
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if " iter " in line:
                self.stream.write("\r\x1b[K" + line)
                self.live = True
                continue
            if self.live:
                self.stream.write("\n")
                self.live = False
            self.stream.write(line + "\n")
        return len(text)

    def flush(self):
        if self.pending:  # a partial line someone flushed: never hold output back
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()


def fit(args) -> int:
    live = args.verbose and sys.stdout.isatty()
    if not live:
        return _fit(args)
    stream = _LiveLines(sys.stdout)
    try:
        with contextlib.redirect_stdout(stream):
            return _fit(args)
    finally:
        stream.flush()


def _fit(args) -> int:
    X, y, names = _read_table(args.data, args.target, args.shape, args.dtype)
    if y is None:
        raise ValueError(f"{args.data}: no labels; name the label column with --target (or store "
                         "'y' in the .npz)")
    model = LogisticRegression(C=args.C, l1_ratio=args.l1_ratio, solver=args.solver,
                               tol=args.tol, max_iter=args.max_iter, device=args.device,
                               verbose=int(args.verbose))
    start = time.perf_counter()
    model.fit(X, y)
    if names is not None:  # predict selects these columns by name from files with a header
        model.feature_names_in_ = np.array(names, dtype=object)
        model.target_name_ = args.target
    path = model.save(args.output)
    print(f"fitted {X.shape[0]} rows x {X.shape[1]} features in "
          f"{time.perf_counter() - start:.3f} s ({int(model.n_iter_[0])} iterations, loss "
          f"{model.loss_:.6g}); saved {path}")
    return 0


def predict(args) -> int:
    from ..io import load

    model = load(args.model, device=args.device)
    fitted = getattr(model, "feature_names_in_", None)
    X, _, _ = _read_table(args.data, shape=args.shape, dtype=args.dtype,
                          columns=None if fitted is None else [str(n) for n in fitted])
    classes = _backend.to_numpy(model.classes_)
    with warnings.catch_warnings():  # columns were matched by name above, or by position
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        if not args.proba:
            out = _backend.to_numpy(model.predict(X))
            header = [getattr(model, "target_name_", None) or "label"]
        elif classes.shape[0] == 2:
            out, header = _backend.to_numpy(model.predict_proba(X)[:, 1]), ["proba"]
        else:  # one column per class
            out = _backend.to_numpy(model.predict_proba(X))
            header = [f"proba_{label}" for label in classes.tolist()]
    rows = (out if out.ndim == 2 else out[:, None]).tolist()  # Python values: 1, 'spam', 0.25
    with (contextlib.nullcontext(sys.stdout) if args.output is None else
          _open_output(args.output)) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return 0


def _open_output(path):
    try:
        return open(path, "w", newline="")
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None


def bench(args) -> int:
    from .. import benchmark

    start = time.perf_counter()
    written, text = benchmark.report(args.out, quick=args.quick)
    print(text)
    print(f"wrote {', '.join(str(p) for p in written)} in {time.perf_counter() - start:.1f} s"
          + ("" if len(written) > 1 else " (pip install matplotlib for the plots)"))
    return 0


def _device(text):
    try:
        _backend.parse_device(text, name="--device")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _raw_file_options(parser):
    parser.add_argument("--shape", type=_shape,
                        help="ROWS,COLUMNS: read DATA as a raw binary table (an np.memmap, "
                             "never loaded whole); the label column must be first or last")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                        help="element type of a raw binary DATA (with --shape)")


def main(argv=None) -> int:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="gpulogreg", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gpulogreg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo",
        help="train on embedded default data (breast cancer) and print the result",
        description="Train gpulogreg's LogisticRegression on scikit-learn's bundled breast-"
                    "cancer data (standardised, 75/25 split) and print backend, device, "
                    "accuracy, final loss, gradient norm and fit time. With a CUDA GPU and "
                    "CuPy present, the same fit also runs on the GPU, side by side.",
    )
    demo_parser.add_argument("--device", type=_device, default="auto",
                             help="where to fit: auto = CPU, and GPU too when available; "
                                  "cpu; cuda or cuda:N (a GPU index)")
    demo_parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    demo_parser.add_argument("--solver", choices=SOLVER_NAMES, default="lbfgs")
    demo_parser.add_argument("--C", type=float, default=1.0,
                             help="inverse L2 strength (inf: no penalty)")
    demo_parser.add_argument("--tol", type=float, default=1e-4,
                             help="stop when max|gradient| <= tol")
    demo_parser.add_argument("--max-iter", type=int, default=10_000)

    fit_parser = commands.add_parser(
        "fit", help="fit a model on a data file and save it",
        description="Fit LogisticRegression on DATA (.csv with a header row, .npy, .npz "
                    "holding X and y, .parquet with pyarrow, or a raw binary table with "
                    "--shape) and save the model (.npz, no pickle).")
    fit_parser.add_argument("data", help="the training data")
    fit_parser.add_argument("--target", help="the label column: a CSV header name, or a .npy "
                                             "column index")
    fit_parser.add_argument("-o", "--output", required=True, help="where to save the model")
    fit_parser.add_argument("--solver", choices=SOLVER_NAMES, default="lbfgs")
    fit_parser.add_argument("--C", type=float, default=1.0, help="inverse penalty strength")
    fit_parser.add_argument("--l1-ratio", type=float, default=0.0,
                            help="L1 share of the penalty (0: L2; needs --solver owlqn)")
    fit_parser.add_argument("--tol", type=float, default=1e-4)
    fit_parser.add_argument("--max-iter", type=int, default=1000)
    fit_parser.add_argument("--device", type=_device, default="auto")
    fit_parser.add_argument("-v", "--verbose", action="store_true",
                            help="report each iteration (a progress line on a terminal)")
    _raw_file_options(fit_parser)
    predict_parser = commands.add_parser(
        "predict", help="predict with a saved model",
        description="Predict labels (or, with --proba, probabilities: of classes_[1] for two "
                    "classes, one column per class for more) for the "
                    "rows of DATA (features only) with a model saved by 'gpulogreg fit'.")
    predict_parser.add_argument("model", help="a model file from 'gpulogreg fit' or save()")
    predict_parser.add_argument("data", help="the rows to predict (.csv, .npy, .npz, .parquet, "
                                             "or raw with --shape)")
    predict_parser.add_argument("-o", "--output", help="write a one-column CSV here "
                                                       "(default: standard output)")
    predict_parser.add_argument("--proba", action="store_true")
    predict_parser.add_argument("--device", type=_device, default="cpu")
    _raw_file_options(predict_parser)
    bench_parser = commands.add_parser(
        "bench", help="benchmark this machine: passes against the floor, time to solution",
        description="Measure the loss+gradient pass against the memory floor (one read of X "
                    "at the copy bandwidth measured in the same run) and the time to a 1e-6 "
                    "objective gap against scikit-learn, on the CPU and on the GPU when one is "
                    "usable; write bench.md and, with matplotlib, PNG plots into --out.")
    bench_parser.add_argument("--quick", action="store_true",
                              help="small problems, one repeat: under a minute on 2 cores")
    bench_parser.add_argument("--out", default=".", help="folder for bench.md and the plots")
    args = parser.parse_args(argv)
    command = {"demo": demo, "fit": fit, "predict": predict, "bench": bench}[args.command]
    try:
        return command(args)
    except (ValueError, TypeError, OSError) as exc:  # bad files and inputs: one line
        print(f"gpulogreg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: model files are written whole or not at all
        print(f"gpulogreg {args.command}: interrupted; nothing was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
