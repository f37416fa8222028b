"""Resampling ops: the lecture notes' zero-insertion upsampling and its adjoint, downsampling,
plus constant padding and its adjoint (a crop).

    upsample(x)    n -> (n-1)·factor + 1: x at multiples of factor, zeros between
    downsample(x)  n -> ceil(n / factor): the samples at multiples of factor
    pad(x)         zeros (or a value) around the spatial dims; backward: crop (getitem)

Upsample and downsample are each other's backward; a strided convolution is a stride-1
convolution followed by downsample, which is why its input gradient upsamples first.
"""
from __future__ import annotations

from .op_registry import register


def _every(factor):
    return (slice(None), slice(None)) + tuple(slice(None, None, f) for f in factor)


@register("upsample", rule="gx = downsample(gy, factor)", saves=())
def upsample(x, *, factor, size):
    """Zero insertion to spatial ``size``: ``y[..., i·f] = x[..., i]``, zeros elsewhere."""
    def backward(gy):
        return downsample(gy, factor=factor)

    y = x.xp.zeros(x.shape[:2] + tuple(size), dtype=x.dtype)
    y[_every(factor)] = x.array
    return y, backward


@register("downsample", rule="gx = upsample(gy, factor, x.shape[2:])", saves=())
def downsample(x, *, factor):
    """Keep the samples at multiples of ``factor`` along each spatial dim."""
    def backward(gy):
        return upsample(gy, factor=factor, size=x.shape[2:])

    return x.array[_every(factor)].copy(), backward  # a copy even for factor 1


@register("pad", rule="gx = getitem(gy, before : before + x.shape)", saves=())
def pad_constant(x, *, before, after, value):
    """Pad the last ``len(before)`` dims with ``value`` (non-negative widths); the backward
    crops gy back to x (the padding's gradient is dropped)."""
    from .indexing import index

    def backward(gy):
        lead = (slice(None),) * (x.ndim - len(before))
        return index(gy, lead + tuple(slice(b, b + s) for b, s in
                                      zip(before, x.shape[x.ndim - len(before):])))

    widths = [(0, 0)] * (x.ndim - len(before)) + list(zip(before, after))
    return x.xp.pad(x.array, widths, mode="constant", constant_values=value), backward
