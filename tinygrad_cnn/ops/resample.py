"""Resampling ops: the lecture notes' zero-insertion upsampling and its adjoint, downsampling,
plus constant padding and its adjoint (a crop), reflection padding and its adjoint (a fold),
integer nearest upsampling and its adjoint (a block sum).

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


# Reflection padding and integer nearest upsampling as ops of their own: as gathers
# (x[ix_(...)]) their backward is an unbuffered scatter-add (np.add.at), measured 7 % of a
# TransformerNet step; their adjoints are a few slice adds and a block sum.
def _reflect_widths(x, before, after):
    return [(0, 0)] * (x.ndim - len(before)) + list(zip(before, after))


@register("pad_reflect", rule="gx = fold_reflect(gy, before, after)", saves=())
def pad_reflect(x, *, before, after):
    """Mirror the last ``len(before)`` dims (no edge repeat, PyTorch's "reflect"); each
    width must be smaller than its dim (checked by F.pad)."""
    def backward(gy):
        return fold_reflect(gy, before=before, after=after)

    return x.xp.pad(x.array, _reflect_widths(x, before, after), mode="reflect"), backward


@register("fold_reflect", rule="gg = pad_reflect(gy, before, after)", saves=())
def fold_reflect(g, *, before, after):
    """The adjoint of :func:`pad_reflect`: each mirrored border added back onto the cells
    it copied, one padded dim at a time. (…, s + b + a) -> (…, s)."""
    def backward(gy):
        return pad_reflect(gy, before=before, after=after)

    xp = g.xp
    out = g.array
    lead = g.ndim - len(before)
    for i, (b, a) in enumerate(zip(before, after)):
        ax = lead + i
        s = out.shape[ax] - b - a

        def sl(start, stop, step=None, ax=ax):
            return (slice(None),) * ax + (slice(start, stop, step),)
        core = out[sl(b, b + s)].copy()
        if b:  # padded cell j < b mirrors cell b - j: core[1 : b + 1] gets them reversed
            core[sl(1, b + 1)] += out[sl(b - 1, None, -1)]
        if a:  # padded cell b + s + j mirrors core cell s - 2 - j
            core[sl(s - 1 - a, s - 1)] += out[sl(b + s + a - 1, b + s - 1, -1)]
        out = core
    return xp.ascontiguousarray(out), backward


@register("repeat_nearest", rule="gx = block_sum(gy, factor)", saves=())
def repeat_nearest(x, *, factor):
    """Nearest upsampling by integer ``factor`` per spatial dim: each (n, c) pixel becomes a
    factor block. (n, c, *s) -> (n, c, *(s · factor))."""
    def backward(gy):
        return block_sum(gy, factor=factor)

    n, c, *s = x.shape
    v = x.array.reshape((n, c) + sum(((si, 1) for si in s), ()))
    rep = x.xp.broadcast_to(v, (n, c) + sum(((si, f) for si, f in zip(s, factor)), ()))
    return rep.reshape((n, c) + tuple(si * f for si, f in zip(s, factor))), backward


@register("block_sum", rule="gg = repeat_nearest(gy, factor)", saves=())
def block_sum(g, *, factor):
    """The adjoint of :func:`repeat_nearest`: the sum over each factor block."""
    def backward(gy):
        return repeat_nearest(gy, factor=factor)

    n, c, *s = g.shape
    nd = len(s)
    split = (n, c) + sum(((si // f, f) for si, f in zip(s, factor)), ())
    return g.array.reshape(split).sum(axis=tuple(3 + 2 * i for i in range(nd))), backward
