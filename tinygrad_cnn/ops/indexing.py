"""Indexing ``x[index]``: ints, slices (with steps), None, Ellipsis, integer arrays/Tensors and
bool masks, as NumPy. Its adjoint ``index_add`` scatters ``gy`` back into zeros of x's shape;
with advanced indices the same element may be picked twice, so it accumulates (scatter-add).
"""
from __future__ import annotations

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

from ..errors import OpIndexError, OpTypeError
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
            if item.ndim == 0 and item.dtype.kind in "iu":
                item = int(item)
            else:
                advanced = True
        elif isinstance(item, float):
            raise OpTypeError(f"getitem: float index {item!r}; indices must be ints, slices, "
                              "None, Ellipsis, or int/bool tensors")
        out.append(item)
    return tuple(out), advanced


@register("getitem", rule="gx = index_add(zeros like x, index, gy)", saves=(), view=True)
def getitem(x, *, index, advanced):
    """``x[index]``; ``index`` already normalised by :func:`normalize_index`."""
    y = x.array[index]
    if not advanced:
        y = x.xp.asarray(y)
    return y, lambda gy: index_add(gy, index=index, advanced=advanced, shape=x.shape)


@register("index_add", rule="gx = gy[index]", saves=())
def index_add(g, *, index, advanced, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated positions accumulate)."""
    xp = g.xp
    out = xp.zeros(shape, dtype=g.dtype)
    if not advanced:  # basic indexing never selects an element twice: plain assignment
        out[index] = g.array
    else:
        scatter_index, sub_shape = _scatter_form(index, shape, xp)
        g.backend.scatter_add(out, scatter_index, g.array.reshape(sub_shape))
    return out, lambda ggx: getitem(ggx, index=index, advanced=advanced)


def _scatter_form(index, shape, xp):
    """The index without None (which only adds size-1 dims) and bool masks as int arrays."""
    parts = []
    for item in index:
        if item is None:
            continue
        if hasattr(item, "dtype") and getattr(item, "dtype").kind == "b":
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
