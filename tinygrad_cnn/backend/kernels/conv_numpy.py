"""conv kernels, NumPy versions (see backend/kernels/__init__.py).

The column format both backends share (``ops/conv_columns.py`` builds its GEMM operands on it)::

    im2col(x, k, st, pad, d, rows)   x (m, c, *s) -> cols (c, *k, m, *rows), contiguous
        cols[c, t, j, a] = xpad[j, c, a·st + t·d]   for every a < o (elementwise)
                         = 0                        where some aᵢ >= oᵢ
    col2im(gcols, s, k, st, pad, d)  gcols (c, *k, m, *rows) -> (m, c, *s): the adjoint,
        every x cell summing the taps that read it (positions a >= o never contribute)

``pad`` is ((before, after), ...) per spatial dim, ``o`` the conv output size and ``rows``
the positions per sample the columns carry (``rowsᵢ >= oᵢ``): ``o`` itself for the strided
layout, ``(o₁, P₂, …, P_d)`` (P the padded size) for the stride-1 grid layout, whose extra
row-end positions let NumPy copy whole rows (see ``GridLayout``).

NumPy: at stride 1 with the grid rows, tap t's columns are a *contiguous* slice of the
flattened padded grid (one ``as_strided`` copy for all taps; col2im one whole-array add per
tap); otherwise a strided window view (col2im one strided add per tap into a padded buffer).
No loop runs over pixels or batch elements, only over kernel taps.
"""
from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["cols_budget", "im2col", "col2im"]

# Columns of at most this many elements per pass (4 MB of float32): the batch is processed
# in chunks so that the im2col buffer stays in cache and is reused, instead of one buffer of
# the whole batch (14 MB for 32×16×28×28, 58 MB for 8×64×56×56). Measured here: 20-35 %
# faster per conv pass, and a lower memory peak.
COLS_BUDGET = 1 << 20


def cols_budget(dtype) -> int:  # noqa: ARG001  (the interface; the CPU budget is cache-sized)
    """How many column elements one conv pass may gather: the batch is chunked to fit."""
    return COLS_BUDGET


def conv_out_size(s, k, st, pad, d):
    """The conv output size o per spatial dim (each at least 1: the caller checked)."""
    if not len(s) == len(k) == len(st) == len(pad) == len(d):
        raise ValueError(f"conv kernels: spatial size {tuple(s)}, kernel {tuple(k)}, stride "
                         f"{tuple(st)}, padding {tuple(pad)} and dilation {tuple(d)} must have "
                         "one entry per spatial dim each")
    return tuple((si + pb + pa - dd * (kk - 1) - 1) // ss + 1
                 for si, kk, ss, (pb, pa), dd in zip(s, k, st, pad, d))


def check_rows(op, rows, o):
    """The columns' positions per sample must cover the output (``rowsᵢ >= oᵢ``)."""
    if len(rows) != len(o) or any(r < oo for r, oo in zip(rows, o)):
        raise ValueError(f"{op}: rows {tuple(rows)} must have one entry per spatial dim, each "
                         f"at least the output size {tuple(o)}")


def check_cols(shape, k):
    """col2im's columns must be (c, *k, m, *rows) for this kernel."""
    nd = len(k)
    if len(shape) != 2 * nd + 2 or tuple(shape[1:nd + 1]) != tuple(k):
        raise ValueError(f"col2im: columns of shape {tuple(shape)} are not (c, *k, m, *rows) "
                         f"for the kernel {tuple(k)}")


@functools.lru_cache(maxsize=256)
def _plan(op, c, s, k, st, pad, d, rows):
    """The output size and, where the grid algorithm serves, its geometry (None otherwise):
    worked out once per conv shape, not once per chunk (it measured 40 µs a call)."""
    o = conv_out_size(s, k, st, pad, d)
    check_rows(op, rows, o)
    return o, (_Grid(c, s, k, pad, d, o) if _use_grid(s, st, pad, o, rows) else None)


def _key(*args):
    """Hashable per-dim tuples (a ``pad`` of lists included) for the plan cache."""
    return tuple(tuple(tuple(v) if isinstance(v, list) else v for v in a) for a in args)


def im2col(x, k, st, pad, d, rows):
    """x (m, c, *s) -> columns (c, *k, m, *rows); see the module docstring."""
    s, nd = tuple(x.shape[2:]), len(k)
    rows = tuple(rows)
    o, grid = _plan("im2col", x.shape[1], *_key(s, k, st, pad, d, rows))
    if grid is not None:
        return grid.cols(x).reshape((x.shape[1],) + tuple(k) + (x.shape[0],) + rows)
    cols = _strided_cols(x, k, st, pad, d, o)
    if rows == o:
        return cols
    out = np.zeros(cols.shape[:-nd] + rows, dtype=cols.dtype)   # the extra positions read 0
    out[(Ellipsis,) + tuple(slice(0, oo) for oo in o)] = cols
    return out


def col2im(gcols, s, k, st, pad, d):
    """gcols (c, *k, m, *rows) -> (m, c, *s), overlapping windows summed; gcols may be
    overwritten (its positions beyond the output are zeroed in place)."""
    nd = len(k)
    s, k = tuple(s), tuple(k)
    check_cols(gcols.shape, k)
    rows = tuple(gcols.shape[-nd:])
    c, m = gcols.shape[0], gcols.shape[nd + 1]
    o, grid = _plan("col2im", c, *_key(s, k, st, pad, d, rows))
    if grid is not None:
        return grid.spread(gcols.reshape(c, math.prod(k), m, -1), m)
    if rows != o:
        gcols = gcols[(Ellipsis,) + tuple(slice(0, oo) for oo in o)]
    return _strided_spread(gcols, s, k, st, pad, d, o)


def _use_grid(s, st, pad, o, rows):
    """The grid algorithm serves stride 1 with the grid's rows (o₁, P₂, …, P_d)."""
    padded = tuple(si + pb + pa for si, (pb, pa) in zip(s, pad))
    return all(v == 1 for v in st) and rows == (o[0],) + padded[1:]


# ------------------------------------------------------------------ the strided algorithm
def _strided_cols(x, k, st, pad, d, o):
    """Columns (c, *k, m, *o) gathered through one strided window view of the padded x."""
    nd = len(k)
    xpad = _pad_spatial(x, [p[0] for p in pad], [p[1] for p in pad])
    win = _window_view(xpad, k, st, d, o)                              # (m, c, *o, *k)
    perm = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))
    return np.ascontiguousarray(win.transpose(perm))                   # (c, *k, m, *o)


def _strided_spread(gcols, s, k, st, pad, d, o):
    """gcols (c, *k, m, *o) added back into their windows: one strided add per tap."""
    nd = len(k)
    gcols = gcols.transpose((nd + 1, 0) + tuple(range(1, nd + 1))
                            + tuple(range(nd + 2, 2 * nd + 2)))       # (m, c, *k, *o)
    padded = gcols.shape[:2] + tuple(si + pb + pa for si, (pb, pa) in zip(s, pad))
    out = np.zeros(padded, dtype=gcols.dtype)
    lead = (slice(None), slice(None))
    for tap in _taps(k):
        where = tuple(slice(t * dd, t * dd + ss * (oo - 1) + 1, ss)
                      for t, dd, ss, oo in zip(tap, d, st, o))
        out[lead + where] += gcols[lead + tap]
    before = [p[0] for p in pad]
    if not any(before) and tuple(out.shape[2:]) == tuple(s):
        return out
    return out[lead + tuple(slice(b, b + si) for b, si in zip(before, s))]


def _pad_spatial(x, before, after):
    if not any(before) and not any(after):
        return x
    return np.pad(x, [(0, 0), (0, 0)] + list(zip(before, after)), mode="constant")


def _window_view(x, k, st, d, o):
    """View (m, c, *o, *k) of the windows of the padded ``x``; never written to."""
    nd = len(k)
    strides = x.strides
    new_strides = strides[:2] + tuple(strides[2 + i] * st[i] for i in range(nd)) + \
        tuple(strides[2 + i] * d[i] for i in range(nd))
    return np.lib.stride_tricks.as_strided(x, shape=x.shape[:2] + tuple(o) + tuple(k),
                                           strides=new_strides)


def _taps(k):
    """Every kernel tap (an index tuple), in row-major order."""
    if len(k) == 1:
        return [(i,) for i in range(k[0])]
    return [(i,) + rest for i in range(k[0]) for rest in _taps(k[1:])]


# --------------------------------------------------------------------- the grid algorithm
class _Grid:
    """Stride-1 columns read as contiguous slices of the flattened padded grid.

    Per sample the padded grid P = s + pads is flattened (row-major, ``grid_strides``);
    output position a sits at grid index Σ aᵢ·strideᵢ and reads tap t at Σ tᵢ·dᵢ·strideᵢ
    further on. Each sample's buffer has ``slack`` extra zeros so that the dropped
    positions at the end of the last row may read past the grid.
    """

    def __init__(self, c, s, k, pad, d, o):
        self.c, self.s, self.k, self.o = c, s, tuple(k), o
        self.before = tuple(p[0] for p in pad)
        self.P = tuple(si + pb + pa for si, (pb, pa) in zip(s, pad))
        self.grid_strides = tuple(math.prod(self.P[i + 1:]) for i in range(len(self.P)))
        self.q = o[0] * self.grid_strides[0]                  # positions per sample
        self.row_shape = (o[0],) + self.P[1:]
        self.tap_strides = tuple(dd * gs for dd, gs in zip(d, self.grid_strides))
        self.offsets = [sum(t * ts for t, ts in zip(tap, self.tap_strides)) for tap in _taps(k)]
        slack = sum((kk - 1) * dd * gs for kk, dd, gs in zip(k[1:], d[1:], self.grid_strides[1:]))
        self.size = math.prod(self.P) + slack                 # per-sample buffer length

    def _grid(self, m, dtype):
        return np.zeros((self.c, m, self.size), dtype=dtype)

    def _interior(self, grid, m):
        """The view of ``grid`` (c, m, size) where the unpadded x lives: (c, m, *s)."""
        body = grid[:, :, :math.prod(self.P)].reshape((self.c, m) + self.P)
        return body[(slice(None), slice(None)) +
                    tuple(slice(b, b + si) for b, si in zip(self.before, self.s))]

    def cols(self, x):
        """(c, *k, m, q) columns of x (m, c, *s), the row-end positions zeroed."""
        m = x.shape[0]
        grid = self._grid(m, x.dtype)
        self._interior(grid, m)[...] = x.swapaxes(0, 1)
        item = grid.itemsize
        view = np.lib.stride_tricks.as_strided(
            grid, shape=(self.c,) + self.k + (m, self.q),
            strides=(grid.strides[0],) + tuple(t * item for t in self.tap_strides)
            + (grid.strides[1], item))
        cols = np.ascontiguousarray(view)                                 # (c, *k, m, q)
        self._zero_junk(cols)
        return cols

    def _zero_junk(self, a):
        """Zero, in place, the columns of the dropped row-end positions of ``a`` (..., m·q).

        In the im2col columns they hold real pixels of the next row, and gy there is zero:
        the weight-gradient GEMM would add 0 · x, which is NaN where x is Inf/NaN (PyTorch
        never reads those pairs). Likewise wᵀ @ 0 is NaN where w is Inf, and col2im would add
        it onto real cells. A strided write of a few columns per row: cheap."""
        rows = a.reshape((-1,) + self.row_shape)
        for i in range(1, len(self.row_shape)):
            if self.o[i] < self.row_shape[i]:
                rows[(slice(None),) * (1 + i) + (slice(self.o[i], None),)] = 0

    def spread(self, gcols, m):
        """gcols (c, kp, m, q) -> (m, c, *s): one whole-array add per kernel tap."""
        self._zero_junk(gcols)
        grid = self._grid(m, gcols.dtype)
        for t, off in enumerate(self.offsets):
            grid[:, :, off:off + self.q] += gcols[:, t]
        return self._interior(grid, m).swapaxes(0, 1)
