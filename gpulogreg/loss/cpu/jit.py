"""How the compiled CPU kernels are compiled and cached (numba).

The kernels (``primitives``, ``binomial``, ``multinomial``, ``batch``) are defined at module
level with the decorators below, so that numba's on-disk cache serves them to later
processes; ``cpu`` (this package's ``__init__``) imports them on first use only.

Where the cache lives: ``NUMBA_CACHE_DIR`` when the user sets it, else the user's cache folder
(``cache_dir()``: ``$XDG_CACHE_HOME/gpulogreg/numba`` or ``~/.cache/gpulogreg/numba`` on Linux),
never numba's default for ``cache=True``, the ``__pycache__`` beside the module: in an
installed package that is a folder pip does not own, which survives ``pip uninstall`` and
then shadows the next install as a namespace package. Where no cache folder is writable the
kernels still work, compiled anew in each process.

A cached kernel is stale when any kernel module changes (they call one another), not only
its own: the cache key is the newest modification time and total size of them all.
"""

import os

import numba
from numba.core import caching
from numba.misc.appdirs import AppDirs

# numba 0.68 made its locators public; older releases spell them with a leading underscore
_UserWideLocator = getattr(caching, "UserWideCacheLocator", None) or getattr(
    caching, "_UserWideCacheLocator")
_UserProvidedLocator = getattr(caching, "UserProvidedCacheLocator", None) or getattr(
    caching, "_UserProvidedCacheLocator")


def cache_dir() -> str:
    """gpulogreg's folder for compiled kernels when ``NUMBA_CACHE_DIR`` is not set."""
    return os.path.join(AppDirs(appname="gpulogreg", appauthor=False).user_cache_dir, "numba")


class _AllKernelsStamp:
    """A locator whose source stamp covers every kernel module of this folder (numba's own
    covers the kernel's file only, and would keep a caller compiled against an old callee)."""

    def get_source_stamp(self):
        folder = os.path.dirname(os.path.abspath(self._py_file))
        stats = [os.stat(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
                 if name.endswith(".py")]
        return max(s.st_mtime for s in stats), sum(s.st_size for s in stats)


class _UserProvidedStampedLocator(_AllKernelsStamp, _UserProvidedLocator):
    """``NUMBA_CACHE_DIR``, with the stamp of every kernel module."""


class _UserCacheLocator(_AllKernelsStamp, _UserWideLocator):
    """numba's user-wide locator (``~/.cache/numba``), moved under ``cache_dir()``."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(cache_dir(), self.get_suitable_cache_subpath(py_file))


class _CacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_UserProvidedStampedLocator, _UserCacheLocator]


class _FunctionCache(caching.FunctionCache):
    _impl_class = _CacheImpl


def cached_jit(**options):
    """``numba.njit(**options)`` with the on-disk cache in ``cache_dir()`` (module docstring)."""
    def decorate(py_func):
        dispatcher = numba.njit(**options)(py_func)
        try:
            # what njit(cache=True) does (Dispatcher.enable_caching), with our locators
            dispatcher._cache = _FunctionCache(py_func)
        except RuntimeError:  # "no locator available": no cache folder is writable
            pass
        return dispatcher
    return decorate


# Only the linear-algebra loops and the sums (``total``) may reassociate (so their
# reductions vectorise) and contract to FMA; the loss and residual arithmetic stays IEEE.
# The order is fixed by the compiled code, so results are still bitwise reproducible.
linear = cached_jit(fastmath={"reassoc", "contract"}, nogil=True)
parallel = cached_jit(parallel=True, nogil=True)
# The per-row math: no reassociation (each row's value is fixed), FMA where it contracts;
# NumPy's error model (no ZeroDivisionError checks: their branches keep loops scalar)
elementwise = cached_jit(fastmath={"contract"}, nogil=True, error_model="numpy")
