"""softmax and log_softmax: the two ops every classification loss is built from.

Both are single ops (not exp/sum/div chains) so they are stable (the max is subtracted
before exp) and cheap to differentiate; their rules use their own output.
"""
from __future__ import annotations

from .op_registry import register


@register("log_softmax", rule="gx = gy - exp(y) * sum(gy, dim)", saves=("y",))
def log_softmax_op(x, *, dim):
    xp = x.xp
    shifted = x.array - x.array.max(axis=dim, keepdims=True)
    with x.backend.quiet_fp():
        y = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))

    def backward(gy, y):
        from .elementwise import exp
        return gy - exp(y) * gy.sum(dim, keepdim=True)

    return y, backward


@register("softmax", rule="gx = y * (gy - sum(gy * y, dim))", saves=("y",))
def softmax_op(x, *, dim):
    xp = x.xp
    e = xp.exp(x.array - x.array.max(axis=dim, keepdims=True))
    y = e / e.sum(axis=dim, keepdims=True)

    def backward(gy, y):
        return y * (gy - (gy * y).sum(dim, keepdim=True))

    return y, backward
