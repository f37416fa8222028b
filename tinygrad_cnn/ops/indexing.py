"""Indexing ``x[index]``: ints, slices (with steps), None, Ellipsis, integer arrays/Tensors and
bool masks, as NumPy. Its adjoint ``index_add`` scatters ``gy`` back into zeros of x's shape;
with advanced indices the same element may be picked twice, so it accumulates (scatter-add).
"""
from __future__ import annotations

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

from ..errors import OpIndexError, OpRuntimeError, OpTypeError, OpValueError
from .checks import on_host
from .op_registry import register


def normalize_index(index, xp):
    """A tuple index with Tensors/lists turned into backend arrays; also: is it advanced?"""
    Tensor = _tensor.Tensor
    if not isinstance(index, tuple):
        index = (index,)
    out, advanced = [], False
    for item in index:
        if isinstance(item, Tensor):
            item = xp.asarray(item.array)  # index arrays live where the data lives
        elif isinstance(item, list):
            item = xp.asarray(item)
            if item.dtype.kind == "f" and item.size == 0:
                item = item.astype("int64")
        elif hasattr(item, "__array__") and not isinstance(item, (int, bool)):
            item = xp.asarray(item)
        if hasattr(item, "dtype") and hasattr(item, "ndim") and not isinstance(item, (int, bool)):
            if item.dtype.kind == "f":
                raise OpIndexError(f"getitem: tensors used as indices must be long, int or bool; "
                                   f"got {item.dtype}")
            if item.ndim == 0 and item.dtype.kind in "iu" and on_host(item):
                item = int(item)  # (a device scalar stays an array index: int() would sync)
            else:
                advanced = True
        elif isinstance(item, float):
            raise OpTypeError(f"getitem: float index {item!r}; indices must be ints, slices, "
                              "None, Ellipsis, or int/bool tensors")
        out.append(item)
    return tuple(out), advanced


@register("getitem", rule="gx = index_add(gy, index, advanced, x.shape)", saves=(), view=True)
def getitem(x, *, index, advanced):
    """``x[index]``; ``index`` already normalised by :func:`normalize_index`."""
    y = x.array[index]
    if not advanced:
        y = x.xp.asarray(y)
    return y, lambda gy: index_add(gy, index=index, advanced=advanced, shape=x.shape)


@register("index_add", rule="gg = getitem(gy, index, advanced)", saves=())
def index_add(g, *, index, advanced, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated positions accumulate)."""
    xp = g.xp
    out = xp.zeros(shape, dtype=g.dtype)
    if not advanced:  # basic indexing never selects an element twice: plain assignment
        out[index] = g.array
    else:
        scatter_index, sub_shape = _scatter_form(index, shape, xp)
        g.backend.scatter_add(out, scatter_index, g.array.reshape(sub_shape))
    return out, lambda gy: getitem(gy, index=index, advanced=advanced)


def _scatter_form(index, shape, xp):
    """The index without None (which only adds size-1 dims) and bool masks as int arrays."""
    parts = []
    for item in index:
        if item is None:
            continue
        if hasattr(item, "dtype") and item.dtype.kind == "b":
            parts.extend(xp.nonzero(item))
        else:
            parts.append(item)
    parts = tuple(parts)
    probe = xp.broadcast_to(xp.zeros((), dtype="int8"), shape)
    return parts, probe[parts].shape


def index(x, idx):
    """``x[idx]`` as a recorded op."""
    norm, advanced = normalize_index(idx, x.xp)
    return getitem(x, index=norm, advanced=advanced)


@register("index_put", rule="gx = index_put(gy, 0, index); gvalue = getitem(gy, index)", saves=(),
          needs_mask=True)
def index_put(x, value, *, index, advanced):
    """A copy of ``x`` with ``value`` (broadcast) written at ``index``: ``x[index] = value``
    as a recorded op (the in-place form writes the result back into x's storage)."""
    y = x.array.copy()
    y[index] = value.array

    def backward(gy, needs):  # reads neither input: only which gradients are wanted
        zero = _tensor.Tensor._make(gy.xp.zeros((), dtype=gy.dtype))
        gx = index_put(gy, zero, index=index, advanced=advanced) if needs[0] else None
        gv = getitem(gy, index=index, advanced=advanced) if needs[1] else None
        return gx, gv

    return y, backward


def setitem(x, idx, value):
    """``x[idx] = value`` in place: an ``index_put`` whose result goes into x's storage, with a
    version bump (graphs that saved x refuse to run backward afterwards, as in PyTorch)."""
    from .inplace import apply_inplace
    Tensor = _tensor.Tensor
    norm, advanced = normalize_index(idx, x.xp)
    if isinstance(value, Tensor):
        if value.device != x.device:
            raise OpRuntimeError(f"setitem: value on {value.device}, tensor on {x.device}")
        if value.dtype != x.dtype:
            value = value.to(dtype=x.dtype)
    else:
        try:
            value = Tensor(value, dtype=x.dtype, device=x.device)
        except (TypeError, ValueError) as exc:
            raise OpTypeError(f"setitem: cannot assign a {type(value).__name__} to a tensor "
                              f"of dtype {x.dtype}: {exc}") from None
    target = _target_shape(x, norm)
    if value.ndim > len(target):  # NumPy drops leading size-1 dims of the value; so do we
        lead = value.ndim - len(target)
        if any(s != 1 for s in value.shape[:lead]):
            raise OpValueError(f"setitem: value of shape {value.shape} cannot be broadcast to "
                               f"the indexed shape {target}")
        value = value.reshape(value.shape[lead:])
    if not _broadcastable(value.shape, target):
        raise OpValueError(f"setitem: value of shape {value.shape} cannot be broadcast to the "
                           f"indexed shape {target} (tensor shape {x.shape})")
    return apply_inplace(x, "setitem", lambda t: index_put(t, value, index=norm,
                                                           advanced=advanced))


def _target_shape(x, norm):
    try:
        return x.array[norm].shape
    except IndexError as exc:
        raise OpIndexError(f"setitem: {exc} (tensor shape {x.shape})") from None


def _broadcastable(shape, target):
    return len(shape) <= len(target) and all(
        a == 1 or a == b for a, b in zip(reversed(shape), reversed(target)))
