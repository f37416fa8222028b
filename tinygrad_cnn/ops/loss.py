"""softmax and log_softmax, the ops every classification loss is built from, and the
binary cross-entropy on probabilities.

softmax and log_softmax are single ops (not exp/sum/div chains) so they are stable (the max
is subtracted before exp) and cheap to differentiate; their rules use their own output. An
empty tensor gives an empty result (there is no max to subtract). ``dim=None`` is only used
for 0-d tensors.

``cross_entropy`` with class-index targets is one fused op (log-softmax + NLL + reduction):
one backend kernel forward, one backward (``backend.cross_entropy_forward/backward``), instead
of a log_softmax, an advanced-index gather, a scatter back and four elementwise passes.
"""
from __future__ import annotations

from ..autograd.grad_mode import state as _grad_state
from .op_registry import const as _const
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


def _gradient_factors(be, xp, shape, dtype, target, weight, ignore_index, eps, op):
    """Constants A (n, 1, k) and B (n, c, k) with gx = g · (softmax(x) · A - B) for x of
    ``shape`` (n, c, k), target (n, k)."""
    n, c, k = shape
    safe, keep = be.class_targets(target, c, ignore_index, dtype, op)
    w = xp.ones(c, dtype=dtype) if weight is None else weight.astype(dtype, copy=False)
    wt = w[safe] * keep
    onehot = (xp.arange(c)[None, :, None] == safe[:, None, :]).astype(dtype)
    a = wt * (1 - eps) + keep * (eps / c) * w.sum()
    b = (wt * (1 - eps))[:, None] * onehot + (keep * (eps / c))[:, None] * w[None, :, None]
    return a[:, None], b


@register("cross_entropy",
          rule="gx = gy * ((1 - label_smoothing) * weight[target] * (softmax(x) - (i == "
               "target)) + label_smoothing / x.shape[1] * (sum(weight) * softmax(x) - weight)) "
               "/ (sum(weight[target]) where reduction == mean, else 1)", saves=("x",))
def cross_entropy_op(x, *, target, weight, ignore_index, reduction, label_smoothing):
    """log_softmax over dim 1 + the (weighted, label-smoothed) NLL of class indices + the
    reduction, fused. x (n, c, *d) logits; target (n, *d) integer array; weight (c,) array or
    None (a constant, as in PyTorch). Returns (n, *d) for "none", () otherwise."""
    be, xp = x.backend, x.xp
    n, c = x.shape[:2]
    x3 = x.array.reshape(n, c, -1)
    # a copy: the backward must see the targets of the forward even if the caller's target
    # tensor is written in place meanwhile (n·d integers, cheap next to the logits)
    t2 = target.reshape(n, -1).copy()
    kw = {"ignore_index": ignore_index, "label_smoothing": label_smoothing,
          "op": "cross_entropy"}
    with be.quiet_fp():  # inf/nan logits propagate silently, as in PyTorch
        loss, stats, wt = be.cross_entropy_forward(x3, t2, weight, **kw)
        den = wt.sum() if reduction == "mean" else None
        y = loss.reshape((n,) + x.shape[2:]) if reduction == "none" else \
            xp.asarray(loss.sum() if den is None else loss.sum() / den, dtype=x.dtype)

    def backward(gy):
        if _grad_state.enabled:  # create_graph: the same rule in Tensor ops (differentiable)
            a, b = _gradient_factors(be, xp, x3.shape, x.dtype, t2, weight, ignore_index,
                                     label_smoothing, "cross_entropy")
            g = gy.reshape(n, 1, -1) if reduction == "none" else \
                (gy if den is None else gy / _const(den))
            p = softmax_op(x.reshape(n, c, -1), dim=1)
            return ((p * _const(a) - _const(b)) * g).reshape(x.shape)
        g = gy.array.reshape(n, -1) if reduction == "none" else \
            (gy.array if den is None else gy.array / den)
        with be.quiet_fp():
            gx = be.cross_entropy_backward(x3, stats, t2, weight, g, **kw)
        return _const(gx.reshape(x.shape))

    return y, backward
