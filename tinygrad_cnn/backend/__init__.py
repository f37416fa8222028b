"""The one narrow door between the engine and array libraries.

Everything above this package asks *the data* which backend it lives on
(:func:`get_array_module`, :func:`backend_of`) and never imports NumPy or CuPy
for array work itself. A backend bundles:

* ``xp``            the array module (``numpy`` or ``cupy``),
* ``device(arr)``   the device string of an array (``"cpu"``, ``"cuda:0"``),
* ``asarray``       move/convert host data onto this backend,
* ``to_host``       copy an array to a NumPy array,
* ``scatter_add``   ``out[index] += values`` with repeated indices accumulating,
* ``rng``           this backend's random generator (seeded by ``manual_seed``).

CuPy is imported lazily, only when a CUDA device is asked for or a CuPy array shows up.
"""
from __future__ import annotations

import numpy as _np

from . import numpy_backend
from .device import KNOWN_TYPES, Device, parse_device

__all__ = ["Device", "parse_device", "get_array_module", "backend_of", "backend_for",
           "register_backend", "manual_seed", "cuda_is_available", "cuda_device_count",
           "set_default_device", "get_default_device"]

_NDARRAY = _np.ndarray
_default_device = Device("cpu")
_BY_TYPE = {}       # array type -> backend module (exact types, so subclasses can differ)
_BY_DEVICE = {}     # device type -> backend module


def register_backend(device_type, module):
    """Make ``module`` serve devices ``device_type`` and ``device_type:N``.

    The module provides: ``xp``, ``name``, ``array_type``, ``device(arr)``,
    ``asarray(data, dtype=None, device=None)``, ``to_host(arr)``,
    ``scatter_add(out, index, values)``, ``scatter_add_flat(size, index, values)``, ``erf(x)``,
    ``quiet_fp()``, ``rng()`` and ``seed(value)``; and the kernels of backend/kernels/ (each
    family's ``__all__``), convolution's being:

    * ``cols_budget(dtype)``: column elements one conv pass may gather (the batch is chunked
      to fit: cache-sized on the CPU, a share of free memory on a GPU);
    * ``im2col(x, k, st, pad, d, rows)``: x (m, c, *s) -> columns (c, *k, m, *rows);
    * ``col2im(gcols, s, k, st, pad, d)``: its adjoint, (c, *k, m, *rows) -> (m, c, *s)

    (contracts in kernels/conv_numpy.py). The test suite registers a "fake" device this way;
    it runs NumPy's kernels.
    """
    KNOWN_TYPES.add(device_type)
    _BY_DEVICE[device_type] = module
    _BY_TYPE[module.array_type] = module


def backend_of(arr):
    """The backend module that owns the array ``arr``."""
    t = type(arr)
    if t is _NDARRAY:
        return numpy_backend
    found = _BY_TYPE.get(t)
    if found is not None:
        return found
    if isinstance(arr, (_NDARRAY, _np.generic)) and t not in _BY_TYPE:
        return numpy_backend
    if t.__module__.startswith("cupy"):
        from . import cupy_backend
        return cupy_backend
    raise TypeError(f"no backend for arrays of type {t.__name__}")


def backend_for(device) -> object:
    """The backend module serving ``device`` (a string or :class:`Device`)."""
    dev = parse_device(device)
    if dev.type == "cpu":
        return numpy_backend
    if dev.type in _BY_DEVICE:
        return _BY_DEVICE[dev.type]
    from . import cupy_backend
    cupy_backend.require(dev)
    return cupy_backend


def get_array_module(x):
    """``numpy`` or ``cupy``, whichever holds ``x`` (a Tensor or an array)."""
    data = getattr(x, "array", x)
    return backend_of(data).xp


def manual_seed(seed: int) -> None:
    """Seed the random generator of every backend (CuPy's only if it is already loaded)."""
    import sys
    numpy_backend.seed(seed)
    for module in _BY_DEVICE.values():
        module.seed(seed)
    if "tinygrad_cnn.backend.cupy_backend" in sys.modules:
        sys.modules["tinygrad_cnn.backend.cupy_backend"].seed(seed)


def cuda_is_available() -> bool:
    from . import cupy_backend
    return cupy_backend.device_count() > 0


def cuda_device_count() -> int:
    from . import cupy_backend
    return cupy_backend.device_count()


def set_default_device(device) -> None:
    """Device used by factories when no ``device=`` is given (the only other global state)."""
    global _default_device
    dev = parse_device(device)
    backend_for(dev)  # fail now, with the install hint, rather than at the first factory call
    _default_device = dev


def get_default_device() -> Device:
    return _default_device

