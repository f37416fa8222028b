"""softmax and log_softmax, the ops every classification loss is built from, and the
binary cross-entropy on probabilities.

softmax and log_softmax are single ops (not exp/sum/div chains) so they are stable (the max
is subtracted before exp) and cheap to differentiate; their rules use their own output. An
empty tensor gives an empty result (there is no max to subtract). ``dim=None`` is only used
for 0-d tensors.
"""
from __future__ import annotations

from .op_registry import register

# PyTorch clamps the logs of binary_cross_entropy at -100 and the denominator of its
# gradient, x * (1 - x), at 1e-12: the loss and its gradient stay finite at x = 0 or 1
_LOG_FLOOR = -100.0
_BCE_EPS = 1e-12


@register("log_softmax", rule="gx = gy - exp(y) * sum(gy, dim)", saves=("y",))
def log_softmax_op(x, *, dim):
    xp = x.xp

    def backward(gy, y):
        from .elementwise import exp
        return gy - exp(y) * gy.sum(dim, keepdim=True)

    if x.array.size == 0:
        return x.array.copy(), backward
    shifted = x.array - x.array.max(axis=dim, keepdims=True)
    with x.backend.quiet_fp():
        y = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
    return y, backward


@register("softmax", rule="gx = y * (gy - sum(gy * y, dim))", saves=("y",))
def softmax_op(x, *, dim):
    xp = x.xp

    def backward(gy, y):
        return y * (gy - (gy * y).sum(dim, keepdim=True))

    if x.array.size == 0:
        return x.array.copy(), backward
    e = xp.exp(x.array - x.array.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True), backward


@register("binary_cross_entropy",
          rule="gx = gy * (x - t) / clamp(x * (1 - x), 1e-12); "
               "gt = gy * (log(1 - x) - log(x))", saves=("x", "t for gx"))
def binary_cross_entropy_op(x, t):
    """Elementwise ``-(t log(x) + (1 - t) log(1 - x))``, logs clamped at -100; x, t (…)."""
    xp = x.xp

    def backward(gy):
        from .elementwise import log
        gx = gt = None
        if x.requires_grad:
            gx = gy * (x - t) / (x * (1 - x)).clamp(min=_BCE_EPS)
        if t.requires_grad:
            gt = gy * (log(1 - x) - log(x))  # unclamped, as PyTorch
        return gx, gt

    a, b = x.array, t.array
    with x.backend.quiet_fp():
        y = -(b * xp.maximum(xp.log(a), _LOG_FLOOR) + (1 - b) * xp.maximum(xp.log(1 - a),
                                                                         _LOG_FLOOR))
    return y.astype(a.dtype, copy=False), backward


@register("binary_cross_entropy_with_logits",
          rule="gx = gy * (sigmoid(x) - t); gt = -gy * x", saves=("x", "t for gx"))
def binary_cross_entropy_with_logits_op(x, t):
    """Elementwise ``(1 - t) x + softplus(-x)`` (= -t log σ(x) - (1-t) log(1-σ(x))), stable
    for any ``x``; its gradient is ``σ(x) - t`` everywhere (0.5 - t at x = 0). x, t (…)."""
    xp = x.xp

    def backward(gy):
        from .elementwise import sigmoid
        return (gy * (sigmoid(x) - t) if x.requires_grad else None,
                -gy * x if t.requires_grad else None)

    a, b = x.array, t.array
    # softplus(-a) = max(-a, 0) + log1p(exp(-|a|)): exp of a non-positive number only
    y = (1 - b) * a + xp.maximum(-a, 0) + xp.log1p(xp.exp(-xp.abs(a)))
    return y.astype(a.dtype, copy=False), backward
