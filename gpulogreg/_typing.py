"""The type aliases of the public signatures (one place, so that they read the same)."""

from __future__ import annotations

import os
from typing import Any, TypeAlias

ArrayLike: TypeAlias = Any
"""An input array: NumPy, CuPy, PyTorch, Dask or sparse array, or anything array-like
(a list, a pandas DataFrame or Series)."""

Array: TypeAlias = Any
"""An output array, in the array library (and on the device) of the input: NumPy, CuPy,
Dask, or with scikit-learn's array API dispatch PyTorch and others."""

PathLike: TypeAlias = str | os.PathLike[str]
"""A file name."""
