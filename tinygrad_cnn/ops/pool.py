"""Pooling ops: max (with indices), max-unpool, average, and their adjoint pairs.

    max_pool{nd}d(x)          each window's first maximum;  backward: max_pool{nd}d_scatter
    max_pool{nd}d_scatter(g)  g added at those maxima;      backward: max_pool{nd}d_gather
    max_pool{nd}d_gather(x)   x read at those maxima;       backward: max_pool{nd}d_scatter
    pool_scatter, pool_gather the same pair by flat plane positions (adaptive max pooling)
    max_unpool{nd}d(x)    puts x at the positions (no sum);      backward: pool_gather
    avg_pool{nd}d(x)      window sum / divisor;                  backward: avg_pool{nd}d_adjoint
    avg_pool{nd}d_adjoint(g)  spreads g / divisor over the windows; backward: avg_pool{nd}d

Max pooling routes the gradient to the argmax of each window (ties: the first maximum,
NaN counts as the maximum, as PyTorch): the forward remembers, per output, which kernel tap
won, and the backward adds each gradient back through that tap's strided slice, one
vectorised pass per tap (the scatter needs no index arithmetic); average pooling spreads it
evenly, the lecture notes' constant 1/k filter. Indices are flat positions in each (n, c)
plane of the unpadded input, as PyTorch's return_indices. Notation in cnn_args.
"""
from __future__ import annotations

from .op_registry import register
from .windows import crop_spatial, pad_spatial, prod, tap_slices, window_spread


def _tap_dtype(n_taps):
    """The smallest integer type that numbers ``n_taps`` kernel taps."""
    return "int8" if n_taps < 128 else "int16" if n_taps < 32768 else "int32"


def max_pool_taps(xp, x, k, st, p, d, o, pr):
    """Window maxima (n, c, *o) and which kernel tap holds each (first maximum; NaN counts
    as the maximum, as PyTorch). One vectorised pass per kernel tap.

    A padded cell never wins: in a window whose real cells are all -inf (equal to the
    padding) the first *real* tap is chosen, the cell PyTorch's index names, so the
    gradient goes where ``return_indices`` says."""
    xpad = pad_spatial(xp, x, p, pr, value=-xp.inf)
    lead = (slice(None), slice(None))
    slices = [where for _, where in tap_slices(k, st, d, o)]
    views = [xpad[lead + where] for where in slices]
    best = views[0].copy()
    for v in views[1:]:
        xp.maximum(best, v, out=best)  # NaN propagates
    arg = xp.zeros(best.shape, dtype=_tap_dtype(len(views)))
    has_nan = bool(xp.isnan(best).any())
    real = None
    if (any(p) or any(pr)) and bool((best == -xp.inf).any()):
        # which cells of the padded grid are real: (1, 1, *P), sliced like the views
        real = pad_spatial(xp, xp.ones((1, 1) + x.shape[2:], dtype=bool), p, pr, value=False)
    for t in range(len(views) - 1, -1, -1):  # last to first, so the first maximum wins
        hit = views[t] == best
        if has_nan:
            hit |= xp.isnan(views[t])  # a NaN maximum sits at the first NaN
        if real is not None:
            hit &= real[lead + slices[t]]
        # arg = t where hit: integer arithmetic, several times faster than where/copyto
        arg -= (arg - t) * hit.view("int8").astype(arg.dtype, copy=False)
    return best, arg


def taps_to_indices(xp, arg, s, k, st, p, d):
    """Flat positions in each unpadded (n, c) plane from tap numbers (return_indices)."""
    nd = len(k)
    taps = xp.unravel_index(arg.astype("int64"), k)
    o = arg.shape[2:]
    flat = xp.zeros(arg.shape, dtype="int64")
    for i in range(nd):
        start = (xp.arange(o[i]) * st[i] - p[i]).reshape((-1,) + (1,) * (nd - 1 - i))
        # an all -inf window may pick a padded cell: clamp onto the first real one (PyTorch)
        flat = flat * s[i] + xp.clip(start + taps[i] * d[i], 0, s[i] - 1)
    return flat


def scatter_taps(xp, g, arg, k, st, d, padded_shape):
    """Padded zeros with each g value added at its window's chosen tap (col2im with masks)."""
    out = xp.zeros(padded_shape, dtype=g.dtype)
    lead = (slice(None), slice(None))
    o = arg.shape[2:]
    # windows that do not overlap write each cell at most once: assign, no read
    disjoint = all(s >= dd * (kk - 1) + 1 for s, dd, kk in zip(st, d, k))
    finite = bool(xp.isfinite(g).all())  # then g·mask is exact and much faster than where
    zero = xp.zeros((), dtype=g.dtype)
    for t, (_, where) in enumerate(tap_slices(k, st, d, o)):
        part = g * (arg == t) if finite else xp.where(arg == t, g, zero)
        if disjoint:
            out[lead + where] = part
        else:
            out[lead + where] += part
    return out


def gather_taps(xp, gpad, arg, k, st, d):
    """Each window's chosen tap read from the padded ``gpad`` (the adjoint of scatter_taps)."""
    lead = (slice(None), slice(None))
    out = xp.zeros(arg.shape, dtype=gpad.dtype)
    for t, (_, where) in enumerate(tap_slices(k, st, d, arg.shape[2:])):
        sel = arg == t
        out[sel] = gpad[lead + where][sel]
    return out


def _planes(a):
    return a.reshape(a.shape[:2] + (prod(a.shape[2:]),))  # not -1: ambiguous when n = 0


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
        rows = xp.arange(n).reshape(n, 1, 1), xp.arange(c).reshape(1, c, 1)
        out[rows + (_planes(indices),)] = _planes(g)
    return out.reshape((n, c) + tuple(size))


@register("pool_gather", rule="gx = pool_scatter(gy, indices)", saves=())
def pool_gather(x, *, indices, overlap):
    """x read at flat plane positions ``indices`` (an array)."""
    def backward(gy):
        return pool_scatter(gy, indices=indices, size=x.shape[2:], overlap=overlap)

    return gather_planes(x.xp, x.array, indices), backward


@register("pool_scatter", rule="gg = pool_gather(gy, indices)", saves=())
def pool_scatter(g, *, indices, size, overlap):
    """Zeros of spatial ``size`` with g summed at ``indices`` (overlapping windows add up)."""
    def backward(gy):
        return pool_gather(gy, indices=indices, overlap=overlap)

    return scatter_planes(g.backend, g.array, indices, size, accumulate=overlap), backward


def _register_max(nd):
    @register(f"max_pool{nd}d", rule=f"gx = max_pool{nd}d_scatter(gy)", saves=())
    def max_pool(x, *, k, st, p, pr, d, o):
        """Window maxima; the backward sends each gradient to the first maximum of its window
        (NaN counts as the maximum, as PyTorch)."""
        xp = x.xp
        y, arg = max_pool_taps(xp, x.array, k, st, p, d, o, pr)

        def backward(gy):
            return scatter(gy, arg=arg, k=k, st=st, p=p, pr=pr, d=d, size=x.shape[2:])

        return y, backward

    @register(f"max_pool{nd}d_scatter", rule=f"gg = max_pool{nd}d_gather(gy, arg)", saves=())
    def scatter(g, *, arg, k, st, p, pr, d, size):
        def backward(gy):
            return gather(gy, arg=arg, k=k, st=st, p=p, pr=pr, d=d)

        padded = g.shape[:2] + tuple(si + a + b for si, a, b in zip(size, p, pr))
        z = scatter_taps(g.xp, g.array, arg, k, st, d, padded)
        return crop_spatial(z, p, size), backward

    @register(f"max_pool{nd}d_gather", rule=f"gx = max_pool{nd}d_scatter(gy, arg)", saves=())
    def gather(x, *, arg, k, st, p, pr, d):
        def backward(gy):
            return scatter(gy, arg=arg, k=k, st=st, p=p, pr=pr, d=d, size=x.shape[2:])

        xpad = pad_spatial(x.xp, x.array, p, pr)
        return gather_taps(x.xp, xpad, arg, k, st, d), backward

    @register(f"max_unpool{nd}d", rule="gx = pool_gather(gy, indices)", saves=())
    def max_unpool(x, *, indices, size):
        def backward(gy):
            return pool_gather(gy, indices=indices, overlap=True)

        return scatter_planes(x.backend, x.array, indices, size, accumulate=False), backward

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
    @register(f"avg_pool{nd}d", rule=f"gx = avg_pool{nd}d_adjoint(gy, divisor)", saves=())
    def avg_pool(x, *, k, st, p, pr, o, divisor):
        """Window sums / divisor; the backward gives each input gy / divisor from every window
        that contains it."""
        def backward(gy):
            return adjoint(gy, k=k, st=st, p=p, pr=pr, o=o, divisor=divisor, size=x.shape[2:])

        return window_sum(x.xp, x.array, k, st, p, pr, o) / divisor, backward

    @register(f"avg_pool{nd}d_adjoint", rule=f"gg = avg_pool{nd}d(gy, divisor)", saves=())
    def adjoint(g, *, k, st, p, pr, o, divisor, size):
        def backward(gy):
            return avg_pool(gy, k=k, st=st, p=p, pr=pr, o=o, divisor=divisor)

        xp = g.xp
        n, c = g.shape[:2]
        spread = g.array / divisor
        padded = (n, c) + tuple(si + a + b for si, a, b in zip(size, p, pr))
        cols = spread.reshape((n, c) + (1,) * nd + tuple(o))
        cols = xp.broadcast_to(cols, (n, c) + tuple(k) + tuple(o))
        z = window_spread(xp, cols, k, st, (1,) * nd, o, padded, g.dtype)
        return crop_spatial(z, p, size), backward

    return avg_pool


AVG_POOL = {}
for _nd in (1, 2, 3):
    AVG_POOL[_nd] = _register_avg(_nd)
