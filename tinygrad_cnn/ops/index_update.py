"""Index-wise updates along one dim: ``index_add`` and ``index_fill`` (out of place; the
tensor methods ``index_add_``/``index_fill_`` write them in place), composed of
``scatter_add`` and ``where``, whose gradients they inherit.
"""
from __future__ import annotations

import importlib
import numbers

from ..errors import OpRuntimeError, OpTypeError
from . import elementwise as _ew
from . import shape as _sh
from .op_registry import const as _const
from .selection import _check_index, _dim, scatter_add

# the module, looked up at call time (import cycle); `from .. import tensor` would give the
# tg.tensor factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)


def _vector_index(op, input, dim, index):
    if not isinstance(input, _tensor.Tensor):
        raise OpTypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    d = _dim(op, dim, input)
    index = _check_index(op, index, input, d)
    if index.ndim > 1:
        raise OpRuntimeError(f"{op}: index must be a vector (1-D), got shape {index.shape}")
    return d, _sh.reshape(index, (-1,))


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source[..., i, ...]`` added at ``input[..., index[i], ...]``
    along ``dim`` (repeated indices accumulate). ``source``: input's shape with
    ``len(index)`` along ``dim``."""
    d, index = _vector_index("index_add", input, dim, index)
    if not isinstance(source, _tensor.Tensor):
        raise OpTypeError(f"index_add: expected a Tensor source, got {type(source).__name__}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Number):
        raise OpTypeError(f"index_add: alpha must be a number, got {alpha!r}")
    want = input.shape[:d] + (index.shape[0],) + input.shape[d + 1:] if input.ndim else \
        index.shape
    if source.shape != want and not (input.ndim == 0 and source.numel() == index.shape[0]):
        raise OpRuntimeError(f"index_add: source of shape {source.shape} does not match the "
                             f"input {input.shape} with {index.shape[0]} indices along dim "
                             f"{d} (expected {want})")
    if input.ndim == 0:
        source = _sh.reshape(source, index.shape)
    src = source if alpha == 1 else source * alpha
    idx = _sh.reshape(index, (1,) * d + (index.shape[0],) + (1,) * (src.ndim - d - 1))
    return scatter_add(input, d, _sh.expand(idx, *src.shape).contiguous(), src)


def index_fill(input, dim, index, value):
    """``input`` with every slice ``index[i]`` along ``dim`` set to ``value`` (a number or a
    0-d tensor, which then gets the gradient of the filled places)."""
    d, index = _vector_index("index_fill", input, dim, index)
    if isinstance(value, _tensor.Tensor):
        if value.ndim != 0:
            raise OpRuntimeError(f"index_fill: only supports a 0-dimensional value tensor, got "
                                 f"shape {value.shape}")
    elif isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise OpTypeError(f"index_fill: value must be a number or a 0-d tensor, got {value!r}")
    xp = input.xp
    size = input.shape[d] if input.ndim else 1
    hit = xp.zeros(size, dtype=bool)
    hit[index.array] = True
    hit = hit.reshape((1,) * d + (size,) + (1,) * (input.ndim - d - 1)) if input.ndim else \
        hit.reshape(())
    if not isinstance(value, _tensor.Tensor):
        value = _const(xp.asarray(value, dtype=input.dtype))
    elif value.dtype != input.dtype:
        value = value.to(dtype=input.dtype)
    return _ew.where(_const(hit), value, input)
