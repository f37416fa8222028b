"""``sort``, ``argsort`` and ``topk``, as PyTorch: each is a gather at an order computed on
the side (a constant index), so the gradient is gather's: ``gy`` lands on the element each
value came from, zeros elsewhere.

Orders. NaN counts as the largest value (PyTorch's rule; NumPy's too). ``stable=True`` keeps
equal elements in their original order, ascending and descending alike; ``stable=False``
leaves it open (a faster sort), as PyTorch does. ``topk`` takes, among values equal to the
k-th, the first ones by position (PyTorch leaves it open) and returns them sorted.
"""
from __future__ import annotations

import operator

from .. import dtypes
from ..errors import OpRuntimeError, OpTypeError
from .checks import canonical_dim, on_host
from .op_registry import const as _const
from .selection import ValuesIndices, _check_tensor, _gather, gather


def _argsort(xp, a, axis, descending, stable):
    """The permutation sorting ``a`` along ``axis``. Descending order sorts the reversed array
    ascending and maps back, so that with a stable sort equal elements keep their order."""
    kind = "stable" if stable else None
    if not descending:
        return xp.argsort(a, axis=axis, kind=kind)
    n = a.shape[axis]
    return (n - 1) - xp.flip(xp.argsort(xp.flip(a, axis=axis), axis=axis, kind=kind),
                             axis=axis)


def _dim(op, dim, x):
    return canonical_dim(op, dim, x.ndim, x.shape) if x.ndim else canonical_dim(op, dim, 1)


def _check_sortable(op, x):
    _check_tensor(op, x)
    if x.dtype.kind == "c":
        raise OpTypeError(f"{op}: complex tensors cannot be sorted")


def sort(input, dim=-1, descending=False, stable=False):
    """``torch.sort`` -> ``(values, indices)`` along ``dim``; the gradient flows to each
    value's source element."""
    _check_sortable("sort", input)
    if not isinstance(stable, bool) or not isinstance(descending, bool):
        raise OpTypeError("sort: descending and stable must be bools")
    d = _dim("sort", dim, input)
    if input.ndim == 0:
        zero = _const(input.xp.zeros((), dtype=dtypes.int64))
        return ValuesIndices(gather(input, 0, zero), zero)
    order = _argsort(input.xp, input.array, d, descending, stable)
    index = _const(order.astype(dtypes.int64, copy=False))
    return ValuesIndices(_gather(input, index, dim=d), index)


def argsort(input, dim=-1, descending=False, stable=False):
    """``torch.argsort``: the indices of :func:`sort`."""
    return sort(input, dim, descending, stable).indices


def _topk_positions(xp, a, k, largest):
    """Positions (along the last axis of ``a``, shape ``(…, n)``) of the ``k`` largest (or
    smallest) values, sorted by value, in O(n) plus a sort of the ``k`` picked.

    The k-th value ``v`` comes from a partition; everything beyond ``v`` is in, and of the
    elements equal to ``v`` the first ``k - (number beyond)`` by position (a running count).
    """
    n = a.shape[-1]
    v = xp.partition(a, n - k if largest else k - 1, axis=-1)
    v = v[..., n - k:n - k + 1] if largest else v[..., k - 1:k]
    beyond = a > v if largest else a < v
    tie = a == v
    need = k - beyond.sum(axis=-1, keepdims=True)
    take = beyond | (tie & (xp.cumsum(tie, axis=-1) <= need))
    pos = xp.nonzero(take)[-1].reshape(a.shape[:-1] + (k,))  # row-major: increasing per row
    vals = xp.take_along_axis(a, pos, axis=-1)
    return xp.take_along_axis(pos, _argsort(xp, vals, -1, largest, True), axis=-1)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``torch.topk`` -> ``(values, indices)``: the ``k`` largest (or smallest) along ``dim``,
    in sorted order (also for ``sorted=False``, where PyTorch leaves the order open)."""
    _check_sortable("topk", input)
    try:
        k = operator.index(k)
    except TypeError:
        raise OpTypeError(f"topk: k must be an int, got {type(k).__name__}") from None
    d = _dim("topk", dim, input)
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise OpRuntimeError(f"topk: k={k} is out of range for dimension {d} of size {n} "
                             f"(shape {input.shape})")
    if not isinstance(sorted, bool) or not isinstance(largest, bool):
        raise OpTypeError("topk: largest and sorted must be bools")
    if input.ndim == 0:
        return sort(input)
    xp = input.xp
    a = xp.moveaxis(input.array, d, -1)
    # NaN breaks the partition's comparisons and bools do not partition: sort those fully
    # (floats on a device always: testing them for NaN would be a sync)
    if k == 0 or k == n or a.dtype.kind == "b" or (a.dtype.kind == "f" and (
            not on_host(a) or xp.isnan(a).any())):
        pos = _argsort(xp, a, -1, largest, True)[..., :k]
    else:
        pos = _topk_positions(xp, a, k, largest)
    pos = xp.ascontiguousarray(xp.moveaxis(pos, -1, d)).astype(dtypes.int64, copy=False)
    index = _const(pos)
    return ValuesIndices(_gather(input, index, dim=d), index)


__all__ = ["sort", "argsort", "topk"]
