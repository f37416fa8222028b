"""Robust regression and divergence losses, torch.nn.functional's: ``smooth_l1_loss``,
``huber_loss``, ``kl_div``; composed of ``where``, ``abs`` and friends.
"""
from __future__ import annotations

import warnings

from ..errors import OpValueError
from ..ops import elementwise as _ew
from ..ops.op_registry import const as _const
from .activation import _number
from .loss import _reduce, _same_shape


def legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average``/``reduce`` arguments mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d² / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (d = input - target);
    ``beta = 0`` is the L1 loss."""
    _same_shape("smooth_l1_loss", input, target)
    beta = _number("smooth_l1_loss", "beta", beta)
    if beta < 0:
        raise OpValueError(f"F.smooth_l1_loss: beta must be non-negative, got {beta}")
    d = input - target
    a = _ew.abs(d)
    loss = a if beta == 0 else _ew.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce("smooth_l1_loss", loss, legacy_reduction(size_average, reduce, reduction))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d²`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""
    _same_shape("huber_loss", input, target)
    if weight is not None:
        raise TypeError("F.huber_loss: weight= is not supported")
    delta = _number("huber_loss", "delta", delta)
    if delta <= 0:
        raise OpValueError(f"F.huber_loss: delta must be positive, got {delta}")
    d = input - target
    a = _ew.abs(d)
    loss = _ew.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _reduce("huber_loss", loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence with ``input`` log-probabilities: ``target * (log target -
    input)`` (0 where target is 0), or ``exp(target) * (target - input)`` with
    ``log_target``. ``reduction="batchmean"`` divides the sum by the batch size (the true
    KL divergence); "mean" averages over every element, as PyTorch (with its warning)."""
    _same_shape("kl_div", input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise OpValueError(f"F.kl_div: reduction must be 'mean', 'batchmean', 'sum' or "
                           f"'none', got {reduction!r}")
    if log_target:
        loss = _ew.exp(target) * (target - input)
    else:
        pos = _const(target.xp.asarray(target.array > 0))
        safe = _ew.where(pos, target, _const(target.xp.ones((), dtype=target.dtype)))
        loss = _ew.where(pos, target * _ew.log(safe), _const(
            target.xp.zeros((), dtype=target.dtype))) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size. 'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.", stacklevel=2)
    return _reduce("kl_div", loss, reduction)
