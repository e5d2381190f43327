"""The README's first command: ``gpulogreg demo``."""

import subprocess
import sys

import pytest

from gpulogreg import cli


def test_demo_trains_and_reports(capsys):
    assert cli.main(["demo", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for field in ("backend", "device", "test accuracy", "final loss", "max|gradient|", "fit time"):
        assert field in out
    accuracy = float(out.split("test accuracy")[1].split()[0])
    assert accuracy > 0.93
    gradient = float(out.split("max|gradient|")[1].split()[0])
    assert gradient <= 1e-4


@pytest.mark.parametrize("solver", ["gd", "newton-cg"])
def test_demo_float32_and_other_solvers(capsys, solver):
    assert cli.main(["demo", "--device", "cpu", "--dtype", "float32", "--solver", solver]) == 0
    out = capsys.readouterr().out
    assert "float32" in out and f"solver={solver}" in out


def test_demo_help_explains_options():
    out = subprocess.run([sys.executable, "-m", "gpulogreg.cli", "demo", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--device" in out and "breast-cancer" in out


def test_demo_gpu_without_gpu_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.setattr(cli._backend, "gpu_available", lambda: False)
    assert cli.main(["demo", "--device", "cuda"]) == 2
    assert "CuPy with a CUDA device is not available" in capsys.readouterr().err


def test_unknown_command_exits_with_usage():
    with pytest.raises(SystemExit) as exc:
        cli.main(["train"])
    assert exc.value.code == 2
