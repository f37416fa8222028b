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

Layout (``conv_phase_grid.PhaseGrid``): the padded input split into its stride phases, so
that each tap reads a *contiguous* slice; each tap is then one long-vector multiply-add,
whatever the stride. On NumPy with SciPy and long enough channels these are per-channel BLAS
calls (``conv_depthwise_blas``), else whole-chunk NumPy products. The weight
gradient pairs the row-end columns with zeros of gy (or, when the chunk holds an Inf/NaN,
reads the tap views at the real outputs only), and the spread zeroes the row-end columns
first, so a NaN/Inf reaches only what PyTorch's does.
The batch is processed in chunks whose accumulator fits in cache (``CHUNK_BUDGET``).
"""
from __future__ import annotations

from ..backend import numpy_backend as _cpu
from .conv_depthwise_blas import (
    axpy_for,
    channel_phases,
    channel_rows,
    forward_blas,
    channel_length,
    transpose_blas,
    weight_blas,
)
from .conv_phase_grid import PhaseGrid
from .windows import prod

# Elements of one chunk's buffers (phases, accumulator, temporary; 256 K = 1 MB of
# float32): every tap passes over them, so they should stay in cache, but smaller chunks
# pay the per-call overhead of the tap loop more often. Measured here (fwd+bwd, CPU time,
# N8 C64 56² 3×3): 2^18 is best at stride 1 and 2 (2^16: +40 %, 2^21: +25-110 %).
CHUNK_BUDGET = 1 << 18


def is_depthwise(c, cg, g):
    """True when the conv with c input channels, cg per group and g groups is depthwise."""
    return cg == 1 and g == c and c > 1


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


def _full_pad(k, pad, d):
    """Per dim (before, after): the padding of gy whose stride-1 correlation with the flipped
    filter is the conv's input gradient."""
    return tuple((dd * (kk - 1) - pb, dd * (kk - 1) - pa) for kk, dd, (pb, pa) in zip(k, d, pad))


def _gathers(st, full):
    """True when the input gradient is a stride-1 correlation of gy (``full``: _full_pad),
    else it spreads gy's grid rows."""
    return all(s == 1 for s in st) and all(a >= 0 and b >= 0 for a, b in full)


def _fits(buf, xp, dtype, shape):
    """True when ``buf`` is a phase buffer of this backend, dtype and shape."""
    return isinstance(buf, xp.ndarray) and buf.dtype == dtype and buf.shape == shape


def depthwise_forward(xp, x, w, st, pad, d, keep=None, phases=None):
    """y (n, c·mult, *o) = x ⋆ w for a depthwise w (c·mult, 1, *k). With ``keep`` (a dict)
    the per-channel path leaves x's phase buffers in ``keep["cols"]`` for the weight
    gradient, which then needs no second fill (the strided gather is a third of a stride-2
    forward's time); ``phases``: x's phase buffers, when the caller has them."""
    n, c = x.shape[:2]
    mult = w.shape[0] // c
    grid = PhaseGrid(x.shape[2:], w.shape[2:], st, pad, d)
    dtype = xp.result_type(x.dtype, w.dtype)
    axpy = axpy_for(xp, dtype, channel_length(grid, n))
    if axpy is not None:
        buf = phases if _fits(phases, xp, dtype, (c, len(grid.phases), n * grid.size)) \
            else channel_phases(xp, x, grid, dtype)
        y = forward_blas(axpy, xp, buf, w.reshape(c, mult, -1).astype(dtype), grid, dtype)
        if keep is not None:
            keep["cols"] = buf
        return y
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


def _shared_gy_rows(xp, gy, grid, k, pad, d, dtype, share):
    """gy on x's grid rows (c·mult, 1, >= L) for the weight gradient, cut from the phase
    buffer of gy that the stride-1 input gradient correlates (which is left in
    ``share["gy"]``), or None where the two layouts differ.

    With "same" padding (pads summing to d·(k-1) per dim) gy's fully padded grid has x's
    padded grid's shape, and gy sits in it shifted by the full padding: the rows are that
    buffer read from the shift on, its padding zeros falling exactly on the rows' junk. One
    strided gather of gy then serves both gradients."""
    full = _full_pad(k, pad, d)
    if not _gathers(grid.st, full):
        return None
    ggrid = PhaseGrid(gy.shape[2:], k, grid.st, full, d)
    shift = sum(pb * g for (pb, _), g in zip(full, grid.G))
    if (ggrid.Q, ggrid.size) != (grid.Q, grid.size) or shift > grid.size - grid.q:
        return None
    buf = channel_phases(xp, gy, ggrid, dtype)                          # (f, 1, n·size)
    share["gy"] = buf
    return buf[:, 0, shift:]


def depthwise_weight(xp, x, gy, k, st, pad, d, kept=None, share=None):
    """gw (c·mult, 1, *k) = Σ_{n,o} gy · window(x), one reduction per tap; ``kept``: the
    forward's phase buffers of x, if it left them; ``share`` (a dict): where gy's phase
    buffer is left for the input gradient (``depthwise_transpose``), when it can use it.

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
    if axpy_for(xp, dtype, channel_length(grid, n)) is not None:
        if not _fits(kept, xp, dtype, (c, len(grid.phases), n * grid.size)):
            kept = channel_phases(xp, x, grid, dtype)
        rows = None if share is None else _shared_gy_rows(xp, gy, grid, k, pad, d, dtype, share)
        if rows is None:
            rows = channel_rows(xp, grid, gy5, dtype)
            if share is not None and not _gathers(st, _full_pad(k, pad, d)):
                share["rows"] = rows  # the input gradient spreads the same rows
        fast = weight_blas(xp, kept, rows.reshape(c, mult, -1), grid, dtype)
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


def depthwise_transpose(xp, gy, w, st, pad, d, c, size, share=None):
    """z (n, c, *size): the adjoint in x, each gy value spread over its window times w;
    ``share``: the dict the weight gradient may have left gy's phase buffer in."""
    n, f = gy.shape[:2]
    mult = f // c
    k = w.shape[2:]
    full = _full_pad(k, pad, d)
    if _gathers(st, full):
        # stride 1: the correlation of each gy channel with its flipped filter (a gather,
        # no scatter adds), then the mult filters of a channel summed
        nd = len(k)
        wf = xp.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * nd])
        phases = share.pop("gy", None) if share is not None else None
        z = depthwise_forward(xp, gy, wf, st, full, d, phases=phases)  # (n, c·mult, *size)
        return z if mult == 1 else z.reshape((n, c, mult) + tuple(size)).sum(axis=2)
    grid = PhaseGrid(size, w.shape[2:], st, pad, d)
    dtype = xp.result_type(gy.dtype, w.dtype)
    wt = w.reshape(c, mult, -1, 1).astype(dtype, copy=False)
    z = xp.empty((n, c) + tuple(size), dtype=dtype)
    gy5 = gy.reshape((n, c, mult) + grid.o)
    axpy = axpy_for(xp, dtype, channel_length(grid, n))
    if axpy is not None and xp.isfinite(w).all():  # host data (the path is NumPy only)
        rows = share.pop("rows", None) if share is not None else None
        if not _fits(rows, xp, dtype, (c, mult, n * grid.size)):
            rows = channel_rows(xp, grid, gy5, dtype)
        return transpose_blas(axpy, xp, rows, wt[..., 0], grid, dtype, z)
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
