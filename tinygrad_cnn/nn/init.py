"""Parameter initialisation in place, with PyTorch's names, formulas and defaults.

Each function writes through ``Tensor._assign`` under ``no_grad`` (the version is bumped, so a
graph that saved the tensor before refuses to run backward), accepts a Parameter or a view of
it (``p.data``), and returns the tensor. Random values come from the tensor's backend
generator, which ``tg.manual_seed`` seeds.
"""
from __future__ import annotations

import math
import numbers

from ..autograd.grad_mode import no_grad

_GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
          "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
          "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def _check(op, t, generator=None):
    from ..tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"nn.init.{op}: expected a Tensor, got {type(t).__name__}")
    if generator is not None:
        raise NotImplementedError(f"nn.init.{op}: generator= is not supported; seed with "
                                  "tg.manual_seed")
    if t.dtype.kind != "f":
        raise TypeError(f"nn.init.{op}: expected a floating point tensor, got {t.dtype}")


def _fill(t, arr):
    with no_grad():
        t._assign(arr)
    return t


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table): 1 for linear/conv/sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope²)) for leaky_relu (slope ``param``,
    default 0.01), 3/4 for selu."""
    if nonlinearity in _GAINS:
        return _GAINS[nonlinearity]
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(t):
    """fan_in = size(1) · receptive field, fan_out = size(0) · receptive field (PyTorch)."""
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer "
                         f"than 2 dims, got shape {t.shape}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # torch's private name


def _fan(t, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init: mode {mode!r} not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    _check("uniform_", tensor, generator)
    if a > b:
        raise ValueError(f"nn.init.uniform_: expects a <= b, got a={a}, b={b}")
    return _fill(tensor, tensor.backend.rng().uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std²)."""
    _check("normal_", tensor, generator)
    if std < 0:
        raise ValueError(f"nn.init.normal_: std must be >= 0, got {std}")
    return _fill(tensor, tensor.backend.rng().normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std²) conditioned on [a, b] (absolute bounds, as PyTorch)."""
    _check("trunc_normal_", tensor, generator)
    if not a < b or std <= 0:
        raise ValueError(f"nn.init.trunc_normal_: needs a < b and std > 0, got a={a}, b={b}, "
                         f"std={std}")
    xp, rng = tensor.xp, tensor.backend.rng()
    out = rng.normal(mean, std, size=tensor.shape)
    bad = (out < a) | (out > b)
    for _ in range(1000):  # redraw the rejected ones (rounds, not elements, in Python)
        n_bad = int(bad.sum())
        if not n_bad:
            break
        out[bad] = rng.normal(mean, std, size=(n_bad,))
        bad = (out < a) | (out > b)
    else:
        raise RuntimeError(f"nn.init.trunc_normal_: [a, b] = [{a}, {b}] holds almost none of "
                           f"N({mean}, {std}²); cannot sample it by rejection")
    return _fill(tensor, xp.clip(out, a, b))


def constant_(tensor, val):
    _check("constant_", tensor)
    return _fill(tensor, tensor.xp.asarray(val, dtype=tensor.dtype))


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    """The identity matrix in a 2-D tensor (ones on the diagonal of a rectangle)."""
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"nn.init.eye_: only 2-D tensors are supported, got shape "
                         f"{tensor.shape}")
    return _fill(tensor, tensor.xp.eye(*tensor.shape, dtype=tensor.dtype))


def dirac_(tensor, groups=1):
    """A conv weight (out, in, *k) that passes each input channel through (per group)."""
    _check("dirac_", tensor)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"nn.init.dirac_: only 3, 4 and 5-D tensors are supported, got "
                         f"shape {tensor.shape}")
    out_per = tensor.shape[0] // groups
    if tensor.shape[0] % groups:
        raise ValueError(f"nn.init.dirac_: dim 0 ({tensor.shape[0]}) must be divisible by "
                         f"groups={groups}")
    xp = tensor.xp
    w = xp.zeros(tensor.shape, dtype=tensor.dtype)
    m = min(out_per, tensor.shape[1])
    centre = tuple(k // 2 for k in tensor.shape[2:])
    d = xp.arange(m)
    for g in range(groups):  # groups, not elements
        w[(g * out_per + d, d) + centre] = 1
    return _fill(tensor, w)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-bound, bound), bound = gain · sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std²), std = gain · sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu",
                     generator=None):
    """U(-bound, bound), bound = gain · sqrt(3 / fan), gain = calculate_gain(nonlinearity,
    a) (PyTorch's default layer init uses a = sqrt(5), so bound = 1/sqrt(fan_in))."""
    _check("kaiming_uniform_", tensor, generator)
    if 0 in tensor.shape:
        return tensor  # nothing to fill (PyTorch warns and returns)
    fan = _fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std²), std = gain / sqrt(fan)."""
    _check("kaiming_normal_", tensor, generator)
    if 0 in tensor.shape:
        return tensor
    fan = _fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw, over dim 0
    against the flattened other dims, scaled by ``gain`` (PyTorch's construction)."""
    _check("orthogonal_", tensor, generator)
    if tensor.ndim < 2:
        raise ValueError(f"nn.init.orthogonal_: only tensors with 2 or more dims are "
                         f"supported, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    xp = tensor.xp
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = tensor.backend.rng().normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))  # makes the decomposition unique (uniform over O(n))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def default_layer_init_(weight, bias, fan_in=None):
    """What torch.nn.Linear / Conv*d do in reset_parameters()."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan = fan_in if fan_in is not None else calculate_fan_in_and_fan_out(weight)[0]
        bound = 1.0 / math.sqrt(fan) if fan > 0 else 0.0
        uniform_(bias, -bound, bound)


__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
