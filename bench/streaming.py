"""Streaming throughput: a host X walked through the GPU in chunks (device="cuda"), in GB/s,
against the host-to-device copy bandwidth measured in the same run from pinned memory.

    python bench/streaming.py                      # X of 8 GiB float32, d = 64
    python bench/streaming.py --gib 32 --chunk-mib 64 256 1024
    python bench/streaming.py --device cpu --gib 0.01 --chunk-mib 1   # no GPU: the walk only

For each chunk size (MiB), as medians over --repeat passes after a warm-up: one
loss+gradient pass of StreamedRows with every chunk streamed (host read + pinned copy +
H2D + compute, overlapped; no chunk kept resident), the plain pinned H2D copy of the same
bytes, and their ratio (target >= 0.9). This is how _stream._CHUNK_CAP_BYTES is chosen: the
smallest chunk that reaches the copy bandwidth. Needs CuPy and a GPU; X is made there, in
slices copied to the host (seconds for many GiB, where NumPy's generator on one core takes
a minute). ``--device cpu`` (the rehearsal of bench/device_check.sh without a GPU) walks the
same chunks with ``xp=numpy`` against a host copy of each chunk: the table, not the figures.
Each row is printed as soon as it is measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from gpulogreg import benchmark
from gpulogreg.loss.passes import LossGradient
from gpulogreg.sources.stream import StreamedRows


def host_data(n, d, dtype, xp):
    """X (n, d) and y on the host, made by ``xp``'s generator (on the GPU for CuPy, in
    slices of at most 256 MiB copied into the host array)."""
    X = np.empty((n, d), dtype=dtype)
    if xp is np:
        rng = np.random.default_rng(0)
        X[...] = rng.standard_normal((n, d), dtype=np.float32)
        return X, (rng.random(n) < 0.5).astype(dtype)
    rng = xp.random.default_rng(0)
    step = max(1, (256 << 20) // (d * dtype.itemsize))
    for a in range(0, n, step):
        b = min(n, a + step)
        rng.standard_normal((b - a, d), dtype=dtype).get(out=X[a:b])
    return X, (rng.random(n) < 0.5).astype(dtype).get()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--gib", type=float, default=8.0)
    parser.add_argument("-d", type=int, default=64)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--chunk-mib", type=float, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if args.device == "cuda":
        if not benchmark.gpu_available():
            sys.exit(f"needs CuPy and a CUDA GPU: {benchmark.gpu_status()[1]}")
        import cupy as xp
        import cupyx

        def sync():
            xp.cuda.Device().synchronize()
    else:
        xp, cupyx = np, None

        def sync():
            pass

    dtype = np.dtype(args.dtype)
    n = int(args.gib * 2**30 // (args.d * dtype.itemsize))
    t0 = time.perf_counter()
    X, y = host_data(n, args.d, dtype, xp)
    made = time.perf_counter() - t0
    coef = xp.zeros(args.d + 1)

    def timed(fn):
        fn()
        samples = []
        for _ in range(args.repeat):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    gb = X.nbytes / 1e9
    copy = "pinned H2D copy" if xp is not np else "host copy (cpu rehearsal)"
    print(f"# {benchmark.device_name(xp)}; {xp.__name__} {xp.__version__}; X {X.shape} {dtype} "
          f"({gb:.2f} GB) on the host, made in {made:.1f} s; median of {args.repeat}")
    print(f"| chunk MiB | chunks | {copy} GB/s (floor) | streamed pass GB/s | ratio |")
    print("|---|---|---|---|---|", flush=True)
    for mib in args.chunk_mib:
        rows = max(1, int(mib * 2**20 // (args.d * dtype.itemsize)))
        src = StreamedRows(X, y, xp=xp, chunk_rows=rows)
        src.n_resident = 0  # measure the stream itself, not the resident copies
        if xp is np:
            staging = np.empty((src.chunk_rows, args.d), dtype=dtype)
        else:
            staging = cupyx.empty_pinned((src.chunk_rows, args.d), dtype=dtype)
            staging[...] = X[:src.chunk_rows]
            device = xp.empty((src.chunk_rows, args.d), dtype=dtype)
        chunks = src.chunks()

        def copies():
            for a, b in chunks:
                if xp is np:
                    np.copyto(staging[:b - a], X[a:b])
                else:
                    device[:b - a].set(staging[:b - a])

        def one_pass():
            loss, _ = src.reduce(LossGradient(coef, args.d, True))
            float(loss)

        t_stream, t_copy = timed(one_pass), timed(copies)
        src.close()
        staging = device = None  # freed before the next size
        if xp is not np:
            xp.get_default_pinned_memory_pool().free_all_blocks()
        print(f"| {mib:g} | {len(chunks)} | {gb / t_copy:.1f} | {gb / t_stream:.1f} | "
              f"{t_copy / t_stream:.2f} |", flush=True)


if __name__ == "__main__":
    main()
