"""GPU backend: CuPy, imported only when a CUDA device or a CuPy array is used."""
from __future__ import annotations

from .device import Device

_INSTALL_HINT = ('CUDA tensors need CuPy and an NVIDIA GPU: pip install "tinygrad_cnn[cuda12]" '
                 '(or "[cuda13]" for CUDA 13)')

try:  # deliberately lazy: this module itself is imported only on demand
    import cupy as xp
    import cupyx
except Exception as exc:  # pragma: no cover - depends on the machine
    xp = None
    _import_error = exc
else:
    _import_error = None

name = "cupy"
array_type = getattr(xp, "ndarray", type(None))
_rngs: dict = {}


def device_count() -> int:
    if xp is None:
        return 0
    try:
        return xp.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def require(dev: Device) -> None:
    if xp is None:
        raise RuntimeError(f"device {str(dev)!r} is not usable: {_INSTALL_HINT} ({_import_error})")
    n = device_count()
    if n == 0:
        raise RuntimeError(f"device {str(dev)!r} is not usable: no CUDA GPU found. {_INSTALL_HINT}")
    if dev.index >= n:
        raise RuntimeError(f"device {str(dev)!r} does not exist: {n} CUDA device(s) available")


def device(arr) -> Device:
    return Device(f"cuda:{arr.device.id}")


def asarray(data, dtype=None, device=None):
    index = 0 if device is None else Device(device).index
    with xp.cuda.Device(index):
        return xp.asarray(data, dtype=dtype)


def to_host(arr):
    return xp.asnumpy(arr)


def scatter_add(out, index, values) -> None:
    cupyx.scatter_add(out, index, values)


def scatter_add_flat(size, index, values):
    out = xp.zeros(size, dtype=values.dtype)
    cupyx.scatter_add(out, index, values)
    return out


def erf(x):
    from cupyx.scipy.special import erf as cupy_erf
    return cupy_erf(x)


def quiet_fp():
    import contextlib
    return contextlib.nullcontext()


def rng():
    dev = xp.cuda.Device().id
    if dev not in _rngs:
        _rngs[dev] = xp.random.default_rng()
    return _rngs[dev]


def seed(value: int) -> None:
    _rngs.clear()
    if xp is not None:
        for i in range(device_count()):
            with xp.cuda.Device(i):
                _rngs[i] = xp.random.default_rng(value)
