"""User data to backend arrays: PyTorch's dtype rules for Python data, and a refusal of the
arrays (complex, object, strings, masked, structured, ...) that later ops would turn into
nonsense. ``tg.tensor``, ``Tensor(...)`` and ``tg.from_numpy`` go through here."""
from __future__ import annotations

from . import dtypes as _dt
from .backend import backend_for, backend_of, get_default_device, parse_device
from .backend import numpy_backend as _cpu

_np = _cpu.xp
_ndarray = _cpu.array_type


# the dtypes a tensor can hold (PyTorch's, less the complex and bfloat types NumPy lacks)
_KINDS_OK = "biuf"
_FLOAT_SIZES = (2, 4, 8)


def check_array(arr, what):
    """Refuse arrays whose values later ops would turn into nonsense; native byte order."""
    if type(arr) is not _ndarray and isinstance(arr, _ndarray):
        if isinstance(arr, _np.ma.MaskedArray):
            raise TypeError("tensor: masked arrays are not supported (their mask would be "
                            "lost); use arr.filled(value) or arr.compressed() first")
        arr = _np.asarray(arr)  # np.matrix and other subclasses: a plain ndarray (no copy)
    dt = arr.dtype
    if dt.kind not in _KINDS_OK or (dt.kind == "f" and dt.itemsize not in _FLOAT_SIZES) \
            or dt.fields is not None:
        raise TypeError(f"tensor: cannot make a tensor from {what} of dtype {dt} (supported: "
                        "bool, int8/16/32/64, uint8/16/32/64, float16/32/64)")
    if not dt.isnative:
        arr = arr.astype(dt.newbyteorder("="))
    return arr


def _device_array_types():
    """Array types of registered non-CPU backends (the test suite's fake device is an ndarray
    subclass, and must not be mistaken for host data)."""
    from .backend import _BY_TYPE
    return _BY_TYPE


def as_array(data, dtype, device):
    """Backend array for user data, with PyTorch's dtype rules for Python data."""
    if hasattr(data, "array") and hasattr(data, "grad_fn"):  # a Tensor
        arr = data.array
    elif type(data).__module__.startswith("cupy") or type(data) in _device_array_types():
        arr = data  # already a device array: no round trip through the host
    elif isinstance(data, _ndarray):
        arr = check_array(data, "a NumPy array")
    elif isinstance(data, _np.generic):
        arr = _np.asarray(data)
    else:
        try:
            arr = _np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"tensor: cannot make a tensor from {type(data).__name__}: {exc}") \
                from None
        if arr.dtype == object or arr.dtype.kind in "USc":
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data "
                            f"(got a NumPy array of dtype {arr.dtype}; nested lists must be "
                            "rectangular and numeric)")
        arr = check_array(arr, type(data).__name__)
        if dtype is None:  # Python floats are float32, ints int64 (PyTorch's defaults)
            if arr.dtype.kind == "f":
                dtype = _dt.default_float
            elif arr.dtype.kind in "iu":
                dtype = _dt.default_int
    dev = parse_device(device) if device is not None else (
        backend_of(arr).device(arr) if not isinstance(data, (list, tuple, int, float, bool))
        else get_default_device())
    be = backend_for(dev)
    if backend_of(arr) is not be or be.device(arr) != dev:
        arr = be.asarray(arr, device=dev)
    dtype = _dt.as_dtype(dtype)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr
