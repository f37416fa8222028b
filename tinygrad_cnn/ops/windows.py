"""Sliding windows on arrays: the gather (im2col) and its adjoint, the scatter (col2im).

No loop here runs over pixels or batch elements: a window view is one ``as_strided`` call,
and the adjoint adds one strided slice per *kernel tap* (k_h * k_w of them), each a whole
(n, c, *o) array at once.
"""
from __future__ import annotations

import math


def pad_spatial(xp, x, before, after, value=0.0):
    """Pad the spatial dims (all dims after the first two) of ``x``."""
    if not any(before) and not any(after):
        return x
    widths = [(0, 0), (0, 0)] + list(zip(before, after))
    return xp.pad(x, widths, mode="constant", constant_values=value)


def window_view(xp, x, k, st, d, o):
    """View ``(n, c, *o, *k)`` of the windows of ``x`` (already padded); never written to.
    (No ``writeable=False``: CuPy's as_strided does not take it.)"""
    nd = len(k)
    strides = x.strides
    shape = x.shape[:2] + tuple(o) + tuple(k)
    new_strides = strides[:2] + tuple(strides[2 + i] * st[i] for i in range(nd)) + \
        tuple(strides[2 + i] * d[i] for i in range(nd))
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=new_strides)


def tap_slices(k, st, d, o):
    """For each kernel tap, the strided slices of the padded input it reads (one per dim)."""
    for tap in taps(k):
        yield tap, tuple(slice(t * dd, t * dd + s * (oo - 1) + 1, s)
                         for t, dd, s, oo in zip(tap, d, st, o))


def taps(k):
    """Every kernel tap (an index tuple), in row-major order."""
    if len(k) == 1:
        return [(i,) for i in range(k[0])]
    return [(i,) + rest for i in range(k[0]) for rest in taps(k[1:])]


def window_spread(xp, cols, k, st, d, o, padded_shape, dtype):
    """Adjoint of :func:`window_view`: add each window value back where it was read.

    ``cols`` is ``(n, c, *k, *o)``; returns the padded ``(n, c, *s_padded)`` array.
    Overlapping windows accumulate.
    """
    out = xp.zeros(padded_shape, dtype=dtype)
    lead = (slice(None), slice(None))
    for tap, where in tap_slices(k, st, d, o):
        out[lead + where] += cols[lead + tap]
    return out


def crop_spatial(x, before, sizes):
    """``x[..., before:before + size]`` over the spatial dims."""
    if not any(before) and tuple(x.shape[2:]) == tuple(sizes):
        return x
    return x[(slice(None), slice(None)) + tuple(slice(b, b + s) for b, s in zip(before, sizes))]


def prod(values):
    return math.prod(values)
