"""Repeating a tensor: ``repeat``, ``tile``, ``repeat_interleave``, as PyTorch.

No op of their own: each is a reshape that inserts a size-1 axis, an expand over it and a
reshape that merges it, so the gradient (expand's: a sum over the copies) comes with them.
A per-element count in ``repeat_interleave`` is an ``index_select`` at repeated indices.
"""
from __future__ import annotations

import importlib
import operator

from .. import dtypes
from ..errors import OpRuntimeError, OpTypeError, OpValueError
from .checks import canonical_dim, size_args

# the module (Tensor is looked up at call time: import cycle); not `from .. import tensor`,
# which gives the `tg.tensor` factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)


def repeat(input, *sizes):
    """``Tensor.repeat``: ``input`` tiled ``sizes[k]`` times along dim ``k``; ``sizes`` may
    have more entries than ``input`` has dims (leading size-1 dims are added)."""
    from .shape import expand, reshape
    sizes = size_args("repeat", sizes)
    if len(sizes) < input.ndim:
        raise OpRuntimeError(f"repeat: the number of repeat sizes ({len(sizes)}) can not be "
                             f"smaller than the number of dims of the tensor ({input.ndim}, "
                             f"shape {input.shape})")
    if any(s < 0 for s in sizes):
        raise OpRuntimeError(f"repeat: sizes must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + input.shape
    # (r0, s0, r1, s1, ...): each copy count becomes its own axis in front of its dim
    spread = tuple(v for s in shape for v in (1, s))
    grown = tuple(v for r, s in zip(sizes, shape, strict=True) for v in (r, s))
    y = expand(reshape(input, spread), *grown)
    return reshape(y, tuple(r * s for r, s in zip(sizes, shape, strict=True)))


def tile(input, dims):
    """``torch.tile``: as :func:`repeat`, but ``dims`` shorter than ``input.ndim`` is padded
    with leading 1s."""
    dims = size_args("tile", (dims,))
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """``torch.repeat_interleave``: each element (or slice along ``dim``) repeated
    ``repeats`` times (an int, or a tensor with one count per element); ``dim=None``
    works on the flattened input. With ``repeats`` omitted, ``input`` holds the counts and
    the result is the repeated ``arange``."""
    from .shape import expand, reshape
    from .selection import index_select
    Tensor = _tensor.Tensor
    if repeats is None:  # torch.repeat_interleave(counts)
        counts = _counts(input, None)
        ar = Tensor._make(input.xp.arange(counts.size, dtype=dtypes.int64))
        return repeat_interleave(ar, input, 0, output_size=output_size)
    x = reshape(input, -1) if dim is None else input
    d = 0 if dim is None else canonical_dim("repeat_interleave", dim, x.ndim, x.shape)
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, Tensor) and repeats.ndim == 1 and repeats.shape[0] != 1:
        counts = _counts(repeats, n)
        _check_output_size(output_size, int(counts.sum()))
        positions = Tensor._make(x.xp.repeat(x.xp.arange(n, dtype=dtypes.int64), counts))
        return index_select(x, d, positions)
    r = _count(repeats)
    _check_output_size(output_size, r * n)
    if x.ndim == 0:
        x = reshape(x, 1)
    shape = x.shape[:d + 1] + (1,) + x.shape[d + 1:]
    grown = x.shape[:d + 1] + (r,) + x.shape[d + 1:]
    out = x.shape[:d] + (x.shape[d] * r,) + x.shape[d + 1:]
    return reshape(expand(reshape(x, shape), *grown), out)


def _count(repeats):
    if isinstance(repeats, _tensor.Tensor):
        if repeats.numel() != 1 or repeats.dtype.kind not in "iu":
            raise OpTypeError(f"repeat_interleave: repeats must be an int or an integer tensor "
                              f"with one count per element, got {repeats.dtype} of shape "
                              f"{repeats.shape}")
        repeats = int(repeats.array.reshape(-1)[0])
    try:
        r = operator.index(repeats)
    except TypeError:
        raise OpTypeError(f"repeat_interleave: repeats must be an int or an integer tensor, "
                          f"got {type(repeats).__name__}") from None
    if r < 0:
        raise OpRuntimeError(f"repeat_interleave: repeats can not be negative, got {r}")
    return r


def _counts(repeats, n):
    """The per-element counts as a backend array, checked."""
    if repeats.dtype.kind not in "iu" or repeats.ndim != 1:
        raise OpTypeError(f"repeat_interleave: repeats must be a 1-D integer tensor, got "
                          f"{repeats.dtype} of shape {repeats.shape}")
    if n is not None and repeats.shape[0] != n:
        raise OpRuntimeError(f"repeat_interleave: repeats must have the same size as the "
                             f"input along dim ({n}), got {repeats.shape[0]}")
    counts = repeats.array
    if counts.size and bool((counts < 0).any()):
        raise OpRuntimeError("repeat_interleave: repeats can not be negative")
    return counts


def _check_output_size(output_size, total):
    if output_size is not None and output_size != total:
        raise OpValueError(f"repeat_interleave: output_size={output_size} but the repeats "
                           f"give {total} elements along the dim")


__all__ = ["repeat", "tile", "repeat_interleave"]
