"""The commands of ``gpulogreg``: demo, fit, predict, summary and bench (parsed in ``cli``)."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import sys
import time
import warnings

import numpy as np

from .. import _backend, io
from .._base import model_state
from ..estimator import LogisticRegression, load_with_state
from ..loss import cpu
from .progress import LiveLines
from .tables import read_column, read_table


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


def fit(args) -> int:
    live = args.verbose and sys.stdout.isatty()
    if not live:
        return _fit(args)
    stream = LiveLines(sys.stdout)
    try:
        with contextlib.redirect_stdout(stream):
            return _fit(args)
    finally:
        stream.flush()


def _fit(args) -> int:
    if args.target is None and not str(args.data).lower().endswith(".npz"):
        raise ValueError("--target is required: name the label column of "
                         f"{args.data} (a header name; a column index for .npy and raw files)")
    X, y, names, dropped = read_table(args.data, args.target, args.shape, args.dtype,
                                      drop_missing=args.drop_missing_labels)
    if y is None:
        raise ValueError(f"{args.data}: no labels; name the label column with --target (or store "
                         "'y' in the .npz)")
    if dropped:
        print(f"dropped {dropped} row(s) of {args.data} with a missing label")
    model = LogisticRegression(C=args.C, l1_ratio=args.l1_ratio, solver=args.solver,
                               tol=args.tol, max_iter=args.max_iter, device=args.device,
                               verbose=int(args.verbose))
    start = time.perf_counter()
    model.fit(X, y)
    state = model_state(model)
    if names is not None:  # predict selects these columns by name from files with a header
        state = dataclasses.replace(state, feature_names_in=names, target_name=args.target)
    path = io.write(state, args.output)
    print(f"fitted {X.shape[0]} rows x {X.shape[1]} features in "
          f"{time.perf_counter() - start:.3f} s ({int(model.n_iter_[0])} iterations, loss "
          f"{model.loss_:.6g}); saved {path}")
    if args.summary:
        if names is not None:
            model.feature_names_in_ = np.array(names, dtype=object)
        with warnings.catch_warnings():  # columns matched by name, or by position
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            print(format_table(model.coef_table(X, y, cov_type=args.cov_type)))
    return 0


def summary(args) -> int:
    """The coefficient table of a saved model on a data set (its rows and labels)."""
    state, model = load_with_state(args.model, device=args.device)
    target = args.target or state.target_name
    if target is None and not str(args.data).lower().endswith(".npz"):
        raise ValueError(f"--target is required: {args.model} does not name its label column")
    X, y, names, dropped = read_table(args.data, target, args.shape, args.dtype,
                                      columns=state.feature_names_in, drop_missing=True)
    if y is None:
        raise ValueError(f"{args.data}: no labels; name the label column with --target")
    groups = None
    if args.groups is not None:
        if args.cov_type != "cluster":
            raise ValueError("--groups applies to --cov-type cluster only")
        groups = read_column(args.data, args.groups)
    if dropped:
        print(f"left out {dropped} row(s) of {args.data} with a missing label")
    with warnings.catch_warnings():  # columns were matched by name above, or by position
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        table = model.coef_table(X, y, cov_type=args.cov_type, groups=groups, alpha=args.alpha)
    print(format_table(table))
    return 0


def format_table(table):
    """A coefficient table (DataFrame or dict of arrays) as aligned text, a row per
    parameter."""
    if hasattr(table, "to_dict"):
        index, columns = [str(i) for i in table.index], {c: table[c].to_numpy()
                                                           for c in table.columns}
    else:
        index = [str(i) for i in table["index"]]
        columns = {key: value for key, value in table.items() if key != "index"}
    width = max([len("parameter")] + [len(name) for name in index])
    lines = [f"{'parameter':<{width}}" + "".join(f"{key:>12}" for key in columns)]
    for row, name in enumerate(index):
        lines.append(f"{name:<{width}}" + "".join(
            f"{columns[key][row]:>12.4g}" for key in columns))
    return "\n".join(lines)


def predict(args) -> int:
    state, model = load_with_state(args.model, device=args.device)
    fitted = state.feature_names_in
    X, _, _, _ = read_table(args.data, shape=args.shape, dtype=args.dtype, columns=fitted)
    classes = _backend.to_numpy(model.classes_)
    with warnings.catch_warnings():  # columns were matched by name above, or by position
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        if not args.proba:
            out = _backend.to_numpy(model.predict(X))
            header = [state.target_name or "label"]
        elif classes.shape[0] == 2:  # the probability of the positive class, named
            out = _backend.to_numpy(model.predict_proba(X)[:, 1])
            header = [f"proba_{classes.tolist()[1]}"]
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
