"""scikit-learn's private and version-dependent names: imported here, and only here.

gpulogreg follows scikit-learn 1.9's estimator conventions (parameter validation, feature
names, array API namespaces, callbacks, scorers), some of which scikit-learn keeps in
private modules or added in 1.9. Every such name comes through this module, with a
fallback where an older release lacks it, so that a change in scikit-learn breaks one
file.
"""

from __future__ import annotations

import inspect

from sklearn.metrics import get_scorer, make_scorer

# this module is the one seam for scikit-learn's private names (PLC2701)
from sklearn.utils._param_validation import Hidden, Interval, StrOptions  # noqa: PLC2701
from sklearn.utils.metadata_routing import (
    UNUSED,
    MetadataRouter,
    MethodMapping,
    _raise_for_params,  # noqa: PLC2701
    _routing_enabled,  # noqa: PLC2701
    process_routing,
)
from sklearn.utils.validation import _check_feature_names  # noqa: PLC2701

try:  # scikit-learn 1.9's callbacks (sklearn.callback); older releases fit without them
    from sklearn.callback import CallbackSupportMixin, with_callbacks
    FIT_FRAMES = 1  # fit runs inside with_callbacks' wrapper: one more frame to the user
except ImportError:  # pragma: no cover - scikit-learn < 1.9
    FIT_FRAMES = 0

    class CallbackSupportMixin:  # noqa: D101 - no set_callbacks before 1.9
        pass

    def with_callbacks(method):
        return method

try:  # what scikit-learn's check_array_api_same_namespace asks array-API estimators to call
    from sklearn.utils._array_api import check_same_namespace  # noqa: PLC2701
except ImportError:  # pragma: no cover - scikit-learn < 1.9
    def check_same_namespace(X, estimator, *, attribute, method):
        return None

__all__ = ["FIT_FRAMES", "CallbackSupportMixin", "Hidden", "Interval", "StrOptions",
           "callback_context", "check_feature_names", "check_same_namespace", "cv_router",
           "routed", "scorer_with_labels", "with_callbacks", "UNUSED"]


def check_feature_names(estimator, X, *, reset):
    """scikit-learn's feature-name check: sets (``reset``) or checks
    ``feature_names_in_`` from a DataFrame X, with its warnings and errors."""
    _check_feature_names(estimator, X, reset=reset)


def callback_context(estimator, max_subtasks, sequential):
    """The root callback context of a fit (scikit-learn 1.9's ``set_callbacks``), or None
    when no callbacks were set (then no task is reported at all)."""
    if not getattr(estimator, "_skl_callbacks", None):
        return None
    return estimator._init_callback_context(max_subtasks=max_subtasks,
                                            sequential_subtasks=sequential)


def scorer_with_labels(scoring, classes):
    """The scorer for ``scoring`` (None: accuracy), given every class label where its score
    function takes ``labels`` (a fold's test rows may miss a class), as scikit-learn's
    ``LogisticRegressionCV`` does; rebuilt from the scorer's private parts."""
    scorer = get_scorer("accuracy" if scoring is None else scoring)
    function = getattr(scorer, "_score_func", None)
    if function is None or "labels" not in inspect.signature(function).parameters:
        return scorer
    extra = {}
    if len(classes) <= 2 and "pos_label" in inspect.signature(function).parameters:
        extra["pos_label"] = classes[-1]
    return make_scorer(function, greater_is_better=scorer._sign == 1,
                       response_method=scorer._response_method, labels=classes, **extra,
                       **getattr(scorer, "_kwargs", {}))


def routed(owner, method, params, sample_weight=None):
    """scikit-learn's metadata routing of ``owner.method(..., **params)``: with routing
    enabled, ``process_routing`` (each consumer gets what it requested); without it, extra
    ``params`` are scikit-learn's ValueError and ``sample_weight`` goes to the scorer.
    Returns ``(splitter's split params, scorer's score params)``."""
    _raise_for_params(params, owner, method)
    if _routing_enabled():
        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        routing = process_routing(owner, method, **params, **extra)
        splitter = routing.get("splitter", {})
        return splitter.get("split", {}), routing.scorer.get("score", {})
    return {}, ({} if sample_weight is None else {"sample_weight": sample_weight})


def cv_router(owner, cv, scorer):
    """``LogisticRegressionCV.get_metadata_routing``, as scikit-learn's: its own requests,
    the splitter's ``split`` (from ``fit``) and the scorer's ``score`` (from ``fit`` and
    ``score``)."""
    return (MetadataRouter(owner=owner).add_self_request(owner)
            .add(splitter=cv, method_mapping=MethodMapping().add(caller="fit", callee="split"))
            .add(scorer=scorer, method_mapping=MethodMapping().add(caller="score",
                                                                   callee="score")
                 .add(caller="fit", callee="score")))
