"""Vector norms over ``dim`` (None: all elements), as ``torch.norm`` / ``linalg.vector_norm``.

Notation: ``a = |x|``; ``y`` the norm of each group, ``yk`` the same with the reduced dims kept.
Gradients follow PyTorch: 0 where a group's norm is 0 (p = 2 and general p), ``sign(x)`` for
p = 1, and for p = ±inf the gradient is shared evenly among the elements that reach the
extreme. Denominators are made safe *before* dividing, so that higher derivatives stay finite.
"""
from __future__ import annotations

import math

from ..errors import OpTypeError, OpValueError
from .checks import check_float
from .op_registry import const as _const
from .op_registry import register
from .reduce import _check_nonempty, _dims, _grad_like_x, _kept_shape


def _forward(xp, a, p, dims, keepdim):
    if p == math.inf:
        return a.max(axis=dims, keepdims=keepdim)
    if p == -math.inf:
        return a.min(axis=dims, keepdims=keepdim)
    if p == 0:
        return (a != 0).sum(axis=dims, keepdims=keepdim).astype(a.dtype)
    if p == 1:
        return a.sum(axis=dims, keepdims=keepdim)
    if p == 2:
        return xp.sqrt((a * a).sum(axis=dims, keepdims=keepdim))
    return (a ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)


@register("norm", rule="gx = expand(gy) * sign(x) * abs(x)**(p-1) / expand(y)**(p-1) where y != 0, "
                       "else 0; p = 0: gx = 0; p = inf or -inf: gx = expand(gy) * sign(x) * "
                       "(abs(x) == expand(y)) / sum(abs(x) == expand(y), dims)",
          saves_output=True, saves=("x",))
def _norm(x, *, p, dims, keepdim):
    xp = x.xp
    with x.backend.quiet_fp():
        y = _forward(xp, xp.abs(x.array), p, dims, keepdim)

    def backward(gy, y):
        from .elementwise import abs as _abs
        from .elementwise import sign, where
        from .shape import _reshape
        g = _grad_like_x(gy, x, dims, keepdim)
        if p == 0:  # piecewise constant
            return _const(xp.zeros(x.shape, dtype=g.dtype))
        if p == 1:
            return g * sign(x)
        yk = y if keepdim else _reshape(y, shape=_kept_shape(x.shape, dims))
        if p in (math.inf, -math.inf):
            hit = xp.abs(x.array) == yk.array
            share = hit / hit.sum(axis=dims, keepdims=True)  # ties share, as PyTorch
            return g * sign(x) * _const(share.astype(g.dtype))
        zero = _const(yk.array == 0)
        safe = where(zero, 1.0, yk)
        if p == 2:
            return where(zero, 0.0, g * x / safe)
        # |x| made safe at x = 0 (where sign(x) = 0 zeroes the term) so p < 1 stays finite
        mag = where(_const(x.array == 0), 1.0, _abs(x)) ** (p - 1)
        return where(zero, 0.0, g * sign(x) * mag / safe ** (p - 1))

    return y, backward


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm of ``x`` over ``dim`` (int, tuple or None): p = "fro" or 2 (Euclidean),
    1, inf, -inf, 0 (count of non-zeros) or any other positive number. (…) -> reduced."""
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise OpTypeError(f"norm: expected a Tensor, got {type(x).__name__}")
    if dtype is not None:
        x = x.to(dtype=dtype)
    check_float("norm", x)
    if p == "fro":
        p = 2
    elif isinstance(p, str):
        raise OpValueError(f"norm: p={p!r} is not supported; use 'fro' or a number (matrix "
                           "norms such as 'nuc' are not implemented)")
    elif isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0 and p != -math.inf:
        raise OpValueError(f"norm: p must be 'fro', inf, -inf or a non-negative number, got "
                           f"{p!r}")
    dims = _dims("norm", dim, x)
    if p in (math.inf, -math.inf):
        _check_nonempty("norm", x, dims)  # the max of nothing is undefined, as PyTorch
    return _norm(x, p=float(p), dims=dims, keepdim=keepdim)
