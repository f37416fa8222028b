"""The stride-phase layout of a depthwise conv's padded input (see ``conv_depthwise``).

The padded input is split into its ``prod(st)`` stride phases (positions ≡ r mod st), each
phase grid flattened as in ``conv_columns.GridLayout``. Tap t reads phase ``(t·d) mod st``
shifted by ``(t·d) // st``: a *contiguous* slice of ``q`` values per (n, c), output
positions counted on the phase grid's rows (the row ends are junk, dropped at the end).
"""
from __future__ import annotations

from .cnn_args import out_size
from .windows import prod, taps


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
