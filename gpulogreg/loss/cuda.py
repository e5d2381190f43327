"""Loads the CUDA sources in ``kernels/`` once per device and exposes thin callables.

The source handed to NVRTC is built by :func:`kernel_source`: local ``#include "x.cuh"``
lines are inlined (so CuPy's compile cache, keyed on the source text, can never
serve a kernel built from an older header) and ``#line`` directives point
compiler errors at the real files. The tests compile that same text with nvcc.
"""

from __future__ import annotations

import ast
import functools
import operator
import os
import re
from importlib import resources
from pathlib import Path

import numpy as np

_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$')
_BLOCK = 256
NVRTC_OPTIONS = ("-std=c++17",)
# What CuPy's compiler (cupy.cuda.compiler._compile_with_cache_cuda) appends to every
# RawModule's options, after ours, besides the device's arch: float32 denormals flush to
# zero in our kernels (|r|, |l| below 1.2e-38 become 0). The tests compile with both.
CUPY_APPENDED_OPTIONS = ("-ftz=true",)


def kernel_dir():
    """The folder holding the ``.cu``/``.cuh`` files: the installed ``gpulogreg.kernels``, or
    ``kernels/`` beside the package when it is imported from a source checkout."""
    try:
        return resources.files("gpulogreg.kernels")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "kernels"


def kernel_source(filename: str) -> str:
    """The full text of ``kernels/<filename>`` with local includes inlined once each."""
    return _expand(filename, seen=set())


def _expand(filename, seen):
    path = kernel_dir() / filename
    out = [f'#line 1 "{path}"']
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        match = _INCLUDE.match(line)
        if match is None:
            out.append(line)
            continue
        header = match.group(1)
        if header not in seen:
            seen.add(header)
            out.append(_expand(header, seen))
        out.append(f'#line {lineno + 1} "{path}"')
    return "\n".join(out)


@functools.lru_cache(maxsize=None)
def _module(filename: str, device_id: int):
    import cupy

    with cupy.cuda.Device(device_id):
        return cupy.RawModule(code=kernel_source(filename), options=NVRTC_OPTIONS)


def _function(filename: str, name: str):
    """The kernel ``name`` for the current device, looked up once per (file, name, device)."""
    import cupy

    return _device_function(filename, name, cupy.cuda.Device().id)


@functools.lru_cache(maxsize=None)
def _device_function(filename: str, name: str, device_id: int):
    return _module(filename, device_id).get_function(name)


def _grid(n: int) -> int:
    # One thread per element; the kernels loop with a grid stride past 2**31 - 1 blocks.
    return min(-(-n // _BLOCK), 2**31 - 1)


_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def sigmoid_residual(z, y, s=None):
    """Fused ``r = s*(sigmoid(z) - y)`` and per-row loss ``l = s*(log(1+e^z) - y*z)`` on the GPU.

    ``z`` is a 1-D float32/float64 CuPy array; ``y`` (and ``s``) are brought to its
    dtype and made contiguous (no-ops for validated inputs). Returns ``(r, l)`` of that dtype.
    """
    import cupy

    y = cupy.ascontiguousarray(y, dtype=z.dtype)  # no-op for validated labels
    if s is not None:
        s = cupy.ascontiguousarray(s, dtype=z.dtype)
    z = cupy.ascontiguousarray(z)
    n = z.shape[0]
    r = cupy.empty_like(z)
    l = cupy.empty_like(z)
    if n == 0:
        return r, l
    kernel = _function("sigmoid_residual.cu", f"gpulogreg_sigmoid_residual_{_SUFFIX[z.dtype]}")
    has_weight = s is not None
    kernel(
        (_grid(n),),
        (_BLOCK,),
        (z, y, s if has_weight else y, np.int32(has_weight), r, l, np.int64(n)),
    )
    return r, l


def softmax_residual(Z, y, s=None, want_p=False):
    """Fused multinomial step on the GPU, one thread per row of ``Z`` (n, k): returns
    ``(R, l, P)`` with ``R = s (softmax(Z) - onehot(y))`` of Z's dtype, the per-row loss
    ``l = s (log sum e^z - z_y)`` in float64, and (``want_p``) the softmax ``P``, else None.

    ``y`` holds class indices; ``y`` and ``s`` are brought to Z's dtype and Z made
    C-contiguous (no-ops for validated inputs and ``X @ W``).
    """
    import cupy

    y = cupy.ascontiguousarray(y, dtype=Z.dtype)
    if s is not None:
        s = cupy.ascontiguousarray(s, dtype=Z.dtype)
    Z = cupy.ascontiguousarray(Z)
    n, k = Z.shape
    R = cupy.empty_like(Z)
    l = cupy.empty(n, dtype=np.float64)
    P = cupy.empty_like(Z) if want_p else None
    if n == 0:
        return R, l, P
    kernel = _function("softmax_residual.cu", f"gpulogreg_softmax_residual_{_SUFFIX[Z.dtype]}")
    has_weight = s is not None
    kernel((_grid(n),), (_BLOCK,),
           (Z, y, s if has_weight else y, np.int32(has_weight), R, l, R if P is None else P,
            np.int32(want_p), np.int64(n), np.int32(k)))
    return R, l, P


# The one-pass passes (logistic_grad.cu): X read once for loss + gradient or a Hessian
# product of the binomial model. Off by default (``ONE_PASS``, or GPULOGREG_ONE_PASS=1):
# their logic runs on the CPU in the tests, but they have not yet been measured on a GPU
# against the cuBLAS + fused-elementwise path, which stays the default until they are.
ONE_PASS = os.environ.get("GPULOGREG_ONE_PASS", "0") not in ("", "0")


def header_constants(filename="logistic_grad.cuh"):
    """The ``constexpr int NAME = expression;`` constants of a kernel header, evaluated
    (integer arithmetic on earlier constants): the one copy of the launch geometry."""
    values = {}
    text = re.sub(r"//[^\n]*", "", (kernel_dir() / filename).read_text())
    for name, expression in re.findall(r"constexpr\s+int\s+(\w+)\s*=\s*([^;]+);", text):
        values[name] = _evaluate(ast.parse(" ".join(expression.split()), mode="eval").body,
                                 values)
    return values


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.floordiv}  # C's int division of non-negative numbers


def _evaluate(node, names):
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, names),
                                         _evaluate(node.right, names))
    raise ValueError(f"unsupported constant expression in a kernel header: {ast.dump(node)}")


_GEOMETRY = header_constants()
ONE_PASS_BLOCK = _GEOMETRY["ONE_PASS_BLOCK"]  # threads per block
ONE_PASS_TILE = _GEOMETRY["ONE_PASS_TILE"]  # rows per tile
ONE_PASS_SHARED_FIXED = _GEOMETRY["ONE_PASS_SHARED_FIXED"]  # shared doubles beside d
ONE_PASS_MAX_FEATURES = _GEOMETRY["ONE_PASS_MAX_FEATURES"]
_BLOCKS_PER_SM = 4


def _one_pass(name, X, v, args):
    """Launch a one-pass kernel: one block per ONE_PASS_TILE rows, at most a few per SM
    (each then walks several tiles), and return the blocks' partial sums added in a fixed
    order (float64): ``[grad or product (d), sum r, sum loss]``."""
    import cupy

    n, d = X.shape
    device = cupy.cuda.Device()
    sms = device.attributes["MultiProcessorCount"]
    grid = int(min(-(-n // ONE_PASS_TILE), _BLOCKS_PER_SM * sms))
    part = cupy.empty((grid, d + 2), dtype=np.float64)
    shared = (d + ONE_PASS_SHARED_FIXED) * 8
    kernel = _function("logistic_grad.cu", f"gpulogreg_logistic_{name}_{_SUFFIX[X.dtype]}")
    kernel((grid,), (ONE_PASS_BLOCK,), (X, np.int64(n), np.int32(d), v, *args, part),
           shared_mem=shared)
    return part.sum(axis=0)


def _with_intercept(v, d):
    """``v`` (d or d + 1 entries) as the kernels' d + 1 float64 entries, 0 as the missing
    intercept; on the device, with no host read."""
    import cupy

    out = cupy.zeros(d + 1, dtype=np.float64)
    out[:v.shape[0]] = v
    return out


def logistic_grad(X, y, s, coef, p_out=None):
    """One pass over a C-contiguous CuPy X (n, d): ``(sum s l, [X^T r, sum r])`` with
    ``r = s (sigmoid(X w + b) - y)`` for ``coef = [w, b]`` (or ``w``: b = 0), float64 on the
    device (a 0-d array and a d + 1 vector); with ``p_out`` (n, X's dtype) it also stores
    ``s sigma (1 - sigma)``."""
    import cupy

    y = cupy.ascontiguousarray(y, dtype=X.dtype)
    has_s = s is not None
    s = cupy.ascontiguousarray(s, dtype=X.dtype) if has_s else y
    sums = _one_pass("grad", X, _with_intercept(coef, X.shape[1]),
                     (y, s, np.int32(has_s), y if p_out is None else p_out,
                      np.int32(p_out is not None)))
    d = X.shape[1]
    return sums[d + 1], sums[:d + 1]


def logistic_hessp(X, p, v):
    """One pass over a C-contiguous CuPy X: ``[X^T q, sum q]`` with ``q = p (X v_w + v_b)``
    for ``v = [v_w, v_b]`` (or ``v_w``), ``p`` the stored curvature (weights included): a
    float64 d + 1 vector."""
    import cupy

    p = cupy.ascontiguousarray(p, dtype=X.dtype)
    return _one_pass("hessp", X, _with_intercept(v, X.shape[1]), (p,))[:X.shape[1] + 1]
