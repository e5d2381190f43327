"""Every ```python block of the documentation's pages (docs/*.md) runs, each as its own
script, as tests/test_readme.py runs the README's (same helper, same ``# requires:``
comments for blocks that need a GPU, Dask or PyTorch). The site's build itself
(``python -m sphinx -W ...``, which also runs the gallery in examples/) is CI's job."""

from pathlib import Path

import pytest
from test_readme import code_blocks, run_block

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
BLOCKS = [(page.name, i, code) for page in PAGES for i, code in enumerate(code_blocks(page))]


def test_the_docs_have_code_blocks():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("page,index,code", BLOCKS,
                         ids=[f"{page[:-3]}-block{i}" for page, i, _ in BLOCKS])
def test_docs_block_runs(page, index, code, tmp_path):
    run_block(code, tmp_path)
