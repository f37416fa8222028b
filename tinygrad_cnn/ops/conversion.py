"""dtype casts and device moves, recorded so gradients come back in the input's dtype/device.

A cast to an integer or bool dtype is a constant, as in PyTorch: rounding has no useful
gradient, so such a result never requires grad and records no graph edge.
"""
from __future__ import annotations

from .. import dtypes
from ..backend import backend_for, parse_device
from .op_registry import register


def _convert(x, dtype, device):
    y = x.array
    if device is not None:
        dev = parse_device(device)
        if dev != x.device:
            y = backend_for(dev).asarray(y, device=dev)
    if dtype is not None and y.dtype != dtype:
        y = y.astype(dtype)
    elif y is x.array:
        y = y.copy()
    return y


@register("to", rule="gx = to(gy, x.dtype, x.device)", saves=())
def _to(x, *, dtype=None, device=None):
    def backward(gy):
        return to(gy, dtype=x.dtype, device=x.device)

    return _convert(x, dtype, device), backward


@register("to_integer", rule="not differentiable (integer result)", differentiable=False,
          saves=())
def _to_integer(x, *, dtype=None, device=None):
    """A cast to an integer or bool (an integer type of 0s and 1s) dtype: a constant."""
    return _convert(x, dtype, device), None


def to(x, *, dtype=None, device=None):
    """``x`` as ``dtype`` on ``device`` (either may be None: unchanged).

    Only floating results stay in the graph; integer and bool casts are constants.
    """
    dtype = dtypes.as_dtype(dtype)
    kind = (x.dtype if dtype is None else dtype).kind
    op = _to if kind in "fc" else _to_integer
    return op(x, dtype=dtype, device=device)
