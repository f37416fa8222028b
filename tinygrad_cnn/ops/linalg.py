"""Matrix products with batching and broadcasting as ``numpy.matmul``."""
from __future__ import annotations

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

from ..errors import OpRuntimeError, OpTypeError, OpValueError
from .checks import broadcast_shapes
from .op_registry import register


@register("matmul", rule="gx0 = sum_to(gy @ x1^T, x0.shape); gx1 = sum_to(x0^T @ gy, x1.shape)",
          saves=("x1 for gx0", "x0 for gx1"), needs_mask=True)
def _matmul(x0, x1):
    from .shape import _reshape, _squeeze, _unsqueeze

    def backward(gy, needs):
        # treat 1-D operands as a row (left) or a column (right) matrix, as matmul does
        a = _unsqueeze(x0, dim=0) if x0.ndim == 1 else x0
        b = _unsqueeze(x1, dim=1) if x1.ndim == 1 else x1
        out_shape = a.shape[:-1] + b.shape[-1:] if a.ndim == 2 and b.ndim == 2 else None
        if out_shape is None:
            batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
            out_shape = batch + (a.shape[-2], b.shape[-1])
        g = _reshape(gy, shape=out_shape)
        ga = gb = None
        if needs[0]:
            ga = _matmul(g, b.mT)
            if x0.ndim == 1:
                ga = _squeeze(ga, dims=(ga.ndim - 2,))
        if needs[1]:
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


# ---------------------------------------------------------------- strict forms, as torch
def _check_pair(op, a, b):
    Tensor = _tensor.Tensor
    for name, t in (("self", a), ("other", b)):
        if not isinstance(t, Tensor):
            raise OpTypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if a.dtype != b.dtype:
        raise OpRuntimeError(f"{op}: expected both operands to have the same dtype, got "
                             f"{a.dtype} and {b.dtype}")


def mm(input, mat2):
    """``torch.mm``: ``(n, k) @ (k, m) -> (n, m)``; both must be matrices (no broadcasting)."""
    _check_pair("mm", input, mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise OpRuntimeError(f"mm: both arguments must be matrices (2-D), got shapes "
                             f"{input.shape} and {mat2.shape}")
    if input.shape[1] != mat2.shape[0]:
        raise OpRuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied "
                             f"({input.shape[0]}x{input.shape[1]} and "
                             f"{mat2.shape[0]}x{mat2.shape[1]})")
    return _matmul(input, mat2)


def bmm(input, mat2):
    """``torch.bmm``: ``(b, n, k) @ (b, k, m) -> (b, n, m)``; equal batch sizes, no
    broadcasting."""
    _check_pair("bmm", input, mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise OpRuntimeError(f"bmm: both arguments must be 3-D batches of matrices, got "
                             f"shapes {input.shape} and {mat2.shape}")
    b, _, k = input.shape
    if mat2.shape[:2] != (b, k):
        raise OpRuntimeError(f"bmm: expected the second batch of shape [{b}, {k}, m] for a "
                             f"first of shape {list(input.shape)}, got {list(mat2.shape)}")
    return _matmul(input, mat2)


def dot(input, tensor):
    """``torch.dot``: the inner product of two 1-D tensors of one length -> 0-d."""
    _check_pair("dot", input, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise OpRuntimeError(f"dot: 1-D tensors expected, got shapes {input.shape} and "
                             f"{tensor.shape}")
    if input.shape != tensor.shape:
        raise OpRuntimeError(f"dot: both vectors need the same number of elements, got "
                             f"{input.shape[0]} and {tensor.shape[0]}")
    return _matmul(input, tensor)


def outer(input, vec2):
    """``torch.outer``: ``(n,), (m,) -> (n, m)`` with ``y[i, j] = input[i] * vec2[j]``."""
    from .arithmetic import mul
    from .shape import reshape
    _check_pair("outer", input, vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise OpRuntimeError(f"outer: expected 1-D arguments, got shapes {input.shape} and "
                             f"{vec2.shape}")
    return mul(reshape(input, -1, 1), reshape(vec2, 1, -1))


def t(input):
    """``torch.t``: a matrix transposed; 0-D and 1-D tensors are returned as they are."""
    from .shape import transpose
    if input.ndim < 2:
        return input
    if input.ndim > 2:
        raise OpRuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                             f"{input.ndim}D (shape {input.shape})")
    return transpose(input, 0, 1)
