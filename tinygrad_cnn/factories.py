"""Tensor factories (``zeros``, ``randn``, ...): shapes as ints or one tuple, keyword
``dtype``, ``device``, ``requires_grad``, as PyTorch. Random ones draw from the device's
backend generator, seeded for every backend by ``manual_seed``."""
from __future__ import annotations

import math

from . import dtypes as _dt
from .backend import backend_for, get_default_device, manual_seed, parse_device
from .ops.checks import size_args
from .tensor import Tensor

__all__ = ["tensor", "zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand",
           "randn", "randint", "zeros_like", "ones_like", "full_like", "randn_like",
           "rand_like", "empty_like", "from_numpy", "manual_seed"]


def _finish(arr, requires_grad):
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _backend(device):
    dev = parse_device(device) if device is not None else get_default_device()
    return backend_for(dev), dev


def _shape(op, size):
    shape = size_args(op, size)
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: negative size in shape {shape}")
    return shape


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (same as ``Tensor(...)``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _filled(op, size, value, dtype, device, requires_grad, default=None):
    be, dev = _backend(device)
    shape = _shape(op, size)
    # the default float is read now, not at import: tg.set_default_dtype changes it
    dtype = _dt.as_dtype(dtype) or default or _dt.default_float
    with _on(be, dev):
        arr = be.xp.full(shape, value, dtype=dtype)
    return _finish(arr, requires_grad)


class _on:
    """Make ``dev`` current while allocating (matters for CuPy's multiple GPUs)."""

    def __init__(self, be, dev):
        self.ctx = be.xp.cuda.Device(dev.index) if dev.type == "cuda" else None

    def __enter__(self):
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.__exit__(*exc)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """Zeros of shape ``size`` (float32 unless ``dtype``)."""
    return _filled("zeros", size, 0, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """Ones of shape ``size``."""
    return _filled("ones", size, 1, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """Uninitialised values of shape ``size`` (here: zeros, so results are reproducible)."""
    return _filled("empty", size, 0, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere; the dtype follows the value (float32, int64, bool)."""
    default = _dt.scalar_dtype(fill_value)
    return _filled("full", (size,) if isinstance(size, int) else (tuple(size),), fill_value,
                   dtype, device, requires_grad, default)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """``[start, end)`` in steps of ``step``; int64 for int arguments, else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign "
                         f"(start={start}, end={end}, step={step})")
    be, dev = _backend(device)
    default = _dt.default_int if all(isinstance(v, int) for v in (start, end, step)) \
        else _dt.default_float
    dtype = _dt.as_dtype(dtype) or default
    n = max(math.ceil((end - start) / step), 0)
    arr = (be.xp.arange(n, dtype=_dt.float64) * step + start).astype(dtype) \
        if dtype.kind == "f" else be.xp.arange(start, end, step, dtype=dtype)
    return _finish(arr, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    be, dev = _backend(device)
    dtype = _dt.as_dtype(dtype) or _dt.default_float
    return _finish(be.xp.linspace(start, end, steps).astype(dtype), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The ``n × m`` identity matrix."""
    be, dev = _backend(device)
    dtype = _dt.as_dtype(dtype) or _dt.default_float
    return _finish(be.xp.eye(n, m, dtype=dtype), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples in ``[0, 1)``."""
    be, dev = _backend(device)
    dtype = _dt.as_dtype(dtype) or _dt.default_float
    arr = be.rng().random(_shape("rand", size), dtype=_dt.float64).astype(dtype)
    return _finish(arr, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    be, dev = _backend(device)
    dtype = _dt.as_dtype(dtype) or _dt.default_float
    arr = be.rng().standard_normal(_shape("randn", size), dtype=_dt.float64).astype(dtype)
    return _finish(arr, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad=False):
    """Integers in ``[low, high)`` (``randint(high, size)`` means ``low=0``)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: size (a tuple) is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    be, dev = _backend(device)
    dtype = _dt.as_dtype(dtype) or _dt.default_int
    arr = be.rng().integers(low, high, size=_shape("randint", (size,)), dtype=_dt.int64)
    return _finish(arr.astype(dtype), requires_grad)


def _like(factory, t, dtype, device, requires_grad, *args):
    return factory(*args, t.shape, dtype=dtype or t.dtype,
                   device=device if device is not None else t.device,
                   requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like(ones, t, dtype, device, requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    return _like(empty, t, dtype, device, requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    return _like(rand, t, dtype, device, requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    return _like(randn, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype,
                device=device if device is not None else t.device, requires_grad=requires_grad)


def from_numpy(arr):
    """A CPU tensor sharing memory with the NumPy array ``arr`` (dtype kept)."""
    if not hasattr(arr, "dtype") or type(arr).__module__ != "numpy":
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    _dt.category(arr.dtype)
    from .tensor_data import check_array
    checked = check_array(arr, "from_numpy's array")
    if checked is not arr and checked.base is not arr and not isinstance(arr, type(checked)):
        raise TypeError(f"from_numpy: a {type(arr).__name__} cannot share memory with a tensor")
    if checked.dtype != arr.dtype:
        raise TypeError(f"from_numpy: dtype {arr.dtype} is not in native byte order, so the "
                        "tensor cannot share its memory; use tg.tensor(arr) (a copy)")
    return Tensor._make(checked)
