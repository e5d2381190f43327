"""The public API is typed and documented: every function of ``gpulogreg.__all__`` and
every public method of the estimators (those gpulogreg defines, not scikit-learn's) has
annotations on its parameters and its return, which resolve, and a numpydoc docstring whose
"Parameters" section names each parameter and which has a "Returns" section when it returns
something other than None or the estimator itself."""

import inspect
import re
import typing

import pytest

import gpulogreg

ESTIMATORS = (gpulogreg.LogisticRegression, gpulogreg.LogisticRegressionCV)
SKIPPED = {"self", "cls"}  # and *args, **kwargs (their annotation is optional)


def _ours(function):
    return (getattr(inspect.unwrap(function), "__module__", "") or "").startswith("gpulogreg")


def _public_functions():
    out = []
    for name in gpulogreg.__all__:
        obj = getattr(gpulogreg, name)
        if inspect.isfunction(obj):
            out.append((f"gpulogreg.{name}", obj, None))
    for cls in ESTIMATORS:
        for name in sorted(dir(cls)):
            function = getattr(cls, name)
            if (name == "__init__" or not name.startswith("_")) and inspect.isfunction(function) \
                    and _ours(function):
                out.append((f"{cls.__name__}.{name}", function, cls))
    return out


FUNCTIONS = _public_functions()
IDS = [name for name, _, _ in FUNCTIONS]


def _parameters(function):
    return [p for p in inspect.signature(function).parameters.values() if p.name not in SKIPPED]


def _section(doc, title):
    """The body of the numpydoc section ``title`` of ``doc`` (None when it has none)."""
    doc = inspect.cleandoc(doc or "")
    match = re.search(rf"^{title}\n-{{{len(title)}}}\n(.*?)(?=^\S[^\n]*\n-{{3,}}\n|\Z)", doc,
                      flags=re.S | re.M)
    return None if match is None else match.group(1)


def _documented_names(section):
    """The parameter names a Parameters section documents (``a, b : type`` names two)."""
    names = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            for name in line.split(" : ")[0].split(","):
                names.add(name.strip().lstrip("*"))
    return names


def test_the_public_api_is_all_here():
    names = set(IDS)
    for method in ("fit", "predict", "predict_proba", "predict_log_proba", "decision_function",
                   "score", "sparsify", "densify", "save", "coef_table", "covariance_matrix",
                   "__init__"):
        assert f"LogisticRegression.{method}" in names
        assert f"LogisticRegressionCV.{method}" in names
    assert "LogisticRegressionCV.get_metadata_routing" in names
    assert {"gpulogreg.load", "gpulogreg.loss_gradient", "gpulogreg.hessp",
            "gpulogreg.gradient_step"} <= names


@pytest.mark.parametrize("name, function, owner", FUNCTIONS, ids=IDS)
def test_annotated(name, function, owner):
    signature = inspect.signature(function)
    missing = [p.name for p in _parameters(function)
               if p.annotation is inspect.Parameter.empty
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not missing, f"{name}: parameters without a type hint: {missing}"
    assert signature.return_annotation is not inspect.Signature.empty, \
        f"{name} has no return annotation"
    typing.get_type_hints(inspect.unwrap(function))  # they resolve (Python 3.10 included)


def _returns_self_or_none(function, owner):
    hint = typing.get_type_hints(inspect.unwrap(function)).get("return")
    if hint is None or hint is type(None):
        return True
    if isinstance(hint, typing.TypeVar):  # def sparsify(self: T) -> T
        return True
    return owner is not None and isinstance(hint, type) and issubclass(owner, hint)


@pytest.mark.parametrize("name, function, owner", FUNCTIONS, ids=IDS)
def test_documented(name, function, owner):
    # a constructor's parameters are documented in its class's docstring
    doc = owner.__doc__ if function.__name__ == "__init__" else function.__doc__
    assert doc and doc.strip(), f"{name} has no docstring"
    summary = inspect.cleandoc(doc).split("\n\n")[0]
    assert "\n" not in summary and summary.endswith("."), \
        f"{name}: the docstring's summary is not one sentence on one line: {summary!r}"
    parameters = _parameters(function)
    if parameters:
        section = _section(doc, "Parameters")
        assert section is not None, f"{name}: no Parameters section"
        undocumented = {p.name for p in parameters} - _documented_names(section)
        assert not undocumented, f"{name}: parameters not documented: {sorted(undocumented)}"
    if function.__name__ != "__init__" and not _returns_self_or_none(function, owner):
        assert _section(doc, "Returns") is not None, f"{name}: no Returns section"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimators_document_their_attributes(cls):
    section = _section(cls.__doc__, "Attributes")
    assert section is not None
    documented = _documented_names(section)
    for attribute in ("coef_", "intercept_", "classes_", "n_iter_", "n_features_in_",
                      "feature_names_in_", "loss_", "grad_max_"):
        assert attribute in documented, f"{cls.__name__}: {attribute} not documented"
