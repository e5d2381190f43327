"""Launch each of gpulogreg's own CUDA kernels (kernels/*.cu) once per dtype, for the tools
that watch launches: compute-sanitizer (memcheck, racecheck) and ncu (one DRAM throughput
read per kernel). bench/device_check.sh runs it under each.

    python bench/launch_kernels.py -d 37 300             # small: a few tiles and a tail
    python bench/launch_kernels.py -n 1048576 -d 64      # for ncu: X several times the L2
    python bench/launch_kernels.py --no-pool             # for memcheck: one cudaMalloc each
    python bench/launch_kernels.py --device cpu          # no GPU: the references alone

Kernels, for each d, float32 then float64, on fresh random inputs (n rows, d features,
--classes classes):
  gpulogreg_sigmoid_residual_*   cuda.sigmoid_residual(z, y, s)
  gpulogreg_softmax_residual_*   cuda.softmax_residual(Z, y, s, want_p=True)
  gpulogreg_logistic_grad_*      cuda.logistic_grad(X, y, s, coef, p_out)  (one pass)
  gpulogreg_logistic_hessp_*     cuda.logistic_hessp(X, p, v)              (one pass)
All launches come first and are synchronized once; then every output is compared with a
float64 NumPy reference (p_out is poisoned with NaN before its launch, so an unwritten entry
shows). One line per kernel: the largest error relative to the reference's largest entry;
exit status 1 where one passes --tol or is not finite. ``--device cpu`` (the rehearsal of
device_check.sh on a machine without a GPU) checks that every kernel named above is in the
sources and runs the references alone.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from gpulogreg import benchmark
from gpulogreg.loss import cuda
from gpulogreg.loss.models import residual_and_loss, softmax_residual_and_loss

SOURCES = {"sigmoid_residual": "sigmoid_residual.cu", "softmax_residual": "softmax_residual.cu",
           "logistic_grad": "logistic_grad.cu", "logistic_hessp": "logistic_grad.cu"}
SUFFIX = {"float32": "f32", "float64": "f64"}


def inputs(xp, n, d, k, dtype, seed):
    """Random inputs on ``xp`` (made there: CuPy's generator on the GPU)."""
    rng = xp.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float64).astype(dtype)
    return {
        "X": X,
        "z": (rng.standard_normal(n, dtype=np.float64) * 4).astype(dtype),
        "Z": (rng.standard_normal((n, k), dtype=np.float64) * 4).astype(dtype),
        "y": (rng.random(n) < 0.5).astype(dtype),
        "classes": xp.floor(rng.random(n) * k).astype(dtype),
        "s": (0.25 + 0.75 * rng.random(n)).astype(dtype),
        "coef": rng.standard_normal(d + 1) / np.sqrt(d),
        "v": rng.standard_normal(d + 1),
    }


def launch(cp, a):
    """Every kernel once; the outputs (device arrays), after one synchronize."""
    dtype = a["X"].dtype
    out = {}
    out["sigmoid_residual"] = cuda.sigmoid_residual(a["z"], a["y"], a["s"])
    R, l, P = cuda.softmax_residual(a["Z"], a["classes"], a["s"], want_p=True)
    out["softmax_residual"] = (R, l, P)
    p = cp.full(a["X"].shape[0], np.nan, dtype=dtype)  # poisoned: every entry must be written
    f, g = cuda.logistic_grad(a["X"], a["y"], a["s"], a["coef"], p_out=p)
    out["logistic_grad"] = (f, g, p)
    out["logistic_hessp"] = (cuda.logistic_hessp(a["X"], p, a["v"]),)
    cp.cuda.Device().synchronize()
    return out


def references(a):
    """The same quantities in float64 NumPy (``a``: host arrays)."""
    X, z, Z, y, s = (a[k].astype(np.float64) for k in ("X", "z", "Z", "y", "s"))
    classes = a["classes"].astype(np.int64)
    coef, v = a["coef"], a["v"]
    ref = {"sigmoid_residual": residual_and_loss(z, y, s, np)}
    R, l, P = softmax_residual_and_loss(Z, classes, s, np)
    ref["softmax_residual"] = (R, l, P)
    t = X @ coef[:-1] + coef[-1]
    r, loss = residual_and_loss(t, y, s, np)
    sigma = 0.5 * (1 + np.tanh(t / 2))
    p = s * sigma * (1 - sigma)
    ref["logistic_grad"] = (loss.sum(), np.append(X.T @ r, r.sum()), p)
    # the Hessian product of the device's p (its dtype), as the kernel gets it
    q = p.astype(a["X"].dtype).astype(np.float64) * (X @ v[:-1] + v[-1])
    ref["logistic_hessp"] = (np.append(X.T @ q, q.sum()),)
    return ref


def error(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not np.isfinite(got).all():
        return float("inf")
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-300))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("-n", type=int, default=3 * cuda.ONE_PASS_TILE * 4 + 5,
                        help="rows (default: a dozen one-pass tiles and a tail)")
    parser.add_argument("-d", type=int, nargs="+", default=[37],
                        help="features, one launch of each kernel per value (default 37: not "
                             "a multiple of 32)")
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--dtype", choices=tuple(SUFFIX), nargs="+", default=list(SUFFIX))
    parser.add_argument("--no-pool", action="store_true",
                        help="CuPy's memory pool off: one cudaMalloc per array (memcheck)")
    parser.add_argument("--no-check", action="store_true",
                        help="launch only (ncu: no host references of a large X)")
    parser.add_argument("--tol", type=float, default=1e-4,
                        help="largest relative error accepted (float32 and float64 alike)")
    args = parser.parse_args(argv)
    names = [f"gpulogreg_{kernel}_{SUFFIX[dt]}" for dt in args.dtype for kernel in SOURCES]
    missing = [name for name in names
               if name not in cuda.kernel_source(SOURCES[name[10:-4]])]
    if missing:
        sys.exit(f"kernels not found in kernels/*.cu: {', '.join(missing)}")
    if args.device == "cuda":
        if not benchmark.gpu_available():
            sys.exit(f"--device cuda: {benchmark.gpu_status()[1]}")
        import cupy as xp

        if args.no_pool:
            xp.cuda.set_allocator(None)
    else:
        xp = None
    where = benchmark.device_name(xp) if xp else "cpu (the references only: no launch)"
    print(f"# gpulogreg's kernels on {where}; n={args.n} classes={args.classes}"
          + ("; no memory pool" if args.no_pool else ""), flush=True)
    print("| kernel | d | launched | max abs error / max abs reference |\n|---|---|---|---|",
          flush=True)
    worst = 0.0
    for seed, (d, dtype) in enumerate((d, dtype) for d in args.d for dtype in args.dtype):
        a = inputs(xp or np, args.n, d, args.classes, np.dtype(dtype), seed)
        out = launch(xp, a) if xp else None
        if args.no_check and out is not None:
            for kernel in SOURCES:
                print(f"| gpulogreg_{kernel}_{SUFFIX[dtype]} | {d} | yes | not checked |",
                      flush=True)
            continue
        host = {key: benchmark.to_numpy(value) for key, value in a.items()}
        ref = references(host)
        for kernel in SOURCES:
            name = f"gpulogreg_{kernel}_{SUFFIX[dtype]}"
            if out is None:
                finite = all(np.isfinite(r).all() for r in ref[kernel])
                print(f"| {name} | {d} | no (cpu) | reference only, finite: {finite} |",
                      flush=True)
                continue
            err = max(error(benchmark.to_numpy(got), want)
                      for got, want in zip(out[kernel], ref[kernel]))
            worst = max(worst, err)
            print(f"| {name} | {d} | yes | {err:.1e}{'' if err <= args.tol else ' FAILED'} |",
                  flush=True)
    if not worst <= args.tol:
        sys.exit(f"largest relative error {worst:.1e} > --tol {args.tol:g}")


if __name__ == "__main__":
    main()
