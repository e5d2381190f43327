"""Every ```python block of the README runs, as a newcomer would paste it into a script."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import NO_GPU, backend

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(), flags=re.S | re.M)


def test_the_readme_has_code_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path):
    if 'device="cuda"' in code and not backend.gpu_available():
        pytest.skip(NO_GPU)
    if "dask" in code:
        pytest.importorskip("dask.distributed")
    if "import torch" in code:
        pytest.importorskip("torch", reason="PyTorch is not installed")
    script = tmp_path / "snippet.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", str(script)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_api_reference_is_current():
    """docs/api.md is generated from the docstrings: regenerate it when they change
    (python docs/make_api.py)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "docs" / "make_api.py"
    spec = importlib.util.spec_from_file_location("make_api", path)
    make_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_api)
    assert make_api.main(["--check"]) == 0, "docs/api.md is out of date"
