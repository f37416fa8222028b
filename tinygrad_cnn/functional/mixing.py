"""Ops that mix features: ``F.bilinear`` (``y = x1ᵀ A x2 + b``, one einsum) and
``F.channel_shuffle`` (ShuffleNet's group interleave, a reshape-transpose-reshape)."""
from __future__ import annotations

from ..errors import OpRuntimeError, OpValueError
from ..ops.einsum import einsum
from .activation import tensor_arg


def bilinear(input1, input2, weight, bias=None):
    """(*, in1), (*, in2) with weight (out, in1, in2) and bias (out,) -> (*, out):
    ``y_o = Σ_ij x1_i w_oij x2_j + b_o``."""
    tensor_arg("bilinear", input1, "input1")
    tensor_arg("bilinear", input2, "input2")
    tensor_arg("bilinear", weight, "weight")
    if weight.ndim != 3 or input1.shape[-1:] != weight.shape[1:2] or \
            input2.shape[-1:] != weight.shape[2:3] or input1.shape[:-1] != input2.shape[:-1]:
        raise OpRuntimeError(f"F.bilinear: input1 {input1.shape} and input2 {input2.shape} "
                             f"must agree on the leading dims and end in weight "
                             f"{weight.shape}'s in1 and in2 sizes")
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    if bias is not None:
        if bias.shape != weight.shape[:1]:
            raise OpRuntimeError(f"F.bilinear: bias of shape {bias.shape} must be "
                                 f"({weight.shape[0]},)")
        y = y + bias
    return y


def channel_shuffle(input, groups):
    """(n, c, *) -> (n, c, *) with the channels of ``groups`` groups interleaved:
    channel ``g·(c/groups) + k`` moves to ``k·groups + g``."""
    tensor_arg("channel_shuffle", input)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise OpValueError(f"F.channel_shuffle: groups must be a positive int, got {groups!r}")
    if input.ndim < 3:
        raise OpRuntimeError(f"F.channel_shuffle: expected an input of at least 3 dims "
                             f"(n, c, *), got shape {input.shape}")
    n, c = input.shape[:2]
    if c % groups:
        raise OpRuntimeError(f"F.channel_shuffle: number of channels ({c}) must be divisible "
                             f"by groups ({groups})")
    rest = input.shape[2:]
    x = input.reshape((n, groups, c // groups) + rest).transpose(1, 2)
    return x.reshape((n, c) + rest)
