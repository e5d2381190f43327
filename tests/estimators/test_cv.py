"""LogisticRegressionCV against scikit-learn's: the same splits choose the same C_, with the
same scores, paths and final model; scikit-learn's attribute layouts; every fold and C in
one model batch (never a copy of X)."""

import warnings

import numpy as np
import pytest
import sklearn
from helpers import backend, dataset, sklearn_cv_fit
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from gpulogreg import LogisticRegressionCV

DATA = {name: dataset(name) for name in ("breast_cancer", "iris", "wine")}
# a grid where every problem is well conditioned: tol pins the coefficients to ~1e-9
CS = np.logspace(-3, 2, 6)
EXACT = {"tol": 1e-11, "max_iter": 10_000, "l1_ratios": (0,), "use_legacy_attributes": False}


def fit_both(X, y, sample_weight=None, solver="lbfgs", **params):
    params = {**EXACT, "Cs": CS, **params}
    sk = sklearn_cv_fit(X, y, sample_weight, solver="newton-cholesky", **params)
    ours = LogisticRegressionCV(solver=solver, **params).fit(X, y, sample_weight=sample_weight)
    return sk, ours


def assert_same(sk, ours, X, coef_rtol=1e-5):
    assert ours.C_ == sk.C_
    np.testing.assert_allclose(ours.scores_, sk.scores_, rtol=0, atol=1e-6)
    assert ours.coefs_paths_.shape == sk.coefs_paths_.shape
    np.testing.assert_allclose(ours.coefs_paths_, sk.coefs_paths_, rtol=coef_rtol, atol=1e-7)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=coef_rtol, atol=1e-7)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=coef_rtol, atol=1e-7)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-7)
    assert ours.n_iter_.shape == sk.n_iter_.shape


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-cholesky"])
@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("scoring", ["neg_log_loss", "accuracy"])
def test_same_choice_scores_and_model_as_sklearn(name, scoring, solver):
    X, y = DATA[name]
    sk, ours = fit_both(X, y, solver=solver, scoring=scoring)
    assert_same(sk, ours, X)


@pytest.mark.parametrize("refit", [True, False])
def test_weights_class_weights_and_refit(refit):
    X, y = DATA["wine"]
    s = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    sk, ours = fit_both(X, y, sample_weight=s, class_weight="balanced", refit=refit,
                        scoring="neg_log_loss")
    assert_same(sk, ours, X)


def test_custom_splitter_groups_and_no_intercept():
    X, y = DATA["breast_cancer"]
    groups = np.arange(len(y)) % 7
    splits = list(GroupKFold(3).split(X, y, groups))
    sk, ours = fit_both(X, y, cv=splits, scoring="roc_auc", fit_intercept=False)
    assert_same(sk, ours, X)
    # fit's extra arguments are routed to the splitter, as scikit-learn routes them (which
    # needs metadata routing on): the same folds from GroupKFold itself
    with sklearn.config_context(enable_metadata_routing=True):
        grouped = LogisticRegressionCV(Cs=CS, cv=GroupKFold(3), scoring="roc_auc",
                                       fit_intercept=False, **EXACT).fit(X, y, groups=groups)
    np.testing.assert_array_equal(grouped.scores_, ours.scores_)
    sk, ours = fit_both(X, y, cv=KFold(4, shuffle=True, random_state=0), scoring="neg_brier_score")
    assert_same(sk, ours, X)


def test_legacy_attributes_have_sklearn_shapes():
    for name in ("breast_cancer", "iris"):
        X, y = DATA[name]
        for l1_ratios in ((0,), None):
            params = {"Cs": 3, "cv": 3, "scoring": "accuracy", "l1_ratios": l1_ratios,
                      "use_legacy_attributes": True}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sk = SkLogisticRegressionCV(**params).fit(X, y)
                ours = LogisticRegressionCV(**params).fit(X, y)
            assert list(ours.coefs_paths_) == list(sk.coefs_paths_)
            for key in sk.coefs_paths_:
                assert ours.coefs_paths_[key].shape == sk.coefs_paths_[key].shape
                assert ours.scores_[key].shape == sk.scores_[key].shape
            assert ours.C_.shape == sk.C_.shape and ours.n_iter_.shape == sk.n_iter_.shape
            assert ours.l1_ratio_.shape == sk.l1_ratio_.shape
            np.testing.assert_array_equal(ours.Cs_, sk.Cs_)


def test_defaults_warn_as_sklearn_and_l1_needs_an_l1_solver():
    X, y = DATA["iris"]
    with pytest.warns(FutureWarning) as record:
        LogisticRegressionCV(Cs=2, cv=2).fit(X, y)
    messages = [str(w.message) for w in record]
    for start in ("The default value for l1_ratios", "The default value of the parameter "
                  "'scoring'", "The fitted attributes of LogisticRegressionCV"):
        assert any(m.startswith(start) for m in messages), (start, messages)
    with pytest.raises(ValueError, match="Solver lbfgs supports only 'l2' or None penalties, "
                                         "got elasticnet penalty"):
        LogisticRegressionCV(l1_ratios=(0.5,), **{k: v for k, v in EXACT.items()
                                                if k != "l1_ratios"}).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratios must be an array-like of numbers between "
                                         "0 and 1"):
        LogisticRegressionCV(l1_ratios=(0.5, 2), solver="saga").fit(X, y)
    with pytest.raises(ValueError, match="are not in class_weight"):
        LogisticRegressionCV(class_weight={7: 1.0}, scoring="accuracy", **EXACT).fit(X, y)


def test_callable_scoring_sees_test_row_indices():
    """A callable scorer gets each fold's test-row indices in place of X[test], and the
    estimator it is handed predicts any of those rows."""
    X, y = DATA["breast_cancer"]
    seen = []

    def scorer(estimator, rows, y_true):
        seen.append(len(rows))
        half = rows[: len(rows) // 2]
        np.testing.assert_array_equal(estimator.predict(rows)[: len(half)],
                                      estimator.predict(half))
        return float((estimator.predict(rows) == y_true).mean())

    grid = {"Cs": np.logspace(-2, 1, 3), "cv": 4, **EXACT}
    model = LogisticRegressionCV(scoring=scorer, **grid).fit(X, y)
    assert sum(seen) == 3 * len(y)
    plain = LogisticRegressionCV(scoring="accuracy", **grid).fit(X, y)
    np.testing.assert_array_equal(model.scores_, plain.scores_)
    assert model.score(X, y) == plain.score(X, y)  # score() hands the scorer the real X


def test_no_penalty_grid():
    X, y = DATA["wine"]
    model = LogisticRegressionCV(Cs=[np.inf], cv=3, scoring="neg_log_loss", **EXACT).fit(X, y)
    assert model.C_ == np.inf
    np.testing.assert_allclose(model.intercept_.sum(), 0, atol=1e-10)


def x_library_of_array_api_check(check):
    """For scikit-learn's array API input checks, the library X is given in; else None."""
    name = getattr(getattr(check, "func", check), "__name__", "")
    keywords = getattr(check, "keywords", {})
    if name == "check_array_api_input":
        return keywords["array_namespace"]
    if name == "check_array_api_mixed_inputs":
        return keywords["X_ns_and_device"].xp
    return None


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.DataConversionWarning")
@parametrize_with_checks([LogisticRegressionCV(Cs=3, cv=3),
                          LogisticRegressionCV(Cs=3, cv=3, l1_ratios=(0,))])
def test_sklearn_compatible(estimator, check, request):
    """scikit-learn's estimator checks. With the deprecated default l1_ratios (None once its
    warning is out), l1_ratios_ is [None], an object array no other array library holds,
    while the array API checks want every array attribute in X's library: those checks fail
    for an X of another library than NumPy (a strict xfail: one that passes is an error)."""
    library = x_library_of_array_api_check(check)
    if estimator.l1_ratios != (0,) and library not in (None, "numpy"):
        request.applymarker(pytest.mark.xfail(
            strict=True, reason=f"l1_ratios_ is [None], which {library} cannot hold"))
    check(estimator)


@pytest.mark.gpu
def test_cupy_equals_numpy(cp):
    X, y = DATA["wine"]
    ours = LogisticRegressionCV(Cs=CS, scoring="neg_log_loss", **EXACT).fit(X, y)
    gpu = LogisticRegressionCV(Cs=CS, scoring="neg_log_loss", **EXACT).fit(cp.asarray(X),
                                                                           cp.asarray(y))
    assert gpu.C_ == ours.C_
    np.testing.assert_allclose(gpu.scores_, ours.scores_, atol=1e-9)
    np.testing.assert_allclose(backend.to_numpy(gpu.coef_), ours.coef_, rtol=1e-7, atol=1e-9)


def test_cv_as_boolean_masks_equals_cv_as_indices():
    """scikit-learn accepts (train, test) pairs as index arrays or boolean masks; both choose
    the same C_ with the same scores (and match scikit-learn's own fit on the masks)."""
    X, y = DATA["iris"]
    splits = list(KFold(3, shuffle=True, random_state=0).split(X, y))
    n = len(y)
    masks = [(np.isin(np.arange(n), train), np.isin(np.arange(n), test))
             for train, test in splits]
    by_index = LogisticRegressionCV(Cs=CS, cv=splits, **EXACT).fit(X, y)
    by_mask = LogisticRegressionCV(Cs=CS, cv=masks, **EXACT).fit(X, y)
    assert by_mask.C_ == by_index.C_
    np.testing.assert_array_equal(by_mask.scores_, by_index.scores_)
    sk, _ = fit_both(X, y, cv=masks)
    np.testing.assert_allclose(by_mask.scores_, sk.scores_, atol=1e-6)


@pytest.mark.parametrize("cv, match", [
    ([(np.ones(5, bool), np.ones(5, bool))], "boolean training mask of shape"),
    ([(np.arange(100), np.array([0.5, 1.5]))], "cv must give test rows as 1-D integer"),
    ([(np.arange(100), np.array([10_000]))], "test row indices outside"),
])
def test_bad_cv_splits_are_clear_errors(cv, match):
    X, y = DATA["iris"]
    with pytest.raises(ValueError, match=match):
        LogisticRegressionCV(cv=cv, **EXACT).fit(X, y)


@pytest.mark.parametrize("Cs, error, match", [
    ([], ValueError, r"Cs must be an int or a non-empty 1-D list"),
    ([0.0, 1.0], ValueError, "Cs must hold positive numbers"),
    ([np.nan], ValueError, "Cs must hold positive numbers"),
    ([-1.0], ValueError, "Cs must hold positive numbers"),
    ([[0.1, 1.0]], ValueError, r"non-empty 1-D list of positive numbers; got shape \(1, 2\)"),
    (["a", "b"], TypeError, "Cs must be an int or a 1-D list of positive numbers"),
    ([1 + 1j], TypeError, "Cs must be an int or a 1-D list"),
])
def test_bad_Cs_are_clear_errors(Cs, error, match):
    X, y = DATA["iris"]
    with pytest.raises(error, match=match):
        LogisticRegressionCV(Cs=Cs, **EXACT).fit(X, y)
    assert LogisticRegressionCV(Cs=[np.inf], **EXACT).fit(X, y).C_ == np.inf


# Cs where scikit-learn's saga does reach the optimum (scores agree to ~1e-9 then), unlike
# C = 0.01, where its intercepts stop short (objective 6e-8 above ours, scores 1e-2 apart),
# or C = 10, where it runs 10^5 epochs
L1_GRID = {"Cs": (0.1, 1.0), "tol": 1e-10, "max_iter": 100_000, "scoring": "neg_log_loss",
           "cv": 3}
L1_DATA = {"breast_cancer": DATA["breast_cancer"][0][:, :10], "wine": DATA["wine"][0]}


def sklearn_saga_cv(X, y, legacy, refit=True, **params):
    """scikit-learn's LogisticRegressionCV run to its optimum: saga, tight tol."""
    return sklearn_cv_fit(X, y, solver="saga", use_legacy_attributes=legacy, refit=refit,
                          **L1_GRID, **params)


@pytest.mark.parametrize("name", ["breast_cancer", "wine"])
@pytest.mark.parametrize("legacy", [False, True])
def test_l1_ratio_grid_chooses_sklearns_C_and_l1_ratio(name, legacy):
    """An elastic-net grid: every (C, l1_ratio, fold) in one model batch (owlqn), the same
    C_, l1_ratio_ as scikit-learn's with the same splits, scores within 1e-6, every
    attribute in scikit-learn's shape in both layouts."""
    X, y = L1_DATA[name], DATA[name][1]
    ratios = (0.0, 0.5, 1.0)
    sk = sklearn_saga_cv(X, y, legacy, l1_ratios=ratios)
    ours = LogisticRegressionCV(solver="saga", use_legacy_attributes=legacy, l1_ratios=ratios,
                                **L1_GRID).fit(X, y)
    assert np.all(ours.C_ == sk.C_) and np.all(ours.l1_ratio_ == sk.l1_ratio_)
    np.testing.assert_array_equal(ours.l1_ratios_, sk.l1_ratios_)
    if legacy:
        assert list(ours.coefs_paths_) == list(sk.coefs_paths_)
        for key in sk.coefs_paths_:
            assert ours.coefs_paths_[key].shape == sk.coefs_paths_[key].shape
            np.testing.assert_allclose(ours.scores_[key], sk.scores_[key], atol=1e-6)
        assert ours.n_iter_.shape == sk.n_iter_.shape
    else:
        assert ours.coefs_paths_.shape == sk.coefs_paths_.shape
        np.testing.assert_allclose(ours.scores_, sk.scores_, atol=1e-6)
        np.testing.assert_allclose(ours.coefs_paths_, sk.coefs_paths_, rtol=1e-4, atol=1e-5)
        assert ours.n_iter_.shape == sk.n_iter_.shape
        assert isinstance(ours.C_, float) and isinstance(ours.l1_ratio_, float)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ours.coef_ == 0, sk.coef_ == 0)


def test_l1_ratio_grid_without_refit_and_pure_l1():
    X, y = L1_DATA["breast_cancer"], DATA["breast_cancer"][1]
    ratios = np.array([0.2, 0.8])  # an array: scikit-learn indexes it with an array here
    sk = sklearn_saga_cv(X, y, False, refit=False, l1_ratios=ratios)
    ours = LogisticRegressionCV(solver="saga", use_legacy_attributes=False, refit=False,
                                l1_ratios=ratios, **L1_GRID).fit(X, y)
    assert ours.C_ == pytest.approx(sk.C_) and ours.l1_ratio_ == pytest.approx(sk.l1_ratio_)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-4, atol=1e-5)
    sk = sklearn_saga_cv(X, y, False, l1_ratios=(1,))
    ours = LogisticRegressionCV(solver="saga", use_legacy_attributes=False, l1_ratios=(1,),
                                **L1_GRID).fit(X, y)
    assert ours.C_ == sk.C_ and ours.l1_ratio_ == sk.l1_ratio_ == 1.0
    np.testing.assert_array_equal(ours.coef_ == 0, sk.coef_ == 0)


@pytest.mark.parametrize("solver", ["liblinear", "sag", "newton-cg", "newton-cholesky"])
def test_every_solver_name_in_the_cv(solver):
    """scikit-learn's solver names run in the CV too (liblinear with its own objective)."""
    X, y = L1_DATA["breast_cancer"], DATA["breast_cancer"][1]
    params = {**L1_GRID, "scoring": "accuracy", "l1_ratios": (0,),
              "use_legacy_attributes": False}
    sk = sklearn_cv_fit(X, y, solver=solver, **{**params, "tol": 1e-10})
    ours = LogisticRegressionCV(solver=solver, **params).fit(X, y)
    assert ours.C_ == sk.C_
    np.testing.assert_allclose(ours.scores_, sk.scores_, atol=1e-6)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-4, atol=1e-5)


def test_each_C_starts_from_the_C_before():
    """The folds' fits follow the path of Cs, warm-started as in scikit-learn: between two
    large Cs the solution barely moves, so the second needs no iteration at tol 1e-4 (from
    zeros it needs several)."""
    X, y = make_classification(n_samples=2000, n_features=5, random_state=0)
    cv = LogisticRegressionCV(Cs=[1e4, 1e5], cv=3, l1_ratios=(0,), scoring="accuracy",
                              use_legacy_attributes=False, tol=1e-4).fit(X, y)
    assert np.all(cv.n_iter_[:, 0, 0] >= 5) and np.all(cv.n_iter_[:, 0, 1] == 0)


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy_without_the_scorer_is_the_scorers(weighted):
    """Accuracy (the default scoring) is computed directly from each model's predictions:
    exactly the scores scikit-learn's accuracy scorer gives, weighted or not, string labels
    and three classes included."""
    from sklearn.metrics import accuracy_score, make_scorer

    X, y = dataset("wine")
    y = np.array(["a", "b", "c"])[y]
    s = np.random.default_rng(0).uniform(0.5, 2, size=len(y)) if weighted else None
    common = dict(Cs=4, cv=3, l1_ratios=(0,), use_legacy_attributes=False)
    fast = LogisticRegressionCV(scoring="accuracy", **common).fit(X, y, sample_weight=s)
    slow = LogisticRegressionCV(scoring=make_scorer(accuracy_score), **common).fit(
        X, y, sample_weight=s)
    np.testing.assert_array_equal(fast.scores_, slow.scores_)
    assert len(np.unique(fast.scores_)) > 1  # the grid's models differ in accuracy
