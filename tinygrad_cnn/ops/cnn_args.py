"""Argument checks for the CNN ops, shared by conv, pool and resample.

Every check runs before any array work and names the op and the offending value.
Notation used by these modules, once:

    n, c, f        batch size, input channels, output channels (filters)
    g, cg, fg      groups, channels per group (c / g), filters per group (f / g)
    nd             number of spatial dims (1, 2, 3); s = spatial sizes (h, w, ...)
    k, st, p, d    kernel size, stride, padding, dilation, one int per spatial dim
    o              output spatial sizes;  ext = d * (k - 1) + 1 (a dilated kernel's extent)
"""
from __future__ import annotations

import numbers

from ..errors import OpTypeError, OpValueError


def int_tuple(op, name, value, nd, *, minimum=None):
    """``value`` (an int or a sequence of ``nd`` ints) as an ``nd``-tuple of ints."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, tuple, list)):
        raise OpTypeError(f"{op}: {name} must be an int or a tuple of {nd} ints, got "
                          f"{type(value).__name__} {value!r}")
    vals = (value,) * nd if isinstance(value, numbers.Integral) else tuple(value)
    if len(vals) == 1 and nd > 1:
        vals = vals * nd
    if len(vals) != nd:
        raise OpValueError(f"{op}: {name} must have {nd} entries (one per spatial dim), got "
                           f"{tuple(value)}")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise OpTypeError(f"{op}: {name} must contain ints, got {type(v).__name__} {v!r} in "
                              f"{tuple(vals)}")
    vals = tuple(int(v) for v in vals)
    if minimum is not None and any(v < minimum for v in vals):
        what = "positive" if minimum == 1 else "non-negative"
        raise OpValueError(f"{op}: {name} must be {what}, got {vals if nd > 1 else vals[0]}")
    return vals


def require_tensor(op, x, name="input"):
    """Refuse anything but a Tensor (a nested list, an array) with a TypeError naming op."""
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise OpTypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}; wrap data "
                          "with tinygrad_cnn.tensor(...) first")


def spatial_input(op, x, nd):
    """``(x_batched, was_unbatched)``: accepts (n, c, *s) or unbatched (c, *s)."""
    require_tensor(op, x)
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    if x.ndim != nd + 2:
        raise OpValueError(f"{op}: expected a {nd + 2}-D input (n, c, {_dims(nd)}) or a "
                           f"{nd + 1}-D unbatched input (c, {_dims(nd)}), got shape {x.shape}")
    return x, False


def _dims(nd):
    return ", ".join(["l"] if nd == 1 else ["h", "w"] if nd == 2 else ["d", "h", "w"])


def check_float(op, x):
    if x.dtype.kind != "f":
        raise OpTypeError(f"{op}: expected a floating point input, got {x.dtype} "
                          f"(shape {x.shape})")


def out_size(op, size, k, st, pb, pa, d, ceil_mode=False):
    """Output length of a window sweep over one dim padded by ``pb`` before and ``pa`` after
    (PyTorch's rule, ceil_mode included)."""
    ext = d * (k - 1) + 1
    span = size + pb + pa - ext
    if ceil_mode:
        # PyTorch's rule: ceil((span) / st) + 1, floor division of a possibly negative span
        # (so a kernel larger than the padded input still gives one partial window)
        o = -(-span // st) + 1
        if (o - 1) * st >= size + pb:
            o -= 1  # the last window must start inside the input or its left padding
        if o <= 0:
            raise OpValueError(f"{op}: kernel extent {ext} (kernel {k}, dilation {d}) leaves "
                               f"no window on the input size {size} (padding {pb}+{pa})")
        return o
    if span < 0:
        raise OpValueError(f"{op}: kernel extent {ext} (kernel {k}, dilation {d}) is larger than "
                           f"the padded input size {size + pb + pa} (input {size}, padding "
                           f"{pb}+{pa})")
    return span // st + 1
