"""scikit-learn 1.9's callbacks (sklearn.callback): set_callbacks on both estimators, one
root task per fit, a subtask per solver iteration whose fitted_estimator predicts with that
iteration's coefficients, a task per fold and C in the CV; ProgressBar draws."""

import warnings

import numpy as np
import pytest
from helpers import dataset
from sklearn.datasets import load_iris

from gpulogreg import LogisticRegression, LogisticRegressionCV

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9: no callbacks")


X_BIN, Y_BIN = dataset("breast_cancer")
X_MULTI, Y_MULTI = load_iris(return_X_y=True)  # not standardized


class Recorder:
    """A FitCallback that records every hook: (hook, task name, depth, the fitted
    estimator's decision values on the first rows, or None)."""

    def __init__(self, X):
        self.X, self.events = X[:5], []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name, 0, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name, 0, None))

    def _record(self, hook, context, fitted_estimator):
        depth, parent = 0, context
        while getattr(parent, "parent", None) is not None:
            depth, parent = depth + 1, parent.parent
        values = None if fitted_estimator is None else \
            np.asarray(fitted_estimator.decision_function(self.X))
        self.events.append((hook, context.task_name, depth, values))

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        self._record("begin", context, fitted_estimator)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self._record("end", context, fitted_estimator)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-cholesky", "gd", "owlqn",
                                    "saga", "sag", "liblinear"])
@pytest.mark.parametrize("multiclass", [False, True])
def test_every_solver_reports_each_iteration(solver, multiclass):
    if solver == "liblinear" and multiclass:
        pytest.skip("liblinear is binary only")
    X, y = (X_MULTI, Y_MULTI) if multiclass else (X_BIN, Y_BIN)
    recorder = Recorder(X)
    params = {"l1_ratio": 0.5} if solver in ("owlqn", "saga") else {}
    model = LogisticRegression(solver=solver, max_iter=50, **params)
    assert model.set_callbacks(recorder) is model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=50 may stop before tol: that is fine here
        model.fit(X, y)
    events = recorder.events
    assert events[0][:2] == ("setup", "fit") and events[-1][:2] == ("teardown", "fit")
    assert events[1][:3] == ("begin", "fit", 0) and events[-2][:3] == ("end", "fit", 0)
    iterations = [e for e in events if e[1] == "iteration"]
    # as scikit-learn's lbfgs: a task per iteration, begun at the point it starts from and
    # ended at the one it reaches, then one begun for an iteration that does not run, ended
    # empty
    n = model.n_iter_[0]
    assert len(iterations) == 2 * (n + 1) and n > 0
    assert all(e[2] == 1 for e in iterations)
    assert [e[0] for e in iterations] == ["begin", "end"] * (n + 1)
    assert iterations[-1][3] is None  # the empty task's end
    # the last iteration's model is the fitted one; the first predicts differently
    np.testing.assert_allclose(iterations[-3][3], model.decision_function(X[:5]), rtol=1e-12)
    np.testing.assert_allclose(iterations[-2][3], model.decision_function(X[:5]), rtol=1e-12)
    np.testing.assert_allclose(events[-2][3], model.decision_function(X[:5]), rtol=1e-12)
    if n > 1:
        assert not np.allclose(iterations[1][3], iterations[-3][3])


def test_the_cv_reports_every_fold_and_C_and_the_refit():
    recorder = Recorder(X_BIN)
    model = LogisticRegressionCV(Cs=3, cv=2, l1_ratios=(0.0, 0.5), solver="saga",
                                 scoring="accuracy", use_legacy_attributes=False)
    model.set_callbacks(recorder).fit(X_BIN, Y_BIN)
    tasks = [e[1] for e in recorder.events if e[0] == "begin" and e[2] == 1]
    assert len(tasks) == 2 * 2 * 3 + 1 and tasks[-1] == "refit"
    assert tasks[0] == "fold 0, l1_ratio 0.0, C 0.0001"
    ends = [e for e in recorder.events if e[0] == "end" and e[2] == 1 and e[1] != "refit"]
    assert len(ends) == 12 and all(e[3] is not None for e in ends)
    iterations = [e for e in recorder.events if e[1] == "iteration"]
    assert iterations and all(e[2] == 2 for e in iterations)
    np.testing.assert_allclose(recorder.events[-2][3], model.decision_function(X_BIN[:5]),
                               rtol=1e-12)


def test_progress_bar_draws_for_a_fit_and_a_cv(capsys):
    pytest.importorskip("rich", reason="ProgressBar needs rich: pip install 'gpulogreg[progress]'")
    from sklearn.callback import ProgressBar

    LogisticRegression(max_iter=200).set_callbacks(ProgressBar()).fit(X_BIN, Y_BIN)
    LogisticRegressionCV(Cs=2, cv=2, l1_ratios=(0,), scoring="accuracy",
                         use_legacy_attributes=False).set_callbacks(ProgressBar()).fit(
        X_BIN, Y_BIN)
    out = capsys.readouterr()
    assert "LogisticRegression" in out.out + out.err


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_no_callbacks_no_tasks(monkeypatch):
    """Without set_callbacks a fit (and a CV) creates no callback context at all, not even
    the root task, so no task per iteration or per fold either; with callbacks set, the
    same spy sees the root's."""
    roots = []
    init = callback.CallbackSupportMixin._init_callback_context

    def recording_init(self, *args, **kwargs):
        roots.append(type(self).__name__)
        return init(self, *args, **kwargs)

    monkeypatch.setattr(callback.CallbackSupportMixin, "_init_callback_context", recording_init)
    LogisticRegression().fit(X_BIN, Y_BIN)
    LogisticRegressionCV(Cs=2, cv=2, l1_ratios=(0,), scoring="accuracy",
                         use_legacy_attributes=False).fit(X_BIN, Y_BIN)
    assert roots == []
    LogisticRegression().set_callbacks(Recorder(X_BIN)).fit(X_BIN, Y_BIN)
    assert roots == ["LogisticRegression"]
