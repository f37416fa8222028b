"""Triangles and diagonals: ``tril``, ``triu``, ``diag``, composed of ``where``, ``getitem``,
``expand`` and ``cat`` (so their gradients are those ops': ``gy`` masked the same way).
"""
from __future__ import annotations

import importlib

import operator

from ..errors import OpRuntimeError, OpTypeError
from . import elementwise as _ew
from . import shape as _sh
from .indexing import index as _index
from .op_registry import const as _const

# the module, looked up at call time (import cycle); `from .. import tensor` would give the
# tg.tensor factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)


def _diagonal_arg(op, diagonal):
    try:
        return operator.index(diagonal)
    except TypeError:
        raise OpTypeError(f"{op}: diagonal must be an int, got {diagonal!r}") from None


def _triangle(op, input, diagonal, lower):
    if not isinstance(input, _tensor.Tensor):
        raise OpTypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    k = _diagonal_arg(op, diagonal)
    if input.ndim < 2:
        raise OpRuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                             f"{input.shape}")
    xp = input.xp
    h, w = input.shape[-2:]
    # xp.tri(h, w, k): True on and below the k-th diagonal; the upper part is its complement
    keep = xp.tri(h, w, k, dtype=bool) if lower else ~xp.tri(h, w, k - 1, dtype=bool)
    zero = _const(xp.zeros((), dtype=input.dtype))
    return _ew.where(_const(keep), input, zero)


def tril(input, diagonal=0):
    """The lower triangle of the last two dims (``(*, h, w)``), on and below the
    ``diagonal``-th diagonal (``> 0`` above the main one); the rest is zero."""
    return _triangle("tril", input, diagonal, True)


def triu(input, diagonal=0):
    """The upper triangle of the last two dims, on and above the ``diagonal``-th diagonal."""
    return _triangle("triu", input, diagonal, False)


def diag(input, diagonal=0):
    """``torch.diag``: a vector ``(n,)`` becomes the ``(n + |k|, n + |k|)`` matrix with it on
    the k-th diagonal; a matrix ``(h, w)`` gives its k-th diagonal as a vector."""
    if not isinstance(input, _tensor.Tensor):
        raise OpTypeError(f"diag: expected a Tensor, got {type(input).__name__}")
    k = _diagonal_arg("diag", diagonal)
    xp = input.xp
    if input.ndim == 2:
        h, w = input.shape
        n = max(0, min(h + min(k, 0), w - max(k, 0)))
        rows = xp.arange(n) - min(k, 0)
        return _index(input, (rows, rows + k))
    if input.ndim != 1:
        raise OpRuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {input.shape}")
    n = input.shape[0]
    m = n + abs(k)
    padded = input if k == 0 else _sh.cat(
        [input, _const(xp.zeros(abs(k), dtype=input.dtype))], 0)
    # out[r, r + k] = x[r] for k >= 0 (x along rows); out[c - k, c] = x[c] for k < 0
    grid = _sh.expand(_sh.reshape(padded, (m, 1) if k >= 0 else (1, m)), m, m)
    zero = _const(xp.zeros((), dtype=input.dtype))
    return _ew.where(_const(xp.eye(m, k=k, dtype=bool)), grid, zero)
