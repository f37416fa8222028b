"""Slicing and re-arranging along one dim: ``unbind``, ``narrow``, ``roll``, ``unfold``,
composed of basic indexing (views, as PyTorch's), ``cat`` and advanced indexing.
"""
from __future__ import annotations

import importlib

import operator

from ..errors import OpIndexError, OpRuntimeError, OpTypeError, OpValueError
from . import shape as _sh
from .checks import canonical_dim
from .indexing import index as _index

# the module, looked up at call time (import cycle); `from .. import tensor` would give the
# tg.tensor factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)


def _tensor_arg(op, t):
    if not isinstance(t, _tensor.Tensor):
        raise OpTypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    return t


def _int(op, name, v):
    try:
        return operator.index(v)
    except TypeError:
        raise OpTypeError(f"{op}: {name} must be an int, got {v!r}") from None


def unbind(input, dim=0):
    """The slices of ``input`` along ``dim``, a tuple of views of its storage."""
    _tensor_arg("unbind", input)
    if input.ndim == 0:
        raise OpRuntimeError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = canonical_dim("unbind", dim, input.ndim, input.shape)
    lead = (slice(None),) * d
    return tuple(_index(input, lead + (i,)) for i in range(input.shape[d]))


def narrow(input, dim, start, length):
    """``input`` restricted to ``[start, start + length)`` along ``dim``: a view that shares
    its storage (``start`` may be negative, counted from the end)."""
    _tensor_arg("narrow", input)
    if input.ndim == 0:
        raise OpRuntimeError("narrow: cannot be applied to a 0-dim tensor")
    d = canonical_dim("narrow", dim, input.ndim, input.shape)
    start, length = _int("narrow", "start", start), _int("narrow", "length", length)
    size = input.shape[d]
    if not -size <= start <= size:
        raise OpIndexError(f"narrow: start {start} is out of range for dimension {d} of size "
                           f"{size} (shape {input.shape})")
    start = start + size if start < 0 else start
    if length < 0 or start + length > size:
        raise OpRuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                             f"{d} of size {size} (shape {input.shape})")
    return _index(input, (slice(None),) * d + (slice(start, start + length),))


def roll(input, shifts, dims=None):
    """Elements shifted by ``shifts`` along ``dims`` (int or tuple), wrapping around; with
    ``dims=None`` the flattened tensor is rolled and reshaped back."""
    _tensor_arg("roll", input)
    shifts_t = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    shifts_t = tuple(_int("roll", "shifts", s) for s in shifts_t)
    if dims is None:
        if len(shifts_t) != 1:
            raise OpRuntimeError(f"roll: with dims=None shifts must be one int, got {shifts!r}")
        return _sh.reshape(roll(_sh.flatten(input), shifts_t, 0), input.shape)
    dims_t = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(dims_t) != len(shifts_t):
        raise OpRuntimeError(f"roll: shifts {shifts!r} and dims {dims!r} must have the same "
                             "length")
    out = input
    for s, dim in zip(shifts_t, dims_t):
        d = canonical_dim("roll", dim, input.ndim, input.shape)
        size = input.shape[d]
        s = s % size if size else 0
        if s:
            lead = (slice(None),) * d
            out = _sh.cat([_index(out, lead + (slice(size - s, None),)),
                           _index(out, lead + (slice(0, size - s),))], d)
    return out if out is not input else input.clone()


def unfold(input, dimension, size, step):
    """``Tensor.unfold``: every window of ``size`` elements, ``step`` apart, along
    ``dimension``: ``(..., L, ...) -> (..., (L - size) // step + 1, ..., size)``.

    A copy (PyTorch returns a strided view; in-place writes into this result do not reach
    ``input``); the gradient adds back into overlapping windows.
    """
    _tensor_arg("unfold", input)
    d = canonical_dim("unfold", dimension, input.ndim, input.shape)
    size, step = _int("unfold", "size", size), _int("unfold", "step", step)
    length = input.shape[d] if input.ndim else 1
    if size < 0 or size > length:
        raise OpRuntimeError(f"unfold: maximum size for tensor at dimension {d} is {length} "
                             f"but size is {size}")
    if step <= 0:
        raise OpValueError(f"unfold: step is {step} but must be > 0")
    if input.ndim == 0:
        return _sh.reshape(input, (1,))
    xp = input.xp
    n = (length - size) // step + 1
    idx = (xp.arange(n) * step)[:, None] + xp.arange(size)[None, :]
    win = _index(input, (slice(None),) * d + (idx,))         # (..., n, size, ...)
    order = tuple(range(d + 1)) + tuple(range(d + 2, win.ndim)) + (d + 1,)
    return _sh.permute(win, *order)

