"""The streaming and device logic against a stand-in for CuPy (tests/fake_cupy.py): copies,
streams, events, pinned memory, resident chunks and error paths, on machines without a GPU.
A logic check only; the `gpu` tests check the same paths on hardware."""

import sys

import fake_cupy
import numpy as np
import pytest
from helpers import backend

from gpulogreg import LogisticRegression
from gpulogreg.loss import cuda
from gpulogreg.loss.models import residual_and_loss, softmax_residual_and_loss
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.sources import stream
from gpulogreg.sources.stream import StreamedRows, stage

D = 7
ROW_BYTES = D * 8


@pytest.fixture
def fake(monkeypatch):
    """Install the stand-in (``fake(free_bytes=..., fail_pinned=...)``) and return it."""
    def install(**kwargs):
        cp, cupyx = fake_cupy.make(**kwargs)
        monkeypatch.setitem(sys.modules, "cupy", cp)
        monkeypatch.setitem(sys.modules, "cupyx", cupyx)
        for name in ("scipy", "scipy.linalg", "scipy.sparse"):
            module = cupyx
            for part in name.split("."):
                module = getattr(module, part)
            monkeypatch.setitem(sys.modules, f"cupyx.{name}", module)
        monkeypatch.setattr(backend, "gpu_status", lambda: (True, ""))
        # the fused kernels' reference: the stand-in has no CUDA compiler
        monkeypatch.setattr(cuda, "sigmoid_residual",
                            lambda z, y, s=None: residual_and_loss(z, y, s, np))
        monkeypatch.setattr(cuda, "softmax_residual", softmax_reference)
        return cp
    return install


def softmax_reference(Z, y, s=None, want_p=False):
    R, l, P = softmax_residual_and_loss(Z, y, s, np)
    return R, l, (P if want_p else None)


def problem(n=3001, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(float)
    s = rng.uniform(0.2, 1.0, size=n)
    return X, y, s


def check_equal(cp, streamed, reference, passes=3):
    """Loss, gradient and Hessian products of the streamed source equal the in-memory ones
    over several passes (buffers, pinned memory and events reused)."""
    rng = np.random.default_rng(1)
    for _ in range(passes):
        coef = rng.normal(size=D + 1) / 3
        v = rng.normal(size=D + 1)
        f, g, hessp = streamed.gradient_hessp(cp.asarray(coef))
        f_ref, g_ref, hessp_ref = reference.gradient_hessp(coef)
        np.testing.assert_allclose(f, f_ref, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(g), g_ref, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(np.asarray(hessp(cp.asarray(v))), hessp_ref(v), rtol=1e-10,
                                   atol=1e-14)


def test_streamed_chunks_equal_in_memory_over_many_passes(fake):
    cp = fake(free_bytes=10_000)  # a tiny device: nothing resident, every chunk streamed
    X, y, s = problem()
    src = StreamedRows(X, y, s, chunk_rows=256)
    assert src.n_resident == 0 and len(src.chunks()) == 12
    check_equal(cp, LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7))
    assert cp.log.count("copy") == 12 * 2 * 3  # every chunk, each pass (gradient, hessp)


def test_the_stand_in_catches_a_missing_wait(fake, monkeypatch):
    """With the compute stream's wait for a chunk's copy removed, the results are wrong: the
    ordering tests above can fail. (The host's wait before it reuses a pinned buffer cannot
    be checked here: see fake_cupy's docstring.)"""
    cp = fake(free_bytes=10_000)
    X, y, s = problem()
    monkeypatch.setattr(fake_cupy.Stream, "wait_event", lambda *args: None)
    src = StreamedRows(X, y, s, chunk_rows=256)
    with pytest.raises(AssertionError):
        check_equal(cp, LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7), 1)


def test_x_that_fits_is_copied_once_per_fit(fake):
    cp = fake(free_bytes=1 << 30)
    X, y, s = problem()
    src = StreamedRows(X, y, s, chunk_rows=1000)
    assert src.n_resident == len(src.chunks()) == 4
    check_equal(cp, LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7))
    assert cp.log.count("copy") == 4 and cp.log.bytes("copy") == X.nbytes
    assert cp.log.count("device") >= 4  # its own array per resident chunk, no stream buffers


def test_resident_chunks_and_streamed_chunks(fake):
    """Two of five chunks fit beside the two streaming buffers: they are copied once, the
    other three on every pass."""
    chunk = 1000 * ROW_BYTES
    cp = fake(free_bytes=2 * (5 * chunk) - 2)  # budget (half the free memory) just short of X
    X, y, s = problem(n=5000)
    src = StreamedRows(X, y, s, chunk_rows=1000)
    assert src.n_resident == 2
    loss, ref = LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7)
    rng = np.random.default_rng(3)
    for _ in range(4):
        coef = rng.normal(size=D + 1)
        np.testing.assert_allclose(np.asarray(loss.loss_gradient(cp.asarray(coef))[1]),
                                   ref.loss_gradient(coef)[1], rtol=1e-10, atol=1e-14)
    assert cp.log.count("copy") == 2 + 4 * 3


def test_pinned_memory_is_capped_and_given_back(fake, monkeypatch):
    cp = fake(free_bytes=1 << 40)  # a huge device: the chunk size is set by the cap
    monkeypatch.setattr(stream, "_CHUNK_CAP_BYTES", 500 * ROW_BYTES)
    X, y, s = problem()
    model = LogisticRegression(device="cuda", tol=1e-8).fit(X, y, sample_weight=s)
    assert 0 < cp.log.bytes("pinned") <= 2 * stream._CHUNK_CAP_BYTES
    assert cp.log.events[-1] == ("free pinned", None)  # given back when the fit ended
    ref = LogisticRegression(tol=1e-8).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(np.asarray(model.coef_), ref.coef_, rtol=1e-6, atol=1e-9)


def test_a_failed_pin_is_a_memory_error_naming_bytes_and_device(fake):
    fake(fail_pinned=True)
    X, y, _ = problem()
    with pytest.raises(MemoryError, match=r"out of memory on cuda:0 \(Fake GPU\), streaming X "
                                          r".* in 12 chunks of 256 rows .*could not pin "
                                          r"14,336 bytes of host memory"):
        LogisticRegression(device="cuda", chunk_rows=256).fit(X, y)


def test_an_exception_mid_pass_leaves_no_copy_in_flight(fake):
    fake(free_bytes=10_000)
    X, y, _ = problem()
    src = StreamedRows(X, y, chunk_rows=256)

    class Failing:
        shapes = ((),)

        def __call__(self, rows, Xc, yc, sc):
            if rows.start >= 3 * 256:
                raise RuntimeError("a kernel failed")
            return (0.0,)

    with pytest.raises(RuntimeError, match="a kernel failed"):
        src.reduce(Failing())
    assert src._state["stream"].pending == 0


def test_auto_device_computes_on_the_gpu_holding_x(fake):
    cp = fake()
    X = cp.asarray(np.ones((3, 2)))
    X._device_id = 1
    assert cp.cuda.Device().id == 0
    with backend.on_device(("auto", None), cp, X):
        assert cp.cuda.Device().id == 1  # allocations and kernels go to X's GPU
    assert cp.cuda.Device().id == 0


@pytest.mark.parametrize("rows", [1, 3, 4, 5, 1001])
def test_staging_copies_every_row(tmp_path, rows):
    src = np.random.default_rng(rows).normal(size=(rows, 3))
    path = tmp_path / "X.f64"
    src.tofile(path)
    mm = np.memmap(path, dtype=np.float64, mode="r", shape=src.shape)
    dst = np.zeros_like(src)
    stage(dst, mm)
    np.testing.assert_array_equal(dst, src)


def test_a_host_x_streamed_through_the_gpu_never_takes_the_cpu_kernels(fake, monkeypatch):
    """The compiled passes are for X computed on the CPU: a big float64 host X streamed
    through the GPU must reach the device chunks with the xp passes."""
    from gpulogreg.loss import cpu

    cp = fake(free_bytes=10_000)
    monkeypatch.setattr(cpu, "MIN_ELEMENTS", 0)
    X, y, s = problem()
    loss = LogisticLoss(source=StreamedRows(X, y, s, chunk_rows=256), C=0.7)
    assert not loss.compiled
    check_equal(cp, loss, LogisticLoss(X, y, s, C=0.7), passes=1)


def test_one_pass_dispatch_runs_the_kernels_phases(fake, monkeypatch, tmp_path):
    """With the switch on, a binomial CuPy block goes to the one-pass kernels (here their own
    phases, run on the host by tests/kernels/kernel_host_check.cu, behind the stand-in): the
    loss, gradient, stored curvature and Hessian products equal the general path's, with and
    without an intercept; with the switch off, or fused=False, the kernels are not called."""
    from helpers import build_host_check, run_one_pass
    from reference import assert_reordered, reorder_bound

    exe = build_host_check(tmp_path)
    cp = fake()
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
    X, y, s = problem(n=301)
    rng = np.random.default_rng(2)
    for fit_intercept in (True, False):
        coef = rng.normal(size=D + fit_intercept) / 3
        v = rng.normal(size=D + fit_intercept)
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
    coef = cp.asarray(rng.normal(size=D + 1))
    LogisticLoss(cp.asarray(X), cp.asarray(y), cp.asarray(s), fused=False).loss_gradient(coef)
    monkeypatch.setattr(cuda, "ONE_PASS", False)
    LogisticLoss(cp.asarray(X), cp.asarray(y), cp.asarray(s)).loss_gradient(coef)
    assert calls == []


# --- issue 23's review of the device logic (no GPU needed to find these) -------------------

def test_cupyx_sparse_x_is_placed_by_its_values_device(fake):
    """cupyx sparse matrices raise on ``.device``: placement asks their values array."""
    cp = fake()
    import cupyx.scipy.sparse as gpu_sparse

    with cp.cuda.Device(1):
        X = gpu_sparse.csr_matrix(np.eye(3))
    with pytest.raises(NotImplementedError):
        X.device
    assert backend.array_device(X).id == 1
    for device in (("auto", None), ("cuda", None)):
        with backend.on_device(device, cp, X):
            assert cp.cuda.Device().id == 1
    with pytest.raises(ValueError, match="X lives on cuda:1"):
        backend.on_device(("cuda", 0), cp, X)


@pytest.mark.parametrize("classes", [2, 3])
def test_x_on_another_gpu_than_the_current_one(fake, classes):
    """X on cuda:1 while cuda:0 is current: the stand-in refuses any kernel mixing devices
    (as CuPy does without peer access). Every public call computes on X's GPU, and the
    fitted attributes live there."""
    cp = fake()
    import gpulogreg
    from gpulogreg import LogisticRegressionCV

    rng = np.random.default_rng(0)
    X_host = rng.normal(size=(300, 4))
    y_host = np.argmax(X_host[:, :classes] + rng.gumbel(size=(300, classes)), axis=1)
    with cp.cuda.Device(1):
        X, y = cp.asarray(X_host), cp.asarray(y_host)
    assert cp.cuda.Device().id == 0 and X.device.id == 1
    with pytest.raises(RuntimeError, match="Peer access"):  # the stand-in does catch it
        X + 1
    for device in ("auto", "cuda"):
        model = LogisticRegression(device=device).fit(X, y)
        assert model.coef_.device.id == 1 and model.intercept_.device.id == 1
        for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
            assert getattr(model, method)(X).device.id == 1
        assert 0.5 < model.score(X, y) <= 1
    reference = LogisticRegression().fit(X_host, y_host)
    np.testing.assert_allclose(np.asarray(model.coef_), reference.coef_, rtol=1e-6, atol=1e-9)
    cv = LogisticRegressionCV(Cs=3, cv=3, l1_ratios=(0,), use_legacy_attributes=False,
                              scoring="accuracy").fit(X, y)
    assert cv.coef_.device.id == 1 and cv.predict(X).device.id == 1
    if classes == 2:
        w = rng.normal(size=4)
        with cp.cuda.Device(1):
            yf = y.astype(np.float64)
        f, g, b = gpulogreg.loss_gradient(X, yf, w, 0.1, C=2.0)
        assert g.device.id == 1
        hv, _ = gpulogreg.hessp(X, yf, w, 0.1, w, 0.0)
        new_w, _, _ = gpulogreg.gradient_step(X, yf, w, 0.1, learning_rate=0.5)
        assert hv.device.id == 1 and new_w.device.id == 1
        f_ref, g_ref, _ = gpulogreg.loss_gradient(X_host, y_host.astype(float), w, 0.1, C=2.0)
        np.testing.assert_allclose(np.asarray(g), g_ref, rtol=1e-12)


def test_a_cholesky_that_does_not_raise_is_still_caught(fake):
    """CuPy's cholesky returns a factor for a matrix that is not positive definite (its
    default linalg='ignore'): the solve must see it (errstate, or the factor's diagonal)."""
    cp = fake()
    A = cp.asarray(np.array([[1.0, 2.0], [2.0, 1.0]]))  # eigenvalues 3 and -1
    b = cp.asarray(np.ones(2))
    assert bool(cp.isfinite(cp.linalg.cholesky(A)).all())  # no error, a finite "factor"
    assert backend.cholesky_solve(A, b, cp) is None
    good = cp.asarray(np.array([[2.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_allclose(np.asarray(backend.cholesky_solve(good, b, cp)), [1 / 3, 1 / 3])
    import cupyx

    with cupyx.errstate(linalg="ignore"):  # even where the caller set 'ignore'
        assert backend.cholesky_solve(A, b, cp) is None


def test_a_model_batch_round_reads_the_device_once(fake):
    """Every objective of a round (50 problems: 10 Cs x 5 folds) comes to the host in one
    transfer, and the folds' weight sums in one at the start: not one per problem."""
    from gpulogreg.loss.models import Binomial
    from gpulogreg.solvers.batch import ModelBatch
    from gpulogreg.solvers.requests import Ask, Request
    from gpulogreg.sources.memory import RowBlocks

    cp = fake()
    X, y, s = problem(n=500)
    masks = np.stack([np.arange(500) % 5 != f for f in range(5)])
    problems = [(f, C) for f in range(5) for C in np.logspace(-2, 2, 10)]
    source = RowBlocks(cp.asarray(X), cp.asarray(y), cp.asarray(s))
    start = cp.log.count("sync")
    batch = ModelBatch(source, Binomial(), cp.asarray(masks), problems)
    assert cp.log.count("sync") - start == 1
    rng = np.random.default_rng(0)
    pending = {j: Request(Ask.LOSS_GRADIENT, cp.asarray(rng.normal(size=D + 1)))
               for j in range(50)}
    start = cp.log.count("sync")
    answers = batch._answer(pending)
    assert cp.log.count("sync") - start == 1
    for j in (0, 17, 49):
        fold, C = problems[j]
        alone = LogisticLoss(X, y, s * masks[fold], C=C)
        f_ref, g_ref = alone.loss_gradient(np.asarray(pending[j].x))
        np.testing.assert_allclose(answers[j][0], f_ref, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(answers[j][1]), g_ref, rtol=1e-10, atol=1e-14)


def test_model_batch_pieces_are_sized_for_the_device(fake, monkeypatch):
    """A wide X on a GPU is walked in pieces sized by the free device memory and the number
    of models, not by d (41 rows at d = 10^5 before); the CPU keeps its cache-sized pieces.
    A CSC X is turned into CSR once per batch, not rescanned per piece."""
    import scipy.sparse as sp

    from gpulogreg.loss import batch_pass
    from gpulogreg.loss.models import Binomial
    from gpulogreg.solvers.batch import ModelBatch
    from gpulogreg.sources.memory import RowBlocks

    cp = fake(free_bytes=8 << 30)
    gpu_rows = batch_pass.batch_piece_rows(cp, 100, 100_000, 8)
    assert gpu_rows >= (8 << 30) // 16 // (3 * 100 * 8)
    assert batch_pass.batch_piece_rows(np, 100, 100_000, 8) == (1 << 25) // (100_000 * 8)
    X = sp.random(300, 50, density=0.1, format="csc", random_state=0)
    y = (np.arange(300) % 2).astype(float)
    masks = np.stack([np.arange(300) % 3 != f for f in range(3)])
    batch = ModelBatch(RowBlocks(X, y), Binomial(), masks, [(0, 1.0), (2, 0.5)])
    assert batch.source.X.format == "csr"
