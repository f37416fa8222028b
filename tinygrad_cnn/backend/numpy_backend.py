"""CPU backend: NumPy."""
from __future__ import annotations

import numpy as np

from .device import Device

xp = np
name = "numpy"
array_type = np.ndarray
CPU = Device("cpu")
_rng = np.random.default_rng()


def device(arr) -> Device:
    return CPU


def asarray(data, dtype=None, device=None):
    """Host data (NumPy, lists, scalars, or a CuPy array) as a NumPy array."""
    if hasattr(data, "get") and type(data).__module__.startswith("cupy"):
        data = data.get()
    return np.asarray(data, dtype=dtype)


def to_host(arr) -> np.ndarray:
    return np.array(arr, copy=True)


def scatter_add(out, index, values) -> None:
    """``out[index] += values`` where repeated indices accumulate (unbuffered)."""
    np.add.at(out, index, values)


def quiet_fp():
    """Context in which inf/NaN arithmetic is silent, as in PyTorch (NumPy would warn)."""
    return np.errstate(all="ignore")


def rng() -> np.random.Generator:
    return _rng


def seed(value: int) -> None:
    global _rng
    _rng = np.random.default_rng(value)
