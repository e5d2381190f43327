"""Command line: ``gpulogreg demo | fit | predict | summary | bench`` (``python -m gpulogreg``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from .. import _backend
from .._inference import COV_TYPES
from ..solvers import ALIASES, LIBLINEAR, SOLVERS
from . import commands

# ours, and scikit-learn's names for them (saga, sag, liblinear)
SOLVER_NAMES = sorted(set(SOLVERS) | set(ALIASES) | {LIBLINEAR})


class _OneLineParser(argparse.ArgumentParser):
    """argparse with one-line errors (``gpulogreg fit: error: ...``, exit 2), as every other
    error of the command line: no usage block first."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` that shows each option's default, where it has one (not None, not a
    switch's False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _shape(text):
    try:
        n, d = (int(part) for part in text.split(","))
        if n < 1 or d < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape must be ROWS,COLUMNS (positive integers); "
                                         f"got {text!r}") from None
    return n, d


def _device(text):
    try:
        _backend.parse_device(text, name="--device")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _raw_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", type=_shape,
                        help="ROWS,COLUMNS: read DATA as a raw binary table (an np.memmap, "
                             "never loaded whole); the label column must be first or last")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                        help="element type of a raw binary DATA (with --shape)")


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of ``gpulogreg`` and its sub-commands.

    Returns
    -------
    argparse.ArgumentParser
        The parser; ``main`` runs the sub-command it parses.
    """
    from .. import __version__

    parser = _OneLineParser(prog="gpulogreg", description=__doc__,
                            formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"gpulogreg {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       help="one of the commands below; COMMAND --help "
                                            "explains it")
    demo_parser = subparsers.add_parser(
        "demo", formatter_class=_HelpFormatter,
        help="train on embedded default data (breast cancer) and print the result",
        description="Train gpulogreg's LogisticRegression on scikit-learn's bundled breast-"
                    "cancer data (standardised, 75/25 split) and print backend, device, "
                    "accuracy, final loss, gradient norm and fit time. With a CUDA GPU and "
                    "CuPy present, the same fit also runs on the GPU, side by side.",
    )
    demo_parser.add_argument("--device", type=_device, default="auto",
                             help="where to fit: auto = CPU, and GPU too when available; "
                                  "cpu; cuda or cuda:N (a GPU index)")
    demo_parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                             help="element type of the data")
    demo_parser.add_argument("--solver", choices=SOLVER_NAMES, default="lbfgs",
                             help="the solver (as LogisticRegression's solver)")
    demo_parser.add_argument("--C", type=float, default=1.0,
                             help="inverse L2 strength (inf: no penalty)")
    demo_parser.add_argument("--tol", type=float, default=1e-4,
                             help="stop when max|gradient| <= tol")
    demo_parser.add_argument("--max-iter", type=int, default=10_000,
                             help="maximum number of solver iterations")

    fit_parser = subparsers.add_parser(
        "fit", help="fit a model on a data file and save it", formatter_class=_HelpFormatter,
        description="Fit LogisticRegression on DATA (.csv with a header row, .npy, .npz "
                    "holding X and y, .parquet with pyarrow, or a raw binary table with "
                    "--shape) and save the model (.npz, no pickle).")
    fit_parser.add_argument("data", help="the training data")
    fit_parser.add_argument("--target", help="the label column: a CSV header name, or a .npy "
                                             "column index")
    fit_parser.add_argument("-o", "--output", required=True, help="where to save the model")
    fit_parser.add_argument("--solver", choices=SOLVER_NAMES, default="lbfgs",
                            help="the solver (as LogisticRegression's solver)")
    fit_parser.add_argument("--C", type=float, default=1.0, help="inverse penalty strength")
    fit_parser.add_argument("--l1-ratio", type=float, default=0.0,
                            help="L1 share of the penalty (0: L2; needs --solver owlqn)")
    fit_parser.add_argument("--tol", type=float, default=1e-4,
                            help="stop when max|gradient| <= tol")
    fit_parser.add_argument("--max-iter", type=int, default=1000,
                            help="maximum number of solver iterations")
    fit_parser.add_argument("--device", type=_device, default="auto",
                            help="where to fit: auto (the CPU, for data read from a file), "
                                 "cpu, cuda or cuda:N (streams the rows through that GPU)")
    fit_parser.add_argument("-v", "--verbose", action="store_true",
                            help="report each iteration (a progress line on a terminal)")
    fit_parser.add_argument("--summary", action="store_true",
                            help="print the coefficient table (standard errors, z, p-values, "
                                 "95%% intervals) on the training data")
    fit_parser.add_argument("--cov-type", choices=[t for t in COV_TYPES if t != "cluster"],
                            default="nonrobust", help="the covariance --summary uses")
    fit_parser.add_argument("--drop-missing-labels", action="store_true",
                            help="leave out rows whose label is missing (an empty field, NA, a "
                                 "null) and say how many; without it they are an error")
    _raw_file_options(fit_parser)
    predict_parser = subparsers.add_parser(
        "predict", help="predict with a saved model", formatter_class=_HelpFormatter,
        description="Predict labels (or, with --proba, probabilities: of classes_[1] for two "
                    "classes, one column per class for more) for the "
                    "rows of DATA (features only) with a model saved by 'gpulogreg fit'.")
    predict_parser.add_argument("model", help="a model file from 'gpulogreg fit' or save()")
    predict_parser.add_argument("data", help="the rows to predict (.csv, .npy, .npz, .parquet, "
                                             "or raw with --shape)")
    predict_parser.add_argument("-o", "--output", help="write a one-column CSV here "
                                                       "(default: standard output)")
    predict_parser.add_argument("--proba", action="store_true",
                                help="write probabilities instead of labels")
    predict_parser.add_argument("--device", type=_device, default="cpu",
                                help="where to load the model and predict: cpu; auto (where "
                                     "it was fitted, when possible); cuda or cuda:N")
    _raw_file_options(predict_parser)
    summary_parser = subparsers.add_parser(
        "summary", help="the coefficient table of a saved model on a data set",
        formatter_class=_HelpFormatter,
        description="Print the coefficient table of a model saved by 'gpulogreg fit' (or "
                    "save()) on DATA, rows with their labels: each parameter's estimate, "
                    "standard error, z, two-sided p-value and confidence interval (normal). "
                    "Rows with a missing label are left out, and counted.")
    summary_parser.add_argument("model", help="a model file from 'gpulogreg fit' or save()")
    summary_parser.add_argument("data", help="the rows and labels (.csv, .npy, .npz, "
                                             ".parquet, or raw with --shape)")
    summary_parser.add_argument("--target", help="the label column (default: the one the "
                                                 "model was fitted on, if it says)")
    summary_parser.add_argument("--cov-type", choices=COV_TYPES,
                                default="nonrobust", help="the covariance: inverse Fisher "
                                "information, sandwich (HC0, HC1), or clustered")
    summary_parser.add_argument("--groups", help="the column of cluster labels "
                                                 "(--cov-type cluster; CSV or Parquet)")
    summary_parser.add_argument("--alpha", type=float, default=0.05,
                                help="the intervals' level is 1 - alpha")
    summary_parser.add_argument("--device", type=_device, default="cpu",
                                help="where to load the model and compute: cpu; auto (where "
                                     "it was fitted, when possible); cuda or cuda:N")
    _raw_file_options(summary_parser)
    bench_parser = subparsers.add_parser(
        "bench", help="benchmark this machine: passes against the floor, time to solution",
        formatter_class=_HelpFormatter,
        description="Measure the loss+gradient pass against the memory floor (one read of X "
                    "at the copy bandwidth measured in the same run) and the time to a 1e-6 "
                    "objective gap against scikit-learn, on the CPU and on the GPU when one is "
                    "usable; write bench.md and, with matplotlib, PNG plots into --out.")
    bench_parser.add_argument("--quick", action="store_true",
                              help="small problems, one repeat: under a minute on 2 cores")
    bench_parser.add_argument("--out", default=".", help="folder for bench.md and the plots")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``gpulogreg`` with the command-line arguments ``argv``.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments after the program's name (None: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for an invalid input, 130 when interrupted.
    """
    args = build_parser().parse_args(argv)
    command = {"demo": commands.demo, "fit": commands.fit, "predict": commands.predict,
               "summary": commands.summary, "bench": commands.bench}[args.command]
    name = f"gpulogreg {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(name)
            return command(args)
    except (ValueError, TypeError, OSError) as exc:  # bad files and inputs: one line
        if isinstance(exc, BrokenPipeError):
            return _closed_pipe()
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: model files are written whole or not at all
        print(f"{name}: interrupted; nothing was saved", file=sys.stderr)
        return 130


def _one_line_warning(name):
    """Warnings (a ConvergenceWarning) as one line on stderr, as the errors are."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{name}: {category.__name__}: {' '.join(str(message).split())}",
              file=sys.stderr)
    return show


def _closed_pipe():
    """The reader of our output went away (``gpulogreg predict ... | head``): stop quietly,
    with standard output pointed at /dev/null so that the interpreter's last flush does not
    complain either."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
