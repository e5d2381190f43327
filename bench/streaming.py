"""Streaming throughput: a host X walked through the GPU in chunks (device="cuda"), in GB/s,
against the host-to-device copy bandwidth measured in the same run from pinned memory.

    python bench/streaming.py                      # X of 8 GiB float32, d = 64
    python bench/streaming.py --gib 32 --chunk-mib 64 256 1024

For each chunk size (MiB), as medians over --repeat passes after a warm-up: one
loss+gradient pass of StreamedRows with every chunk streamed (host read + pinned copy +
H2D + compute, overlapped; no chunk kept resident), the plain pinned H2D copy of the same
bytes, and their ratio (target >= 0.9). This is how _stream._CHUNK_CAP_BYTES is chosen: the
smallest chunk that reaches the copy bandwidth. Needs CuPy and a GPU.
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=8.0)
    parser.add_argument("-d", type=int, default=64)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--chunk-mib", type=float, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not benchmark.gpu_available():
        sys.exit(f"needs CuPy and a CUDA GPU: {benchmark.gpu_status()[1]}")
    import cupy
    import cupyx

    dtype = np.dtype(args.dtype)
    n = int(args.gib * 2**30 // (args.d * dtype.itemsize))
    X = np.random.default_rng(0).standard_normal((n, args.d), dtype=np.float32).astype(dtype)
    y = (np.random.default_rng(1).random(n) < 0.5).astype(dtype)
    coef = cupy.zeros(args.d + 1)

    def timed(fn):
        fn()
        samples = []
        for _ in range(args.repeat):
            cupy.cuda.Device().synchronize()
            t0 = time.perf_counter()
            fn()
            cupy.cuda.Device().synchronize()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    gb = X.nbytes / 1e9
    print(f"# {benchmark.device_name(cupy)}; cupy {cupy.__version__}; X {X.shape} {dtype} "
          f"({gb:.2f} GB) on the host; median of {args.repeat}")
    print("| chunk MiB | chunks | pinned H2D copy GB/s (floor) | streamed pass GB/s | ratio |")
    print("|---|---|---|---|---|")
    for mib in args.chunk_mib:
        rows = max(1, int(mib * 2**20 // (args.d * dtype.itemsize)))
        src = StreamedRows(X, y, chunk_rows=rows)
        src.n_resident = 0  # measure the stream itself, not the resident copies
        pinned = cupyx.empty_pinned((src.chunk_rows, args.d), dtype=dtype)
        pinned[...] = X[:src.chunk_rows]
        device = cupy.empty((src.chunk_rows, args.d), dtype=dtype)
        chunks = src.chunks()

        def copies():
            for a, b in chunks:
                device[:b - a].set(pinned[:b - a])

        def one_pass():
            loss, _ = src.reduce(LossGradient(coef, args.d, True))
            float(loss)

        t_stream, t_copy = timed(one_pass), timed(copies)
        src.close()
        pinned = device = None  # freed before the next size
        cupy.get_default_pinned_memory_pool().free_all_blocks()
        print(f"| {mib:g} | {len(chunks)} | {gb / t_copy:.1f} | {gb / t_stream:.1f} | "
              f"{t_copy / t_stream:.2f} |")


if __name__ == "__main__":
    main()
