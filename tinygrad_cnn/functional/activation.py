"""Activations and ``linear``, with torch.nn.functional's signatures.

``inplace=True`` really acts in place, as in PyTorch: the result is written into the input's
storage (views see it, the version counter is bumped) and the input is rebased onto the new
graph node (see :func:`tinygrad_cnn.ops.inplace.apply_inplace`); the input is returned.
"""
from __future__ import annotations

import math

from ..errors import OpTypeError, OpValueError
from ..ops import activation as _act
from ..ops import elementwise as _ew
from ..ops.checks import canonical_dim
from ..ops.inplace import apply_inplace
from ..ops.loss import log_softmax_op, softmax_op


def tensor_arg(fn, input, name="input"):
    """Refuse anything but a Tensor with a TypeError naming ``F.<fn>`` (not AttributeError)."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        what = "" if name == "input" else f" for {name}"
        raise OpTypeError(f"F.{fn}: expected a Tensor{what}, got {type(input).__name__}")
    return input


def _maybe_inplace(fn, input, inplace, compute):
    """``compute(input)``, or written into ``input`` itself when ``inplace``."""
    tensor_arg(fn, input)
    if not isinstance(inplace, bool):
        raise OpTypeError(f"F.{fn}: inplace must be a bool, got {inplace!r}")
    if inplace:
        return apply_inplace(input, f"F.{fn}(inplace=True)", compute)
    return compute(input)


def _number(fn, name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise OpTypeError(f"F.{fn}: {name} must be a number, got {v!r}")
    return float(v)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: (*, in) -> (*, out); weight (out, in), bias (out,)."""
    tensor_arg("linear", input)
    tensor_arg("linear", weight, "weight")
    y = input @ weight.T
    return y if bias is None else y + bias


def relu(input, inplace=False):
    """max(x, 0); the gradient at 0 is 0."""
    return _maybe_inplace("relu", input, inplace, _ew.relu)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) (hardtanh(0, 6): gradient 0 at both kinks, as PyTorch)."""
    return _maybe_inplace("relu6", input, inplace,
                          lambda t: _act.hardtanh(t, min_val=0.0, max_val=6.0))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]; gradient 1 strictly inside, else 0."""
    lo, hi = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if lo > hi:
        raise OpValueError(f"F.hardtanh: min_val ({min_val}) cannot be greater than max_val "
                           f"({max_val})")
    return _maybe_inplace("hardtanh", input, inplace,
                          lambda t: _act.hardtanh(t, min_val=lo, max_val=hi))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope · x."""
    slope = _number("leaky_relu", "negative_slope", negative_slope)
    return _maybe_inplace("leaky_relu", input, inplace,
                          lambda t: _ew.where(t > 0, t, t * slope))


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha · (exp(x) - 1)."""
    a = _number("elu", "alpha", alpha)
    return _maybe_inplace("elu", input, inplace,
                          lambda t: _ew.where(t > 0, t, _ew.expm1(t.clamp(max=0.0)) * a))


def hardsigmoid(input, inplace=False):
    """clip(x / 6 + 1/2, 0, 1)."""
    return _maybe_inplace("hardsigmoid", input, inplace, _act.hardsigmoid)


def hardswish(input, inplace=False):
    """x · relu6(x + 3) / 6."""
    return _maybe_inplace("hardswish", input, inplace, _act.hardswish)


def silu(input, inplace=False):
    """x · sigmoid(x) (a.k.a. swish)."""
    return _maybe_inplace("silu", input, inplace, lambda t: t * _ew.sigmoid(t))


def mish(input, inplace=False):
    """x · tanh(softplus(x))."""
    return _maybe_inplace("mish", input, inplace, lambda t: t * _ew.tanh(_act.softplus(t)))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta · x)) / beta, and x itself where beta · x > threshold (as PyTorch)."""
    tensor_arg("softplus", input)
    b = _number("softplus", "beta", beta)
    th = _number("softplus", "threshold", threshold)
    z = input if b == 1.0 else input * b
    soft = _act.softplus(z) if b == 1.0 else _act.softplus(z) / b
    return _ew.where(z > th, input, soft)


def gelu(input, approximate="none"):
    """x · Φ(x) (``approximate="tanh"``: the tanh approximation), as PyTorch."""
    tensor_arg("gelu", input)
    if approximate == "tanh":
        inner = (input + input ** 3 * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (_ew.tanh(inner) + 1)
    if approximate != "none":
        raise OpValueError(f"F.gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return input * 0.5 * (_ew.erf(input * (1.0 / math.sqrt(2.0))) + 1)


def sigmoid(input):
    return _ew.sigmoid(tensor_arg("sigmoid", input))


def tanh(input):
    return _ew.tanh(tensor_arg("tanh", input))


def _softmax_input(fn, input, dim, dtype):
    tensor_arg(fn, input)
    if dim is None:
        raise OpTypeError(f"F.{fn}: dim must be given (an int); PyTorch's implicit dim is "
                          "deprecated and ambiguous")
    x = input if dtype is None else input.to(dtype=dtype)
    # a 0-d tensor accepts dim 0 or -1 (PyTorch); the op then works on the lone element
    return x, canonical_dim(fn, dim, x.ndim, x.shape)


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x), dim), computed stably; (…) -> (…)."""
    x, d = _softmax_input("softmax", input, dim, dtype)
    return softmax_op(x, dim=d if x.ndim else None)


def log_softmax(input, dim, dtype=None):
    """x - logsumexp(x, dim), computed stably; (…) -> (…)."""
    x, d = _softmax_input("log_softmax", input, dim, dtype)
    return log_softmax_op(x, dim=d if x.ndim else None)
