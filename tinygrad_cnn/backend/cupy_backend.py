"""GPU backend: CuPy, imported only when a CUDA device or a CuPy array is used."""
from __future__ import annotations

from .device import Device
# the kernels (backend/kernels/<family>_cuda.py), one import line per family
from .kernels.conv_cuda import *  # noqa: F403
from .kernels.fused_cuda import *  # noqa: F403
from .kernels.pool_cuda import *  # noqa: F403

_INSTALL_HINT = ('CUDA tensors need CuPy and an NVIDIA GPU: pip install cupy-cuda12x (or '
                 'cupy-cuda13x for CUDA 13); from a checkout of tinygrad_cnn: '
                 'pip install -e ".[cuda12]"')

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


class _Generator:
    """The NumPy ``Generator`` methods the engine uses, on CuPy's RandomState (which has
    them all under older names, on every CuPy version)."""

    def __init__(self, seed=None):
        self._rs = xp.random.RandomState(seed)

    def random(self, size=None, dtype="float64"):
        return self._rs.random_sample(size=size, dtype=dtype)

    def standard_normal(self, size=None, dtype="float64"):
        return self._rs.standard_normal(size=size, dtype=dtype)

    def integers(self, low, high=None, size=None, dtype="int64"):
        return self._rs.randint(low, high, size=size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._rs.uniform(low, high, size=size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self._rs.normal(loc, scale, size=size)


def rng():
    dev = xp.cuda.Device().id
    if dev not in _rngs:
        _rngs[dev] = _Generator()
    return _rngs[dev]


def seed(value: int) -> None:
    _rngs.clear()
    if xp is not None:
        for i in range(device_count()):
            with xp.cuda.Device(i):
                _rngs[i] = _Generator(value)
