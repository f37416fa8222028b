"""More activations with torch.nn.functional's signatures, composed of existing ops (their
gradients are those ops'): logsigmoid, selu, celu, softsign, softmin, threshold, tanhshrink,
prelu and glu.
"""
from __future__ import annotations

import warnings

from ..errors import OpRuntimeError, OpValueError
from ..ops import arithmetic as _ar
from ..ops import elementwise as _ew
from ..ops.checks import canonical_dim
from .activation import _maybe_inplace, _number, elu, softmax, tensor_arg

# PyTorch's SELU constants (Klambauer et al. 2017), to its printed precision
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def logsigmoid(input):
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``: no overflow for large ``|x|``; the
    gradient is ``sigmoid(-x)`` (at 0 too: minimum splits its tie, abs gives 0)."""
    tensor_arg("logsigmoid", input)
    return _ar.minimum(input, 0.0) - _ew.log1p(_ew.exp(-_ew.abs(input)))


def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with the fixed self-normalising constants."""
    return _maybe_inplace("selu", input, inplace,
                          lambda t: elu(t, alpha=SELU_ALPHA) * SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (= ``alpha * elu(x / alpha)``)."""
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise OpValueError("F.celu: alpha must be nonzero (ZeroDivisionError in PyTorch)")
    return _maybe_inplace("celu", input, inplace,
                          lambda t: elu(t * (1.0 / alpha), alpha=1.0) * alpha)


def softsign(input):
    """``x / (1 + |x|)``."""
    tensor_arg("softsign", input)
    return input / (_ew.abs(input) + 1.0)


def tanhshrink(input):
    """``x - tanh(x)``."""
    tensor_arg("tanhshrink", input)
    return input - _ew.tanh(input)


def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, else ``value`` (the gradient is 0 there)."""
    th = _number("threshold", "threshold", threshold)
    v = _number("threshold", "value", value)
    return _maybe_inplace("threshold", input, inplace,
                          lambda t: _ew.where(t > th, t, _const_like(t, v)))


def _const_like(t, v):
    from ..ops.op_registry import const
    return const(t.xp.asarray(v, dtype=t.dtype))


def _implicit_softmax_dim(ndim):
    # torch.nn.functional._get_softmax_dim: the legacy choice when dim is left out
    warnings.warn("Implicit dimension choice for softmin has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x, dim)``; ``dim=None`` picks PyTorch's legacy dim (with its warning)."""
    tensor_arg("softmin", input)
    if dim is None:
        dim = _implicit_softmax_dim(input.ndim)
    x = input if dtype is None else input.to(dtype=dtype)
    return softmax(-x, dim)


def prelu(input, weight):
    """``x`` where ``x > 0``, else ``weight * x``; weight has 1 element or one per channel
    (dim 1 of the input)."""
    tensor_arg("prelu", input)
    tensor_arg("prelu", weight, "weight")
    n = weight.numel()
    if n == 1:
        weight = weight.reshape(())
    else:
        # PyTorch's channel count: dim 1, and 1 for inputs with fewer than 2 dims
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.ndim != 1 or n != channels:
            raise OpRuntimeError(f"F.prelu: weight of shape {weight.shape} must have 1 element "
                                 f"or one per channel ({channels}) of input {input.shape}")
        weight = weight.reshape((1, n) + (1,) * (input.ndim - 2))
    return _ew.where(input > 0, input, input * weight)


def glu(input, dim=-1):
    """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``input`` along ``dim``."""
    tensor_arg("glu", input)
    if input.ndim == 0:
        raise OpRuntimeError("F.glu: glu does not support scalars because halving size must "
                             "be even")
    d = canonical_dim("glu", dim, input.ndim, input.shape)
    if input.shape[d] % 2:
        raise OpRuntimeError(f"F.glu: halving dimension must be even, but dimension {d} is "
                             f"size {input.shape[d]} (shape {input.shape})")
    a, b = input.chunk(2, d)
    return a * _ew.sigmoid(b)
