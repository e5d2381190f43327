"""CUDA sources of gpulogreg (installed as the package ``gpulogreg.kernels``)."""
