"""CPU backend: NumPy."""
from __future__ import annotations

import math

import numpy as np

from .device import Device
# the kernels (backend/kernels/<family>_numpy.py), one import line per family
from .kernels.conv_numpy import *  # noqa: F403
from .kernels.fused_numpy import *  # noqa: F403
from .kernels.pool_numpy import *  # noqa: F403

xp = np
name = "numpy"


def _tune_malloc():
    """Keep large NumPy buffers on glibc's heap instead of a fresh mmap per array.

    A CNN step allocates many multi-megabyte temporaries (im2col columns, their gradients);
    by default glibc maps each one fresh and the first touch of every page faults, which
    measured up to 2x on conv fwd+bwd here (PyTorch avoids it with its caching allocator).
    Raising the mmap and trim thresholds lets freed blocks be reused. Process-wide, so it can
    be turned off with TINYGRAD_CNN_TUNE_MALLOC=0; a no-op off glibc.
    """
    import ctypes
    import os
    import sys
    if (os.environ.get("TINYGRAD_CNN_TUNE_MALLOC", "1") == "0"
            or not sys.platform.startswith("linux")):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 1 << 30)
                    and libc.mallopt(m_trim_threshold, (1 << 31) - 1))
    except (OSError, AttributeError):
        return False


malloc_tuned = _tune_malloc()
array_type = np.ndarray
CPU = Device("cpu")
_rng = np.random.default_rng()


def device(arr) -> Device:  # noqa: ARG001  (the backend interface; NumPy arrays live on the CPU)
    return CPU


def asarray(data, dtype=None, device=None):
    """Host data (NumPy, lists, scalars, or a CuPy array) as a NumPy array; ``device`` (None
    or "cpu") is checked, this backend serves the CPU only."""
    if device is not None and device != CPU:
        raise ValueError(f"numpy backend: asarray cannot place an array on {device!r} (cpu only)")
    if hasattr(data, "get") and type(data).__module__.startswith("cupy"):
        data = data.get()
    return np.asarray(data, dtype=dtype)


def to_host(arr) -> np.ndarray:
    return np.array(arr, copy=True)


def scatter_add(out, index, values) -> None:
    """``out[index] += values`` where repeated indices accumulate (unbuffered)."""
    np.add.at(out, index, values)


def scatter_add_flat(size, index, values):
    """A length-``size`` array with ``values`` summed at the flat positions ``index``
    (repeated positions accumulate). ``bincount`` does it in one C pass; ``add.at`` is slower."""
    return np.bincount(index, weights=values, minlength=size).astype(values.dtype, copy=False)


def erf(x):
    """Elementwise error function: SciPy's when installed, else the math module's."""
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return scipy_erf(x).astype(x.dtype, copy=False)


def quiet_fp():
    """Context in which inf/NaN arithmetic is silent, as in PyTorch (NumPy would warn)."""
    return np.errstate(all="ignore")


def rng() -> np.random.Generator:
    return _rng


def seed(value: int) -> None:
    global _rng
    _rng = np.random.default_rng(value)
