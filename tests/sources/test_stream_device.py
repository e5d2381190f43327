"""The streaming path's device logic against the CuPy stand-in (tests/fake_cupy.py): copies,
streams, events, pinned memory, resident chunks and error paths, on machines without a GPU.
A logic check only; the `gpu` tests of test_stream.py check the same paths on hardware."""

import fake_cupy
import numpy as np
import pytest
from helpers import first_feature_problem

from gpulogreg import LogisticRegression
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.sources import stream
from gpulogreg.sources.stream import StreamedRows, stage

D = 7  # the features of helpers.first_feature_problem
ROW_BYTES = D * 8


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


def test_streamed_chunks_equal_in_memory_over_many_passes(fake_gpu):
    cp = fake_gpu(free_bytes=10_000)  # a tiny device: nothing resident, every chunk streamed
    X, y, s = first_feature_problem(3001)
    src = StreamedRows(X, y, s, chunk_rows=256)
    assert src.n_resident == 0 and len(src.chunks()) == 12
    check_equal(cp, LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7))
    assert cp.log.count("copy") == 12 * 2 * 3  # every chunk, each pass (gradient, hessp)


def test_the_stand_in_catches_a_missing_wait(fake_gpu, monkeypatch):
    """With the compute stream's wait for a chunk's copy removed, the results are wrong: the
    ordering tests above can fail. (The host's wait before it reuses a pinned buffer cannot
    be checked here: see fake_cupy's docstring.)"""
    cp = fake_gpu(free_bytes=10_000)
    X, y, s = first_feature_problem(3001)
    monkeypatch.setattr(fake_cupy.Stream, "wait_event", lambda *args: None)
    src = StreamedRows(X, y, s, chunk_rows=256)
    with pytest.raises(AssertionError):
        check_equal(cp, LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7), 1)


def test_x_that_fits_is_copied_once_per_fit(fake_gpu):
    cp = fake_gpu(free_bytes=1 << 30)
    X, y, s = first_feature_problem(3001)
    src = StreamedRows(X, y, s, chunk_rows=1000)
    assert src.n_resident == len(src.chunks()) == 4
    check_equal(cp, LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7))
    assert cp.log.count("copy") == 4 and cp.log.bytes("copy") == X.nbytes
    assert cp.log.count("device") >= 4  # its own array per resident chunk, no stream buffers


def test_resident_chunks_and_streamed_chunks(fake_gpu):
    """Two of five chunks fit beside the two streaming buffers: they are copied once, the
    other three on every pass."""
    chunk = 1000 * ROW_BYTES
    cp = fake_gpu(free_bytes=2 * (5 * chunk) - 2)  # budget (half the free memory) just short of X
    X, y, s = first_feature_problem(5000)
    src = StreamedRows(X, y, s, chunk_rows=1000)
    assert src.n_resident == 2
    loss, ref = LogisticLoss(source=src, C=0.7), LogisticLoss(X, y, s, C=0.7)
    rng = np.random.default_rng(3)
    for _ in range(4):
        coef = rng.normal(size=D + 1)
        np.testing.assert_allclose(np.asarray(loss.loss_gradient(cp.asarray(coef))[1]),
                                   ref.loss_gradient(coef)[1], rtol=1e-10, atol=1e-14)
    assert cp.log.count("copy") == 2 + 4 * 3


def test_pinned_memory_is_capped_and_given_back(fake_gpu, monkeypatch):
    cp = fake_gpu(free_bytes=1 << 40)  # a huge device: the chunk size is set by the cap
    monkeypatch.setattr(stream, "_CHUNK_CAP_BYTES", 500 * ROW_BYTES)
    X, y, s = first_feature_problem(3001)
    model = LogisticRegression(device="cuda", tol=1e-8).fit(X, y, sample_weight=s)
    assert 0 < cp.log.bytes("pinned") <= 2 * stream._CHUNK_CAP_BYTES
    assert cp.log.events[-1] == ("free pinned", None)  # given back when the fit ended
    ref = LogisticRegression(tol=1e-8).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(np.asarray(model.coef_), ref.coef_, rtol=1e-6, atol=1e-9)


def test_a_failed_pin_is_a_memory_error_naming_bytes_and_device(fake_gpu):
    fake_gpu(fail_pinned=True)
    X, y, _ = first_feature_problem(3001)
    with pytest.raises(MemoryError, match=r"out of memory on cuda:0 \(Fake GPU\), streaming X "
                                          r".* in 12 chunks of 256 rows .*could not pin "
                                          r"14,336 bytes of host memory"):
        LogisticRegression(device="cuda", chunk_rows=256).fit(X, y)


def test_an_exception_mid_pass_leaves_no_copy_in_flight(fake_gpu):
    fake_gpu(free_bytes=10_000)
    X, y, _ = first_feature_problem(3001)
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


@pytest.mark.parametrize("rows", [1, 3, 4, 5, 1001])
def test_staging_copies_every_row(tmp_path, rows):
    src = np.random.default_rng(rows).normal(size=(rows, 3))
    path = tmp_path / "X.f64"
    src.tofile(path)
    mm = np.memmap(path, dtype=np.float64, mode="r", shape=src.shape)
    dst = np.zeros_like(src)
    stage(dst, mm)
    np.testing.assert_array_equal(dst, src)


def test_a_host_x_streamed_through_the_gpu_never_takes_the_cpu_kernels(fake_gpu, monkeypatch):
    """The compiled passes are for X computed on the CPU: a big float64 host X streamed
    through the GPU must reach the device chunks with the xp passes."""
    from gpulogreg.loss import cpu

    cp = fake_gpu(free_bytes=10_000)
    monkeypatch.setattr(cpu, "MIN_ELEMENTS", 0)
    X, y, s = first_feature_problem(3001)
    loss = LogisticLoss(source=StreamedRows(X, y, s, chunk_rows=256), C=0.7)
    assert not loss.compiled
    check_equal(cp, loss, LogisticLoss(X, y, s, C=0.7), passes=1)






@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
def test_covariance_of_a_streamed_fit_is_streamed_and_equals_in_memory(fake_gpu, cov_type):
    """A model fitted with device="cuda" on a host X computes its covariance as fit read X:
    streamed through the GPU in chunks, equal to the covariance computed in memory."""
    cp = fake_gpu(free_bytes=10_000)
    X, y, s = first_feature_problem(3001)
    groups = np.arange(len(y)) % 13
    streamed = LogisticRegression(device="cuda", chunk_rows=256, C=0.5).fit(X, y)
    in_memory = LogisticRegression(device="cpu", C=0.5)
    for name in ("classes_", "coef_", "intercept_", "n_features_in_"):
        setattr(in_memory, name, np.asarray(getattr(streamed, name)))
    before = cp.log.count("copy")
    cov = streamed.covariance_matrix(X, y, s, cov_type=cov_type, groups=groups)
    assert cp.log.count("copy") - before >= 12  # every chunk of X went through the device
    reference = in_memory.covariance_matrix(X, y, s, cov_type=cov_type, groups=groups)
    np.testing.assert_allclose(np.asarray(cov), reference, rtol=1e-9,
                               atol=1e-12 * np.abs(reference).max())
