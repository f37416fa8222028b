"""A test-only second device, "fake": NumPy underneath, its own array type.

Every array it hands out is a ``FakeArray`` (an ndarray subclass that, like CuPy, never
decays to a scalar), so a test can tell whether an op's output or gradient stayed on the
device or silently fell back to a plain NumPy array (the CPU). Registered with
``tinygrad_cnn.backend.register_backend("fake", ...)`` by the test suite's conftest.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import types

import numpy as np

from tinygrad_cnn import cuda as _cuda
from tinygrad_cnn.backend import Device


_inside = threading.local()  # in a conversion already: repr's own float() calls are not more


def _sync(kind):
    """A host conversion of a FakeArray: reported to ``tg.cuda`` when something listens."""
    if _cuda.active and not getattr(_inside, "depth", 0):
        _cuda.report_sync(kind, "fake:0")


def _counted(kind, method):
    def conversion(self, *args, **kwargs):
        if not _cuda.active:
            return method(self, *args, **kwargs)
        _sync(kind)
        _inside.depth = getattr(_inside, "depth", 0) + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            _inside.depth -= 1

    conversion.__name__ = kind
    return conversion


class FakeArray(np.ndarray):
    """Results of ufuncs and reductions stay FakeArrays, 0-d included (as with CuPy).

    Every way to read its values on the host is a *sync* on a real GPU and is reported to
    ``tinygrad_cnn.cuda`` (see :func:`count_syncs`): Python scalars (``__bool__``,
    ``__float__``, ``__int__``, ``__index__``, ``__complex__``, ``item``), ``tolist``,
    ``tobytes``, iteration, ``in``, printing, ``__array__``, CuPy's ``.get()``, and
    ``np.asarray``/``np.array`` of one called from package code (NumPy converts an ndarray
    subclass without ``__array__``, so those two are caught while counting by wrapping them).
    What NumPy does on its own arrays inside a ufunc or reduction is not a sync.
    """

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        return np.asarray(arr).view(FakeArray)

    def __getitem__(self, key):
        # an element is a 0-d array, as in CuPy, not a NumPy scalar that leaves the device
        out = np.ndarray.__getitem__(self, key)
        return np.asarray(out).view(FakeArray) if isinstance(out, np.generic) else out

    def get(self, stream=None, order="C", out=None, blocking=True):
        """CuPy's device-to-host copy."""
        _sync("get")
        return np.array(self.view(np.ndarray), order=order, copy=True)

    def __array__(self, dtype=None, copy=None):
        _sync("__array__")
        base = self.view(np.ndarray)
        return base if dtype is None else base.astype(dtype)

    def __iter__(self):
        _sync("__iter__")
        return (_wrap(v) for v in self.view(np.ndarray))


for _kind in ("__bool__", "__float__", "__int__", "__index__", "__complex__", "item",
              "tolist", "tobytes", "__contains__", "__repr__", "__str__", "__format__"):
    setattr(FakeArray, _kind, _counted(_kind, getattr(np.ndarray, _kind)))


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
    _sync("to_host")
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


_PKG = os.path.dirname(os.path.abspath(_cuda.__file__)) + os.sep
_CONVERTERS = ("asarray", "array", "ascontiguousarray", "asfortranarray")
_saved_converters: dict = {}


def _holds_fake(obj):
    return isinstance(obj, FakeArray) or (isinstance(obj, (list, tuple)) and
                                          any(isinstance(o, FakeArray) for o in obj))


def _converter(name, fn):
    def convert(obj, *args, **kwargs):
        # package code turning a device array into a host one: a sync on CuPy (where it is
        # even an error); NumPy's own Python code and this module's are not counted
        if _holds_fake(obj) and sys._getframe(1).f_code.co_filename.startswith(_PKG):
            _sync(f"np.{name}")
        return fn(obj, *args, **kwargs)

    convert.__name__ = name
    return convert


def watch_syncs(on):
    """Called by ``tg.cuda`` when sync debugging starts (True) or stops (False): NumPy turns
    an ndarray subclass into an ndarray without calling ``__array__``, so ``np.asarray`` and
    its kin are wrapped for that time."""
    if on and not _saved_converters:
        for n in _CONVERTERS:
            _saved_converters[n] = getattr(np, n)
            setattr(np, n, _converter(n, _saved_converters[n]))
    elif not on and _saved_converters:
        for n, fn in _saved_converters.items():
            setattr(np, n, fn)
        _saved_converters.clear()


@contextlib.contextmanager
def count_syncs():
    """Record every host sync of fake arrays inside the block (``tg.cuda.sync_debug`` with
    mode ``"default"``); yields the list of :class:`tinygrad_cnn.cuda.SyncEvent`."""
    with _cuda.sync_debug("default") as log:
        yield log


def register():
    from tinygrad_cnn import backend
    backend.register_backend("fake", sys.modules[__name__])
