"""bench/device_check.sh, the prepared GPU check, rehearsed without a GPU (issue 34): every
step runs here on tiny sizes with the CPU stand-ins, so that a mistake in the script or in
a bench script it calls shows here, not in a lease of the GPU machine. About 35 s on two
cores. Also the per-test time limit its pytest step loads (bench/plugins)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "device_check.sh"
STEPS = ["install", "versions", "pytest -m gpu", "compute-sanitizer racecheck",
         "compute-sanitizer memcheck", "ncu DRAM throughput", "passes vs floor",
         "time to solution", "streaming", "cross-validation"]
FILES = ["install.txt", "versions.txt", "pytest_gpu.txt", "racecheck.txt", "memcheck.txt",
         "ncu.txt", "passes.md", "time_to_solution.md", "streaming.md", "cv.md", "summary.txt"]

needs_shell = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                 reason="needs bash and GNU timeout")


def rehearse(out, python=sys.executable, timeout=180):
    env = {**os.environ, "PYTHON": python}
    return subprocess.run(["bash", str(SCRIPT), "--rehearse", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@needs_shell
@pytest.mark.skipif(os.environ.get("GPULOGREG_REHEARSE") != "1",
                    reason="~35 s on two cores, beyond the default suite's budget: CI runs it "
                           "(GPULOGREG_REHEARSE=1 pytest tests/test_device_check.py)")
def test_rehearsal_runs_every_step_and_writes_every_file(tmp_path):
    out = tmp_path / "out"
    run = rehearse(out)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    summary = (out / "summary.txt").read_text()
    for step in STEPS:
        assert re.search(rf"^{re.escape(step)} rc=0 \d+ s$", summary, re.M), (step, summary)
    limits = re.search(r"^step limits on the device: (\d+) s in all", summary, re.M)
    assert limits and int(limits.group(1)) <= 330, summary  # two runs in a 15-minute lease
    for name in ("racecheck.txt", "memcheck.txt", "ncu.txt"):
        assert "skipped (rehearsal: no GPU)" in (out / name).read_text()
    # the tables, not just their files: a header and at least one measured row each
    for name in ("passes.md", "time_to_solution.md", "streaming.md", "cv.md"):
        rows = [line for line in (out / name).read_text().splitlines()
                if line.startswith("| ") and not line.startswith("|---")]
        assert len(rows) >= 2, (name, (out / name).read_text())
    assert "failed:" not in (out / "time_to_solution.md").read_text()


@needs_shell
def test_a_failing_step_fails_the_check(tmp_path):
    run = rehearse(tmp_path / "out", python="false", timeout=60)
    assert run.returncode != 0
    summary = (tmp_path / "out" / "summary.txt").read_text()
    for step in ("versions", "passes vs floor", "cross-validation"):
        assert re.search(rf"^{step} rc=1 ", summary, re.M), summary


PLUGIN_TESTS = """
import time

def test_slow():
    time.sleep(30)

def test_after():
    pass
"""


def test_per_test_timeout_fails_the_slow_test_and_goes_on(tmp_path):
    (tmp_path / "test_plugin_probe.py").write_text(PLUGIN_TESTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench" / "plugins")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "per_test_timeout",
                          "--per-test-timeout", "1", "-v", "-rA", "-p", "no:cacheprovider",
                          "test_plugin_probe.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stdout
    assert "per-test timeout: call of test_plugin_probe.py::test_slow ran past 1 s" in run.stdout
    assert "PASSED test_plugin_probe.py::test_after" in run.stdout
