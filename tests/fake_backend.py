"""A test-only second device, "fake": NumPy underneath, its own array type.

Every array it hands out is a ``FakeArray`` (an ndarray subclass that, like CuPy, never
decays to a scalar), so a test can tell whether an op's output or gradient stayed on the
device or silently fell back to a plain NumPy array (the CPU). Registered with
``tinygrad_cnn.backend.register_backend("fake", ...)`` by the test suite's conftest.
"""
from __future__ import annotations

import math
import types

import numpy as np

from tinygrad_cnn.backend import Device


class FakeArray(np.ndarray):
    """Results of ufuncs and reductions stay FakeArrays, 0-d included (as with CuPy)."""

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        return np.asarray(arr).view(FakeArray)


def _wrap(obj):
    if type(obj) is np.ndarray:
        return obj.view(FakeArray)
    if isinstance(obj, np.generic):
        return np.asarray(obj).view(FakeArray)
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


class _Proxy:
    """numpy (or one of its submodules) whose functions return FakeArrays."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            return _Proxy(attr)
        if isinstance(attr, type) or not callable(attr):  # dtypes, classes, constants
            return attr
        if name in ("errstate",):
            return attr

        def call(*args, **kwargs):
            return _wrap(attr(*args, **kwargs))

        return call


xp = _Proxy(np)
name = "fake"
array_type = FakeArray


def device(arr):
    return Device("fake:0")


def asarray(data, dtype=None, device=None):
    if isinstance(data, FakeArray):
        return data if dtype is None else data.astype(dtype)
    return np.array(np.asarray(data), dtype=dtype).view(FakeArray)


def to_host(arr):
    return np.array(arr, copy=True).view(np.ndarray)


def scatter_add(out, index, values):
    np.add.at(out.view(np.ndarray), index, np.asarray(values))


def scatter_add_flat(size, index, values):
    out = np.bincount(np.asarray(index), weights=np.asarray(values), minlength=size)
    return out.astype(values.dtype).view(FakeArray)


def erf(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(np.asarray(x)).view(FakeArray)


def quiet_fp():
    return np.errstate(all="ignore")


class _Generator:
    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name):
        attr = getattr(self._g, name)
        return lambda *a, **k: _wrap(attr(*a, **k))


_rng = _Generator()


def rng():
    return _rng


def seed(value):
    global _rng
    _rng = _Generator(value)


def _to_numpy(obj):
    if isinstance(obj, FakeArray):
        return obj.view(np.ndarray)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_numpy(o) for o in obj)
    return obj


def __getattr__(name):
    """Every backend function this module does not define (the kernels: im2col, pooling,
    fused optimizer updates, ...) runs NumPy's version, on plain-ndarray views of the inputs,
    and hands back FakeArrays: the op tests then cover each backend function on two devices,
    and what the NumPy version does on the host is not counted as a device sync."""
    if name.startswith("__"):
        raise AttributeError(name)
    from tinygrad_cnn.backend import numpy_backend
    attr = getattr(numpy_backend, name)  # AttributeError: not a backend function either
    if not callable(attr) or isinstance(attr, type):
        return attr

    def delegate(*args, **kwargs):
        kwargs = {k: _to_numpy(v) for k, v in kwargs.items()}
        out = attr(*_to_numpy(args), **kwargs)
        # in-place kernels wrote through the views, so the caller's FakeArrays see the result
        return _wrap(out)

    delegate.__name__ = name
    return delegate


def register():
    import sys

    from tinygrad_cnn import backend
    backend.register_backend("fake", sys.modules[__name__])
