"""A fit's tasks as scikit-learn 1.9's callbacks see them (``sklearn.callback``).

The root task is the fit; under it (or under one task per model of a batch) one subtask
per solver iteration, whose ``fitted_estimator`` predicts with that iteration's
coefficients. Nothing is done, not even the root, unless callbacks were set with
``set_callbacks``.
"""

from __future__ import annotations

from . import _sklearn


class FitTasks:
    """The callback contexts of one fit of ``estimator`` on ``X, y, sample_weight`` (as the
    user passed them: a callback sees the user's data). ``solution(data, x, C)`` gives the
    fitted attributes of the model at ``x`` (``[W; b]``), as ``fit`` would set them, and
    ``outward`` brings each to the user's array library and device
    (``_boundary.Boundary.outward``), as ``fit`` does."""

    def __init__(self, estimator, X, y, sample_weight, max_subtasks, solution,
                 sequential=True, outward=lambda value: value):
        self.estimator = estimator
        self.solution = lambda data, x, C: {name: outward(value) for name, value in
                                            solution(data, x, C).items()}
        self.root = _sklearn.callback_context(estimator, max_subtasks, sequential)
        self.data = {"X": X, "y": y, "metadata": None if sample_weight is None else
                     {"sample_weight": sample_weight}}
        self.begin(self.root)

    def begin(self, context, attributes=None):
        if context is not None:
            context.call_on_fit_task_begin(estimator=self.estimator,
                                           reconstruction_attributes=attributes, **self.data)

    def end(self, context, data=None, x=None, C=None):
        """End ``context``'s task, with the model at ``x`` (``[W; b]``) if given."""
        if context is not None:
            attributes = None if x is None else (lambda: self.solution(data, x, C))
            context.call_on_fit_task_end(estimator=self.estimator,
                                         reconstruction_attributes=attributes, **self.data)

    def task(self, parent, name, task_id, max_subtasks):
        """A subtask of ``parent`` (begun), or None without callbacks."""
        if parent is None:
            return None
        context = parent.subcontext(task_name=name, task_id=task_id, max_subtasks=max_subtasks)
        self.begin(context)
        return context

    def iterations(self, parent, data, C):
        """A solver's ``on_step``: one subtask of ``parent`` per iteration, as scikit-learn's
        lbfgs reports them: begun at the point the iteration starts from, ended at the point
        it reaches; after the last, the subtask begun for an iteration that did not run is
        ended empty by ``close()``. None without callbacks."""
        if parent is None:
            return None
        return _Iterations(self, parent, data, C)


class _Iterations:
    """See ``FitTasks.iterations``."""

    def __init__(self, tasks, parent, data, C):
        self.tasks, self.parent, self.data, self.C = tasks, parent, data, C
        self.context, self.x, self.steps = None, None, 0

    def __call__(self, n_iter, f, grad_max, x):
        tasks, data, C = self.tasks, self.data, self.C
        if self.context is not None:  # the iteration that reached x
            tasks.end(self.context, data, x, C)
        self.context = self.parent.subcontext(task_name="iteration")
        tasks.begin(self.context, lambda: tasks.solution(data, x, C))
        self.x, self.steps = x, self.steps + 1

    def close(self):
        """End the subtask begun for an iteration that did not run, empty. A solver that
        stopped where it started (``max_iter=0``) still reports one iteration, ending at its
        start, as scikit-learn's lbfgs does."""
        if self.context is not None and self.steps == 1:
            self(0, None, None, self.x)
        if self.context is not None:
            self.context.call_on_fit_task_end(estimator=self.tasks.estimator)
            self.context = None
