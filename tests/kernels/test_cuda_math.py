"""The CUDA kernels' math: the per-row sigmoid and softmax steps and the one-pass kernels'
phases, built with nvcc as a host program (tests/kernels/kernel_host_check.cu) and checked
against float64 and 400-digit references; the same kernels launched on a GPU."""

import subprocess

import numpy as np
import pytest
from helpers import build_host_check, first_feature_problem, run_one_pass, validation
from scipy.special import expit

from gpulogreg.loss import cuda, models
from gpulogreg.loss.objective import LogisticLoss

# z values around every regime of exp(-|z|): 0, tiny, moderate, float32 and float64
# underflow of exp, and huge magnitudes up to the largest finite float32.
Z = np.array([0.0, 1e-30, 1e-8, 0.5, 1.0, 5.0, 20.0, 40.0, 87.0, 89.0, 104.0, 700.0, 746.0,
              1e4, 1e30, 3.0e38])
Z = np.concatenate([Z, -Z[1:]])


def sigmoid_reference(z, y, s):
    """float64 r and l from cancellation-free identities (sigma(z)-1 = -sigma(-z), ...)."""
    r = np.where(y == 1, -expit(-z), expit(z))
    l = np.where(y == 1, np.logaddexp(0.0, -z), np.logaddexp(0.0, z))
    return s * r, s * l


@pytest.fixture(scope="module")
def host_math(tmp_path_factory):
    """Build tests/kernels/kernel_host_check.cu with nvcc and run it on (z, y, s) triples."""
    exe = build_host_check(tmp_path_factory.mktemp("host"))

    def run(z, y, s):
        lines = "".join(f"{float(a)!r} {float(b)!r} {float(c)!r}\n" for a, b, c in zip(z, y, s))
        out = subprocess.run([str(exe)], input=lines, capture_output=True, text=True, check=True)
        return np.loadtxt(out.stdout.splitlines(), ndmin=2).T

    return run


def test_host_math_float64(host_math):
    z = np.tile(Z, 2)
    y = np.repeat([0.0, 1.0], Z.size)
    s = np.where(np.arange(z.size) % 3 == 0, 2.5, 1.0)
    _, _, r, l = host_math(z, y, s)
    assert np.all(np.isfinite(r)) and np.all(np.isfinite(l))
    r_ref, l_ref = sigmoid_reference(z, y, s)
    np.testing.assert_allclose(r, r_ref, rtol=1e-14, atol=0)
    np.testing.assert_allclose(l, l_ref, rtol=1e-14, atol=0)
    # and the general xp path, the reference for the GPU, is the same arithmetic
    r_xp, l_xp = models.residual_and_loss(z, y, s, np)
    np.testing.assert_allclose(r_xp, r, rtol=1e-15, atol=0)
    np.testing.assert_allclose(l_xp, l, rtol=1e-15, atol=0)


@pytest.mark.parametrize("weights", ["unit", "validated"])
def test_host_math_float32(host_math, weights):
    """float32 at |z| up to 3e38, with weights as validation leaves them (in (0, 1], the
    largest exactly 1): every per-row term stays finite and accurate."""
    z32 = np.tile(Z, 2).astype(np.float32)  # 3e38 is still a finite float32
    y = np.repeat([0.0, 1.0], Z.size)
    s = (np.ones(z32.size) if weights == "unit" else
         np.linspace(1e-3, 1.0, z32.size).astype(np.float32).astype(np.float64))
    s[np.abs(z32) == np.float32(3.0e38)] = 1.0  # the largest loss term times the largest weight
    r, l, _, _ = host_math(z32.astype(np.float64), y, s)
    assert np.all(np.isfinite(r)) and np.all(np.isfinite(l))
    r_ref, l_ref = sigmoid_reference(z32.astype(np.float64), y, s)
    tiny = np.finfo(np.float32).tiny  # results below it flush towards zero in float32
    np.testing.assert_allclose(r, r_ref, rtol=2e-6, atol=tiny)
    np.testing.assert_allclose(l, l_ref, rtol=2e-6, atol=tiny)


# --- the multinomial row: softmax residual and loss ------------------------------------------

def softmax_rows():
    """(z rows, labels, weights): every regime of the softmax — ties, a confident right or
    wrong label, margins past float32's and float64's exp range, scores up to float32's
    maximum — for k = 3 and 7 (a k not a power of two)."""
    big = 3.0e38
    rows = [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [40.0, 0.0, 0.0], [0.0, 40.0, -40.0],
            [104.0, 0.0, 0.0], [750.0, 0.0, -750.0], [big, -big, 0.0], [-big, -big, big],
            [1e30, 1e30, -1e30], [1e-30, -1e-30, 0.0]]
    rng = np.random.default_rng(0)
    rows += [list(rng.normal(scale=5, size=7)) for _ in range(6)]
    labels = [i % len(z) for i, z in enumerate(rows)] + [0] * len(rows)
    weights = [1.0 if i % 3 else 0.25 for i in range(2 * len(rows))]
    return rows + rows, labels, weights


def exact_row(z, label, s):
    """r and l of one row in 400-digit decimal arithmetic: an independent reference."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 400  # the loss of a confident row is ~1e-300 beside numbers ~1
        zd = [Decimal(float(v)) for v in z]
        top = max(zd)
        e = [(v - top).exp() for v in zd]
        total = sum(e)
        p = [v / total for v in e]
        l = top + total.ln() - zd[label]
        r = [pc - (1 if c == label else 0) for c, pc in enumerate(p)]
        sd = Decimal(float(s))
        return [float(sd * v) for v in r], float(sd * l), [float(v) for v in p]


@pytest.fixture(scope="module")
def host_softmax(host_math, tmp_path_factory):
    exe = next(tmp_path_factory.getbasetemp().glob("host*/host_check"))

    def run(rows, labels, weights):
        text = "".join(f"{len(z)} {c} {s!r} " + " ".join(repr(float(v)) for v in z) + "\n"
                       for z, c, s in zip(rows, labels, weights))
        out = subprocess.run([str(exe), "softmax"], input=text, capture_output=True, text=True,
                             check=True)
        parsed = []
        for z, line in zip(rows, out.stdout.splitlines()):
            v = np.array(line.split(), dtype=np.float64)
            k = len(z)
            parsed.append((v[:k], v[k], v[k + 1:2 * k + 1], v[2 * k + 1], v[2 * k + 2:]))
        return parsed

    return run


def test_host_softmax_float64(host_softmax):
    rows, labels, weights = softmax_rows()
    for (_, _, r, l, p), z, c, s in zip(host_softmax(rows, labels, weights), rows, labels,
                                        weights):
        r_ref, l_ref, p_ref = exact_row(z, c, s)
        assert np.isfinite(r).all() and np.isfinite(l)
        np.testing.assert_allclose(r, r_ref, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(l, l_ref, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(p, p_ref, rtol=1e-14, atol=1e-300)
        # the xp reference the GPU path is tested against is the same arithmetic
        R_xp, l_xp, P_xp = models.softmax_residual_and_loss(
            np.array([z]), np.array([float(c)]), np.array([s]), np)
        np.testing.assert_allclose(R_xp[0], r, rtol=1e-15, atol=0)
        np.testing.assert_allclose(l_xp[0], l, rtol=1e-15, atol=0)
        np.testing.assert_allclose(P_xp[0], p, rtol=1e-15, atol=0)


def test_host_softmax_float32(host_softmax):
    """float32 scores up to 3e38: residuals accurate, the loss (a double) finite even where
    it exceeds float32's range (z_top - z_label = 6e38)."""
    rows, labels, weights = softmax_rows()
    rows32 = [list(np.float32(z).astype(np.float64)) for z in rows]
    tiny = np.finfo(np.float32).tiny
    for (r, l, _, _, _), z, c, s in zip(host_softmax(rows32, labels, weights), rows32, labels,
                                        weights):
        r_ref, l_ref, _ = exact_row(z, c, np.float64(np.float32(s)))
        assert np.isfinite(r).all() and np.isfinite(l)
        np.testing.assert_allclose(r, r_ref, rtol=2e-6, atol=tiny)
        np.testing.assert_allclose(l, l_ref, rtol=2e-6, atol=tiny)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_gpu_softmax_kernel_matches_reference(cp, dtype, weighted):
    rows, labels, weights = softmax_rows()
    for k in (3, 7):
        picked = [i for i, z in enumerate(rows) if len(z) == k]
        Z = np.array([rows[i] for i in picked]).astype(dtype)
        y = np.array([labels[i] for i in picked], dtype=dtype)
        s = np.array([weights[i] for i in picked], dtype=dtype) if weighted else None
        R, l, P = cuda.softmax_residual(cp.asarray(Z), cp.asarray(y),
                                            None if s is None else cp.asarray(s), want_p=True)
        assert R.dtype == dtype and l.dtype == np.float64 and P.dtype == dtype
        rtol, atol = (1e-14, 1e-300) if dtype == np.float64 else (2e-6, np.finfo(np.float32).tiny)
        for i, (z, c) in enumerate(zip(Z.astype(np.float64), y.astype(int))):
            r_ref, l_ref, p_ref = exact_row(z, c, 1.0 if s is None else float(s[i]))
            np.testing.assert_allclose(R[i].get(), r_ref, rtol=rtol, atol=atol)
            np.testing.assert_allclose(float(l[i]), l_ref, rtol=rtol, atol=atol)
            np.testing.assert_allclose(P[i].get(), p_ref, rtol=rtol, atol=atol)


@pytest.mark.gpu
def test_gpu_softmax_kernel_large_grid_matches_xp(cp):
    n, k = 3 * 2**18 + 17, 10
    Z = cp.random.default_rng(0).normal(size=(n, k), dtype=cp.float32) * 20
    y = (cp.arange(n) % k).astype(cp.float32)
    R, l, P = cuda.softmax_residual(Z, y, want_p=True)
    R_ref, l_ref, P_ref = models.softmax_residual_and_loss(Z, y, None, cp)
    cp.testing.assert_allclose(R, R_ref, rtol=1e-5, atol=1e-7)
    cp.testing.assert_allclose(l, l_ref, rtol=1e-5, atol=1e-7)
    cp.testing.assert_allclose(P, P_ref, rtol=1e-5, atol=1e-7)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_gpu_kernel_matches_reference(cp, dtype, weighted):
    z = np.tile(Z if dtype == np.float64 else Z.astype(np.float32), 2).astype(dtype)
    y = np.repeat([0.0, 1.0], Z.size).astype(dtype)
    # weights as validation leaves them: max 1, so s * loss stays finite in float32
    s = np.linspace(0.25, 1.0, z.size).astype(dtype) if weighted else None
    r, l = cuda.sigmoid_residual(cp.asarray(z), cp.asarray(y),
                                     None if s is None else cp.asarray(s))
    assert r.dtype == dtype and l.dtype == dtype
    r_ref, l_ref = sigmoid_reference(z.astype(np.float64), y,
                                     1.0 if s is None else s.astype(np.float64))
    rtol, atol = (1e-14, 0) if dtype == np.float64 else (2e-6, np.finfo(np.float32).tiny)
    np.testing.assert_allclose(r.get(), r_ref, rtol=rtol, atol=atol)
    np.testing.assert_allclose(l.get(), l_ref, rtol=rtol, atol=atol)


@pytest.mark.gpu
def test_gpu_kernel_large_grid(cp):
    """More elements than one block, not a multiple of the block size."""
    n = 3 * 2**20 + 17
    z = cp.linspace(-50, 50, n, dtype=cp.float32)
    y = (cp.arange(n) % 2).astype(cp.float32)
    r, l = cuda.sigmoid_residual(z, y)
    r_ref, l_ref = models.residual_and_loss(z, y, None, cp)
    cp.testing.assert_allclose(r, r_ref, rtol=1e-6, atol=1e-7)
    cp.testing.assert_allclose(l, l_ref, rtol=1e-6, atol=1e-7)


def test_validated_weights_are_at_most_one():
    """The invariant the kernels rely on: every pass sees weights <= 1 (C scaled to match)."""
    for raw in ([2.0, 4.0, 1.0], [1e-30, 3e-30], [7.0, 7.0]):
        s, C = validation.check_sample_weight(np.array(raw), len(raw), np.dtype(np.float32), np, C=2.0)
        assert s.dtype == np.float32 and s.max() == 1.0 and s.min() > 0
        assert C == 2.0 * max(raw)


@pytest.mark.gpu
@pytest.mark.skipif(__import__("os").environ.get("GPULOGREG_BIG_TESTS") != "1",
                    reason="four float32 arrays of over 2**31 elements on one GPU: set "
                           "GPULOGREG_BIG_TESTS=1")
def test_gpu_kernel_past_2_31_elements(cp):
    """64-bit indexing: elements beyond 2**31 are computed, and computed right."""
    n = 2**31 + 1025
    z = cp.linspace(-30, 30, n, dtype=cp.float32)
    y = cp.zeros(n, dtype=cp.float32)
    y[1::2] = 1
    r, l = cuda.sigmoid_residual(z, y)
    for rows in (slice(2**31 - 2048, 2**31 + 2048), slice(n - 4096, n)):
        r_ref, l_ref = models.residual_and_loss(z[rows], y[rows], None, cp)
        cp.testing.assert_allclose(r[rows], r_ref, rtol=1e-6, atol=1e-7)
        cp.testing.assert_allclose(l[rows], l_ref, rtol=1e-6, atol=1e-7)


# --- the one-pass kernels (logistic_grad.cu), executed phase by phase on the host -----------

TILE = 32  # ONE_PASS_TILE of logistic_grad.cuh: rows per tile


@pytest.fixture(scope="module")
def host_one_pass(host_math, tmp_path_factory):
    """``run_one_pass`` with the harness built for this module; ``v`` and ``v_b`` apart."""
    exe = next(tmp_path_factory.getbasetemp().glob("host*/host_check"))

    def run(mode, X, y, s, v, v_b, p, grid, want_p=False):
        return run_one_pass(exe, mode, X, y, s, np.append(v, v_b), p, grid, want_p)

    return run


def one_pass_reference(mode, X, y, s, v, v_b, p):
    """Per row, what the kernel sums: ``[r_i x_i, r_i, l_i]`` in float64, with the per-row
    step in X's dtype from the float64 score rounded to it (the kernel's arithmetic), by the
    xp reference of the models."""
    z = X.astype(np.float64) @ v + v_b
    if mode == 1:
        r, l = p.astype(np.float64) * z, np.zeros_like(z)
    else:
        r, l = models.residual_and_loss(z.astype(X.dtype), y, s, np)
        r, l = r.astype(np.float64), l.astype(np.float64)
    return np.column_stack([r[:, None] * X.astype(np.float64), r, l])


ONE_PASS_SHAPES = [(1, 1), (1, 33), (31, 1), (33, 7), (70, 33), (97, 1000), (257, 64)]


@pytest.mark.parametrize("n, d", ONE_PASS_SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", [0, 1], ids=["loss_gradient", "hessp"])
def test_host_one_pass_partials_match_numpy(host_one_pass, n, d, dtype, mode):
    """Each simulated block's partial sums are the float64 sums of exactly its tiles' rows
    (tiles b, b + G, ...): the indexing, tiling, bounds and reduction of the kernel, for
    n = 1, d = 1, d not a multiple of 32, d = 1000, n not a multiple of the tile, grids
    with more blocks than tiles, weights and the stored curvature."""
    rng = np.random.default_rng(n * 1000 + d)
    X = (rng.normal(size=(n, d)) * 2).astype(dtype)
    y = (rng.random(n) < 0.5).astype(dtype)
    s = rng.uniform(0.05, 1.0, size=n).astype(dtype) if n % 2 else None
    v = rng.normal(size=d) / np.sqrt(d)
    v_b = 0.3
    p = rng.uniform(0.0, 0.25, size=n).astype(dtype)
    rows = one_pass_reference(mode, X, y, s, v, v_b, p)
    tiles = -(-n // TILE)
    u = np.finfo(dtype).eps
    for grid in (1, 3, tiles + 2):
        part, p_out = host_one_pass(mode, X, y, s, v, v_b, p, grid, want_p=mode == 0)
        for block in range(grid):
            mine = np.zeros(n, dtype=bool)
            for tile in range(block, tiles, grid):
                mine[tile * TILE:(tile + 1) * TILE] = True
            expected = rows[mine].sum(axis=0)
            # double sums of <= n terms in another order, plus the per-row step's few ulps
            # in X's dtype (exp, log1p: libm against NumPy's)
            scale = np.abs(rows[mine]).sum(axis=0)
            bound = (n + d) * np.finfo(np.float64).eps * scale + 8 * u * scale
            assert np.all(np.abs(part[block] - expected) <= bound), (grid, block)
        total = part.sum(axis=0)
        assert np.all(np.abs(total - rows.sum(axis=0))
                      <= (n + d) * 2e-16 * np.abs(rows).sum(axis=0) + 8 * u * np.abs(rows).sum(axis=0))
        if mode == 0:
            z64 = X.astype(np.float64) @ v + v_b
            expected = models.hessian_weight(z64.astype(dtype), s, np).astype(np.float64)
            # the kernel's z sums in another order (d u of sum |x_j v_j|), then rounds to X's
            # dtype (up to an ulp of z more where that differs); |dp/dz| <= 0.1
            dz = d * np.finfo(np.float64).eps * (np.abs(X) @ np.abs(v)) + u * np.abs(z64)
            assert np.all(np.abs(p_out - expected) <= 4 * u * expected + 0.1 * dz
                          + np.finfo(dtype).tiny)


def test_host_one_pass_is_deterministic_and_grid_sums_agree(host_one_pass):
    """The same grid gives bitwise-equal partials; other grids give the same totals to
    rounding (the caller adds the partials in a fixed order)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 45))
    y = (rng.random(200) < 0.4).astype(np.float64)
    v = rng.normal(size=45) / 7
    first, _ = host_one_pass(0, X, y, None, v, -0.2, None, 4)
    again, _ = host_one_pass(0, X, y, None, v, -0.2, None, 4)
    assert np.array_equal(first, again)
    other, _ = host_one_pass(0, X, y, None, v, -0.2, None, 2)
    np.testing.assert_allclose(other.sum(axis=0), first.sum(axis=0), rtol=1e-13, atol=1e-13)


def test_one_pass_dispatch_runs_the_kernels_phases(fake_gpu, monkeypatch, tmp_path):
    """With the switch on, a binomial CuPy block goes to the one-pass kernels (here their own
    phases, run on the host by tests/kernels/kernel_host_check.cu, behind the stand-in): the
    loss, gradient, stored curvature and Hessian products equal the general path's, with and
    without an intercept; with the switch off, or fused=False, the kernels are not called."""
    from helpers import build_host_check, run_one_pass
    from reference import assert_reordered, reorder_bound

    exe = build_host_check(tmp_path)
    cp = fake_gpu()
    calls = []

    def one_pass_on_host(name, X, v, args):
        calls.append(name)
        X = np.asarray(X)
        if name == "grad":
            y, s, has_s, p_out, has_p_out = args
            part, p = run_one_pass(exe, 0, X, np.asarray(y), np.asarray(s) if has_s else None,
                                   np.asarray(v), None, 3, want_p=bool(has_p_out))
            if has_p_out:
                p_out[...] = p
        else:
            part, _ = run_one_pass(exe, 1, X, None, None, np.asarray(v), np.asarray(args[0]), 3)
        return cp.asarray(part.sum(axis=0))

    monkeypatch.setattr(cuda, "_one_pass", one_pass_on_host)
    monkeypatch.setattr(cuda, "ONE_PASS", True)
    X, y, s = first_feature_problem(301)
    rng = np.random.default_rng(2)
    for fit_intercept in (True, False):
        coef = rng.normal(size=X.shape[1] + fit_intercept) / 3
        v = rng.normal(size=X.shape[1] + fit_intercept)
        one = LogisticLoss(cp.asarray(X), cp.asarray(y), cp.asarray(s),
                           fit_intercept=fit_intercept, C=2.0)
        general = LogisticLoss(X, y, s, fit_intercept=fit_intercept, C=2.0)
        calls.clear()
        f, g, hessp = one.gradient_hessp(cp.asarray(coef))
        Hv = hessp(cp.asarray(v))
        assert calls == ["grad", "hessp"]
        f_ref, g_ref, hessp_ref = general.gradient_hessp(coef)
        assert_reordered((f, np.asarray(g)), (f_ref, g_ref),
                         reorder_bound(X, s, coef, fit_intercept=fit_intercept))
        assert_reordered(np.asarray(Hv), hessp_ref(v),
                         reorder_bound(X, s, coef, fit_intercept=fit_intercept, v=v))
    calls.clear()
    coef = cp.asarray(rng.normal(size=X.shape[1] + 1))
    general_on_gpu = LogisticLoss(cp.asarray(X), cp.asarray(y), cp.asarray(s), fused=False)
    general_on_gpu.gradient_hessp(coef)[2](coef)  # the Hessian product too
    monkeypatch.setattr(cuda, "ONE_PASS", False)
    LogisticLoss(cp.asarray(X), cp.asarray(y), cp.asarray(s)).loss_gradient(coef)
    assert calls == []
