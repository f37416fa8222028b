"""Layers of branch longtail that reshape, mix or normalise: Bilinear, LocalResponseNorm,
ChannelShuffle, UpsamplingNearest2d/UpsamplingBilinear2d, Unfold/Fold and the dropouts
Dropout1d, Dropout3d, AlphaDropout, with PyTorch's constructors and state-dict keys."""
from __future__ import annotations

import math

from .. import functional as F
from ..factories import empty
from . import init
from .layers import Dropout
from .module import Module, Parameter


class Bilinear(Module):
    """``y = x1ᵀ A x2 + b``: weight (out, in1, in2), bias (out,), both U(-1/√in1, 1/√in1)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, device=device,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LocalResponseNorm(Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class ChannelShuffle(Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class UpsamplingNearest2d(Module):
    """``F.interpolate(mode="nearest")`` of (n, c, h, w)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__()
        self.size, self.scale_factor = size, scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, mode="nearest")


class UpsamplingBilinear2d(UpsamplingNearest2d):
    """``F.interpolate(mode="bilinear", align_corners=True)``, as PyTorch's layer."""

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, mode="bilinear",
                             align_corners=True)


class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)


class Fold(Module):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)


class Dropout1d(Dropout):
    """Zeroes whole channels of (n, c, l) with probability p while training."""

    _fn = staticmethod(F.dropout1d)


class Dropout3d(Dropout):
    """Zeroes whole channels of (n, c, d, h, w) with probability p while training."""

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(Dropout):
    """Alpha dropout (keeps SELU activations' mean and variance) while training."""

    _fn = staticmethod(F.alpha_dropout)
