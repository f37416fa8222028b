"""Activation layers with PyTorch's constructors; ``inplace=True`` writes the result into the
input tensor (which is returned), as in PyTorch: the input's version is bumped, and a leaf that
requires grad is refused while grad is recorded.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd.function import Function
from ..ops import activation as _act
from ..ops import elementwise as _ew
from ..ops.inplace import apply_inplace
from .module import Module, Parameter


def _maybe_inplace(x, inplace, name, fn):
    """fn(x), or x changed in place to fn(x) (fn sees the old values, so its backward is
    exact)."""
    return apply_inplace(x, name, fn) if inplace else fn(x)


class _Softplus(Function):
    """gx = gy · sigmoid(beta · x) where beta · x <= threshold, else gy"""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        from ..tensor import Tensor
        xp, a = x.xp, x.array
        z = a * beta
        # log1p(exp(z)) = max(z, 0) + log1p(exp(-|z|)): no overflow, exact in the tails
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return Tensor._make(xp.where(z > threshold, a, soft).astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        z = x * ctx.beta
        return gy * _ew.where(z > ctx.threshold, 1.0, _ew.sigmoid(z)), None, None


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta · x)) / beta, linear where beta · x > threshold (PyTorch's)."""
    return _Softplus.apply(x, beta, threshold)


class _Activation(Module):
    _inplace_name = "activation_"

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def _fn(self, x):
        raise NotImplementedError

    def forward(self, x):
        return _maybe_inplace(x, self.inplace, self._inplace_name, self._fn)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Activation):
    def forward(self, x):
        return x.relu_() if self.inplace else F.relu(x)


class Hardtanh(_Activation):
    """x clipped to [min_val, max_val]; gradient 1 strictly inside, 0 at and beyond the bounds
    (torch's hardtanh, not clamp, whose gradient passes at the bounds)."""
    _inplace_name = "hardtanh_"

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__(inplace)
        if max_val <= min_val:
            raise ValueError(f"{type(self).__name__}: max_val ({max_val}) must be greater than "
                             f"min_val ({min_val})")
        self.min_val, self.max_val = min_val, max_val

    def _fn(self, x):
        return _act.hardtanh(x, min_val=float(self.min_val), max_val=float(self.max_val))

    def extra_repr(self):
        s = f"min_val={self.min_val}, max_val={self.max_val}"
        return s + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(_Activation):
    _inplace_name = "leaky_relu_"

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def _fn(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class ELU(_Activation):
    _inplace_name = "elu_"

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = alpha

    def _fn(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(_Activation):
    """x · sigmoid(x)."""
    _inplace_name = "silu_"

    def _fn(self, x):
        return x * _ew.sigmoid(x)


class Hardswish(_Activation):
    """x · relu6(x + 3) / 6."""
    _inplace_name = "hardswish_"

    def _fn(self, x):
        return _act.hardswish(x)  # the op: torch's gradient at x = +-3 (a clamp's is not)


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""
    _inplace_name = "hardsigmoid_"

    def _fn(self, x):
        return _act.hardsigmoid(x)  # the op: gradient 0 at x = +-3, as torch


class Mish(_Activation):
    """x · tanh(softplus(x))."""
    _inplace_name = "mish_"

    def _fn(self, x):
        return x * _ew.tanh(softplus(x))


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    """x where x > 0, else weight · x; weight (num_parameters,) per channel (dim 1)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        from ..factories import full
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype))

    def forward(self, x):
        w = self.weight
        if self.num_parameters > 1:
            if x.ndim < 2 or x.shape[1] != self.num_parameters:
                raise ValueError(f"PReLU: {self.num_parameters} parameters need input with "
                                 f"that many channels in dim 1, got shape {x.shape}")
            w = w.reshape((1, -1) + (1,) * (x.ndim - 2))
        return _ew.where(x > 0, x, x * w)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


def _implicit_dim(ndim):
    """PyTorch's legacy choice when Softmax(dim=None): dim 0 for 0, 1 and 3-D input, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim if self.dim is not None else _implicit_dim(x.ndim))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return F.log_softmax(x, self.dim if self.dim is not None else _implicit_dim(x.ndim))


__all__ = [
    "ELU",
    "GELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "softplus",
]
