"""PyTorch, array-api-strict and any array-API input: with
scikit-learn's array_api_dispatch, fitted attributes and outputs in the input's library,
dtype and device, scikit-learn's coefficients, and X never copied on the way in; without
it, scikit-learn's convention (NumPy out)."""

import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
import sklearn
from helpers import backend, boundary, dataset
from reference import fitted_vector, optimum_radius
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import gpulogreg
from gpulogreg import LogisticRegression, LogisticRegressionCV

torch = pytest.importorskip("torch", reason="PyTorch is not installed (CI installs the CPU "
                                              "build: pip install torch==2.13.0)")
strict = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed "
                                                         "(part of the test extra)")


DATA = {"binary": dataset("breast_cancer"), "3-class": dataset("wine")}
DATA = {name: (X[:, :10], y) for name, (X, y) in DATA.items()}
LIBRARIES = {
    "torch-float64": lambda a: torch.asarray(a, dtype=torch.float64 if a.dtype.kind == "f"
                                             else None),
    "torch-float32": lambda a: torch.asarray(a, dtype=torch.float32 if a.dtype.kind == "f"
                                             else None),
    "strict-float64": lambda a: strict.asarray(a),
    "strict-float32-device1": lambda a: strict.asarray(
        a.astype(np.float32) if a.dtype.kind == "f" else a, device=strict.Device("device1")),
}


def library_of(array):
    return type(array).__module__.split(".")[0]


def same_kind(result, like):
    """``result`` is an array of ``like``'s library and device."""
    assert library_of(result) == library_of(like), (type(result), type(like))
    assert result.device == like.device


@pytest.fixture
def dispatch():
    with sklearn.config_context(array_api_dispatch=True):
        yield


@pytest.mark.parametrize("library", sorted(LIBRARIES))
@pytest.mark.parametrize("data", sorted(DATA))
def test_dispatch_gives_results_of_the_inputs_kind_and_sklearns_coefficients(dispatch, library,
                                                                            data):
    X, y = DATA[data]
    Xa, ya = LIBRARIES[library](X), LIBRARIES[library](y)
    model = LogisticRegression(tol=1e-10 if "64" in library else 1e-6,
                               max_iter=10_000).fit(Xa, ya)
    exact = SkLogisticRegression(solver="newton-cholesky", tol=1e-12).fit(X, y)
    for name in ("coef_", "intercept_", "classes_", "n_iter_"):
        same_kind(getattr(model, name), Xa)
    assert model.coef_.dtype == Xa.dtype and model.intercept_.dtype == Xa.dtype
    assert model.classes_.dtype == ya.dtype
    # float32 data stop at tol 1e-6: coefficients to about 1e-4 of the float64 optimum
    rtol, atol = (1e-5, 1e-7) if "64" in library else (1e-3, 1e-4)
    coef = np.asarray(backend.to_numpy(model.coef_))
    np.testing.assert_allclose(coef, exact.coef_, rtol=rtol, atol=atol)
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        out = getattr(model, method)(Xa)
        same_kind(out, Xa)
        np.testing.assert_allclose(backend.to_numpy(out), getattr(exact, method)(X),
                                   rtol=10 * rtol, atol=1e-4 if "32" in library else 1e-6)
    assert isinstance(model.score(Xa, ya), float)
    with pytest.raises(ValueError, match="must use the same namespace"):
        model.predict(X)  # a NumPy X for a model fitted on another library


@pytest.mark.parametrize("library", ["torch-float64", "strict-float32-device1"])
@pytest.mark.parametrize("data", sorted(DATA))
def test_dispatch_in_the_cv(dispatch, library, data):
    X, y = DATA[data]
    Xa, ya = LIBRARIES[library](X), LIBRARIES[library](y)
    params = dict(Cs=3, cv=3, l1_ratios=(0,), scoring="accuracy", use_legacy_attributes=False,
                  tol=1e-10 if "64" in library else 1e-5, max_iter=10_000)
    model = LogisticRegressionCV(**params).fit(Xa, ya)
    with sklearn.config_context(array_api_dispatch=False):
        reference = LogisticRegressionCV(**params).fit(X, y)
    for name in ("coef_", "intercept_", "classes_", "n_iter_", "Cs_", "scores_",
                 "coefs_paths_", "l1_ratios_"):
        same_kind(getattr(model, name), Xa)
    assert model.C_ == reference.C_
    # both refits within what their stopping rule guarantees of the optimum (float32 data
    # stop at tol 1e-5; at C = 1e4 the objective is nearly flat, so that can be far)
    host = SimpleNamespace(coef_=backend.to_numpy(model.coef_), fit_intercept=True,
                           intercept_=backend.to_numpy(model.intercept_),
                           grad_max_=model.grad_max_)
    bound = sum(optimum_radius(m, X, y, C=float(reference.C_)) for m in (host, reference))
    assert np.abs(fitted_vector(host) - fitted_vector(reference)).max() <= bound
    same_kind(model.predict_proba(Xa), Xa)


def test_without_dispatch_scikit_learns_convention():
    """Host tensors are read as NumPy (no copy), results are NumPy; a CUDA tensor is an
    error that says what to do."""
    X, y = DATA["binary"]
    model = LogisticRegression(tol=1e-10).fit(torch.asarray(X), torch.asarray(y))
    assert isinstance(model.coef_, np.ndarray)
    np.testing.assert_array_equal(model.coef_, LogisticRegression(tol=1e-10).fit(X, y).coef_)
    assert isinstance(model.predict_proba(torch.asarray(X)), np.ndarray)

    class CudaTensor:  # what the boundary reads of a CUDA tensor: its DLPack device
        shape, device = (3, 2), "cuda:0"

        def __dlpack__(self, **kwargs):
            raise AssertionError("must not be read")

        def __dlpack_device__(self):
            return (2, 0)

    with pytest.raises(TypeError, match=r"X is a .* array on cuda:0: enable scikit-learn's "
                                        r"array API dispatch .* or pass CuPy arrays"):
        LogisticRegression().fit(CudaTensor(), np.array([0, 1, 0]))


def test_x_is_never_copied_on_the_way_in(dispatch):
    """DLPack shares memory: the array the fit computes on is the tensor's own buffer, and a
    fit allocates far less than X (a copy would show in tracemalloc: NumPy memory)."""
    X, y = DATA["binary"]
    big = np.tile(np.repeat(X, 40, axis=0), 10)  # 100 columns: X dwarfs the O(n) vectors
    Xt = torch.asarray(big)
    inner = boundary.Boundary(X=Xt).inward(Xt)
    assert inner.__array_interface__["data"][0] == Xt.data_ptr()
    Xs = strict.asarray(big)
    assert np.shares_memory(boundary.Boundary(X=Xs).inward(Xs), np.from_dlpack(Xs))
    labels = torch.asarray(np.repeat(y, 40))
    LogisticRegression(max_iter=3).fit(Xt, labels)  # warm up imports and caches
    tracemalloc.start()
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            LogisticRegression(max_iter=3).fit(Xt, labels)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < big.nbytes / 2


def test_y_and_weights_follow_x(dispatch):
    """As in scikit-learn 1.9: y and sample_weight of another library are brought to X's."""
    X, y = DATA["binary"]
    s = np.linspace(0.5, 2, len(y))
    Xt = torch.asarray(X)
    model = LogisticRegression(tol=1e-10).fit(Xt, strict.asarray(y),
                                             sample_weight=strict.asarray(s))
    same_kind(model.coef_, Xt)
    reference = LogisticRegression(tol=1e-10).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(model.coef_.numpy(), reference.coef_, rtol=1e-12)


def test_functional_api_in_and_out(dispatch):
    X, y = DATA["binary"]
    w = np.linspace(-0.5, 0.5, X.shape[1])
    Xt, yt, wt = torch.asarray(X), torch.asarray(y.astype(np.float64)), torch.asarray(w)
    f, g_w, g_b = gpulogreg.loss_gradient(Xt, yt, wt, 0.1, C=2.0)
    same_kind(g_w, Xt)
    f_ref, g_ref, g_b_ref = gpulogreg.loss_gradient(X, y.astype(float), w, 0.1, C=2.0)
    assert f == f_ref and g_b == g_b_ref
    np.testing.assert_array_equal(g_w.numpy(), g_ref)
    hv, _ = gpulogreg.hessp(Xt, yt, wt, 0.1, wt)
    new_w, _, _ = gpulogreg.gradient_step(Xt, yt, wt, 0.1, learning_rate=0.1)
    same_kind(hv, Xt)
    same_kind(new_w, Xt)


@pytest.mark.gpu
def test_torch_cuda_reaches_cupy_without_a_copy(cp, dispatch):
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    X, y = DATA["3-class"]
    Xt = torch.asarray(X, device="cuda")
    yt = torch.asarray(y, device="cuda")
    inner = boundary.Boundary(X=Xt).inward(Xt)
    assert isinstance(inner, cp.ndarray) and inner.data.ptr == Xt.data_ptr()
    model = LogisticRegression(tol=1e-10).fit(Xt, yt)
    for name in ("coef_", "intercept_", "classes_"):
        same_kind(getattr(model, name), Xt)
    same_kind(model.predict_proba(Xt), Xt)
    reference = LogisticRegression(tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_.cpu().numpy(), reference.coef_, rtol=1e-6,
                               atol=1e-9)
