"""Piecewise and smooth activations that are single ops (the rest compose in functional/).

Kinks follow PyTorch's conventions exactly: ``hardtanh`` (and so ``relu6``) and
``hardsigmoid`` pass the gradient only strictly inside their linear range, ``hardswish``
has gradient 0 at ``x <= -3`` and 1 at ``x >= 3``. ``softplus`` is its own op so its
gradient is ``sigmoid(x)`` everywhere, with no subgradient of ``abs``/``relu`` leaking in
at 0 (it is the building block of the stable binary cross-entropy with logits).
"""
from __future__ import annotations

from .elementwise import _float_input, sigmoid
from .op_registry import const as _const
from .op_registry import register


@register("softplus", rule="gx = gy * sigmoid(x)", saves=("x",))
def softplus(x):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``."""
    xp = x.xp
    v = _float_input(x)
    y = xp.maximum(v, 0) + xp.log1p(xp.exp(-xp.abs(v)))
    return y.astype(v.dtype, copy=False), lambda gy: gy * sigmoid(x)


@register("hardtanh", rule="gx = gy where min_val < x < max_val, else 0", saves=("x",))
def hardtanh(x, *, min_val, max_val):
    """``x`` clipped to ``[min_val, max_val]``; (…) -> (…)."""
    xp = x.xp

    def backward(gy):
        inside = (x.array > min_val) & (x.array < max_val)
        return gy * _const(inside.astype(gy.dtype))

    y = xp.clip(x.array, xp.asarray(min_val, dtype=x.dtype), xp.asarray(max_val, dtype=x.dtype))
    return y, backward


@register("hardsigmoid", rule="gx = gy / 6 where -3 < x < 3, else 0", saves=("x",))
def hardsigmoid(x):
    """``clip(x / 6 + 1/2, 0, 1)``."""
    xp = x.xp
    v = _float_input(x)

    def backward(gy):
        inside = (x.array > -3) & (x.array < 3)
        return gy * _const((inside / 6).astype(gy.dtype))

    return xp.clip(v / 6 + 0.5, 0, 1).astype(v.dtype, copy=False), backward


@register("hardswish", rule="gx = gy * (x/3 + 1/2 where -3 < x < 3, else 1 where x >= 3, else 0)",
          saves=("x",))
def hardswish(x):
    """``x * relu6(x + 3) / 6``."""
    xp = x.xp
    v = _float_input(x)

    def backward(gy):
        a = x.array
        mid = _const(((a > -3) & (a < 3)).astype(gy.dtype))
        high = _const((a >= 3).astype(gy.dtype))
        # written with x (not a constant slope) so the second derivative (1/3) is right
        return gy * (mid * (x / 3 + 0.5) + high)

    return (v * xp.clip(v + 3, 0, 6) / 6).astype(v.dtype, copy=False), backward


@register("relu_backward", rule="gg = relu_backward(gy, x); gx = 0", saves=("x",))
def relu_backward(g, x):
    """ReLU's input gradient ``g * (x > 0)`` (g: the gradient of relu's output) as one
    backend kernel (one launch on the GPU, instead of a comparison, a cast and a multiply).
    Its own gradient is the same mask, so a backward written with it stays twice
    differentiable; g, x (…)."""
    def backward(gy):
        # x only selects: its gradient is zero (given as zeros, as PyTorch's, when asked)
        gx = _const(x.xp.zeros_like(x.array)) if x.requires_grad else None
        return relu_backward(gy, x), gx

    return g.backend.relu_backward(g.array, x.array), backward
