"""Command line: ``gpulogreg demo``."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import _backend
from .estimator import LogisticRegression
from .solvers import SOLVERS


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
    return {
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
            print(f"error: --device {args.device} asked for, but CuPy with a CUDA device is not "
                  "available (pip install 'gpulogreg[cuda12]' or '[cuda13]').", file=sys.stderr)
            return 2
        else:
            print("(no CUDA GPU found: running on the CPU only)")
    with _backend.on_device((kind, index), None):
        rows = [_fit_once(xp, args, data) for xp in namespaces]
    width = max(len(key) for key in rows[0])
    for key in rows[0]:
        print(f"  {key:<{width}}  " + "  ".join(f"{row[key]:>26}" for row in rows))
    return 0


def _device(text):
    try:
        _backend.parse_device(text, name="--device")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gpulogreg", description=__doc__)
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
    demo_parser.add_argument("--solver", choices=sorted(SOLVERS), default="lbfgs")
    demo_parser.add_argument("--C", type=float, default=1.0,
                             help="inverse L2 strength (inf: no penalty)")
    demo_parser.add_argument("--tol", type=float, default=1e-4,
                             help="stop when max|gradient| <= tol")
    demo_parser.add_argument("--max-iter", type=int, default=10_000)
    args = parser.parse_args(argv)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
