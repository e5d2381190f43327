"""scikit-learn's LogisticRegression parameters: every one is accepted and behaves as in
scikit-learn; every solver name and every penalty it accepts give scikit-learn's
coefficients (and zero patterns for L1), with sample and class weights; scikit-learn's
errors and warnings word for word."""

import warnings

import numpy as np
import pytest
from helpers import dataset, sklearn_fit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from gpulogreg import LogisticRegression


def _data():
    out = {}
    # few enough features that the unpenalised problem has an optimum too (not separable)
    for name, d in (("breast_cancer", 8), ("wine", 5)):
        X, y = dataset(name)
        out[name] = X[:, :d], y
    return out


DATA = _data()
WEIGHTS = {
    "unweighted": {},
    "sample_weight": {"sample_weight": "uniform"},
    "class_weight": {"class_weight": "balanced"},
}
# scikit-learn's solver names and the penalties each accepts (l1_ratio; C=inf: none)
PENALTIES = {"l2": {"C": 0.3}, "none": {"C": np.inf}, "l1": {"C": 0.3, "l1_ratio": 1.0},
             "elasticnet": {"C": 0.3, "l1_ratio": 0.5}}
ACCEPTS = {"lbfgs": ("l2", "none"), "newton-cg": ("l2", "none"),
           "newton-cholesky": ("l2", "none"), "sag": ("l2", "none"),
           "saga": ("l2", "none", "l1", "elasticnet"), "liblinear": ("l2", "l1")}
CASES = [(solver, penalty, data, weights) for solver, penalties in ACCEPTS.items()
         for penalty in penalties for data in DATA for weights in WEIGHTS
         if not (solver == "liblinear" and data == "wine")]  # liblinear: binary only
_REFERENCES = {}


def fit_kwargs(data, weights):
    X, y = DATA[data]
    kwargs = dict(WEIGHTS[weights])
    if kwargs.get("sample_weight") == "uniform":
        kwargs["sample_weight"] = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    sample_weight = kwargs.pop("sample_weight", None)
    return X, y, sample_weight, kwargs


def reference(solver, penalty, data, weights):
    """scikit-learn run to its exact optimum: its liblinear for liblinear's objective, its
    newton-cholesky for the smooth ones, saga run long for L1 and elastic-net."""
    objective = "liblinear" if solver == "liblinear" else \
        "saga" if penalty in ("l1", "elasticnet") else "newton-cholesky"
    key = (objective, penalty, data, weights)
    if key not in _REFERENCES:
        X, y, s, kwargs = fit_kwargs(data, weights)
        _REFERENCES[key] = sklearn_fit(X, y, s, solver=objective,
                                       tol=1e-12 if objective != "saga" else 1e-10,
                                       max_iter=1_000_000, **PENALTIES[penalty], **kwargs)
    return _REFERENCES[key]


@pytest.mark.parametrize("solver, penalty, data, weights", CASES,
                         ids=["-".join(case) for case in CASES])
def test_every_solver_name_and_penalty_gives_scikit_learns_coefficients(solver, penalty, data,
                                                                        weights):
    X, y, s, kwargs = fit_kwargs(data, weights)
    ours = LogisticRegression(solver=solver, tol=1e-10, max_iter=100_000,
                              **PENALTIES[penalty], **kwargs).fit(X, y, sample_weight=s)
    exact = reference(solver, penalty, data, weights)
    atol = 1e-6 * np.abs(exact.coef_).max()  # scikit-learn's own stopping leaves about this
    np.testing.assert_allclose(ours.coef_, exact.coef_, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(ours.intercept_, exact.intercept_, rtol=1e-5, atol=atol)
    if penalty in ("l1", "elasticnet"):
        np.testing.assert_array_equal(ours.coef_ == 0, exact.coef_ == 0)


def fit_outcome(cls, params, *fit_args):
    """What ``cls(**params).fit(*fit_args)`` raises and warns: ``(the exception or None,
    [(warning category, message), ...])``."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            cls(**params).fit(*fit_args)
            error = None
        except Exception as exc:  # noqa: BLE001 - the point is to compare what is raised
            error = exc
    return error, [(w.category, str(w.message)) for w in seen]


X_BIN, Y_BIN = DATA["breast_cancer"]
X_MULTI, Y_MULTI = DATA["wine"]


@pytest.mark.parametrize("params, multiclass", [
    ({"solver": "liblinear", "l1_ratio": 1, "dual": True}, False),
    ({"solver": "liblinear", "C": np.inf}, False),
    ({"solver": "liblinear"}, True),
    ({"solver": "liblinear", "l1_ratio": 0.5}, False),
    ({"solver": "lbfgs", "dual": True}, False),
    ({"solver": "newton-cg", "l1_ratio": 1}, False),
], ids=["liblinear-l1-dual", "liblinear-no-penalty", "liblinear-multiclass",
        "liblinear-elasticnet", "lbfgs-dual", "newton-cg-l1"])
def test_errors_are_scikit_learns(params, multiclass):
    X, y = (X_MULTI, Y_MULTI) if multiclass else (X_BIN, Y_BIN)
    sk_error, _ = fit_outcome(SkLogisticRegression, params, X, y)
    assert isinstance(sk_error, ValueError), sk_error
    with pytest.raises(ValueError) as caught:
        LogisticRegression(**params).fit(X, y)
    assert str(caught.value).startswith(str(sk_error).split(" Use solver=")[0])


@pytest.mark.parametrize("params", [
    {"penalty": "l2", "l1_ratio": 0.5},
    {"penalty": "l1", "l1_ratio": 0.5, "solver": "liblinear"},
    {"solver": "sag", "max_iter": 1},
    {"solver": "saga", "max_iter": 1},
    {"solver": "saga", "max_iter": 1, "l1_ratio": 1},
    {"solver": "newton-cg", "max_iter": 1},
    {"solver": "newton-cholesky", "max_iter": 1},
    {"solver": "liblinear", "max_iter": 1},
    {"solver": "lbfgs", "max_iter": 1},
], ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
def test_warnings_are_scikit_learns(params):
    """The same warnings, in the same order; a convergence warning starts with scikit-learn's
    text (the numbers in it are each solver's own) and then says how far we got."""
    texts = {}
    for cls in (SkLogisticRegression, LogisticRegression):
        error, seen = fit_outcome(cls, params, X_BIN, Y_BIN)
        assert error is None or isinstance(error, ValueError), error
        texts[cls] = [message for category, message in seen if issubclass(
            category, (ConvergenceWarning, UserWarning, FutureWarning))]
    sk_texts, ours = texts[SkLogisticRegression], texts[LogisticRegression]
    assert len(ours) == len(sk_texts), (ours, sk_texts)
    for mine, theirs in zip(ours, sk_texts):
        stem = theirs.split(" at loss = ")[0].split(" after ")[0].split(" (status=")[0]
        assert mine.startswith(stem), (mine, theirs)


def test_liblinear_takes_sparse_x_with_64_bit_indices():
    """scikit-learn's liblinear refuses these only because of its C library; ours fits them,
    to the coefficients of the same matrix with 32-bit indices."""
    import scipy.sparse as sp

    X = sp.csr_matrix(X_BIN)
    wide = X.copy()
    wide.indices, wide.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    assert wide.indices.dtype == np.int64
    with pytest.raises(ValueError, match="32-bit integer indices"):
        SkLogisticRegression(solver="liblinear").fit(wide, Y_BIN)
    ours = LogisticRegression(solver="liblinear", tol=1e-10).fit(wide, Y_BIN)
    narrow = LogisticRegression(solver="liblinear", tol=1e-10).fit(X, Y_BIN)
    np.testing.assert_allclose(ours.coef_, narrow.coef_, rtol=1e-8, atol=1e-10)


def test_every_scikit_learn_parameter_is_accepted():
    ours = set(LogisticRegression().get_params())
    assert set(SkLogisticRegression().get_params()) <= ours


@pytest.mark.parametrize("params", [
    {"random_state": 0}, {"intercept_scaling": 3.0}, {"class_weight": "balanced"},
    {"class_weight": {0: 3.0}}, {"max_iter": 0}, {"l1_ratio": 0.0}, {"dual": False},
])
def test_parameters_behave_as_in_scikit_learn(cancer, params):
    X, y = cancer
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = LogisticRegression(tol=1e-10, **params).fit(X, y, sample_weight=weights)
        sk = SkLogisticRegression(tol=1e-10, solver="newton-cholesky", **params).fit(
            X, y, sample_weight=weights)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=1e-5, atol=1e-8)


X_SMALL = np.random.default_rng(1).normal(size=(20, 3))
Y_SMALL = np.arange(20) % 2


SAME_AS_SKLEARN = [
    # (id, params, fit args, what must agree: "error" or a warning category; prefix of text)
    ("invalid solver", {"solver": "evil"}, (X_SMALL, Y_SMALL), "error",
     "The 'solver' parameter of LogisticRegression must be a str among"),
    ("invalid C", {"C": -5}, (X_SMALL, Y_SMALL), "error",
     "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]."),
    ("inconsistent samples", {}, (X_SMALL, Y_SMALL[:5]), "error",
     "Found input variables with inconsistent numbers of samples: [20, 5]"),
    ("dual", {"dual": True}, (X_SMALL, Y_SMALL), "error",
     "Solver lbfgs supports only dual=False, got dual=True"),
    ("elastic-net", {"l1_ratio": 0.5}, (X_SMALL, Y_SMALL), "error",
     "Solver lbfgs supports only 'l2' or None penalties, got elasticnet penalty."),
    ("penalty deprecated", {"penalty": "l2"}, (X_SMALL, Y_SMALL), FutureWarning,
     "'penalty' was deprecated in version 1.8 and will be removed in 1.10."),
    ("penalty None with C", {"penalty": None, "C": 2.0}, (X_SMALL, Y_SMALL), UserWarning,
     "Setting penalty=None will ignore the C and l1_ratio parameters"),
    ("n_jobs", {"n_jobs": 2}, (X_SMALL, Y_SMALL), FutureWarning, "'n_jobs' has no effect"),
    ("max_iter", {"max_iter": 1}, (X_SMALL, Y_SMALL), ConvergenceWarning,
     "lbfgs failed to converge after 1 iteration(s)"),
]


@pytest.mark.parametrize("params, fit_args, kind, prefix", [c[1:] for c in SAME_AS_SKLEARN],
                         ids=[c[0] for c in SAME_AS_SKLEARN])
def test_errors_and_warnings_read_as_scikit_learns(params, fit_args, kind, prefix):
    ours = fit_outcome(LogisticRegression, params, *fit_args)
    theirs = fit_outcome(SkLogisticRegression, params, *fit_args)
    for error, seen in (ours, theirs):
        if kind == "error":
            assert isinstance(error, ValueError), error
            assert str(error).startswith(prefix), error
        else:
            assert any(issubclass(c, kind) and m.startswith(prefix) for c, m in seen), seen
    if kind == "error":
        assert type(ours[0]) is type(theirs[0])  # the same class (sklearn's InvalidParameterError)
    if kind is ConvergenceWarning:
        assert all("Increase the number of iterations" in m for c, m in ours[1] + theirs[1]
                   if c is ConvergenceWarning)
