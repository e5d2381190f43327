"""Builds the compiled CPU passes (gpulogreg/loss/cpu/kernels.c) when the package is
installed; everything else is in pyproject.toml.

The extension is optional: where no C compiler is found, the build prints a warning and the
package installs without it, running on the NumPy path (gpulogreg.loss.cpu.enabled() is
False). No OpenMP and no NumPy headers are needed: the kernels are plain C called through
ctypes. ``GPULOGREG_NO_CPU_KERNELS=1`` skips the build (to test that install).
"""

import os
import sys

from setuptools import Extension, setup

# -fno-trapping-math: no FP traps are relied on (results are unchanged); without it GCC keeps
# the branch-free loops of kernels.c scalar
args = ["-O3", "-fopenmp-simd", "-fno-trapping-math", "-std=gnu11"] if sys.platform != "win32" else ["/O2"]
build = os.environ.get("GPULOGREG_NO_CPU_KERNELS", "0") in ("", "0")
extensions = [Extension("gpulogreg.loss.cpu.kernels", ["gpulogreg/loss/cpu/kernels.c"],
                        depends=["gpulogreg/loss/cpu/kernels_impl.h"],
                        extra_compile_args=args, optional=True)] if build else []

setup(ext_modules=extensions)
