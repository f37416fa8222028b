"""dtype casts and device moves, recorded so gradients come back in the input's dtype/device."""
from __future__ import annotations

from ..backend import backend_for, parse_device
from .op_registry import register


@register("to", rule="gx = gy moved back to x's dtype and device", saves=())
def to(x, *, dtype=None, device=None):
    """``x`` as ``dtype`` on ``device`` (either may be None: unchanged)."""
    y = x.array
    if device is not None:
        dev = parse_device(device)
        if dev != x.device:
            y = backend_for(dev).asarray(y, device=dev)
    if dtype is not None and y.dtype != dtype:
        y = y.astype(dtype)
    elif y is x.array:
        y = y.copy()

    def backward(gy):
        return to(gy, dtype=x.dtype, device=x.device)

    return y, backward
