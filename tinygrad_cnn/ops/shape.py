"""Shape ops: views and re-arrangements whose backward re-arranges ``gy`` the other way.

Adjoint pairs sit side by side: reshape/reshape, permute/inverse permute, expand/sum_to,
cat/slices, stack/select.
"""
from __future__ import annotations

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

import math

from ..errors import OpRuntimeError, OpTypeError, OpValueError
from .checks import canonical_dim, canonical_dims, size_args
from .op_registry import register


# ---------------------------------------------------------------- reshape family
def _infer_shape(op, shape, numel, xshape):
    shape = tuple(shape)
    if shape.count(-1) > 1:
        raise OpValueError(f"{op}: only one dimension can be -1, got {shape}")
    if any(s < -1 for s in shape):
        raise OpValueError(f"{op}: invalid size in {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or numel % known:
            raise OpRuntimeError(f"{op}: shape {shape} is invalid for input of shape "
                                 f"{xshape} ({numel} elements)")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if math.prod(shape) != numel:
        raise OpRuntimeError(f"{op}: shape {shape} is invalid for input of shape {xshape} "
                             f"({numel} elements)")
    return shape


@register("reshape", rule="gx = reshape(gy, x.shape)", saves=(), view=True)
def _reshape(x, *, shape):
    return x.array.reshape(shape), lambda gy: _reshape(gy, shape=x.shape)


def reshape(x, *shape):
    """``x`` with a new shape of the same number of elements; one size may be -1."""
    return _reshape(x, shape=_infer_shape("reshape", size_args("reshape", shape), x.numel(),
                                          x.shape))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (a 0-d tensor becomes shape (1,))."""
    if x.ndim == 0:
        return reshape(x, 1)
    s = canonical_dim("flatten", start_dim, x.ndim, x.shape)
    e = canonical_dim("flatten", end_dim, x.ndim, x.shape)
    if s > e:
        raise OpValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                           f"for shape {x.shape}")
    shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return _reshape(x, shape=shape)


@register("squeeze", rule="gx = reshape(gy, x.shape)", saves=(), view=True)
def _squeeze(x, *, dims):
    shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return x.array.reshape(shape), lambda gy: _reshape(gy, shape=x.shape)


def squeeze(x, dim=None):
    """Remove size-1 dims (all of them, or those in ``dim``; others are left alone)."""
    return _squeeze(x, dims=canonical_dims("squeeze", dim, x.ndim, x.shape))


@register("unsqueeze", rule="gx = reshape(gy, x.shape)", saves=(), view=True)
def _unsqueeze(x, *, dim):
    shape = x.shape[:dim] + (1,) + x.shape[dim:]
    return x.array.reshape(shape), lambda gy: _reshape(gy, shape=x.shape)


def unsqueeze(x, dim):
    """Insert a size-1 dim at ``dim`` (in ``[-ndim-1, ndim]``)."""
    return _unsqueeze(x, dim=canonical_dim("unsqueeze", dim, x.ndim, x.shape, extra=1))


# ---------------------------------------------------------------- permutations
@register("permute", rule="gx = permute(gy, argsort(dims))", saves=(), view=True)
def _permute(x, *, dims):
    inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
    return x.array.transpose(dims), lambda gy: _permute(gy, dims=inverse)


def permute(x, *dims):
    """Reorder the dims of ``x``: output dim i is input dim ``dims[i]``."""
    dims = size_args("permute", dims)
    if len(dims) != x.ndim:
        raise OpValueError(f"permute: got {len(dims)} dims {dims} for a tensor with "
                           f"{x.ndim} dims (shape {x.shape})")
    dims = tuple(canonical_dim("permute", d, x.ndim, x.shape) for d in dims)
    if len(set(dims)) != len(dims):
        raise OpValueError(f"permute: dims {dims} repeat a dimension")
    return _permute(x, dims=dims)


def transpose(x, dim0, dim1):
    """Swap two dims."""
    if x.ndim == 0:
        canonical_dim("transpose", dim0, 0)
        canonical_dim("transpose", dim1, 0)
        return x
    d0 = canonical_dim("transpose", dim0, x.ndim, x.shape)
    d1 = canonical_dim("transpose", dim1, x.ndim, x.shape)
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _permute(x, dims=tuple(dims))


# ---------------------------------------------------------------- broadcasting pair
@register("expand", rule="gx = sum_to(gy, x.shape)", saves=(), view=True)
def _expand(x, *, shape):
    return x.xp.broadcast_to(x.array, shape), lambda gy: sum_to(gy, shape=x.shape)


@register("sum_to", rule="gx = expand(gy, x.shape)", saves=(), view=True)
def sum_to(x, *, shape):
    """Sum ``x`` down to ``shape`` (the adjoint of broadcasting ``shape`` up to x's shape)."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and x.shape[lead + i] != 1)
    y = x.array.sum(axis=axes, keepdims=True) if axes else x.array
    return y.reshape(shape), lambda gy: _expand(gy, shape=x.shape)


def expand(x, *sizes, shape=None):
    """Broadcast ``x`` to ``sizes`` (-1 keeps a dim) without copying."""
    sizes = shape if shape is not None else size_args("expand", sizes)
    sizes = tuple(sizes)
    if len(sizes) < x.ndim:
        raise OpValueError(f"expand: the number of sizes {sizes} must be at least the number "
                           f"of dims of the tensor (shape {x.shape})")
    lead = len(sizes) - x.ndim
    out = []
    for i, s in enumerate(sizes):
        cur = x.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise OpValueError(f"expand: -1 is not allowed for the new leading dim {i} "
                                   f"in {sizes}")
            s = cur
        if cur is not None and cur != 1 and cur != s:
            raise OpValueError(f"expand: the size of dim {i - lead} ({cur}) of shape {x.shape} "
                               f"must be 1 or match the target size {s} in {sizes}")
        if s < 0:
            raise OpValueError(f"expand: invalid size {s} in {sizes}")
        out.append(s)
    out = tuple(out)
    return x if out == x.shape else _expand(x, shape=out)


def broadcast_to(x, shape):
    """``expand`` with a shape tuple (NumPy's name)."""
    return expand(x, *shape)


# ---------------------------------------------------------------- copies
@register("contiguous", rule="gx = gy", saves=(), view=True)
def _contiguous(x):
    # copy(order="C"), not ascontiguousarray: the latter turns a 0-d array into shape (1,)
    return x.array.copy(order="C"), lambda gy: gy


def contiguous(x):
    """``x`` itself when C-contiguous, else a C-contiguous copy."""
    return x if x.array.flags.c_contiguous else _contiguous(x)


@register("clone", rule="gx = gy", saves=())
def clone(x):
    """A copy of ``x`` that is part of the graph."""
    return x.array.copy(), lambda gy: gy


@register("flip", rule="gx = flip(gy, dims)", saves=())
def _flip(x, *, dims):
    # a copy, as PyTorch's flip (NumPy's is a view)
    return x.xp.flip(x.array, axis=dims).copy(), lambda gy: _flip(gy, dims=dims)


def flip(x, dims):
    """Reverse the order of elements along ``dims``."""
    return _flip(x, dims=canonical_dims("flip", dims, x.ndim, x.shape))


# ---------------------------------------------------------------- joining and splitting
def _check_join(op, tensors, dim, new_axis):
    Tensor = _tensor.Tensor
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise OpTypeError(f"{op}: expected a list or tuple of tensors, got "
                          f"{type(tensors).__name__}")
    if not tensors:
        raise OpValueError(f"{op}: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise OpTypeError(f"{op}: element {i} is a {type(t).__name__}, not a Tensor")
    ref = tensors[0]
    d = canonical_dim(op, dim, ref.ndim, ref.shape, extra=1 if new_axis else 0)
    for i, t in enumerate(tensors):
        if new_axis:
            ok = t.shape == ref.shape
        else:
            ok = t.ndim == ref.ndim and all(a == b for j, (a, b) in
                                            enumerate(zip(t.shape, ref.shape)) if j != d)
        if not ok:
            what = "the same shape" if new_axis else f"the same shape except in dim {d}"
            raise OpValueError(f"{op}: tensors must have {what}; tensor 0 has shape "
                               f"{ref.shape}, tensor {i} has shape {t.shape}")
    return d


@register("cat", rule="gxs[i] = getitem(gy, start : start + xs[i].shape[dim] along dim)",
          saves=())
def _cat(*xs, dim):
    """xs joined along ``dim``; xs[i]'s gradient is the slice of gy that xs[i] filled."""
    bounds = []
    start = 0
    for x in xs:
        bounds.append((start, start + x.shape[dim]))
        start += x.shape[dim]

    def backward(gy):
        pre = (slice(None),) * dim
        return tuple(gy[pre + (slice(a, b),)] for a, b in bounds)

    return xs[0].xp.concatenate([x.array for x in xs], axis=dim), backward


def cat(tensors, dim=0):
    """Concatenate along an existing dim (shapes must match elsewhere; dtypes promote)."""
    from .op_registry import promote_operands
    d = _check_join("cat", tensors, dim, new_axis=False)
    return _cat(*promote_operands("cat", tuple(tensors)), dim=d)


@register("stack", rule="gxs[i] = getitem(gy, i along dim)", saves=())
def _stack(*xs, dim):
    """xs stacked along a new ``dim``; xs[i]'s gradient is gy at index i along it."""
    def backward(gy):
        pre = (slice(None),) * dim
        return tuple(gy[pre + (i,)] for i in range(len(xs)))

    return xs[0].xp.stack([x.array for x in xs], axis=dim), backward


def stack(tensors, dim=0):
    """Stack equally shaped tensors along a new dim."""
    from .op_registry import promote_operands
    d = _check_join("stack", tensors, dim, new_axis=True)
    return _stack(*promote_operands("stack", tuple(tensors)), dim=d)


def split(x, split_size_or_sections, dim=0):
    """Split into chunks of ``split_size`` (last one smaller) or of the given sizes."""
    d = canonical_dim("split", dim, x.ndim, x.shape)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and n == 0):
            raise OpValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise OpValueError(f"split: sizes {tuple(sizes)} must be non-negative and sum to "
                               f"the size {n} of dim {d} (shape {x.shape})")
    pre = (slice(None),) * d
    out, start = [], 0
    for s in sizes:
        out.append(x[pre + (slice(start, start + s),)])
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` pieces of size ``ceil(n / chunks)`` (fewer if n is small)."""
    if not isinstance(chunks, int) or chunks <= 0:
        raise OpValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    d = canonical_dim("chunk", dim, x.ndim, x.shape)
    n = x.shape[d]
    return split(x, max(-(-n // chunks), 1) if n else 0, d) if n else split(x, [0] * 1, d)
