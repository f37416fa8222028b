"""Parameter initialisation (in place), PyTorch's formulas and defaults."""
from __future__ import annotations

import math


def _fill(t, arr):
    t.array = arr.astype(t.dtype, copy=False)
    return t


def calculate_fan_in_and_fan_out(t):
    """fan_in = size(1) · receptive field, fan_out = size(0) · receptive field (PyTorch)."""
    if t.ndim < 2:
        raise ValueError(f"fan in/out need a tensor with at least 2 dims, got shape {t.shape}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def uniform_(t, a=0.0, b=1.0):
    return _fill(t, t.backend.rng().uniform(a, b, size=t.shape))


def normal_(t, mean=0.0, std=1.0):
    return _fill(t, t.backend.rng().normal(mean, std, size=t.shape))


def zeros_(t):
    return _fill(t, t.xp.zeros(t.shape, dtype=t.dtype))


def ones_(t):
    return _fill(t, t.xp.ones(t.shape, dtype=t.dtype))


def constant_(t, value):
    return _fill(t, t.xp.full(t.shape, value, dtype=t.dtype))


def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-bound, bound), bound = gain · sqrt(3 / fan); gain = sqrt(2 / (1 + a²)) for
    leaky_relu (PyTorch's default layer init uses a = sqrt(5), so bound = 1/sqrt(fan_in))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = math.sqrt(2.0 / (1 + a * a)) if nonlinearity == "leaky_relu" else \
        math.sqrt(2.0) if nonlinearity == "relu" else 1.0
    bound = gain * math.sqrt(3.0 / fan) if fan else 0.0
    return uniform_(t, -bound, bound)


def xavier_uniform_(t, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def default_layer_init_(weight, bias, fan_in=None):
    """What torch.nn.Linear / Conv*d do in reset_parameters()."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan = fan_in if fan_in is not None else calculate_fan_in_and_fan_out(weight)[0]
        bound = 1.0 / math.sqrt(fan) if fan > 0 else 0.0
        uniform_(bias, -bound, bound)
