"""Column layouts for convolution: how windows become GEMM operands and come back.

A convolution is one GEMM per group once the windows of x are gathered as columns
(im2col): ``y = w (g, fg, cg·kp) @ cols (g, cg·kp, m·q)`` for a chunk of ``m`` samples, with
``q`` output positions per sample. The filter gradient is ``gy @ colsᵀ`` and the input
gradient is ``wᵀ @ gy`` spread back over the windows (col2im). A *layout* owns the four
moves around those GEMMs, so the ops in ``conv.py`` are written once:

    cols(be, x)        x chunk (m, c, *s)        -> (g, cg·kp, m·q)
    gy_cols(xp, gy)    gy chunk (m, f, *o)       -> (g, fg, m·q), same column order
    output(yc)         GEMM result (g, fg, m·q)  -> (m, f, *o) (a view)
    spread(be, gcols)  (g, cg·kp, m·q)           -> (m, c, *s), overlapping windows summed

The gather and the scatter are backend kernels (``be.im2col`` / ``be.col2im``, with NumPy
and CUDA versions in backend/kernels/conv_*.py): a layout only chooses the columns' positions
per sample, ``rows`` (the kernels' contract is in ``conv_numpy``). Two layouts:

* :class:`GridLayout` (stride 1, the common case): ``rows = (o₁, P₂, …, P_d)``, the output
  positions counted on the padded grid's rows (``q = o₁·P₂·…·P_d``). The extra ones at each
  row's end are computed and dropped (gy is zero there, and their columns are zero so that
  0 · Inf never makes a NaN in the gradients). NumPy's kernels then move whole rows of ``q``
  values instead of ``o_d``-long pieces; measured here 15-25 % faster on conv fwd+bwd than
  the strided layout.
* :class:`StridedLayout` (any stride): ``rows = o``, exactly the output positions.
"""
from __future__ import annotations

import math

from .cnn_args import out_size


def layout_for(x_shape, k, st, pad, d, g):
    """The column layout for a conv of x (n, c, *s) with kernel k; see the module docstring."""
    if all(s == 1 for s in st):
        return GridLayout(x_shape, k, pad, d, g)
    return StridedLayout(x_shape, k, st, pad, d, g)


class StridedLayout:
    """Columns ``(g, cg·kp, m·op)``: one per output position (any stride)."""

    def __init__(self, x_shape, k, st, pad, d, g):
        self.c, self.s = x_shape[1], tuple(x_shape[2:])
        self.k, self.st, self.pad, self.d, self.g = tuple(k), tuple(st), tuple(pad), tuple(d), g
        self.o = tuple(out_size("conv", si, ki, sti, pb, pa, di)
                       for si, ki, sti, (pb, pa), di in zip(self.s, k, st, pad, d))
        self.rows = self.o                                    # positions per sample
        self.q = math.prod(self.rows)
        self.per_sample = self.c * math.prod(self.k) * self.q

    def cols(self, be, x):
        cols = be.im2col(x, self.k, self.st, self.pad, self.d, self.rows)  # (c, *k, m, *rows)
        return cols.reshape(self.g, (self.c // self.g) * math.prod(self.k), -1)

    def spread(self, be, gcols, m):
        gcols = gcols.reshape((self.c,) + self.k + (m,) + self.rows)
        return be.col2im(gcols, self.s, self.k, self.st, self.pad, self.d)

    def gy_cols(self, xp, gy):
        n, f = gy.shape[:2]
        gy = gy.reshape((n, self.g, f // self.g, -1)).transpose(1, 2, 0, 3)
        return xp.ascontiguousarray(gy).reshape(self.g, f // self.g, -1)

    def output(self, yc, m):
        return yc.reshape((-1, m) + self.o).swapaxes(0, 1)


class GridLayout(StridedLayout):
    """Stride-1 columns ``(g, cg·kp, m·q)`` on the padded grid's rows: ``rows = (o₁, P₂, …)``
    with P = s + pads, so a sample's positions are its flattened padded grid cut after the
    last output row (NumPy reads each tap's columns as one contiguous slice of it)."""

    def __init__(self, x_shape, k, pad, d, g):
        super().__init__(x_shape, k, (1,) * len(k), pad, d, g)
        padded = tuple(si + pb + pa for si, (pb, pa) in zip(self.s, pad))
        self.rows = (self.o[0],) + padded[1:]
        self.q = math.prod(self.rows)
        self.per_sample = self.c * math.prod(self.k) * self.q

    def gy_cols(self, xp, gy):
        m, f = gy.shape[:2]
        rows = xp.zeros((f, m) + self.rows, dtype=gy.dtype)
        rows[(slice(None), slice(None)) + tuple(slice(0, oo) for oo in self.o)] = \
            gy.swapaxes(0, 1)
        return rows.reshape(self.g, f // self.g, m * self.q)

    def output(self, yc, m):
        rows = yc.reshape((-1, m) + self.rows)
        return rows[(slice(None), slice(None)) + tuple(slice(0, oo) for oo in self.o)] \
            .swapaxes(0, 1)
