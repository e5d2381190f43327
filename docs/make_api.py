"""Write docs/api.md, the API reference, from the docstrings of gpulogreg's public names.

    python docs/make_api.py        # rewrite docs/api.md
    python docs/make_api.py --check  # exit 1 if docs/api.md is out of date (the tests run it)
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import gpulogreg

OUT = Path(__file__).with_name("api.md")
METHODS = ("fit", "predict", "predict_proba", "predict_log_proba", "decision_function", "score",
           "save")


def _entry(title, obj, level="##"):
    doc = inspect.cleandoc(obj.__doc__ or "(no docstring)")
    try:
        signature = f"{title}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        signature = title
    return f"{level} `{signature}`\n\n```text\n{doc}\n```\n"


def render():
    parts = ["# gpulogreg API reference", "",
             "Generated from the docstrings by `python docs/make_api.py`; do not edit by hand.",
             "Arrays may be NumPy, CuPy or (where said) Dask: results come back in the namespace "
             "of the input.", ""]
    for name in gpulogreg.__all__:
        obj = getattr(gpulogreg, name)
        parts.append(_entry(f"gpulogreg.{name}", obj))
        if inspect.isclass(obj) and name == "LogisticRegression":
            for method in METHODS:
                parts.append(_entry(f"LogisticRegression.{method}", getattr(obj, method), "###"))
    return "\n".join(parts)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run python docs/make_api.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
