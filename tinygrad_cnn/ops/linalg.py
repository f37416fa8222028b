"""Matrix products with batching and broadcasting as ``numpy.matmul``."""
from __future__ import annotations

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

from ..errors import OpRuntimeError, OpValueError
from .checks import broadcast_shapes
from .op_registry import register


@register("matmul", rule="gx0 = gy @ x1^T; gx1 = x0^T @ gy (batch dims summed back)", saves=("x1 for gx0", "x0 for gx1"))
def _matmul(x0, x1):
    from .shape import _reshape, _squeeze, _unsqueeze

    def backward(gy):
        # treat 1-D operands as a row (left) or a column (right) matrix, as matmul does
        a = _unsqueeze(x0, dim=0) if x0.ndim == 1 else x0
        b = _unsqueeze(x1, dim=1) if x1.ndim == 1 else x1
        out_shape = a.shape[:-1] + b.shape[-1:] if a.ndim == 2 and b.ndim == 2 else None
        if out_shape is None:
            batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
            out_shape = batch + (a.shape[-2], b.shape[-1])
        g = _reshape(gy, shape=out_shape)
        ga = gb = None
        if x0.requires_grad:
            ga = _matmul(g, b.mT)
            if x0.ndim == 1:
                ga = _squeeze(ga, dims=(ga.ndim - 2,))
        if x1.requires_grad:
            gb = _matmul(a.mT, g)
            if x1.ndim == 1:
                gb = _squeeze(gb, dims=(gb.ndim - 1,))
        return ga, gb

    return x0.xp.matmul(x0.array, x1.array), backward


def matmul(x0, x1):
    """Matrix product ``x0 @ x1``; ``(…, n, k) @ (…, k, m) -> (…, n, m)``, batch dims broadcast,
    1-D operands act as a row (left) or column (right) vector that is then dropped."""
    Tensor = _tensor.Tensor
    if not isinstance(x1, Tensor):
        x1 = Tensor(x1, device=x0.device)
    if not isinstance(x0, Tensor):
        x0 = Tensor(x0, device=x1.device)
    if x0.ndim == 0 or x1.ndim == 0:
        raise OpValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{x0.shape} and {x1.shape}")
    k0 = x0.shape[-1]
    k1 = x1.shape[-2] if x1.ndim > 1 else x1.shape[0]
    if k0 != k1:
        raise OpValueError(f"matmul: shapes {x0.shape} and {x1.shape} cannot be multiplied "
                           f"({k0} != {k1})")
    if x0.dtype != x1.dtype:
        raise OpRuntimeError(f"matmul: expected both operands to have the same dtype, got "
                             f"{x0.dtype} and {x1.dtype}")
    if broadcast_shapes(x0.shape[:-2], x1.shape[:-2]) is None:
        raise OpValueError(f"matmul: batch dims of shapes {x0.shape} and {x1.shape} do not "
                           "broadcast")
    return _matmul(x0, x1)
