"""scikit-learn's parameter rules and warning texts, in one place.

The estimators take scikit-learn 1.9's parameters with its names, defaults, constraints,
errors and warnings, word for word (``LogisticRegression``'s and ``LogisticRegressionCV``'s
share most of them): the constraints ``_validate_params`` checks, the rules between
parameters (which solver takes which penalty), the FutureWarnings of the defaults it is
changing, the ConvergenceWarning texts, and which of our solvers runs the solver name a
scikit-learn user gives. Warnings are raised with the stack level of the user's call of
``fit`` (these functions are called from ``fit`` itself).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.metrics import get_scorer_names

from ._sklearn import FIT_FRAMES, Hidden, Interval, StrOptions
from .solvers import ALIASES, LIBLINEAR, SOLVERS

# LogisticRegression's parameters: scikit-learn 1.9's constraints, plus ours
# (learning_rate, device, chunk_rows)
CONSTRAINTS: dict = {
    "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None,
                Hidden(StrOptions({"deprecated"}))],
    "C": [Interval(Real, 0, None, closed="right")],
    "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
    "dual": ["boolean"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "fit_intercept": ["boolean"],
    "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "random_state": ["random_state"],
    "solver": [StrOptions(set(SOLVERS) | set(ALIASES) | {LIBLINEAR})],
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "n_jobs": [None, Integral],
    "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    "device": "no_validation",  # _backend.parse_device: one vocabulary, one message
    "chunk_rows": [Interval(Integral, 1, None, closed="left"), None],
}
# LogisticRegressionCV's: the shared ones, and its own
CV_CONSTRAINTS: dict = {
    key: value for key, value in CONSTRAINTS.items()
    if key not in ("C", "warm_start", "l1_ratio", "learning_rate", "chunk_rows")
}
CV_CONSTRAINTS.update({
    "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
    "cv": ["cv_object"],
    "scoring": [StrOptions(set(get_scorer_names())), callable, None,
                Hidden(StrOptions({"warn"}))],
    "refit": ["boolean"],
    "penalty": [StrOptions({"l1", "l2", "elasticnet"}), Hidden(StrOptions({"deprecated"}))],
    "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
})


# liblinear's L1 problems of at most this many coefficients run the proximal Newton solver
# (the exact p x p Hessian per iteration, as liblinear's newGLMNET); wider ones OWL-QN
PROX_NEWTON_MAX_PARAMS = 1024


def our_solver(solver, k, l1_ratio, n_params=None):
    """The solver of ours that runs scikit-learn's ``solver`` for k classes and this
    penalty: ``"saga"`` runs OWL-QN for L1 and elastic-net and the smooth path (``"sag"``'s)
    for L2 or none; ``"liblinear"`` (binary only, as there) newton-cg for L2 and, for L1,
    the proximal Newton solver where the Hessian of ``n_params`` coefficients is small
    (liblinear's own method), else OWL-QN, on liblinear's objective (``loss.liblinear``)."""
    if solver == LIBLINEAR:
        if k > 1:
            raise ValueError("The 'liblinear' solver does not support multiclass "
                             "classification (n_classes >= 3). Either use another solver "
                             "or wrap the estimator in a OneVsRestClassifier to keep "
                             "applying a one-versus-rest scheme.")
        if l1_ratio == 0:
            return ALIASES["sag"]
        small = n_params is not None and n_params <= PROX_NEWTON_MAX_PARAMS
        return "prox-newton" if small else "owlqn"
    if solver == "saga" and l1_ratio == 0:
        return ALIASES["sag"]
    return ALIASES.get(solver, solver)


_PENALTY_DEPRECATED = (
    "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this "
    "warning, leave 'penalty' set to its default value and use 'l1_ratio' or 'C' instead. Use "
    "l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of penalty='l1', l1_ratio set to "
    "a float between 0 and 1 instead of penalty='elasticnet', and C=np.inf instead of "
    "penalty=None.")


# solvers that handle the non-smooth L1 term (scikit-learn users' "saga" runs OWL-QN, and
# "liblinear" too for its L1 penalty)
L1_SOLVERS = ("owlqn", "saga", "liblinear")


def check_solver(solver, penalty, dual):
    """scikit-learn's rules for which solver takes which penalty (None: no penalty) and
    ``dual``, in its words (owlqn, ours, takes what saga takes)."""
    if penalty in ("l1", "elasticnet") and solver not in L1_SOLVERS:
        raise ValueError(f"Solver {solver} supports only 'l2' or None penalties, got {penalty} "
                         "penalty. Use solver='owlqn' (or 'saga', which runs it) for L1 and "
                         "elastic-net penalties.")
    if dual and solver != "liblinear":
        raise ValueError(f"Solver {solver} supports only dual=False, got dual=True")
    if solver == "liblinear":
        if penalty == "elasticnet":
            raise ValueError("Only 'saga' solver supports elasticnet penalty, got "
                             "solver=liblinear.")
        if penalty is None:
            raise ValueError("C=np.inf as well as penalty=None is not supported for the "
                             "liblinear solver")
        if penalty == "l1" and dual:
            raise ValueError("Unsupported set of arguments: The combination of penalty='l1' "
                             "and loss='logistic_regression' are not supported when "
                             "dual=True, Parameters: penalty='l1', "
                             "loss='logistic_regression', dual=True")


def check_params(params):
    """The checks scikit-learn 1.9 makes beyond its parameter constraints, with its wording
    (the estimator has already run those constraints); returns ``(C, l1_ratio)`` to minimise
    with: C is ``inf`` for no penalty, ``l1_ratio`` the L1 share of the penalty (0: L2)."""
    penalty, l1_ratio, C, solver = (params[k] for k in ("penalty", "l1_ratio", "C", "solver"))
    given_l1_ratio = l1_ratio
    if penalty == "deprecated":
        if l1_ratio is None:
            warnings.warn("'l1_ratio=None' was deprecated in version 1.8 and will trigger an "
                          "error in 1.10. Use 0<=l1_ratio<=1 instead.", FutureWarning,
                          stacklevel=4 + FIT_FRAMES)
            l1_ratio = 0
        penalty = "l2" if l1_ratio == 0 else "l1" if l1_ratio == 1 else "elasticnet"
        if C == math.inf:
            penalty = None
    else:
        warnings.warn(_PENALTY_DEPRECATED, FutureWarning, stacklevel=4 + FIT_FRAMES)
        if penalty == "elasticnet" and l1_ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        l1_ratio = {"l1": 1.0, "l2": 0.0, None: 0.0}.get(penalty, l1_ratio)
    check_solver(solver, penalty, params["dual"])
    if penalty != "elasticnet" and given_l1_ratio is not None and 0 < given_l1_ratio < 1:
        warnings.warn(f"l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                      f"(penalty={penalty})", UserWarning, stacklevel=4 + FIT_FRAMES)
    if (params["penalty"] == "l2" and given_l1_ratio != 0) or (
            params["penalty"] == "l1" and given_l1_ratio != 1):
        warnings.warn(f"Inconsistent values: penalty={params['penalty']} with "
                      f"l1_ratio={given_l1_ratio}. penalty is deprecated. Please use "
                      "l1_ratio only.", UserWarning, stacklevel=4 + FIT_FRAMES)
    if params["penalty"] is None and C != 1.0:
        warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters",
                      UserWarning, stacklevel=4 + FIT_FRAMES)
    if params["n_jobs"] is not None:
        warnings.warn(f"'n_jobs' has no effect (as in scikit-learn since 1.8, where it will be "
                      f"removed in 1.10). You provided 'n_jobs={params['n_jobs']}', please "
                      "leave it unspecified.", FutureWarning, stacklevel=4 + FIT_FRAMES)
    if params["learning_rate"] is not None and solver != "gd":
        raise ValueError(f"learning_rate applies to solver='gd' only; solver={solver!r} "
                         "chooses its own steps. Leave learning_rate=None.")
    return (math.inf, 0.0) if penalty is None else (float(C), float(l1_ratio))


# scikit-learn 1.9's FutureWarnings for the defaults it is about to change, word for word
_L1_RATIOS_DEFAULT = (
    "The default value for l1_ratios will change from None to (0.0,) in version 1.10. From "
    "version 1.10 onwards, only array-like with values in [0, 1] will be allowed, None will "
    "be forbidden. To avoid this warning, explicitly set a value, e.g. l1_ratios=(0,).")
_L1_RATIOS_NONE = (
    "'l1_ratios=None' was deprecated in version 1.8 and will trigger an error in 1.10. Use an "
    "array-like with values in [0, 1] instead.")
_CV_PENALTY = (
    "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this "
    "warning, leave 'penalty' set to its default value and use 'l1_ratios' and 'Cs' instead. "
    "Use l1_ratios=(0,) instead of penalty='l2', l1_ratios=(1,) instead of penalty='l1', "
    "l1_ratios set to floats between 0 and 1 instead of penalty='elasticnet', and "
    "Cs=(np.inf,) instead of penalty=None.")
_SCORING = (
    "The default value of the parameter 'scoring' will change from None, i.e. accuracy, to "
    "'neg_log_loss' in version 1.11. To silence this warning, explicitly set the scoring "
    "parameter: scoring='neg_log_loss' for the new, scoring='accuracy' or scoring=None for "
    "the old default.")
_LEGACY = (
    "The fitted attributes of {name} will be simplified in scikit-learn 1.10 to remove "
    "redundancy. Set`use_legacy_attributes=False` to enable the new behavior now, or set it "
    "to `True` to silence this warning during the transition period while keeping the "
    "deprecated behavior for the time being. The default value of use_legacy_attributes will "
    "change from True to False in scikit-learn 1.10. See the docstring of {name} for more "
    "details.")


def cv_options(self):
    """``LogisticRegressionCV``'s parameters validated as scikit-learn 1.9 does (same
    errors and FutureWarnings, raised for the user's call of ``fit``, which calls this);
    return ``(l1_ratios, penalty, scoring, use_legacy_attributes)`` after the
    defaults."""
    self._validate_params()
    level = 3 + FIT_FRAMES  # warnings point at the user's call of fit
    l1_ratios = self.l1_ratios
    if isinstance(l1_ratios, str):  # "warn"
        warnings.warn(_L1_RATIOS_DEFAULT, FutureWarning, stacklevel=level)
        l1_ratios = None
    if self.penalty == "deprecated":
        if self.l1_ratios is None:
            warnings.warn(_L1_RATIOS_NONE, FutureWarning, stacklevel=level)
        penalty = "l2" if l1_ratios is None or np.all(np.asarray(l1_ratios) == 0) else (
            "l1" if np.all(np.asarray(l1_ratios) == 1) else "elasticnet")
    else:
        penalty = self.penalty
        warnings.warn(_CV_PENALTY, FutureWarning, stacklevel=level)
    check_solver(self.solver, penalty, self.dual)
    if penalty == "elasticnet":
        values = [] if l1_ratios is None else list(l1_ratios)
        if not values or any(isinstance(v, bool) or not isinstance(v, Real)
                             or not 0 <= v <= 1 for v in values):
            raise ValueError(f"l1_ratios must be an array-like of numbers between 0 and 1; "
                             f"got (l1_ratios={l1_ratios!r})")
    elif l1_ratios is not None and self.penalty != "deprecated":
        warnings.warn(f"l1_ratios parameter is only used when penalty is 'elasticnet'. "
                      f"Got (penalty={penalty})", UserWarning, stacklevel=level)
    scoring = self.scoring
    if isinstance(scoring, str) and scoring == "warn":
        warnings.warn(_SCORING, FutureWarning, stacklevel=level)
        scoring = None
    legacy = self.use_legacy_attributes
    if isinstance(legacy, str):  # "warn"
        warnings.warn(_LEGACY.format(name=type(self).__name__), FutureWarning, stacklevel=level)
        legacy = True
    return l1_ratios, penalty, scoring, legacy


def check_Cs(Cs):
    """The grid of C: ``Cs`` values from 1e-4 to 1e4 for an int, else the given values, which
    must be a non-empty 1-D list of positive numbers (``np.inf``: no penalty)."""
    if isinstance(Cs, Integral):
        return np.logspace(-4, 4, Cs)
    try:
        values = np.asarray(Cs)
        if values.dtype.kind not in "iuf":
            raise TypeError
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"Cs must be an int or a 1-D list of positive numbers; got {Cs!r}.") \
            from None
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"Cs must be an int or a non-empty 1-D list of positive numbers; got "
                         f"shape {values.shape}.")
    if not np.all(values > 0):  # NaN fails this too
        raise ValueError(f"Cs must hold positive numbers (np.inf: no penalty); got {Cs!r}.")
    return values


def convergence_message(model, result, dtype):
    """scikit-learn 1.9's ConvergenceWarning text for the solver name the user gave when
    max_iter ran out (then how far we got); otherwise why we stopped."""
    if result.n_iter >= model.max_iter:
        detail = f"(max|gradient| = {result.grad_max:.3g} > tol = {model.tol:g})"
        sklearn_text = {
            "newton-cg": f"newton-cg failed to converge at loss = {result.fun}. Increase the "
                         "number of iterations.",
            "newton-cholesky": f"Newton solver did not converge after {result.n_iter} "
                               "iterations.",
            "sag": "The max_iter was reached which means the coef_ did not converge",
            "saga": "The max_iter was reached which means the coef_ did not converge",
            "liblinear": "Liblinear failed to converge, increase the number of iterations.",
        }.get(model.solver)
        if sklearn_text is not None:
            return f"{sklearn_text} {detail}"
        return (f"{model.solver} failed to converge after {result.n_iter} iteration(s) "
                f"{detail}.\n\n"
                "Increase the number of iterations to improve the convergence "
                f"(max_iter={model.max_iter}).\nYou might also want to scale the data, or "
                "raise tol.")
    advice = ("use float64 X or a larger tol" if dtype == np.float32
              else "use a larger tol or scale the data")
    return (f"{model.solver} stopped after {result.n_iter} iteration(s) without reaching "
            f"tol={model.tol:g} (max|gradient| = {result.grad_max:.3g}): {result.message}. "
            f"To go further, {advice}.")


def cv_convergence_message(model, unconverged, total):
    """``LogisticRegressionCV``'s ConvergenceWarning for (fold, C) fits that stopped short."""
    return (f"{model.solver} failed to converge for {unconverged} of {total} (fold, C) fits "
            f"(max_iter={model.max_iter}, tol={model.tol:g}).\n\nIncrease the number of "
            "iterations to improve the convergence, or scale the data.")


def refit_convergence_message(model, C, result):
    """``LogisticRegressionCV``'s ConvergenceWarning for a refit that stopped short."""
    return (f"{model.solver} failed to converge refitting C={C:g} (max|gradient| = "
            f"{result.grad_max:.3g} > tol = {model.tol:g}).\n\nIncrease the number of "
            f"iterations to improve the convergence (max_iter={model.max_iter}).")
