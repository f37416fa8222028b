"""Cumulative sums and products along one dim, as ``torch.cumsum`` / ``torch.cumprod``.

Notation: ``dim`` is the scanned dim, ``n`` its length; outputs have the input's shape.
The adjoint of a cumulative sum is the reversed cumulative sum (``flip . cumsum . flip``),
written with the ops themselves so every rule is differentiable again.
"""
from __future__ import annotations

import operator

from .. import dtypes
from ..autograd.grad_mode import state as _grad_state
from ..errors import OpRuntimeError, OpTypeError
from .checks import canonical_dim, device_check, on_host
from .op_registry import register


def _reverse_cumsum(t, dim):
    from .shape import _flip
    return _flip(_cumsum(_flip(t, dims=(dim,)), dim=dim), dims=(dim,))


@register("cumsum", rule="gx = flip(cumsum(flip(gy, dim), dim), dim)", saves=())
def _cumsum(x, *, dim):
    y = x.array.copy() if x.ndim == 0 else x.xp.cumsum(x.array, axis=dim)
    if x.dtype.kind in "biu":
        y = y.astype(dtypes.int64, copy=False)  # integer scans are int64, as PyTorch
    return y, lambda gy: gy if x.ndim == 0 else _reverse_cumsum(gy, dim)


@register("cumprod", rule="gx = flip(cumsum(flip(gy * y, dim), dim), dim) / x where x != 0, "
                          "else cumprod_backward_zeros(gy, x)", saves_output=True, saves=("x",))
def _cumprod(x, *, dim):
    y = x.array.copy() if x.ndim == 0 else x.xp.cumprod(x.array, axis=dim)
    if x.dtype.kind in "biu":
        y = y.astype(dtypes.int64, copy=False)

    def backward(gy, y):
        if x.ndim == 0:
            return gy
        if on_host(x.array):  # host memory: test for zeros and take the closed form if none
            if not (x.array == 0).any():
                return _reverse_cumsum(gy * y, dim) / x
            return _cumprod_backward_zeros(gy, x, dim=dim)
        # on a device the zero test would be a sync: the zero-safe form (exact everywhere)
        # unless the gradient itself is recorded, where only the closed form differentiates
        if not _grad_state.enabled:
            return _cumprod_backward_zeros(gy, x, dim=dim)
        device_check(~(x.array == 0).any(), "cumprod: the gradient of cumprod with "
                     "create_graph=True is not implemented for inputs containing zeros "
                     f"(shape {x.shape})", OpRuntimeError)
        return _reverse_cumsum(gy * y, dim) / x

    return y, backward


@register("cumprod_backward_zeros", rule="backward not implemented (raises RuntimeError)",
          saves=())
def _cumprod_backward_zeros(g, x, *, dim):
    """cumprod's input gradient ``gx_k = sum_{i >= k} g_i prod_{j <= i, j != k} x_j`` when x
    has zeros: before a row's first zero ``z`` it is ``revcumsum(g * y) / x``; at ``z`` the
    products skip x_z; after ``z`` it is 0. Its own backward (cumprod's second derivative at
    zeros) is refused with a RuntimeError, never silently zero."""
    xp = x.xp
    a, g = x.array, g.array
    zero = a == 0
    seen = xp.cumsum(zero, axis=dim)
    before, first = seen == 0, zero & (seen == 1)
    y = xp.cumprod(a, axis=dim)
    y_skip = xp.cumprod(xp.where(first, 1, a), axis=dim)  # products that leave out x_z

    def rev(v):
        return xp.flip(xp.cumsum(xp.flip(v, axis=dim), axis=dim), axis=dim)

    safe = xp.where(before, a, 1)
    gx = xp.where(before, rev(g * y) / safe, xp.where(first, rev(g * y_skip), 0))

    def backward(_gy):
        raise OpRuntimeError("cumprod: the second derivative of cumprod is not implemented "
                             f"for inputs containing zeros (shape {x.shape})")

    return gx.astype(a.dtype, copy=False), backward


def _scan_args(op, x, dim, dtype):
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise OpTypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    try:
        operator.index(dim)
    except TypeError:
        raise OpTypeError(f"{op}: dim must be an int, got {dim!r}") from None
    d = canonical_dim(op, dim, x.ndim, x.shape)  # a 0-d tensor takes 0 or -1, as PyTorch
    return (x if dtype is None else x.to(dtype=dtype)), d


def cumsum(x, dim, *, dtype=None):
    """Running sum along ``dim`` (integer input gives int64, as PyTorch); (…) -> (…)."""
    x, d = _scan_args("cumsum", x, dim, dtype)
    return _cumsum(x, dim=d)


def cumprod(x, dim, *, dtype=None):
    """Running product along ``dim``; its gradient is exact with zeros; (…) -> (…)."""
    x, d = _scan_args("cumprod", x, dim, dtype)
    return _cumprod(x, dim=d)

