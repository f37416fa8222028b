"""Pooling ops: max (with indices), max-unpool, average, and their adjoint pairs.

    max_pool{nd}d(x)      gathers each window's first maximum;  backward: pool_scatter(gy)
    pool_scatter(g)       adds g at the argmax positions;        backward: pool_gather
    pool_gather(x)        reads x at given positions;            backward: pool_scatter
    max_unpool{nd}d(x)    puts x at the positions (no sum);      backward: pool_gather
    avg_pool{nd}d(x)      window sum / divisor;                  backward: avg_pool_adjoint
    avg_pool_adjoint(g)   spreads g / divisor over the windows;  backward: avg_pool

Max pooling routes the gradient to the argmax of each window (ties: the first maximum,
NaN counts as the maximum, as PyTorch); average pooling spreads it evenly, the lecture notes'
constant 1/k filter. Indices are flat positions in each (n, c) plane of the unpadded input,
as PyTorch's return_indices. Notation in cnn_args.
"""
from __future__ import annotations

from .op_registry import const, register
from .windows import crop_spatial, pad_spatial, prod, tap_slices, window_spread, window_view


def max_pool_indices(xp, x, k, st, p, d, o, pr):
    """int64 (n, c, *o): flat position in each plane of every window's first maximum."""
    n, c = x.shape[:2]
    s = x.shape[2:]
    nd = len(k)
    xpad = pad_spatial(xp, x, p, pr, value=-xp.inf)
    win = window_view(xp, xpad, k, st, d, o).reshape((n, c) + tuple(o) + (prod(k),))
    tap = win.argmax(axis=-1)  # first maximum; NaN wins as in PyTorch
    taps = xp.unravel_index(tap, k)
    flat = xp.zeros(tap.shape, dtype="int64")
    for i in range(nd):
        start = (xp.arange(o[i]) * st[i] - p[i]).reshape((-1,) + (1,) * (nd - 1 - i))
        # an all -inf window may pick a padded cell: clamp onto the first real one (PyTorch)
        pos = xp.clip(start + taps[i] * d[i], 0, s[i] - 1)
        flat = flat * s[i] + pos
    return flat


def _planes(a):
    return a.reshape(a.shape[:2] + (-1,))


def gather_planes(xp, x, indices):
    """x (n, c, *s) read at ``indices`` (n, c, *o) -> (n, c, *o)."""
    return xp.take_along_axis(_planes(x), _planes(indices), axis=2).reshape(indices.shape)


def scatter_planes(backend, g, indices, size, accumulate):
    """Zeros (n, c, *size) with g added (or put) at ``indices``."""
    xp = backend.xp
    n, c = g.shape[:2]
    plane = prod(size)
    if accumulate:
        base = (xp.arange(n * c, dtype="int64") * plane).reshape(n, c, 1)
        flat = (_planes(indices) + base).reshape(-1)
        out = backend.scatter_add_flat(n * c * plane, flat, g.reshape(-1))
    else:
        out = xp.zeros((n, c, plane), dtype=g.dtype)
        xp.put_along_axis(out, _planes(indices), _planes(g), axis=2)
    return out.reshape((n, c) + tuple(size))


@register("pool_gather", rule="gx = pool_scatter(gy, indices)")
def pool_gather(x, *, indices, overlap):
    """x read at flat plane positions ``indices`` (an array)."""
    def backward(gy):
        return pool_scatter(gy, indices=indices, size=x.shape[2:], overlap=overlap)

    return gather_planes(x.xp, x.data, indices), backward


@register("pool_scatter", rule="ggy = pool_gather(gz, indices)")
def pool_scatter(g, *, indices, size, overlap):
    """Zeros of spatial ``size`` with g summed at ``indices`` (overlapping windows add up)."""
    def backward(gz):
        return pool_gather(gz, indices=indices, overlap=overlap)

    return scatter_planes(g.backend, g.data, indices, size, accumulate=overlap), backward


def _register_max(nd):
    @register(f"max_pool{nd}d", rule="gx = pool_scatter(gy, argmax indices): the gradient goes "
                                     "to the first maximum of each window")
    def max_pool(x, *, indices, overlap):
        def backward(gy):
            return pool_scatter(gy, indices=indices, size=x.shape[2:], overlap=overlap)

        return gather_planes(x.xp, x.data, indices), backward

    @register(f"max_unpool{nd}d", rule="gx = pool_gather(gy, indices)")
    def max_unpool(x, *, indices, size):
        def backward(gy):
            return pool_gather(gy, indices=indices, overlap=True)

        return scatter_planes(x.backend, x.data, indices, size, accumulate=False), backward

    return max_pool, max_unpool


MAX_POOL, MAX_UNPOOL = {}, {}
for _nd in (1, 2, 3):
    MAX_POOL[_nd], MAX_UNPOOL[_nd] = _register_max(_nd)


def window_sum(xp, x, k, st, p, pr, o):
    """Σ over each window of the zero-padded x: one strided add per kernel tap."""
    xpad = pad_spatial(xp, x, p, pr)
    lead = (slice(None), slice(None))
    out = None
    for _, where in tap_slices(k, st, (1,) * len(k), o):
        out = xpad[lead + where].copy() if out is None else out.__iadd__(xpad[lead + where])
    return out


def avg_divisor(xp, s, k, st, p, o, count_include_pad, divisor_override, dtype):
    """What each window's sum is divided by, (*o) broadcastable, as PyTorch counts it."""
    if divisor_override is not None:
        return divisor_override
    div = None
    for i in range(len(k)):
        start = xp.arange(o[i]) * st[i] - p[i]
        end = xp.minimum(start + k[i], s[i] + p[i])
        cnt = end - start if count_include_pad else \
            xp.minimum(start + k[i], s[i]) - xp.maximum(start, 0)
        cnt = cnt.reshape((-1,) + (1,) * (len(k) - 1 - i))
        div = cnt if div is None else div * cnt
    return div.astype(dtype)


def _register_avg(nd):
    @register(f"avg_pool{nd}d", rule="gx = avg_pool_adjoint(gy): each input gets gy / divisor "
                                     "from every window that contains it")
    def avg_pool(x, *, k, st, p, pr, o, divisor):
        def backward(gy):
            return adjoint(gy, k=k, st=st, p=p, pr=pr, o=o, divisor=divisor, size=x.shape[2:])

        return window_sum(x.xp, x.data, k, st, p, pr, o) / divisor, backward

    @register(f"avg_pool{nd}d_adjoint", rule=f"ggy = avg_pool{nd}d(gz)")
    def adjoint(g, *, k, st, p, pr, o, divisor, size):
        def backward(gz):
            return avg_pool(gz, k=k, st=st, p=p, pr=pr, o=o, divisor=divisor)

        xp = g.xp
        n, c = g.shape[:2]
        spread = g.data / divisor
        padded = (n, c) + tuple(si + a + b for si, a, b in zip(size, p, pr))
        cols = spread.reshape((n, c) + (1,) * nd + tuple(o))
        cols = xp.broadcast_to(cols, (n, c) + tuple(k) + tuple(o))
        z = window_spread(xp, cols, k, st, (1,) * nd, o, padded, g.dtype)
        return crop_spatial(z, p, size), backward

    return avg_pool


AVG_POOL = {}
for _nd in (1, 2, 3):
    AVG_POOL[_nd] = _register_avg(_nd)


def const_indices(arr):
    """Indices as a constant int64 tensor (for return_indices)."""
    return const(arr)
