"""Loss+gradient throughput against the memory floor, as ratios measured in one run.

    python bench/gradient_floor.py                  # GPU if present, else CPU
    python bench/gradient_floor.py --device cpu --elements 67108864 --dims 64

For each d, with n = elements // d rows: the median time of
  ours   gpulogreg's LogisticLoss.loss_gradient (loss + gradient + intercept; on the
         GPU the fused sigmoid-residual kernel, on the CPU the compiled C pass)
  ours numpy  the same with the NumPy reference passes (CPU, where the compiled one runs)
  hessp, hessp numpy  one Hessian-vector product (p stored by the gradient pass)
  1-pass, hessp 1-pass  the same with the one-pass kernels of kernels/logistic_grad.cu (GPU,
         C order, d <= 4096; off by default in the library until measured: here switched on),
         with "1-pass err", their largest difference from the two-pass gradient relative to
         its largest entry
  grad+hess   loss, gradient and the (d+1)^2 Hessian in one pass (newton-cholesky)
  naive  the textbook expression X.T @ (1/(1+exp(-(X@w+b))) - y) / n (gradient only)
  naive+loss  the same plus the loss mean(logaddexp(0, z) - y z), sharing z
  torch  PyTorch autograd, binary_cross_entropy_with_logits + backward (if installed)
  floor  one read of X at the copy bandwidth measured in this run (read+write bytes)
Protocol (DESIGN.md section 4): >= 5 warm-ups, median of >= 20 (CUDA events on the GPU).
"""

from __future__ import annotations

import argparse
import platform
import sys

import numpy as np

from gpulogreg import benchmark
from gpulogreg.benchmark import copy_bandwidth, timer
from gpulogreg.loss import cuda
from gpulogreg.loss.objective import LogisticLoss

COLUMNS = ("ours", "1-pass", "ours numpy", "hessp", "hessp 1-pass", "hessp numpy", "grad+hess",
           "naive", "naive+loss", "torch")


def torch_baseline(xp, X, y):
    """A closure running PyTorch autograd on the same buffers (GPU or CPU), or None."""
    try:
        import torch
    except ImportError:
        return None
    Xt, yt = torch.from_dlpack(X), torch.from_dlpack(y)  # zero-copy views
    w = torch.zeros(X.shape[1], dtype=Xt.dtype, device=Xt.device, requires_grad=True)
    b = torch.zeros((), dtype=Xt.dtype, device=Xt.device, requires_grad=True)

    def run():
        w.grad = b.grad = None
        loss = torch.nn.functional.binary_cross_entropy_with_logits(Xt @ w + b, yt)
        loss.backward()

    return run


def bench_one(xp, dtype, d, elements, warmup, repeat):
    n = elements // d
    rng = xp.random.default_rng(0) if hasattr(xp.random, "default_rng") else xp.random
    X = rng.standard_normal((n, d), dtype=dtype)
    y = (rng.random(n) < 0.5).astype(dtype)
    coef = xp.asarray(np.random.default_rng(1).normal(size=d + 1) / np.sqrt(d))
    w, b = coef[:d].astype(dtype), coef[d:].astype(dtype)
    time_ms = timer(xp)
    loss = LogisticLoss(X, y, C=np.inf)

    def naive():
        grad = X.T @ (1 / (1 + xp.exp(-(X @ w + b))) - y) / n
        float(grad[0])  # same host read as ours, so both include one sync

    def naive_loss():
        z = X @ w + b
        loss = float(xp.mean(xp.logaddexp(0, z) - y * z))
        return loss, X.T @ (1 / (1 + xp.exp(-z)) - y) / n

    row = {"d": d, "n": n, "GB": X.nbytes / 1e9}
    bandwidth = copy_bandwidth(xp, X, time_ms, warmup, repeat)
    row["floor"] = X.nbytes / bandwidth
    row["copy GB/s"] = bandwidth / 1e6
    row["ours"] = time_ms(lambda: loss.loss_gradient(coef), warmup, repeat)
    _, _, hessp = loss.gradient_hessp(coef)
    row["hessp"] = time_ms(lambda: float(hessp(coef)[0]), warmup, repeat)
    if benchmark.is_gpu(xp) and d <= cuda.ONE_PASS_MAX_FEATURES:
        cuda.ONE_PASS = True
        try:
            one = LogisticLoss(X, y, C=np.inf)
            row["1-pass"] = time_ms(lambda: one.loss_gradient(coef), warmup, repeat)
            _, _, hessp_one = one.gradient_hessp(coef)
            row["hessp 1-pass"] = time_ms(lambda: float(hessp_one(coef)[0]), warmup, repeat)
            g_one, g_two = one.loss_gradient(coef)[1], loss.loss_gradient(coef)[1]
            row["1-pass err"] = float(abs(g_one - g_two).max() / abs(g_two).max())
        finally:
            cuda.ONE_PASS = False
    if loss.compiled:  # the NumPy reference passes, for comparison
        reference = LogisticLoss(X, y, C=np.inf)
        reference.compiled = False
        row["ours numpy"] = time_ms(lambda: reference.loss_gradient(coef), warmup, repeat)
        _, _, hessp_ref = reference.gradient_hessp(coef)
        row["hessp numpy"] = time_ms(lambda: float(hessp_ref(coef)[0]), warmup, repeat)
    if d <= 1024:
        row["grad+hess"] = time_ms(lambda: loss.gradient_hessian(coef), 1, max(3, repeat // 4))
    row["naive"] = time_ms(naive, warmup, repeat)
    row["naive+loss"] = time_ms(naive_loss, warmup, repeat)
    try:  # a peer that fails (an old PyTorch, no DLPack exchange) costs its column only
        torch_run = torch_baseline(xp, X, y)
        if torch_run is not None:
            row["torch"] = time_ms(torch_run, warmup, repeat)
    except Exception as exc:  # noqa: BLE001 - reported, and the table goes on
        print(f"# torch baseline failed at d={d}: {type(exc).__name__}: {exc}", flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--dtype", choices=("float32", "float64"), nargs="+",
                        default=["float32", "float64"])
    parser.add_argument("--dims", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--elements", type=int, default=None,
                        help="n*d (default 2**30 on the GPU, 2**26 on the CPU)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    on_gpu = args.device == "cuda" or (args.device == "auto" and benchmark.gpu_available())
    if on_gpu:
        if not benchmark.gpu_available():
            sys.exit("--device cuda: CuPy with a CUDA device is not available")
        import cupy as xp
    else:
        xp = np
    elements = args.elements or (2**30 if on_gpu else 2**26)
    print(f"# gpulogreg loss+gradient vs floor on {benchmark.device_name(xp)}; "
          f"{platform.processor() or platform.machine()}; numpy {np.__version__}"
          + (f", cupy {xp.__version__}" if on_gpu else "")
          + f"; n*d = {elements}; median of {args.repeat} after {args.warmup} warm-ups")
    for dtype in args.dtype:
        cols = None
        for d in args.dims:  # each row printed as soon as it is measured
            r = bench_one(xp, np.dtype(dtype), d, elements, args.warmup, args.repeat)
            if cols is None:
                cols = [c for c in COLUMNS if c in r]
                err = "1-pass err" in r
                print(f"\n{dtype}\n| d | n | X GB | copy GB/s | floor ms | "
                      + " | ".join(f"{c} ms (x floor)" for c in cols)
                      + (" | 1-pass err |" if err else " |"))
                print("|---" * (5 + len(cols) + err) + "|", flush=True)
            print(f"| {r['d']} | {r['n']} | {r['GB']:.2f} | {r['copy GB/s']:.0f} | "
                  f"{r['floor']:.2f} | "
                  + " | ".join(f"{r[c]:.2f} ({r[c] / r['floor']:.2f}x)" if c in r else "-"
                               for c in cols)
                  + (f" | {r['1-pass err']:.1e} |" if "1-pass err" in r else
                     " | - |" if err else " |"), flush=True)
    if benchmark.is_gpu(xp):
        print("\n1-pass err: the one-pass gradient's max |difference| from the two-pass one / "
              "max |gradient|", flush=True)


if __name__ == "__main__":
    main()
