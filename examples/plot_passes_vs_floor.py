"""
A loss + gradient pass against the memory floor
===============================================

The gradient of the logistic loss, ``X^T (sigmoid(X w + b) - y) / n``, must read X at
least once, so no pass can be faster than one read of X at the machine's memory
bandwidth: the *floor*. Here the floor is measured as in the project's benchmarks: half
the time of copying an array the size of X (a copy reads and writes), in the same run.

Against it, for a few numbers of columns d at a fixed size of X:

* ``gpulogreg.loss_gradient(..., check_input=False)``: the pass the estimators use (the
  compiled CPU kernel where it applies, else NumPy),
* the naive NumPy expression, which reads X twice and allocates n-vectors,
* ``X @ w`` alone, one BLAS read of X.

X is kept small (64 MB) so the page builds fast: at this size part of X may sit in the
CPU's caches and the ratios are rougher than in :doc:`/benchmarks`, which
reports ``bench/gradient_floor.py`` at 512 MB.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import gpulogreg


def median_ms(fn, repeat=10, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


elements = 2**23                                         # 64 MB of float64
rng = np.random.default_rng(0)
rows = []
for d in (8, 32, 128, 512):
    n = elements // d
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    w, b = rng.normal(size=d) / np.sqrt(d), 0.1
    out = np.empty_like(X)

    floor = median_ms(lambda: np.copyto(out, X)) / 2     # read + write, counted as two reads
    ours = median_ms(lambda: gpulogreg.loss_gradient(X, y, w, b, check_input=False))
    naive = median_ms(lambda: X.T @ (1 / (1 + np.exp(-(X @ w + b))) - y) / n)
    gemv = median_ms(lambda: X @ w)
    rows.append((d, floor, ours, naive, gemv))
    print(f"d={d:4d}  floor {floor:6.2f} ms   loss_gradient {ours:6.2f} ms "
          f"({ours / floor:4.2f}x)   naive {naive:6.2f} ms ({naive / floor:4.2f}x)   "
          f"X @ w {gemv:6.2f} ms")

# %%
# Each bar is a time as a multiple of the floor (1.0 is the best any pass can do).

d_values = [r[0] for r in rows]
x = np.arange(len(rows))
fig, ax = plt.subplots(figsize=(7, 4))
for i, (label, column) in enumerate((("loss_gradient", 2), ("naive NumPy", 3),
                                     ("X @ w alone", 4))):
    ratios = [r[column] / r[1] for r in rows]
    ax.bar(x + (i - 1) * 0.27, ratios, width=0.27, label=label)
ax.axhline(1.0, color="black", lw=0.8)
ax.set_xticks(x, [f"d={d}" for d in d_values])
ax.set_ylabel("time / floor (one read of X)")
ax.set_title(f"one pass over a {elements * 8 >> 20} MB float64 X, this machine's CPU")
ax.legend()
fig.tight_layout()
plt.show()
