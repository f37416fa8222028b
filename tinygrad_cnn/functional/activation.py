"""Activations and ``linear``, with torch.nn.functional's signatures."""
from __future__ import annotations

import math

from ..errors import OpTypeError
from ..ops import elementwise as _ew
from ..ops.checks import canonical_dim
from ..ops.loss import log_softmax_op, softmax_op


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: (*, in) -> (*, out); weight (out, in), bias (out,)."""
    from ..tensor import Tensor
    if not isinstance(weight, Tensor):
        raise OpTypeError(f"linear: weight must be a Tensor, got {type(weight).__name__}")
    y = input @ weight.T
    return y if bias is None else y + bias


def relu(input, inplace=False):
    """max(x, 0)."""
    return _ew.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope · x."""
    return _ew.where(input > 0, input, input * negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha · (exp(x) - 1)."""
    return _ew.where(input > 0, input, (_ew.exp(input.clamp(max=0.0)) - 1) * alpha)


def gelu(input, approximate="none"):
    """x · Φ(x) (``approximate="tanh"``: the tanh approximation), as PyTorch."""
    if approximate == "tanh":
        inner = (input + input ** 3 * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (_ew.tanh(inner) + 1)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return input * 0.5 * (_ew.erf(input * (1.0 / math.sqrt(2.0))) + 1)


def sigmoid(input):
    return _ew.sigmoid(input)


def tanh(input):
    return _ew.tanh(input)


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x), dim), computed stably."""
    x = input if dtype is None else input.to(dtype=dtype)
    return softmax_op(x, dim=canonical_dim("softmax", dim, x.ndim, x.shape))


def log_softmax(input, dim, dtype=None):
    """x - logsumexp(x, dim), computed stably."""
    x = input if dtype is None else input.to(dtype=dtype)
    return log_softmax_op(x, dim=canonical_dim("log_softmax", dim, x.ndim, x.shape))
