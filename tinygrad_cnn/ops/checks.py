"""Argument checks shared by the op families; each error names the op and the values."""
from __future__ import annotations

import operator

from ..backend import numpy_backend as _cpu
from ..errors import OpIndexError, OpTypeError, OpValueError


def canonical_dim(op: str, dim, ndim: int, shape=None, *, extra: int = 0) -> int:
    """``dim`` as a non-negative int in ``[0, ndim + extra)`` (``extra=1`` for unsqueeze)."""
    try:
        d = operator.index(dim)
    except TypeError:
        raise OpTypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}") from None
    n = max(ndim + extra, 1) if extra == 0 else ndim + extra
    if not -n <= d < n:
        where = f" (shape {tuple(shape)})" if shape is not None else ""
        raise OpIndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims{where}; "
                           f"expected a dim in [{-n}, {n - 1}]")
    return d + n if d < 0 else d


def canonical_dims(op: str, dim, ndim: int, shape=None):
    """``dim`` (None, int, or a sequence of ints) as a sorted tuple of distinct dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        dims = tuple(canonical_dim(op, d, ndim, shape) for d in dim)
        if len(set(dims)) != len(dims):
            raise OpValueError(f"{op}: dim {tuple(dim)} names a dimension twice")
        return tuple(sorted(dims))
    return (canonical_dim(op, dim, ndim, shape),)


def size_args(op: str, sizes):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` as PyTorch does; ints only."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    elif len(sizes) == 1 and hasattr(sizes[0], "shape") and not isinstance(sizes[0], int):
        sizes = tuple(int(s) for s in sizes[0])
    out = []
    for s in sizes:
        try:
            out.append(operator.index(s))
        except TypeError:
            raise OpTypeError(f"{op}: sizes must be ints, got {type(s).__name__} {s!r} "
                              f"in {tuple(sizes)}") from None
    return tuple(out)


def check_float(op: str, t):
    if t.dtype.kind != "f":
        raise OpTypeError(f"{op}: expected a floating point tensor, got {t.dtype} "
                          f"(shape {t.shape}); convert it with .float() first")


def broadcast_shapes(*shapes):
    """The broadcast of ``shapes`` (NumPy's rule), or None when they do not broadcast."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, start=ndim - len(s)):
            if n != 1:
                if out[i] != 1 and out[i] != n:
                    return None
                out[i] = n
    return tuple(out)


def on_host(arr) -> bool:
    """True for NumPy arrays, whose values can be read without waiting on a device."""
    return type(arr) is _cpu.array_type or isinstance(arr, _cpu.xp.generic)


def device_check(ok, message: str, error=OpValueError) -> None:
    """Raise ``error(message)`` unless the 0-d bool array ``ok`` is true.

    On the CPU (NumPy arrays) it checks now, as before: reading host memory costs nothing.
    On a device, reading ``ok`` would stall the queue (a host sync), so the verdict goes to
    :func:`tinygrad_cnn.cuda.device_assert` and is raised at the next synchronisation."""
    if on_host(ok):
        if not ok:
            raise error(message)
        return
    from .. import cuda
    cuda.device_assert(ok, message, error)
