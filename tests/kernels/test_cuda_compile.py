"""The CUDA sources compile: with nvcc (no register spills), the exact text the loader hands
to NVRTC, with NVRTC itself; the launcher reads its constants from the header, and a kernel
is looked up once per device."""

import re
import subprocess
from pathlib import Path

import pytest
from helpers import KERNELS, NVCC

from gpulogreg.loss import cuda

CU_FILES = sorted(p.name for p in KERNELS.glob("*.cu"))


needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found on PATH")


def test_kernel_folder_is_shipped():
    assert "sigmoid_residual.cu" in CU_FILES and (KERNELS / "logreg_math.cuh").is_file()


def nvcc_cubin(path, tmp_path):
    out = subprocess.run(
        [NVCC, "-std=c++17", "-arch=sm_90", "-cubin", "-Xptxas", "-v",
         "-o", str(tmp_path / "out.cubin"), str(path)],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    spills = re.findall(r"(\d+) bytes spill stores", out.stderr)
    assert spills and all(s == "0" for s in spills), out.stderr


@needs_nvcc
@pytest.mark.parametrize("name", CU_FILES)
def test_nvcc_compiles_kernel_file(name, tmp_path):
    nvcc_cubin(KERNELS / name, tmp_path)


@needs_nvcc
@pytest.mark.parametrize("name", CU_FILES)
def test_nvcc_compiles_loader_source(name, tmp_path):
    """The exact text handed to NVRTC (headers inlined, #line directives) compiles too."""
    source = cuda.kernel_source(name)
    assert '#include "' not in source
    path = tmp_path / name
    path.write_text(source)
    nvcc_cubin(path, tmp_path)


@needs_nvcc
def test_launch_constants_are_read_from_the_header(tmp_path):
    """The launcher's one-pass geometry (threads per block, rows per tile, shared memory
    per block, widest X) is what the compiled header says: read from it, never copied."""
    names = ["ONE_PASS_BLOCK", "ONE_PASS_TILE", "ONE_PASS_SLICES", "ONE_PASS_SHARED_FIXED",
             "ONE_PASS_MAX_FEATURES"]
    src = tmp_path / "constants.cu"
    src.write_text('#include <cstdio>\n#include "logistic_grad.cuh"\nint main() {\n'
                   + "".join(f'  std::printf("%d\\n", gpulogreg::{n});\n' for n in names)
                   + "  std::printf(\"%lld\\n\", gpulogreg::one_pass_shared_doubles(100));\n"
                   "  return 0;\n}\n")
    exe = tmp_path / "constants"
    subprocess.run([NVCC, "-std=c++17", "-I", str(KERNELS), "-o", str(exe), str(src)],
                   check=True, capture_output=True)
    printed = [int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True,
                                              text=True).stdout.split()]
    parsed = cuda.header_constants()
    assert printed[:-1] == [parsed[n] for n in names]
    assert (cuda.ONE_PASS_BLOCK, cuda.ONE_PASS_TILE, cuda.ONE_PASS_SHARED_FIXED,
            cuda.ONE_PASS_MAX_FEATURES) == (printed[0], printed[1], printed[3], printed[4])
    assert printed[-1] == 100 + cuda.ONE_PASS_SHARED_FIXED  # the launcher's formula


def _find_nvrtc():
    """libnvrtc from the nvidia-cuda-nvrtc wheel (the test extra) or the system, else None."""
    import ctypes.util
    import importlib.util

    spec = importlib.util.find_spec("nvidia")
    roots = list(spec.submodule_search_locations) if spec else []
    candidates = [p for root in roots for p in sorted(Path(root).glob("*/lib/libnvrtc.so*"))]
    system = ctypes.util.find_library("nvrtc")
    return str(candidates[0]) if candidates else system


def nvrtc_compile(source, name, options):
    """Compile with NVRTC through ctypes; return (ok, log, ptx)."""
    import ctypes

    lib = ctypes.CDLL(_find_nvrtc())
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), name.encode(), 0,
                                  None, None) == 0
    opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    status = lib.nvrtcCompileProgram(prog, len(options), opts)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    ptx = b""
    if status == 0:
        lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetPTX(prog, buf)
        ptx = buf.value
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    return status == 0, log.value.decode(errors="replace"), ptx.decode(errors="replace")


@pytest.mark.skipif(_find_nvrtc() is None, reason="libnvrtc not found (pip install "
                    "nvidia-cuda-nvrtc, part of the test extra on Linux x86-64)")
@pytest.mark.parametrize("name", CU_FILES)
def test_nvrtc_compiles_loader_source(name):
    """What CuPy's RawModule will compile: the loader's text, our options followed by those
    CuPy appends (-ftz=true), Hopper's arch."""
    ok, log, ptx = nvrtc_compile(cuda.kernel_source(name), name,
                                 list(cuda.NVRTC_OPTIONS)
                                 + list(cuda.CUPY_APPENDED_OPTIONS) + ["-arch=compute_90"])
    assert ok, log
    entries = re.findall(r"\.entry\s+(\w+)", ptx)
    assert entries and all(e.startswith("gpulogreg_") for e in entries), entries


def test_nvrtc_reports_errors_with_real_file_names(monkeypatch, tmp_path):
    """A broken kernel's error points into kernels/..., thanks to the #line directives."""
    if _find_nvrtc() is None:
        pytest.skip("libnvrtc not found")
    (tmp_path / "logreg_math.cuh").write_text((KERNELS / "logreg_math.cuh").read_text())
    (tmp_path / "broken.cu").write_text('#include "logreg_math.cuh"\n\nint x = ;\n')
    monkeypatch.setattr(cuda, "kernel_dir", lambda: tmp_path)
    ok, log, _ = nvrtc_compile(cuda.kernel_source("broken.cu"), "broken.cu",
                               list(cuda.NVRTC_OPTIONS))
    assert not ok and f"{tmp_path / 'broken.cu'}(3)" in log, log


def test_kernels_are_looked_up_once_per_device(fake_gpu, monkeypatch):
    """A launch does not ask the module for its function again (the CuPy stand-in switches
    devices; the lookups are recorded): once per kernel name and device."""
    cp = fake_gpu()
    lookups = []

    class Module:
        def __init__(self, device_id):
            self.device_id = device_id

        def get_function(self, name):
            lookups.append((name, self.device_id))
            return (name, self.device_id)

    monkeypatch.setattr(cuda, "_module", lambda filename, device_id: Module(device_id))
    cuda._device_function.cache_clear()
    try:
        for device in (0, 0, 1, 1, 0):
            with cp.cuda.Device(device):
                assert cuda._function("sigmoid_residual.cu", "k_f32") == ("k_f32", device)
        cuda._function("sigmoid_residual.cu", "k_f64")
        assert lookups == [("k_f32", 0), ("k_f32", 1), ("k_f64", 0)]
    finally:
        cuda._device_function.cache_clear()
