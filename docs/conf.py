"""Sphinx configuration of gpulogreg's documentation site.

Build it (warnings are errors, as CI runs it)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The stack is scikit-learn's: numpydoc reads the package's numpydoc docstrings for the API
reference (sphinx.ext.autodoc), pydata-sphinx-theme lays the site out, sphinx-gallery runs
the scripts in ``examples/`` at build time and turns them into the gallery, and myst-parser
lets the user guide be Markdown (the same files read well on GitHub, and their ```python
blocks run in the test suite: tests/test_docs.py).
"""

import os
from pathlib import Path

import gpulogreg

ROOT = Path(__file__).resolve().parent.parent

# the gallery's scripts run in the build process, headless
os.environ.setdefault("MPLBACKEND", "Agg")

project = "gpulogreg"
author = "The gpulogreg developers"
copyright = "the gpulogreg developers"
release = gpulogreg.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "sg_execution_times.rst"]

# MyST: ```{directive} fences, $...$ math, and `#`-anchors for the headings up to level 3
# (so [text](solvers.md#which-solver) links resolve, on GitHub and in the site alike)
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# autodoc + numpydoc: the API reference comes from the docstrings
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"  # numpydoc's "Parameters" sections say the types
autoclass_content = "class"
numpydoc_show_class_members = False  # api.rst lists the methods explicitly
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    # a failing example fails the build
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"gpulogreg {release}"
html_theme_options = {
    "github_url": "https://github.com/gpulogreg/gpulogreg",
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
}
html_static_path = []
html_show_sourcelink = False
