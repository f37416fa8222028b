"""Margin losses on pairs and triplets, torch.nn.functional's: ``margin_ranking_loss``,
``cosine_embedding_loss``, ``triplet_margin_loss``; composed of clamp, where and the
distances of ``distance.py``.
"""
from __future__ import annotations

from ..errors import OpValueError
from ..ops import arithmetic as _ar
from ..ops import elementwise as _ew
from ..ops.op_registry import const as _const
from .activation import _number, tensor_arg
from .distance import pairwise_distance
from .loss import _reduce
from .loss_regression import legacy_reduction


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``; target is 1 or -1 (all broadcast)."""
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        tensor_arg("margin_ranking_loss", t, name)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise OpValueError(f"F.margin_ranking_loss: all input tensors should have the same "
                           f"number of dims, got {input1.shape}, {input2.shape}, "
                           f"{target.shape}")
    margin = _number("margin_ranking_loss", "margin", margin)
    loss = _ew.clamp(-target * (input1 - input2) + margin, min=0.0)
    return _reduce("margin_ranking_loss", loss,
                   legacy_reduction(size_average, reduce, reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None,
                          reduce=None, reduction="mean"):
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where it is
    -1 (0 for other targets), PyTorch's: ``cos`` over the last dim of (n, d) or (d,) inputs,
    with 1e-12 added to each squared norm."""
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        tensor_arg("cosine_embedding_loss", t, name)
    if input1.shape != input2.shape or input1.ndim not in (1, 2) or \
            target.shape != input1.shape[:-1]:
        raise OpValueError(f"F.cosine_embedding_loss: expected inputs (n, d) or (d,) of one "
                           f"shape and target (n,) or (), got {input1.shape}, {input2.shape}, "
                           f"{target.shape}")
    margin = _number("cosine_embedding_loss", "margin", margin)
    d = input1.ndim - 1
    eps = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss
    prod = (input1 * input2).sum(d)
    denom = _ew.sqrt(((input1 * input1).sum(d) + eps) * ((input2 * input2).sum(d) + eps))
    cos = prod / denom
    zero = _const(cos.xp.zeros((), dtype=cos.dtype))
    loss = _ew.where(target == 1, 1.0 - cos, zero) + \
        _ew.where(target == -1, _ew.clamp(cos - margin, min=0.0), zero)
    return _reduce("cosine_embedding_loss", loss,
                   legacy_reduction(size_average, reduce, reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the pairwise p-norm distance over
    the last dim; ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        tensor_arg("triplet_margin_loss", t, name)
    if not (anchor.ndim == positive.ndim == negative.ndim) or anchor.ndim not in (1, 2):
        raise OpValueError(f"F.triplet_margin_loss: expected 1-D or 2-D inputs with one number "
                           f"of dims, got {anchor.shape}, {positive.shape}, {negative.shape}")
    margin = _number("triplet_margin_loss", "margin", margin)
    if margin <= 0:
        raise OpValueError(f"F.triplet_margin_loss: margin must be greater than 0, got "
                           f"{margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ar.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = _ew.clamp(d_pos - d_neg + margin, min=0.0)
    return _reduce("triplet_margin_loss", loss,
                   legacy_reduction(size_average, reduce, reduction))
