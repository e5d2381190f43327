"""Every ```python block of the README runs, as a newcomer would paste it into a script.

``code_blocks`` and ``run_block`` serve tests/test_docs.py too (the pages under docs/). A
block that needs more than the test extra says so on a line of its own, ``# requires: gpu``
(CuPy and a CUDA device), ``# requires: dask`` or ``# requires: torch``, and is skipped
where that is missing.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import NO_GPU, backend

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def code_blocks(path):
    """The ```python blocks of a Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```$", path.read_text(), flags=re.S | re.M)


def requirements(code):
    """What a block says it needs (``# requires: gpu``), plus what it plainly uses."""
    needs = set(re.findall(r"^# requires: (\w+)\s*$", code, flags=re.M))
    if 'device="cuda"' in code or re.search(r"^import cupy\b", code, flags=re.M):
        needs.add("gpu")
    if re.search(r"^\s*(import|from) dask", code, flags=re.M):
        needs.add("dask")
    if re.search(r"^\s*import torch", code, flags=re.M):
        needs.add("torch")
    return needs


def run_block(code, tmp_path):
    """Run one block as a script in ``tmp_path`` (skipping it where what it requires is
    missing); RuntimeWarnings are errors."""
    needs = requirements(code)
    unknown = needs - {"gpu", "dask", "torch"}
    assert not unknown, f"unknown '# requires:' {sorted(unknown)} (gpu, dask, torch)"
    if "gpu" in needs and not backend.gpu_available():
        pytest.skip(NO_GPU)
    if "dask" in needs:
        pytest.importorskip("dask.distributed")
    if "torch" in needs:
        pytest.importorskip("torch", reason="PyTorch is not installed")
    script = tmp_path / "snippet.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", str(script)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


BLOCKS = code_blocks(README)


def test_the_readme_has_code_blocks():
    assert len(BLOCKS) >= 1


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path):
    run_block(code, tmp_path)
