"""pool kernels, NumPy versions (see backend/kernels/__init__.py).

Today's vectorised pooling code, moved here from ops/pool.py so that each backend brings its
own: one strided pass per *kernel tap*, never a loop over pixels or batch elements. Shapes:
``x`` (n, c, *s), outputs (n, c, *o), ``arg`` (n, c, *o) the winning kernel tap (row-major
number in ``k``), padding ``p`` before and ``pr`` after (``pr`` >= ``p`` makes ceil_mode's
last window exist), dilation ``d``, ``divisor`` broadcastable to ``o`` (or a number).

The host branches below (``bool(isnan(...).any())``, ``isfinite``) are CPU speed shortcuts
only: both outcomes give the same result. The fake test device runs these functions on plain
ndarray views, so they are not device syncs; the CUDA versions fold the rules into the kernels.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["max_pool_forward", "max_pool_indices", "max_pool_scatter", "max_pool_gather",
           "pool_gather_planes", "pool_scatter_planes", "avg_pool_forward",
           "avg_pool_adjoint"]

_LEAD = (slice(None), slice(None))


# ---------------------------------------------------------------- window helpers (ops/windows)
def pad_spatial(xp, x, before, after, value=0.0):
    """Pad the spatial dims (all dims after the first two) of ``x``."""
    if not any(before) and not any(after):
        return x
    widths = [(0, 0), (0, 0)] + list(zip(before, after))
    return xp.pad(x, widths, mode="constant", constant_values=value)


def crop_spatial(x, before, sizes):
    """``x[..., before:before + size]`` over the spatial dims."""
    if not any(before) and tuple(x.shape[2:]) == tuple(sizes):
        return x
    return x[_LEAD + tuple(slice(b, b + s) for b, s in zip(before, sizes))]


def taps(k):
    """Every kernel tap (an index tuple), in row-major order."""
    if len(k) == 1:
        return [(i,) for i in range(k[0])]
    return [(i,) + rest for i in range(k[0]) for rest in taps(k[1:])]


def tap_slices(k, st, d, o):
    """For each kernel tap, the strided slices of the padded input it reads (one per dim)."""
    for tap in taps(k):
        yield tap, tuple(slice(t * dd, t * dd + s * (oo - 1) + 1, s)
                         for t, dd, s, oo in zip(tap, d, st, o))


def _padded(shape, size, p, pr):
    return tuple(shape[:2]) + tuple(si + a + b for si, a, b in zip(size, p, pr))


def tap_dtype(n_taps):
    """The smallest integer type that numbers ``n_taps`` kernel taps."""
    return "int8" if n_taps < 128 else "int16" if n_taps < 32768 else "int32"


# ---------------------------------------------------------------- max pooling
def max_pool_taps(xp, x, k, st, p, d, o, pr):
    """Window maxima (n, c, *o) and which kernel tap holds each (first maximum; NaN counts
    as the maximum and the last NaN is named, as PyTorch). One vectorised pass per tap.

    A padded cell never wins: in a window whose real cells are all -inf (equal to the
    padding) the first *real* tap is chosen, the cell PyTorch's index names, so the
    gradient goes where ``return_indices`` says."""
    xpad = pad_spatial(xp, x, p, pr, value=-xp.inf)
    slices = [where for _, where in tap_slices(k, st, d, o)]
    views = [xpad[_LEAD + where] for where in slices]
    best = views[0].copy()
    for v in views[1:]:
        xp.maximum(best, v, out=best)  # NaN propagates
    arg = xp.zeros(best.shape, dtype=tap_dtype(len(views)))
    has_nan = bool(xp.isnan(best).any())  # shortcut: without NaN the isnan test is a no-op
    real = None
    if (any(p) or any(pr)) and bool((best == -xp.inf).any()):
        # which cells of the padded grid are real: (1, 1, *P), sliced like the views
        real = pad_spatial(xp, xp.ones((1, 1) + x.shape[2:], dtype=bool), p, pr, value=False)
    for t in range(len(views) - 1, -1, -1):  # last to first, so the first maximum wins
        hit = views[t] == best
        if real is not None:
            hit &= real[_LEAD + slices[t]]
        # arg = t where hit: integer arithmetic, several times faster than where/copyto
        arg -= (arg - t) * hit.view("int8").astype(arg.dtype, copy=False)
    if has_nan:  # a NaN maximum sits at the window's *last* NaN, as PyTorch's kernels
        for t in range(len(views)):  # (`val > maxval || isnan(val)`) leave it
            nan = xp.isnan(views[t]).view("int8").astype(arg.dtype, copy=False)
            arg -= (arg - t) * nan
    return best, arg


def max_pool_forward(x, k, st, p, pr, d, o):
    """(y, arg): window maxima (n, c, *o) and the winning tap of each (see max_pool_taps)."""
    return max_pool_taps(np, x, k, st, p, d, o, pr)


def max_pool_indices(arg, s, k, st, p, d):
    """Flat positions (int64) in each unpadded (n, c, *s) plane from tap numbers, as
    PyTorch's return_indices."""
    nd = len(k)
    tap = np.unravel_index(arg.astype("int64"), k)
    o = arg.shape[2:]
    flat = np.zeros(arg.shape, dtype="int64")
    for i in range(nd):
        start = (np.arange(o[i]) * st[i] - p[i]).reshape((-1,) + (1,) * (nd - 1 - i))
        # an all -inf window may pick a padded cell: clamp onto the first real one (PyTorch)
        flat = flat * s[i] + np.clip(start + tap[i] * d[i], 0, s[i] - 1)
    return flat


def max_pool_scatter(g, arg, k, st, p, pr, d, size):
    """(n, c, *size) zeros with each g (n, c, *o) added at its window's chosen tap (col2im
    with masks); overlapping windows add up."""
    out = np.zeros(_padded(g.shape, size, p, pr), dtype=g.dtype)
    o = arg.shape[2:]
    # windows that do not overlap write each cell at most once: assign, no read
    disjoint = all(s >= dd * (kk - 1) + 1 for s, dd, kk in zip(st, d, k))
    finite = bool(np.isfinite(g).all())  # then g·mask is exact and much faster than where
    zero = np.zeros((), dtype=g.dtype)
    for t, (_, where) in enumerate(tap_slices(k, st, d, o)):
        part = g * (arg == t) if finite else np.where(arg == t, g, zero)
        if disjoint:
            out[_LEAD + where] = part
        else:
            out[_LEAD + where] += part
    return crop_spatial(out, p, size)


def max_pool_gather(x, arg, k, st, p, pr, d):
    """Each window's chosen tap read from x (n, c, *s) zero-padded -> (n, c, *o) (the adjoint
    of max_pool_scatter)."""
    xpad = pad_spatial(np, x, p, pr)
    out = np.zeros(arg.shape, dtype=x.dtype)
    for t, (_, where) in enumerate(tap_slices(k, st, d, arg.shape[2:])):
        sel = arg == t
        out[sel] = xpad[_LEAD + where][sel]
    return out


# ---------------------------------------------------------------- by flat plane position
def _planes(a):
    return a.reshape(a.shape[:2] + (math.prod(a.shape[2:]),))  # not -1: ambiguous when n = 0


def pool_gather_planes(x, indices):
    """x (n, c, *s) read at flat plane positions ``indices`` (n, c, *o) -> (n, c, *o)."""
    return np.take_along_axis(_planes(x), _planes(indices), axis=2).reshape(indices.shape)


def pool_scatter_planes(g, indices, size, accumulate):
    """Zeros (n, c, *size) with g (n, c, *o) added (``accumulate``) or put at ``indices``."""
    n, c = g.shape[:2]
    plane = math.prod(size)
    if accumulate:
        base = (np.arange(n * c, dtype="int64") * plane).reshape(n, c, 1)
        flat = (_planes(indices) + base).reshape(-1)
        # bincount sums repeated positions in one C pass (add.at is slower)
        out = np.bincount(flat, weights=g.reshape(-1), minlength=n * c * plane)
        out = out.astype(g.dtype, copy=False)
    else:
        out = np.zeros((n, c, plane), dtype=g.dtype)
        rows = np.arange(n).reshape(n, 1, 1), np.arange(c).reshape(1, c, 1)
        out[rows + (_planes(indices),)] = _planes(g)
    return out.reshape((n, c) + tuple(size))


# ---------------------------------------------------------------- average pooling
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


def avg_pool_forward(x, divisor, k, st, p, pr, o):
    """Σ over each window of the zero-padded x / divisor: one strided add per kernel tap."""
    xpad = pad_spatial(np, x, p, pr)
    out = None
    for _, where in tap_slices(k, st, (1,) * len(k), o):
        out = xpad[_LEAD + where].copy() if out is None else out.__iadd__(xpad[_LEAD + where])
    return out / divisor


def avg_pool_adjoint(g, divisor, k, st, p, pr, o, size):
    """(n, c, *size): every input cell gets g / divisor from each window that contains it
    (the adjoint of avg_pool_forward; overlapping windows add up)."""
    nd = len(k)
    spread = g / divisor
    out = np.zeros(_padded(g.shape, size, p, pr), dtype=g.dtype)
    for _, where in tap_slices(k, st, (1,) * nd, o):
        out[_LEAD + where] += spread
    return crop_spatial(out, p, size)
