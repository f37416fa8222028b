"""Depthwise convolution (one input channel per group, the MobileNet case) as tap sums.

A grouped conv with ``cg == 1`` has ``g = c`` groups of one input channel and ``mult = f / c``
filters each. Its im2col GEMM per group is a ``(mult, kp) @ (kp, m·o)`` product, far too
thin for BLAS, so instead each of the three maps is a sum over the ``kp`` kernel taps of a
whole-chunk elementwise product (no columns):

    y[n, c, j, o]           = Σ_t w[c, j, t] · xpad[n, c, o·st + t·d]
    gw[c, j, t]             = Σ_{n, o} gy[n, c, j, o] · xpad[n, c, o·st + t·d]
    gxpad[n, c, o·st + t·d] += Σ_j w[c, j, t] · gy[n, c, j, o]

Shapes: x (n, c, *s), w (c·mult, 1, *k), gy (n, c·mult, *o); filter ``c·mult + j`` reads
channel c (PyTorch's order).

Layout (:class:`PhaseGrid`): the padded input is split into its ``prod(st)`` stride phases
(positions ≡ r mod st), each phase grid flattened as in ``conv_columns.GridLayout``. Tap t
reads phase ``(t·d) mod st`` shifted by ``(t·d) // st``: a *contiguous* slice of ``q``
values per (n, c), output positions counted on the phase grid's rows (the row ends are
dropped). Each tap is then one long-vector multiply-add, whatever the stride. The weight
gradient pairs the row-end columns with zeros of gy (or, when the chunk holds an Inf/NaN,
reads the tap views at the real outputs only), and the spread zeroes the row-end columns
first, so a NaN/Inf reaches only what PyTorch's does.
The batch is processed in chunks whose accumulator fits in cache (``CHUNK_BUDGET``).
"""
from __future__ import annotations

from ..backend import numpy_backend as _cpu
from .cnn_args import out_size
from .windows import prod, taps

_AXPY = {_cpu.xp.dtype("float32"): "saxpy", _cpu.xp.dtype("float64"): "daxpy"}

# Elements of one chunk's buffers (phases, accumulator, temporary; 256 K = 1 MB of
# float32): every tap passes over them, so they should stay in cache, but smaller chunks
# pay the per-call overhead of the tap loop more often. Measured here (fwd+bwd, CPU time,
# N8 C64 56² 3×3): 2^18 is best at stride 1 and 2 (2^16: +40 %, 2^21: +25-110 %).
CHUNK_BUDGET = 1 << 18


def is_depthwise(c, cg, g):
    """True when the conv with c input channels, cg per group and g groups is depthwise."""
    return cg == 1 and g == c and c > 1


class PhaseGrid:
    """Per-chunk buffers (nph, m, c, size): the stride phases of the padded input, flat."""

    def __init__(self, s, k, st, pad, d):
        self.s, self.k, self.st, self.pad = tuple(s), tuple(k), tuple(st), tuple(pad)
        self.o = tuple(out_size("conv", si, ki, sti, pb, pa, di)
                       for si, ki, sti, (pb, pa), di in zip(s, k, st, pad, d))
        P = [si + pb + pa for si, (pb, pa) in zip(s, pad)]
        self.Q = tuple(-(-p // sti) for p, sti in zip(P, st))          # phase grid sizes
        self.G = tuple(prod(self.Q[i + 1:]) for i in range(len(self.Q)))
        self.q = self.o[0] * self.G[0]
        self.row_shape = (self.o[0],) + self.Q[1:]
        self.phases = taps(self.st)                                    # phase index tuples
        self.tap_at = []                                               # (phase, offset) per tap
        for tap in taps(k):
            rs = tuple(t * dd % sti for t, dd, sti in zip(tap, d, st))
            sh = tuple(t * dd // sti for t, dd, sti in zip(tap, d, st))
            self.tap_at.append((self.phases.index(rs), sum(a * b for a, b in zip(sh, self.G))))
        slack = max(off for _, off in self.tap_at) + self.q - prod(self.Q)
        self.size = prod(self.Q) + max(slack, 0)

    def per_channel(self, mult):
        """Buffer elements per sample and channel: the phases, an accumulator and a
        temporary of mult filters."""
        return len(self.phases) * self.size + 2 * mult * self.q

    def _parts(self, r):
        """Per dim: (x slice, phase-grid slice) of the x cells that fall in phase r."""
        out = []
        for ri, si, sti, (pb, _) in zip(r, self.s, self.st, self.pad):
            j0 = (ri - pb) % sti
            cnt = len(range(j0, si, sti))
            p0 = (j0 + pb) // sti
            out.append((slice(j0, si, sti), slice(p0, p0 + cnt)))
        return out

    def _phase_view(self, buf, ph, cm):
        if cm:  # (c, nph, m, size): the lead dims of a phase are (c, m)
            return buf[:, ph, :, :prod(self.Q)].reshape((buf.shape[0], buf.shape[2]) + self.Q)
        m, c = buf.shape[1:3]
        return buf[ph, :, :, :prod(self.Q)].reshape((m, c) + self.Q)

    def fill(self, xp, x, channel_major=False):
        """The phase buffers of the chunk x (m, c, *s), zero padding around x: shape
        (nph, m, c, size), or (c, nph, m, size) with ``channel_major`` (then each channel's
        phase holds the m samples end to end, one contiguous vector)."""
        m, c = x.shape[:2]
        nph = len(self.phases)
        shape = (c, nph, m, self.size) if channel_major else (nph, m, c, self.size)
        buf = xp.zeros(shape, dtype=x.dtype)
        src = x.swapaxes(0, 1) if channel_major else x
        lead = (slice(None), slice(None))
        for ph, r in enumerate(self.phases):
            parts = self._parts(r)
            self._phase_view(buf, ph, channel_major)[lead + tuple(p for _, p in parts)] = \
                src[lead + tuple(xs for xs, _ in parts)]
        return buf

    def unfill(self, buf, z, channel_major=False):
        """Write the interior of the phase buffers back into z (m, c, *s): fill's adjoint
        (each x cell lives in exactly one phase)."""
        lead = (slice(None), slice(None))
        dst = z.swapaxes(0, 1) if channel_major else z
        for ph, r in enumerate(self.phases):
            parts = self._parts(r)
            dst[lead + tuple(xs for xs, _ in parts)] = \
                self._phase_view(buf, ph, channel_major)[lead + tuple(p for _, p in parts)]
        return z

    def tap(self, buf, t):
        """Tap t's contiguous (m, c, q) slice of the buffers."""
        ph, off = self.tap_at[t]
        return buf[ph, :, :, off:off + self.q]

    def tap_real(self, xp, buf, t):
        """Tap t's values at the real outputs only: a strided (m, c, *o) view."""
        ph, off = self.tap_at[t]
        base = buf[ph, :, :, off:]
        item = buf.itemsize
        return xp.lib.stride_tricks.as_strided(
            base, shape=base.shape[:2] + self.o,
            strides=base.strides[:2] + tuple(g * item for g in self.G))

    def rows(self, a):
        """``a`` (..., q) seen as (..., *row_shape)."""
        return a.reshape(a.shape[:-1] + self.row_shape)

    def real(self, a):
        """The real outputs (..., *o) of ``a`` (..., q): the row ends dropped (a view)."""
        r = self.rows(a)
        nd = len(self.o)
        return r[(Ellipsis,) + tuple(slice(0, oo) for oo in self.o)] if nd > 1 else r

    def zero_junk(self, a):
        """Zero, in place, the row-end columns of ``a`` (..., q) (contiguous)."""
        r = self.rows(a)
        nd = len(self.o)
        for i in range(1, nd):
            if self.o[i] < self.row_shape[i]:
                r[(Ellipsis, slice(self.o[i], None)) + (slice(None),) * (nd - 1 - i)] = 0


# ---------------------------------------------------------------- per-channel BLAS path
# On NumPy with SciPy, each channel's taps are BLAS axpy calls (y += w·x in one fused pass,
# at an offset into the channel's samples laid end to end) and its weight-gradient taps BLAS
# dots, instead of a multiply and an add over whole chunks (two passes, a temporary).
# Measured here (N8 C64 56² 3×3, one thread): forward 4.4 ms against 6.1 ms. The calls are
# per (channel, filter, tap), so short channels (small images) keep the chunk path: below
# BLAS_MIN_LENGTH values per channel the call overhead outweighs the saved pass.
BLAS_MIN_LENGTH = 4096
# OpenBLAS runs axpy and dot on all its threads above 10 000 elements; on a loaded machine
# (and this one is shared) the threads' hand-offs cost more than the pass (measured: forward
# 10-14 ms threaded against 4 ms in one thread), so the vectors go in segments below that.
BLAS_SEGMENT = 10000


def _axpy_for(xp, dtype, length):
    """SciPy's axpy for ``dtype`` when the per-channel BLAS path applies, else None."""
    if xp is not _cpu.xp or length < BLAS_MIN_LENGTH or dtype not in _AXPY:
        return None
    try:
        from scipy.linalg import blas
    except ImportError:
        return None
    return getattr(blas, _AXPY[dtype])


def _length(grid, n):
    """Values per channel vector: the n samples' grids end to end, the last one cut at q."""
    return (n - 1) * grid.size + grid.q


def _segments(length):
    """(start, stop) pieces of [0, length), each at most BLAS_SEGMENT long."""
    k = -(-length // BLAS_SEGMENT)
    step = -(-length // k)
    return [(i, min(i + step, length)) for i in range(0, length, step)]


def _channel_rows(xp, grid, gy5, dtype):
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


def _channel_phases(xp, x, grid, dtype):
    """The channel-major phase buffers of x (n, c, *s) as (c, nph, n·size)."""
    n, c = x.shape[:2]
    buf = grid.fill(xp, x.astype(dtype, copy=False), channel_major=True)
    return buf.reshape(c, len(grid.phases), n * grid.size)


def _forward_blas(axpy, xp, buf, wt, grid, dtype):
    """y (n, c, mult, *o) by per-channel axpy over the taps of the phase buffers ``buf``
    (c, nph, n·size); wt (c, mult, kp) on the host."""
    c, mult = wt.shape[:2]
    n = buf.shape[2] // grid.size
    length = _length(grid, n)
    acc = xp.empty((c, mult, n * grid.size), dtype=dtype)
    wl = wt.tolist()  # host data: this path runs on NumPy only
    ph0, off0 = grid.tap_at[0]
    plan = _axpy_plan(grid, length, skip_first=True)
    for ci in range(c):
        phases = list(buf[ci])
        for j in range(mult):
            a, wv = acc[ci, j], wl[ci][j]
            xp.multiply(phases[ph0][off0:off0 + length], wv[0], out=a[:length])
            _axpy_run(axpy, plan, wv, phases, a, scatter=False)
    out = grid.real(acc.reshape(c, mult, n, grid.size)[..., :grid.q])   # (c, mult, n, *o)
    return out.transpose((2, 0, 1) + tuple(range(3, out.ndim)))


def _weight_blas(xp, buf, gy5, grid, dtype):
    """gw (c, mult, kp) by per-channel dots, one batched (c, 1, L) @ (c, L, 1) matmul per tap
    and multiplier (one Python call each, not one per channel); junk positions pair x with
    zeros of gy, so the result is exact when finite (the caller redoes a non-finite one the
    exact way); buf: x's phase buffers (c, nph, n·size)."""
    n, c, mult = gy5.shape[:3]
    rows = _channel_rows(xp, grid, gy5, dtype)
    length = _length(grid, n)
    gw = xp.empty((c, mult, len(grid.tap_at)), dtype=dtype)
    vecdot = getattr(xp, "vecdot", None)  # NumPy >= 2: a dot per row, a little faster
    for j in range(mult):
        r = rows[:, j, :length]                                         # (c, L)
        for t, (ph, off) in enumerate(grid.tap_at):
            tap = buf[:, ph, off:off + length]
            gw[:, j, t] = vecdot(tap, r) if vecdot else \
                xp.matmul(tap[:, None], r[..., None])[:, 0, 0]
    return gw


def _transpose_blas(axpy, xp, gy5, wt, grid, dtype, z):
    """The spread into z (n, c, *size) by per-channel axpy into the phase buffers; needs a
    finite w (w·0 at the row ends would be NaN)."""
    n, c, mult = gy5.shape[:3]
    rows = _channel_rows(xp, grid, gy5, dtype)
    nph = len(grid.phases)
    buf = xp.zeros((c, nph, n * grid.size), dtype=dtype)
    length = _length(grid, n)
    wl = wt.tolist()  # host data: this path runs on NumPy only
    plan = _axpy_plan(grid, length, skip_first=False)
    for ci in range(c):
        phases = list(buf[ci])
        for j in range(mult):
            _axpy_run(axpy, plan, wl[ci][j], phases, rows[ci, j], scatter=True)
    return grid.unfill(buf.reshape(c, nph, n, grid.size), z, channel_major=True)


def _blocks(n, c, per_channel):
    """(batch slice, channel slice) pairs whose buffers (``per_channel`` elements per sample
    and channel) fit the budget: whole samples when they fit, else channel blocks of one
    sample (channels are independent in a depthwise conv)."""
    per_sample = c * per_channel
    if per_sample <= CHUNK_BUDGET or n == 0:
        step = max(1, min(n, CHUNK_BUDGET // max(per_sample, 1)))
        return [(slice(i, min(i + step, n)), slice(None)) for i in range(0, n, step)]
    cb = max(1, CHUNK_BUDGET // max(per_channel, 1))
    return [(slice(i, i + 1), slice(j, min(j + cb, c))) for i in range(n) for j in range(0, c, cb)]


def depthwise_forward(xp, x, w, st, pad, d, keep=None):
    """y (n, c·mult, *o) = x ⋆ w for a depthwise w (c·mult, 1, *k). With ``keep`` (a dict)
    the per-channel path leaves x's phase buffers in ``keep["cols"]`` for the weight
    gradient, which then needs no second fill (the strided gather is a third of a stride-2
    forward's time)."""
    n, c = x.shape[:2]
    mult = w.shape[0] // c
    grid = PhaseGrid(x.shape[2:], w.shape[2:], st, pad, d)
    dtype = xp.result_type(x.dtype, w.dtype)
    axpy = _axpy_for(xp, dtype, _length(grid, n))
    if axpy is not None:
        buf = _channel_phases(xp, x, grid, dtype)
        y = _forward_blas(axpy, xp, buf, w.reshape(c, mult, -1).astype(dtype), grid, dtype)
        if keep is not None:
            keep["cols"] = buf
        return xp.ascontiguousarray(y).reshape((n, c * mult) + grid.o)
    wt = w.reshape(c, mult, -1, 1).astype(dtype, copy=False)        # (c, mult, kp, 1)
    y = xp.empty((n, c, mult) + grid.o, dtype=dtype)
    for bs, cs in _blocks(n, c, grid.per_channel(mult)):
        buf = grid.fill(xp, x[bs, cs].astype(dtype, copy=False))[:, :, :, None]
        acc = xp.empty(buf.shape[1:3] + (mult, grid.q), dtype=dtype)
        tmp = xp.empty_like(acc)
        wb = wt[cs]
        for t in range(len(grid.tap_at)):
            ph, off = grid.tap_at[t]
            view = buf[ph, :, :, :, off:off + grid.q]                  # (m, cb, 1, q)
            xp.multiply(view, wb[:, :, t], out=acc if t == 0 else tmp)
            if t:
                acc += tmp
        y[bs, cs] = grid.real(acc)
    return y.reshape((n, c * mult) + grid.o)


def depthwise_weight(xp, x, gy, k, st, pad, d, kept=None):
    """gw (c·mult, 1, *k) = Σ_{n,o} gy · window(x), one reduction per tap; ``kept``: the
    forward's phase buffers of x, if it left them.

    With a finite chunk each tap is one batched (m, c) dot product of its contiguous slice
    with gy laid out on the grid rows (zero at the row ends); a chunk holding an Inf/NaN
    reads the tap views at the real outputs only (a strided einsum, slower), so that no
    0 · Inf is ever formed. On NumPy the check is on host data (the per-channel path checks
    its small result instead); other backends always take the exact einsum, so nothing
    waits on the device."""
    n, c = x.shape[:2]
    k = tuple(k)
    mult = gy.shape[1] // c
    grid = PhaseGrid(x.shape[2:], k, st, pad, d)
    dtype = xp.result_type(x.dtype, gy.dtype)
    gw = xp.zeros((c, mult, prod(k)), dtype=dtype)
    spatial = "xyz"[:len(k)]
    spec = f"mc{spatial},mcj{spatial}->cj"
    gy5 = gy.reshape((n, c, mult) + grid.o)
    host = xp is _cpu.xp
    if _axpy_for(xp, dtype, _length(grid, n)) is not None:
        nph = len(grid.phases)
        if not (isinstance(kept, xp.ndarray) and kept.dtype == dtype
                and kept.shape == (c, nph, n * grid.size)):
            kept = _channel_phases(xp, x, grid, dtype)
        fast = _weight_blas(xp, kept, gy5, grid, dtype)
        if xp.isfinite(fast).all():  # else an Inf/NaN met a row end's zero: exact path
            return fast.reshape((c * mult, 1) + k)
    for bs, cs in _blocks(n, c, grid.per_channel(mult)):
        xc = x[bs, cs].astype(dtype, copy=False)
        buf = grid.fill(xp, xc)
        g5 = gy5[bs, cs].astype(dtype, copy=False)
        gwb = gw[cs]                                                     # a view: += writes gw
        if not host or not xp.isfinite(xc).all():
            for t in range(len(grid.tap_at)):
                gwb[:, :, t] += xp.einsum(spec, grid.tap_real(xp, buf, t), g5)
            continue
        m, cb = g5.shape[:2]
        rows = xp.zeros((m, cb, mult) + grid.row_shape, dtype=dtype)
        rows[(Ellipsis,) + tuple(slice(0, oo) for oo in grid.o)] = g5
        rows = rows.reshape(m, cb, mult, grid.q).swapaxes(2, 3)         # (m, cb, q, mult)
        for t in range(len(grid.tap_at)):
            dots = xp.matmul(grid.tap(buf, t)[:, :, None, :], rows)      # (m, cb, 1, mult)
            gwb[:, :, t] += dots[:, :, 0].sum(axis=0)
    return gw.reshape((c * mult, 1) + k)


def depthwise_transpose(xp, gy, w, st, pad, d, c, size):
    """z (n, c, *size): the adjoint in x, each gy value spread over its window times w."""
    n, f = gy.shape[:2]
    mult = f // c
    k = w.shape[2:]
    full = tuple((dd * (kk - 1) - pb, dd * (kk - 1) - pa) for kk, dd, (pb, pa) in zip(k, d, pad))
    if all(s == 1 for s in st) and all(a >= 0 and b >= 0 for a, b in full):
        # stride 1: the correlation of each gy channel with its flipped filter (a gather,
        # no scatter adds), then the mult filters of a channel summed
        nd = len(k)
        wf = xp.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * nd])
        z = depthwise_forward(xp, gy, wf, st, full, d)                   # (n, c·mult, *size)
        return z if mult == 1 else z.reshape((n, c, mult) + tuple(size)).sum(axis=2)
    grid = PhaseGrid(size, w.shape[2:], st, pad, d)
    dtype = xp.result_type(gy.dtype, w.dtype)
    wt = w.reshape(c, mult, -1, 1).astype(dtype, copy=False)
    z = xp.empty((n, c) + tuple(size), dtype=dtype)
    gy5 = gy.reshape((n, c, mult) + grid.o)
    axpy = _axpy_for(xp, dtype, _length(grid, n))
    if axpy is not None and xp.isfinite(w).all():  # host data (the path is NumPy only)
        return _transpose_blas(axpy, xp, gy5.astype(dtype, copy=False), wt[..., 0], grid,
                               dtype, z)
    for bs, cs in _blocks(n, c, grid.per_channel(mult)):
        g5 = gy5[bs, cs]
        m, cb = g5.shape[:2]
        rows = xp.zeros((m, cb, mult) + grid.row_shape, dtype=dtype)  # gy on the grid rows
        rows[(Ellipsis,) + tuple(slice(0, oo) for oo in grid.o)] = g5
        rows = rows.reshape(m, cb, mult, grid.q)
        buf = xp.zeros((len(grid.phases), m, cb, grid.size), dtype=dtype)
        tmp = xp.empty_like(rows)
        wb = wt[cs]
        for t in range(len(grid.tap_at)):
            xp.multiply(rows, wb[:, :, t], out=tmp)
            s = tmp[:, :, 0] if mult == 1 else tmp.sum(axis=2)
            grid.zero_junk(s)  # w·0 is NaN where w is Inf: keep it off the next row's cells
            grid.tap(buf, t)[...] += s
        grid.unfill(buf, z[bs, cs])
    return z
