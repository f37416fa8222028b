"""Selecting and placing elements along a dim: gather, scatter, scatter_add, index_select,
take_along_dim, masked_fill (the sorts built on gather are in ``sorting.py``).

Notation: ``x`` the input, ``index`` an integer tensor with ``x``'s number of dims, ``d`` the
dim. ``gather`` reads ``y[i][j][k] = x[i][index[i][j][k]][k]`` (for ``d = 1``) over the
positions of ``index``; ``scatter`` writes the other way, ``out[i][index[i][j][k]][k] =
src[i][j][k]``. The two are each other's adjoint, so every op here has a backward made of
gather and scatter_add.
"""
from __future__ import annotations

import importlib
import numbers
from typing import NamedTuple

from .. import dtypes
from ..errors import OpIndexError, OpRuntimeError, OpTypeError, OpValueError
from .checks import canonical_dim, device_check, on_host
from .op_registry import const as _const, register

# the module (Tensor is looked up at call time: import cycle); not `from .. import tensor`,
# which gives the `tg.tensor` factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)


class ValuesIndices(NamedTuple):
    """PyTorch's ``torch.return_types.sort`` / ``topk``: ``values, indices = x.sort()``."""

    values: object
    indices: object


def _grid(index, dim):
    """The advanced index that pairs ``index`` (a Tensor) along ``dim`` with the position of
    every element in the other dims: ``x[grid]`` has ``index``'s shape (no copies of x)."""
    xp = index.xp
    n = index.ndim
    return tuple(index.array if k == dim else
                 xp.arange(s).reshape((1,) * k + (s,) + (1,) * (n - 1 - k))
                 for k, s in enumerate(index.shape))


# ---------------------------------------------------------------- the three primitives
@register("gather", rule="gx = scatter_add(expand(0, x.shape), dim, index, gy)", saves=("index",))
def _gather(x, index, *, dim):
    """``(…) , index (…') -> (…')``: ``x`` read at ``index`` along ``dim``."""
    y = x.array[_grid(index, dim)]

    def backward(gy):
        zeros = _const(gy.xp.zeros(x.shape, dtype=gy.dtype))
        return _scatter_add(zeros, index, gy, dim=dim, fresh=True), None

    return y, backward


@register("scatter_add", rule="gx = gy; gsrc = gather(gy, dim, index)", saves=("index",))
def _scatter_add(x, index, src, *, dim, fresh=False):
    """``x`` with ``src`` (of ``index``'s shape) added at ``index`` along ``dim``; positions
    named twice accumulate. ``fresh=True``: ``x`` was made for this call and nothing else
    holds it, so the sum is written into it (gather's backward: copying a large zero
    gradient would cost more than the scatter itself)."""
    out = x.array if fresh else x.array.copy()
    x.backend.scatter_add(out, _grid(index, dim), src.array)

    def backward(gy):
        return (gy if x.requires_grad else None, None,
                _gather(gy, index, dim=dim) if src.requires_grad else None)

    return out, backward


@register("scatter", rule="gx = scatter(gy, dim, index, 0); gsrc = gather(gy, dim, index)",
          saves=("index",))
def _scatter(x, index, src, *, dim):
    """``x`` with ``src`` (of ``index``'s shape) written at ``index`` along ``dim``. Where a
    position is named twice one of the writes wins (unspecified in PyTorch too)."""
    out = x.array.copy()
    out[_grid(index, dim)] = src.array

    def backward(gy):
        gx = gsrc = None
        if x.requires_grad:  # the written positions no longer depend on x
            zeros = _const(gy.xp.zeros(index.shape, dtype=gy.dtype))
            gx = _scatter(gy, index, zeros, dim=dim)
        if src.requires_grad:  # PyTorch's rule, also for repeated positions
            gsrc = _gather(gy, index, dim=dim)
        return gx, None, gsrc

    return out, backward


# ---------------------------------------------------------------- checks
def _as_tensor(op, v, like, what):
    Tensor = _tensor.Tensor
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (list, tuple)) or hasattr(v, "__array__"):
        return Tensor(v, device=like.device)
    raise OpTypeError(f"{op}: {what} must be a Tensor, got {type(v).__name__}")


def _check_tensor(op, x):
    if not isinstance(x, _tensor.Tensor):
        raise OpTypeError(f"{op}: expected a Tensor input, got {type(x).__name__}")


def _check_index(op, index, x, dim, kinds="i"):
    """An integer index tensor on x's device whose values address ``x.shape[dim]``."""
    index = _as_tensor(op, index, x, "index")
    if index.dtype.kind not in kinds:
        raise OpTypeError(f"{op}: expected an int64 index tensor, got {index.dtype} "
                          f"(shape {index.shape})")
    if index.device != x.device:
        raise OpRuntimeError(f"{op}: index is on {index.device} but the input is on {x.device}")
    _check_bounds(op, index.array, x.shape[dim] if x.ndim else 1, dim)
    return index


def _check_bounds(op, idx, size, dim):
    if idx.size == 0:
        return
    bad = (idx < 0) | (idx >= size)
    if not on_host(idx):  # on a device: checked there, raised at the next sync
        device_check(~bad.any(), f"{op}: an index is out of bounds for dimension {dim} with "
                     f"size {size}", OpIndexError)
    elif bad.any():
        value = int(idx[bad].reshape(-1)[0])
        raise OpIndexError(f"{op}: index {value} is out of bounds for dimension {dim} with "
                           f"size {size}")


def _check_index_shape(op, index, x, dim, src=None):
    """PyTorch's rule: same number of dims; index no larger than x apart from ``dim`` (and
    no larger than src anywhere)."""
    if index.ndim != x.ndim:
        raise OpRuntimeError(f"{op}: index {index.shape} must have the same number of dims as "
                             f"the input {x.shape}")
    for k, (i, s) in enumerate(zip(index.shape, x.shape, strict=True)):
        if k != dim and i > s:
            raise OpRuntimeError(f"{op}: index {index.shape} must be no larger than the input "
                                 f"{x.shape} apart from dimension {dim} (dimension {k})")
    if src is not None and (src.ndim != x.ndim or
                            any(i > s for i, s in zip(index.shape, src.shape, strict=True))):
        raise OpRuntimeError(f"{op}: index {index.shape} must be no larger than src "
                             f"{src.shape} in every dimension")


def _dim(op, dim, x):
    return canonical_dim(op, dim, x.ndim, x.shape) if x.ndim else canonical_dim(op, dim, 1)


def _zero_d(fn, x, index, *rest):
    """Run a dim-wise op on 0-d operands as 1-element ones (PyTorch accepts them)."""
    from .shape import reshape
    ys = [reshape(v, 1) if isinstance(v, _tensor.Tensor) and v.ndim == 0 else v
          for v in (x, index, *rest)]
    return reshape(fn(*ys), ())


# ---------------------------------------------------------------- public functions
def gather(input, dim, index, *, sparse_grad=False):
    """``torch.gather``: ``y`` of ``index``'s shape with ``y[...i_d...] = x[...index...]``."""
    _check_tensor("gather", input)
    if sparse_grad:
        raise OpValueError("gather: sparse_grad=True is not supported (gradients are dense)")
    d = _dim("gather", dim, input)
    index = _check_index("gather", index, input, d)
    if input.ndim == 0 and index.ndim == 0:
        return _zero_d(lambda a, i: _gather(a, i, dim=0), input, index)
    _check_index_shape("gather", index, input, d)
    return _gather(input, index, dim=d)


def _scatter_args(op, x, dim, index, src, value):
    """Canonical ``(dim, index, src)``; ``src`` sliced to ``index``'s shape (as PyTorch reads
    it) or a constant filled with ``value``."""
    _check_tensor(op, x)
    d = _dim(op, dim, x)
    index = _check_index(op, index, x, d)
    if (src is None) == (value is None):
        raise OpTypeError(f"{op}: give exactly one of src (a Tensor) and value (a number)")
    if src is None or not isinstance(src, _tensor.Tensor):
        v = value if src is None else src
        if isinstance(v, _tensor.Tensor) or not isinstance(v, numbers.Real):
            raise OpTypeError(f"{op}: value must be a number, got {type(v).__name__}")
        if op.startswith("scatter_add"):
            raise OpTypeError(f"{op}: src must be a Tensor, got {type(v).__name__}")
        src = _const(x.xp.full(index.shape, v, dtype=x.dtype))
    elif src.dtype != x.dtype:
        raise OpRuntimeError(f"{op}: expected src of the input's dtype {x.dtype}, got "
                             f"{src.dtype}")
    elif src.device != x.device:
        raise OpRuntimeError(f"{op}: src is on {src.device} but the input is on {x.device}")
    if x.ndim == 0:
        return d, index, src
    _check_index_shape(op, index, x, d, src)
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    return d, index, src


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``torch.scatter``: a copy of ``input`` with ``src`` (or ``value``) written at
    ``index`` along ``dim``. ``reduce="add"`` is ``scatter_add``; ``"multiply"`` is refused."""
    op = "scatter"
    if reduce is not None:
        if reduce != "add":
            raise OpValueError(f"scatter: reduce={reduce!r} is not supported; only 'add'")
        if src is not None and not isinstance(src, _tensor.Tensor):
            src, value = None, src
        if src is None:  # torch allows a number with reduce="add"
            _check_tensor(op, input)
            idx = _as_tensor(op, index, input, "index")
            src = _const(input.xp.full(idx.shape, value, dtype=input.dtype))
        return scatter_add(input, dim, index, src)
    d, index, src = _scatter_args(op, input, dim, index, src, value)
    if input.ndim == 0:
        return _zero_d(lambda a, i, s: _scatter(a, i, s, dim=0), input, index, src)
    return _scatter(input, index, src, dim=d)


def scatter_add(input, dim, index, src):
    """``torch.scatter_add``: a copy of ``input`` with ``src`` added at ``index`` along
    ``dim``; repeated positions accumulate."""
    d, index, src = _scatter_args("scatter_add", input, dim, index, src, None)
    if input.ndim == 0:
        return _zero_d(lambda a, i, s: _scatter_add(a, i, s, dim=0), input, index, src)
    return _scatter_add(input, index, src, dim=d)


def index_select(input, dim, index):
    """``torch.index_select``: the entries ``index`` (1-D or 0-d, int32/int64) along ``dim``.
    ``(…, n, …) -> (…, len(index), …)``; the gradient adds back into the picked entries."""
    from .shape import expand, reshape
    _check_tensor("index_select", input)
    d = _dim("index_select", dim, input)
    index = _check_index("index_select", index, input, d)
    if index.ndim > 1:
        raise OpIndexError(f"index_select: index must be a vector (1-D), got shape "
                           f"{index.shape}")
    if input.ndim == 0:
        return _zero_d(lambda a, i: _gather(a, i, dim=0), input, reshape(index, ()))
    k = index.numel()
    index = reshape(index, (1,) * d + (k,) + (1,) * (input.ndim - 1 - d))
    shape = input.shape[:d] + (k,) + input.shape[d + 1:]
    return _gather(input, expand(index, shape), dim=d)


def take_along_dim(input, indices, dim=None):
    """``torch.take_along_dim``: with ``dim=None`` the flattened input at ``indices``
    (flattened); else ``input`` and ``indices`` broadcast apart from ``dim``, then gather."""
    from .shape import broadcast_to, reshape
    _check_tensor("take_along_dim", input)
    indices = _as_tensor("take_along_dim", indices, input, "indices")
    if indices.dtype != dtypes.int64:
        raise OpTypeError(f"take_along_dim: dtype of indices should be int64, got "
                          f"{indices.dtype}")
    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    d = _dim("take_along_dim", dim, input)
    if input.ndim != indices.ndim:
        raise OpRuntimeError(f"take_along_dim: input {input.shape} and indices "
                             f"{indices.shape} must have the same number of dims")
    if input.ndim == 0:
        return gather(input, 0, indices)
    from .checks import broadcast_shapes
    others = broadcast_shapes(_drop(input.shape, d), _drop(indices.shape, d))
    if others is None:
        raise OpRuntimeError(f"take_along_dim: input {input.shape} and indices "
                             f"{indices.shape} do not broadcast apart from dimension {d}")
    x_shape = others[:d] + (input.shape[d],) + others[d:]
    i_shape = others[:d] + (indices.shape[d],) + others[d:]
    x = input if input.shape == x_shape else broadcast_to(input, x_shape)
    i = indices if indices.shape == i_shape else broadcast_to(indices, i_shape)
    return gather(x, d, i)


def _drop(shape, d):
    return shape[:d] + shape[d + 1:]


def masked_fill(input, mask, value):
    """``torch.masked_fill``: ``value`` where the bool ``mask`` (broadcast with ``input``)
    is True, else ``input``. ``value`` is a number or a 0-d tensor; both get gradients."""
    from .elementwise import where
    Tensor = _tensor.Tensor
    _check_tensor("masked_fill", input)
    mask = _as_tensor("masked_fill", mask, input, "mask")
    _check_mask("masked_fill", input, mask)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise OpRuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got a "
                                 f"tensor of shape {value.shape}")
        if value.dtype != input.dtype:
            value = value.to(dtype=input.dtype)
    elif isinstance(value, numbers.Real):  # NumPy scalars too
        value = _const(input.xp.asarray(value).astype(input.dtype))
    else:
        raise OpTypeError(f"masked_fill: value must be a number or a 0-d tensor, got "
                          f"{type(value).__name__}")
    _check_mask("masked_fill", input, mask)
    return where(mask, value, input)


def _check_mask(op, input, mask):
    """The broadcast shape of ``input`` and the bool ``mask`` (a Tensor on its device)."""
    from .checks import broadcast_shapes
    if mask.dtype.kind != "b":
        raise OpTypeError(f"{op}: only bool masks are supported, got a mask of dtype "
                          f"{mask.dtype}")
    if mask.device != input.device:
        raise OpRuntimeError(f"{op}: mask is on {mask.device} but the input is on "
                             f"{input.device}")
    shape = broadcast_shapes(input.shape, mask.shape)
    if shape is None:
        raise OpRuntimeError(f"{op}: mask {mask.shape} does not broadcast with the "
                             f"input {input.shape}")
    return shape


def masked_select(input, mask):
    """``torch.masked_select``: the elements of ``input`` where the bool ``mask`` (both
    broadcast) is True, as a 1-D tensor in row-major order; the gradient goes back to them."""
    from .indexing import index
    from .shape import broadcast_to
    _check_tensor("masked_select", input)
    mask = _as_tensor("masked_select", mask, input, "mask")
    shape = _check_mask("masked_select", input, mask)
    x = input if input.shape == shape else broadcast_to(input, shape)
    m = mask.array if mask.shape == shape else input.xp.broadcast_to(mask.array, shape)
    return index(x, _const(m)) if shape else index(x.reshape(1), _const(m.reshape(1)))


__all__ = ["ValuesIndices", "gather", "scatter", "scatter_add", "index_select",
           "take_along_dim", "masked_fill", "masked_select"]
