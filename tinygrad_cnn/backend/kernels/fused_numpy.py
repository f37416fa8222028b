"""fused kernels, NumPy versions (see backend/kernels/__init__.py).

Optimizer updates (SGD, Adam/AdamW) written in place, ReLU backward, and log-softmax + NLL
(cross-entropy with class-index targets) forward and backward. The arithmetic is the one the
ops and optimizers did before these kernels existed, in the same order, so CPU numbers do not
change: in-place ``out=`` forms are used only where they give the same bits (``a + b`` and
``b + a`` are the same IEEE operation). The CUDA versions (fused_cuda.py) do one launch each.

Notation: a cross-entropy input is viewed as ``x (n, c, k)``: n batch, c classes, k the
product of the trailing dims (1 for a plain (n, c) input); targets ``t (n, k)``; a per-row
quantity is ``(n, 1, k)`` or ``(n, k)``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sgd_step", "adam_step", "relu_backward", "class_targets", "check_range",
           "cross_entropy_forward", "cross_entropy_backward", "check_device_errors"]


def sgd_step(w, grad, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize,
             first):
    """One SGD update of ``w`` in place (and of the momentum buffer ``buf``, None without
    momentum); ``first`` says the buffer is fresh (it takes the direction as is, as PyTorch).
    All hyper-parameters are host numbers. w, grad, buf: same shape."""
    d = np.negative(grad) if maximize else grad
    if weight_decay:
        tmp = np.multiply(w, weight_decay)
        d = np.add(d, tmp, out=tmp)
    if momentum:
        if first:
            np.copyto(buf, d)
        else:
            buf *= momentum
            step = np.multiply(d, 1 - dampening)
            buf += step
        if nesterov:
            d = np.add(d, np.multiply(buf, momentum))
        else:
            d = buf
    w -= np.multiply(d, lr)


def adam_step(w, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps,
              weight_decay, decoupled, maximize, step_size, bias_correction2_sqrt):
    """One Adam/AdamW update of ``w``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``
    with amsgrad, else None) in place. ``step_size = lr / (1 - beta1**t)`` and
    ``bias_correction2_sqrt = sqrt(1 - beta2**t)`` come from the host step count."""
    g = np.negative(grad) if maximize else grad
    if weight_decay:
        if decoupled:
            w *= 1 - lr * weight_decay
        else:
            tmp = np.multiply(w, weight_decay)
            g = np.add(g, tmp, out=tmp)
    tmp = np.subtract(g, exp_avg)
    tmp *= 1 - beta1
    exp_avg += tmp  # lerp, as PyTorch
    exp_avg_sq *= beta2
    np.multiply(g, 1 - beta2, out=tmp)
    tmp *= g
    exp_avg_sq += tmp
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    np.sqrt(v, out=tmp)
    tmp /= bias_correction2_sqrt
    tmp += eps
    np.divide(exp_avg, tmp, out=tmp)
    tmp *= step_size
    w -= tmp


def relu_backward(gy, x):
    """``gy * (x > 0)`` in ``gy``'s dtype (NaN or Inf in gy stay NaN where x <= 0, as the
    multiply always did). gy, x: same shape."""
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN silently, as in PyTorch
        return np.multiply(gy, x > 0, dtype=gy.dtype)


def class_targets(t, c, ignore_index, dtype, op):
    """``(safe, keep)`` for class-index targets ``t`` (any shape): ``safe`` is t with
    ignored entries replaced by 0 (a valid index), ``keep`` is 1 where a target counts and
    0 where it is ignore_index (``dtype``). A target outside [0, c) raises ValueError here,
    eagerly: on the CPU the check costs nothing worth a deferred error."""
    valid = t != ignore_index
    if ((t[valid] < 0) | (t[valid] >= c)).any():
        raise ValueError(f"{op}: target values must lie in [0, {c}) (or be ignore_index="
                         f"{ignore_index}), got values in [{int(t.min())}, {int(t.max())}]")
    return np.where(valid, t, 0), valid.astype(dtype)


def check_range(x, lo, hi, message):
    """Raise ValueError(``message``) when an entry of ``x`` lies outside [lo, hi] (NaN passes,
    as the comparisons say); ``{bad}`` in the message is the count. Eager on the CPU."""
    bad = (x < lo) | (x > hi)
    if bad.any():
        raise ValueError(message.format(bad=int(bad.sum())))


def _row_weights(t, c, w, ignore_index, dtype, op):
    safe, keep = class_targets(t, c, ignore_index, dtype, op)
    wt = keep if w is None else (w[safe] * keep).astype(dtype)
    return safe, keep, wt


def cross_entropy_forward(x, t, w, *, ignore_index, label_smoothing, op="cross_entropy"):
    """log_softmax over dim 1 then the (label-smoothed, weighted) NLL, per row.

    x (n, c, k) logits, t (n, k) integer targets, w (c,) class weights or None. Returns
    ``(loss (n, k), stats, wt (n, k))``: each row's loss (ignored rows 0), what this
    backend's backward needs (here the softmax (n, c, k), as the log_softmax op saved its
    output before; the CUDA version keeps two numbers a row), and each row's weight ``w[t]``
    (0 when ignored; their sum is the "mean" denominator).
    loss = (1-ε)·wt·(-lp[t]) + ε/c·Σ_j w_j·(-lp_j)·keep, lp = (x - max) - log Σ exp(x - max).
    """
    n, c, k = x.shape
    safe, keep, wt = _row_weights(t, c, w, ignore_index, x.dtype, op)
    e = x - x.max(axis=1, keepdims=True)  # shifted; becomes exp(shifted), then the softmax
    picked = np.take_along_axis(e, safe[:, None, :], axis=1)[:, 0]
    if label_smoothing:  # Σ_j w_j·lp_j = Σ_j w_j·shifted_j - Σw·lse
        sx = e.sum(axis=1) if w is None else np.einsum("ncq,c->nq", e, w.astype(e.dtype))
    np.exp(e, out=e)
    s = e.sum(axis=1, keepdims=True)
    lse = np.log(s)
    loss = -(picked - lse[:, 0]) * wt
    if label_smoothing:
        sm = -(sx - lse[:, 0] * (c if w is None else w.sum())) * keep
        loss = loss * (1 - label_smoothing) + sm * (label_smoothing / c)
    e /= s
    return loss.astype(x.dtype, copy=False), e, wt


def cross_entropy_backward(x, stats, t, w, g, *, ignore_index, label_smoothing,
                           op="cross_entropy"):
    """Gradient of :func:`cross_entropy_forward`'s per-row loss with respect to x, given the
    upstream gradient per row ``g`` (n, k) (or anything broadcasting to it: a scalar for
    "sum", ``gy / Σ wt`` for "mean"); ``stats`` is the forward's (left unchanged, so a
    retained graph can run backward again). Returns gx (n, c, k):
    g · ((1-ε)·wt·(softmax - onehot(t)) + ε/c·keep·(Σw·softmax - w))."""
    n, c, k = x.shape
    safe, keep, wt = _row_weights(t, c, w, ignore_index, x.dtype, op)
    g = np.broadcast_to(np.asarray(g, dtype=x.dtype), (n, k))
    ag = wt * (1 - label_smoothing) * g  # (n, k): the one-hot part's per-row factor
    f = ag
    if label_smoothing:
        kg = keep * (label_smoothing / c) * g
        f = ag + kg * (c if w is None else w.sum())
    gx = np.multiply(stats, f[:, None], dtype=x.dtype)
    if label_smoothing:
        gx -= kg[:, None] if w is None else kg[:, None] * w[None, :, None]
    at_t = np.take_along_axis(gx, safe[:, None], axis=1) - ag[:, None]
    np.put_along_axis(gx, safe[:, None], at_t, axis=1)
    return gx


def check_device_errors():
    """Raise the errors kernels recorded on the device (CUDA: a deferred target-range check);
    on the CPU every check is eager, so there is never one pending."""
    return None
