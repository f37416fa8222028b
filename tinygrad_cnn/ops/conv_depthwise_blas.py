"""Depthwise conv on NumPy with SciPy: each channel's taps are BLAS calls (see
``conv_depthwise``).

Each channel's samples lie end to end in one vector of its phase buffers (channel-major), so
a tap of one channel and filter is one long ``y += w·x`` (axpy: one fused pass, no
temporary), and a weight-gradient tap one dot product. Measured here (N8 C64 56² 3×3, one
thread): forward 4.4 ms against 6.1 ms for whole-chunk multiply-adds.
"""
from __future__ import annotations

from ..backend import numpy_backend as _cpu

_AXPY = {_cpu.xp.dtype("float32"): "saxpy", _cpu.xp.dtype("float64"): "daxpy"}

# The calls are per (channel, filter, tap), so short channels (small images) keep the chunk
# path: below BLAS_MIN_LENGTH values per channel the call overhead outweighs the saved pass.
BLAS_MIN_LENGTH = 4096
# OpenBLAS runs axpy and dot on all its threads above 10 000 elements; on a loaded machine
# (and this one is shared) the threads' hand-offs cost more than the pass (measured: forward
# 10-14 ms threaded against 4 ms in one thread), so the vectors go in segments below that.
BLAS_SEGMENT = 10000


def axpy_for(xp, dtype, length):
    """SciPy's axpy for ``dtype`` when the per-channel BLAS path applies, else None."""
    if xp is not _cpu.xp or length < BLAS_MIN_LENGTH or dtype not in _AXPY:
        return None
    try:
        from scipy.linalg import blas
    except ImportError:
        return None
    return getattr(blas, _AXPY[dtype])


def channel_length(grid, n):
    """Values per channel vector: the n samples' grids end to end, the last one cut at q."""
    return (n - 1) * grid.size + grid.q


def _segments(length):
    """(start, stop) pieces of [0, length), each at most BLAS_SEGMENT long."""
    k = -(-length // BLAS_SEGMENT)
    step = -(-length // k)
    return [(i, min(i + step, length)) for i in range(0, length, step)]


def channel_rows(xp, grid, gy5, dtype):
    """gy5 (n, c, mult, *o) on the grid rows, channel-major: (c, mult, n·size), zeros at
    the row ends and beyond q (so junk positions contribute nothing)."""
    n, c, mult = gy5.shape[:3]
    rows = xp.zeros((c, mult, n, grid.size), dtype=dtype)
    r = rows[..., :grid.q].reshape((c, mult, n) + grid.row_shape)
    r[(Ellipsis,) + tuple(slice(0, oo) for oo in grid.o)] = \
        gy5.transpose((1, 2, 0) + tuple(range(3, gy5.ndim)))
    return rows.reshape(c, mult, n * grid.size)


def _axpy_plan(grid, length, skip_first):
    """The axpy calls of one channel and filter, as (tap, phase, offset into the phase's
    vector, offset into the channel's rows, count) tuples: every tap (but the first with
    ``skip_first``), cut into BLAS_SEGMENT pieces. Flat, so the hot loop does one call per
    entry and nothing else."""
    return [(t, ph, off + s0, s0, s1 - s0)
            for t, (ph, off) in enumerate(grid.tap_at) if t or not skip_first
            for s0, s1 in _segments(length)]


def _axpy_run(axpy, plan, weights, phases, rows, scatter):
    """Run one channel and filter's plan: rows += w_t · phases[tap] (``scatter`` False), or
    phases[tap] += w_t · rows. BLAS skips the update when w_t == 0, which would drop a
    0 · Inf = NaN, so taps with a zero weight take NumPy's multiply-add."""
    if scatter and 0.0 not in weights:  # the hot loops: one BLAS call per entry
        for t, ph, ox, oy, cnt in plan:
            axpy(rows, phases[ph], cnt, weights[t], oy, 1, ox, 1)
        return
    if 0.0 not in weights:
        for t, ph, ox, oy, cnt in plan:
            axpy(phases[ph], rows, cnt, weights[t], ox, 1, oy, 1)
        return
    for t, ph, ox, oy, cnt in plan:
        src, dst = (rows, phases[ph]) if scatter else (phases[ph], rows)
        if scatter:
            ox, oy = oy, ox
        if weights[t] == 0:
            dst[oy:oy + cnt] += src[ox:ox + cnt] * weights[t]
        else:
            axpy(src, dst, cnt, weights[t], ox, 1, oy, 1)


def channel_phases(xp, x, grid, dtype):
    """The channel-major phase buffers of x (n, c, *s) as (c, nph, n·size)."""
    n, c = x.shape[:2]
    buf = grid.fill(xp, x.astype(dtype, copy=False), channel_major=True)
    return buf.reshape(c, len(grid.phases), n * grid.size)


def forward_blas(axpy, xp, buf, wt, grid, dtype):
    """y (n, c·mult, *o) by per-channel axpy over the taps of the phase buffers ``buf``
    (c, nph, n·size); wt (c, mult, kp) on the host. One channel's accumulator is reused for
    all (it stays in cache) and copied into y as soon as its taps are done."""
    c, mult = wt.shape[:2]
    n = buf.shape[2] // grid.size
    length = channel_length(grid, n)
    y = xp.empty((n, c, mult) + grid.o, dtype=dtype)
    acc = xp.empty(n * grid.size, dtype=dtype)
    out = grid.real(acc.reshape(n, grid.size)[:, :grid.q])              # (n, *o), a view
    wl = wt.tolist()  # host data: this path runs on NumPy only
    ph0, off0 = grid.tap_at[0]
    plan = _axpy_plan(grid, length, skip_first=True)
    for ci in range(c):
        phases = list(buf[ci])
        for j in range(mult):
            wv = wl[ci][j]
            xp.multiply(phases[ph0][off0:off0 + length], wv[0], out=acc[:length])
            _axpy_run(axpy, plan, wv, phases, acc, scatter=False)
            y[:, ci, j] = out
    return y.reshape((n, c * mult) + grid.o)


def weight_blas(xp, buf, rows, grid, dtype):
    """gw (c, mult, kp) by per-channel dots, one vecdot (or batched matmul) per tap and
    multiplier (one Python call each, not one per channel); junk positions pair x with
    zeros of gy, so the result is exact when finite (the caller redoes a non-finite one the
    exact way); buf: x's phase buffers (c, nph, n·size); rows: gy on the grid rows
    (c, mult, >= L), as ``channel_rows`` lays them out."""
    c, mult = rows.shape[:2]
    n = buf.shape[2] // grid.size
    length = channel_length(grid, n)
    gw = xp.empty((c, mult, len(grid.tap_at)), dtype=dtype)
    vecdot = getattr(xp, "vecdot", None)  # NumPy >= 2: a dot per row, a little faster
    for j in range(mult):
        r = rows[:, j, :length]                                         # (c, L)
        for t, (ph, off) in enumerate(grid.tap_at):
            tap = buf[:, ph, off:off + length]
            gw[:, j, t] = vecdot(tap, r) if vecdot else \
                xp.matmul(tap[:, None], r[..., None])[:, 0, 0]
    return gw


def transpose_blas(axpy, xp, rows, wt, grid, dtype, z):
    """The spread into z (n, c, *size) by per-channel axpy into the phase buffers; rows: gy
    on the grid rows (``channel_rows``); needs a finite w (w·0 at the row ends would be
    NaN)."""
    n, c = z.shape[:2]
    mult = rows.shape[1]
    nph = len(grid.phases)
    buf = xp.zeros((c, nph, n * grid.size), dtype=dtype)
    length = channel_length(grid, n)
    wl = wt.tolist()  # host data: this path runs on NumPy only
    plan = _axpy_plan(grid, length, skip_first=False)
    for ci in range(c):
        phases = list(buf[ci])
        for j in range(mult):
            _axpy_run(axpy, plan, wl[ci][j], phases, rows[ci, j], scatter=True)
    return grid.unfill(buf.reshape(c, nph, n, grid.size), z, channel_major=True)
