"""Helpers shared by the test modules (test modules import from here, never from each other),
and the tests' one way into gpulogreg's private modules: ``backend``, ``boundary`` and
``validation``."""

import functools
import io
import json
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import fake_cupy
import numpy as np
import pytest

# The tests' one seam into gpulogreg's private modules: test modules import backend,
# boundary and validation from here, never gpulogreg._x themselves (ruff's PLC2701 flags
# that import anywhere else). They are imported here for the test modules (hence F401).
from gpulogreg import _backend as backend  # noqa: F401, PLC2701 - the tests' seam into private modules
from gpulogreg import _boundary as boundary  # noqa: F401, PLC2701 - the tests' seam into private modules
from gpulogreg import _validation as validation  # noqa: F401, PLC2701 - the tests' seam into private modules
from gpulogreg.loss import cuda, models

NO_GPU = "needs a CUDA GPU and CuPy (none found here; GPU tests run on a CUDA machine)"


# --- data ---------------------------------------------------------------------------------


def standardized(X):
    """Each column centred and scaled to unit variance (a constant column is only centred)."""
    std = X.std(axis=0)
    std[std == 0] = 1.0  # digits has constant (all-zero) pixels
    return (X - X.mean(axis=0)) / std


@functools.cache
def _toy(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def dataset(name):
    """scikit-learn's toy data set ``name`` ("breast_cancer", "iris", "wine", "digits") as
    ``(standardized X, y)``: fresh arrays on every call, so no test sees another's edits."""
    X, y = _toy(name)
    return standardized(X), y.copy()


# --- problems -----------------------------------------------------------------------------


def layout_matrix(xp, rng, n, d, dtype, layout="C"):
    """An (n, d) normal X in namespace ``xp`` of the given memory layout ("C", "F" or
    "sliced"), built without ever copying the final view."""
    if layout == "sliced":  # every other row and column of a bigger array: not contiguous
        return xp.asarray(rng.normal(size=(2 * n, 2 * d)).astype(dtype))[::2, ::2]
    return xp.asarray(rng.normal(size=(n, d)).astype(dtype), order=layout)


def make_problem(xp, n, d, dtype, layout="C", weights=False, seed=0):
    """A binary problem: X of the given memory layout (``layout_matrix``), random labels y,
    weights s in [0.1, 3) or None, and a coefficient vector with the intercept last."""
    rng = np.random.default_rng(seed)
    X = layout_matrix(xp, rng, n, d, dtype, layout)
    y = xp.asarray((rng.random(n) < 0.5).astype(dtype))
    s = xp.asarray(rng.uniform(0.1, 3.0, size=n).astype(dtype)) if weights else None
    coef = xp.asarray(rng.normal(size=d + 1) / np.sqrt(d))
    return X, y, s, coef


def linear_problem(n, d, seed=0, *, scale_columns=False, offset=0.0, weights=(0.1, 2.0),
                   labels=np.float64):
    """A binary problem whose labels follow a random direction of X plus logistic noise:
    X normal (times a random scale per column with ``scale_columns``), y = 1 where
    ``X w + offset + noise > 0`` (of dtype ``labels``), and weights uniform in ``weights``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if scale_columns:
        X = X * rng.uniform(0.5, 2.0, size=d)
    y = (X @ rng.normal(size=d) + offset + rng.logistic(size=n) > 0).astype(labels)
    return X, y, rng.uniform(*weights, size=n)


def first_feature_problem(n, d=7, seed=0):
    """A weighted binary problem whose labels follow the first feature plus Gaussian noise;
    weights uniform in [0.2, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(float)
    s = rng.uniform(0.2, 1.0, size=n)
    return X, y, s


# --- references ---------------------------------------------------------------------------


def sklearn_fit(X, y, sample_weight=None, **params):
    """scikit-learn's LogisticRegression(**params) fitted as a reference, its warnings silenced
    (run to a tight tol it may warn about its line search or its iterations)."""
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(**params).fit(X, y, sample_weight=sample_weight)


def sklearn_cv_fit(X, y, sample_weight=None, **params):
    """scikit-learn's LogisticRegressionCV(**params) fitted as a reference, its warnings
    silenced (deprecated defaults, convergence)."""
    from sklearn.linear_model import LogisticRegressionCV

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegressionCV(**params).fit(X, y, sample_weight=sample_weight)


def central_difference(f, x, v, h=1e-6):
    """The derivative of ``f`` at ``x`` along ``v`` by central differences of step ``h``."""
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def finite_difference_jacobian(f, x, h=1e-6):
    """The Jacobian of ``f`` at ``x`` by central differences, column j the derivative along
    the j-th coordinate (for a scalar ``f``: its gradient)."""
    return np.array([central_difference(f, x, e, h) for e in np.eye(x.size)]).T


# --- model files, edited by hand -------------------------------------------------------------


def npy_bytes(array):
    """``array`` as the bytes of a .npy file."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def members_of(path):
    """The members of an .npz file: ``{name without .npy: raw .npy bytes}``."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename[:-4]: archive.read(info) for info in archive.infolist()}


def write_npz(path, members):
    """An .npz written by hand: ``members`` maps a name to raw .npy bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)


def rewrite_model(path, change):
    """Rewrite a saved model file after ``change(arrays, metadata)`` edits its content."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    metadata = json.loads(str(arrays.pop("metadata")))
    change(arrays, metadata)
    np.savez(path, metadata=np.array(json.dumps(metadata)), **arrays)


# --- the CuPy stand-in ----------------------------------------------------------------------


def softmax_reference(Z, y, s=None, want_p=False):
    """``cuda.softmax_residual`` computed by the models' NumPy reference."""
    R, l, P = models.softmax_residual_and_loss(Z, y, s, np)
    return R, l, (P if want_p else None)


def install_fake_cupy(monkeypatch, **options):
    """Install tests/fake_cupy.py's stand-in (``fake_cupy.make(**options)``) as ``cupy`` and
    ``cupyx`` for the test, report a usable GPU, and give the fused kernels their NumPy
    reference (the stand-in compiles no CUDA): the GPU code paths then run on the host.
    Returns the stand-in ``cupy``."""
    cp, cupyx = fake_cupy.make(**options)
    monkeypatch.setitem(sys.modules, "cupy", cp)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    for name in ("scipy", "scipy.linalg", "scipy.sparse"):
        module = cupyx
        for part in name.split("."):
            module = getattr(module, part)
        monkeypatch.setitem(sys.modules, f"cupyx.{name}", module)
    monkeypatch.setattr(backend, "gpu_status", lambda: (True, ""))
    monkeypatch.setattr(cuda, "sigmoid_residual",
                        lambda z, y, s=None: models.residual_and_loss(z, y, s, np))
    monkeypatch.setattr(cuda, "softmax_residual", softmax_reference)
    return cp


# --- the CUDA sources built for the host ----------------------------------------------------

KERNELS = Path(cuda.kernel_dir())
NVCC = shutil.which("nvcc")
HOST_CHECK = Path(__file__).parent / "kernels" / "kernel_host_check.cu"


def build_host_check(folder):
    """tests/kernels/kernel_host_check.cu built with nvcc as a host program in ``folder``."""
    if NVCC is None:
        pytest.skip("nvcc not found on PATH")
    exe = Path(folder) / "host_check"
    subprocess.run([NVCC, "-std=c++17", "-I", str(KERNELS), "-o", str(exe), str(HOST_CHECK)],
                   check=True, capture_output=True)
    return exe


def run_one_pass(exe, mode, X, y, s, v, p, grid, want_p=False):
    """The phases of ``logistic_grad.cuh`` over a simulated grid of ``grid`` blocks (mode 0:
    loss + gradient, 1: Hessian product; ``v`` with the intercept last): the blocks'
    partial sums (grid, d + 2) and, with ``want_p``, the stored curvature."""
    n, d = X.shape
    bits = 32 if X.dtype == np.float32 else 64
    header = f"{mode} {bits} {n} {d} {grid} {int(s is not None)} {int(want_p)}\n"
    ones = np.ones(n)
    body = "\n".join(" ".join(repr(float(x)) for x in np.asarray(a).ravel()) for a in
                     (X, ones if y is None else y, ones if s is None else s, v,
                      ones if p is None else p))
    out = subprocess.run([str(exe), "one_pass"], input=header + body + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    part = np.array([line.split() for line in out[:grid]], dtype=np.float64)
    return part, (np.array(out[grid].split(), dtype=np.float64) if want_p else None)
