"""Convolution and its two adjoints, as three registered ops per dimensionality.

    conv{nd}d(x, w)             y = x ⋆ w   (cross-correlation, as every DL library)
    conv_transpose{nd}d(gy, w)  the adjoint in x: a "full" convolution of the stride-upsampled
                                gy with the flipped filter; it is also F.conv_transpose{nd}d
    conv{nd}d_weight(x, gy)     the adjoint in w: the correlation of x with gy

Each one's backward is written with the other two, exactly as the lecture notes derive them,
so every gradient of a gradient is again one of these ops. Shapes (notation in cnn_args):
x (n, c, *s), w (f, cg, *k), y (n, f, *o). ``pad`` is ((before, after), ...) per dim.

Depthwise convs (one input channel per group) are tap sums instead (``conv_depthwise``).
Otherwise the work is one GEMM per group between two layout moves (im2col before, col2im
after for the input gradient); ``conv_columns`` holds the layouts: contiguous slices of the padded
grid at stride 1, a strided window view otherwise; the gather and scatter themselves are
backend kernels (``im2col``, ``col2im``). Batches are processed in chunks sized by the
backend (``cols_budget``: cache-sized on the CPU, a whole layer per chunk on a GPU). The ops
never ask which library they run on: the backend is derived from the data (``backend_of``).
"""
from __future__ import annotations

import math

from ..autograd.grad_mode import state as grad_state
from ..backend import backend_of
from .conv_columns import layout_for
from .conv_depthwise import (
    depthwise_forward,
    depthwise_transpose,
    depthwise_weight,
    is_depthwise,
)
from .op_registry import register

_NAME = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


def _batch_chunks(be, n, per_sample, dtype):
    """Slices of the batch whose columns fit the backend's budget (``be.cols_budget``:
    cache-sized on the CPU, a share of free memory on a GPU), at least one sample each."""
    step = max(1, min(n, be.cols_budget(dtype) // max(per_sample, 1)))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# Columns are kept for the weight gradient only while they are at most this many times the
# input: a strided conv's (a 3×3 stride-2 conv: 2.25×) and small kernels'. A stride-1 3×3
# conv's columns are 9× its input, contiguous slices of the padded grid that the backward
# rebuilds in one cheap gather; keeping them held most of the peak memory of the image-to-
# image nets. Measured (bench_models / bench_cnn, kept at ≤ 16× against ≤ 4×): peak traced
# memory ESPCN 229 -> 56 MB, U-Net 248 -> 90, TransformerNet 448 -> 235, ResNet-18
# 109 -> 71, conv2d 64->64 56² 64 -> 22 MiB; fwd+bwd times within the run-to-run noise
# (conv2d 64->64: 1.82-1.92× against 1.87-2.14× PyTorch).
KEEP_COLS_MAX_RATIO = 4


def conv_forward(x, w, st, pad, d, g, keep_cols=None):
    """y (n, f, *o) = x ⋆ w, on the arrays' backend. With ``keep_cols`` (a dict) the im2col
    columns are left in it, as (batch slice, columns) pairs, for the weight gradient, which
    then needs no second gather. (The slices travel with them: a GPU's budget follows its free
    memory, so the backward may not cut the batch the same way.)"""
    be = backend_of(x)
    xp = be.xp
    n = x.shape[0]
    f = w.shape[0]
    if is_depthwise(x.shape[1], w.shape[1], g):
        return depthwise_forward(xp, x, w, st, pad, d, keep_cols)
    lay = layout_for(x.shape, w.shape[2:], st, pad, d, g)
    w2 = w.reshape(g, f // g, -1)
    y = xp.empty((n, f) + lay.o, dtype=xp.result_type(x.dtype, w.dtype))
    kept = []
    if lay.per_sample > KEEP_COLS_MAX_RATIO * max(1, math.prod(x.shape[1:])):
        keep_cols = None
    for part in _batch_chunks(be, n, lay.per_sample, x.dtype):
        cols = lay.cols(be, x[part])
        y[part] = lay.output(xp.matmul(w2, cols), part.stop - part.start)
        if keep_cols is not None:
            kept.append((part, cols))
    if keep_cols is not None:
        keep_cols["cols"] = kept
    return y


def conv_weight_forward(x, gy, k, st, pad, d, g, cols=None, share=None):
    """gw (f, cg, *k) = Σ_{n,o} gy[n, f, o] · window(x)[n, c, o, k]; ``cols``: the forward's
    kept (batch slice, columns) pairs, if any; ``share``: a dict in which a depthwise conv
    leaves gy's layout for ``conv_transpose_forward`` (one gather of gy for both)."""
    be = backend_of(x)
    xp = be.xp
    n, c = x.shape[:2]
    f = gy.shape[1]
    if is_depthwise(c, c // g, g):
        return depthwise_weight(xp, x, gy, k, st, pad, d, cols, share)
    if n == 0:  # an empty batch contributes nothing (no chunk to sum over)
        return xp.zeros((f, c // g) + tuple(k), dtype=xp.result_type(x.dtype, gy.dtype))
    lay = layout_for(x.shape, k, st, pad, d, g)
    gw = None
    if cols is None:
        cols = [(part, None) for part in _batch_chunks(be, n, lay.per_sample, x.dtype)]
    for part, cp in cols:
        cp = lay.cols(be, x[part]) if cp is None else cp
        term = xp.matmul(lay.gy_cols(xp, gy[part]), cp.swapaxes(1, 2))   # (g, fg, cg·kp)
        gw = term if gw is None else gw + term
    return gw.reshape((f, c // g) + tuple(k))


def conv_transpose_forward(gy, w, st, pad, d, g, size, share=None):
    """z (n, c, *size) = the adjoint of conv in x, applied to gy (``share``: see
    ``conv_weight_forward``).

    Stride 1 (and no more filters than channels, so its columns are no larger): the lecture
    notes' form, a full convolution of gy with the flipped, channel-swapped filter. Otherwise
    each gy value is spread over its window, weighted by w (col2im): strides become the
    zero-insertion of gy without materialising the zeros. (Measured: with more filters than
    channels the full convolution's larger columns cost more than col2im's scatter.)
    """
    be = backend_of(gy)
    xp = be.xp
    f, cg = w.shape[:2]
    k = w.shape[2:]
    nd = len(k)
    if is_depthwise(cg * g, cg, g):
        return depthwise_transpose(xp, gy, w, st, pad, d, g, size, share)
    full = tuple((dd * (kk - 1) - pb, dd * (kk - 1) - pa) for kk, dd, (pb, pa) in zip(k, d, pad))
    if all(s == 1 for s in st) and f <= cg * g and all(a >= 0 and b >= 0 for a, b in full) \
            and all(o + a + b - dd * (kk - 1) == si for o, (a, b), dd, kk, si
                    in zip(gy.shape[2:], full, d, k, size)):
        wt = w.reshape((g, f // g, cg) + tuple(k)).swapaxes(1, 2).reshape((g * cg, f // g) + k)
        wt = xp.ascontiguousarray(wt[(slice(None), slice(None)) + (slice(None, None, -1),) * nd])
        return conv_forward(gy, wt, st, full, d, g)
    n = gy.shape[0]
    x_shape = (n, cg * g) + tuple(size)
    lay = layout_for(x_shape, k, st, pad, d, g)
    wt = w.reshape(g, f // g, -1).swapaxes(1, 2)                             # (g, cg·kp, fg)
    z = xp.empty(x_shape, dtype=xp.result_type(gy.dtype, w.dtype))
    for part in _batch_chunks(be, n, lay.per_sample, gy.dtype):
        z[part] = lay.spread(be, xp.matmul(wt, lay.gy_cols(xp, gy[part])), part.stop - part.start)
    return z


def _add_bias(y, bias, nd):
    """y (a fresh array) plus the optional bias, one value per channel, in place."""
    if bias:
        y += bias[0].array.reshape((1, -1) + (1,) * nd)
    return y


def _bias_grad(gy, bias, nd):
    """() without a bias, else (gbias,): gy summed over the batch and spatial dims."""
    if not bias:
        return ()
    return (gy.sum(_bias_dims(nd)) if bias[0].requires_grad else None,)


def _bias_dims(nd):
    """The dims of gy a bias gradient sums over: the batch and the spatial ones."""
    return (0,) + tuple(range(2, 2 + nd))


def _register(nd):
    name = _NAME[nd]
    gbias = f"gbias = sum(gy, {_bias_dims(nd)})"

    @register(name, rule=f"gx = conv_transpose{nd}d(gy, w); gw = {name}_weight(x, gy); {gbias}",
              saves=("x for gw", "w for gx"))
    def conv(x, w, *bias, stride, pad, dilation, groups):
        def backward(gy):
            # the weight gradient first: it consumes (and so frees) the forward's columns
            cols = saved.pop("cols", None)
            share = {} if x.requires_grad else None  # gy's layout, gathered once for both
            gw = conv_w(x, gy, stride=stride, pad=pad, dilation=dilation, groups=groups,
                        ksize=w.shape[2:], cols=cols, share=share) if w.requires_grad else None
            del cols
            gx = conv_t(gy, w, stride=stride, pad=pad, dilation=dilation, groups=groups,
                        size=x.shape[2:], share=share) if x.requires_grad else None
            return (gx, gw) + _bias_grad(gy, bias, nd)

        # keep the im2col columns for the weight gradient when one will be wanted
        saved = {}
        with x.backend.quiet_fp():  # Inf/NaN arithmetic is silent, as in PyTorch
            y = conv_forward(x.array, w.array, stride, pad, dilation, groups,
                             saved if w.requires_grad and grad_state.enabled else None)
        return _add_bias(y, bias, nd), backward

    # x: the transposed conv's input (for conv's input gradient, the output gradient)
    @register(f"conv_transpose{nd}d",
              rule=f"gx = {name}(gy, w); gw = {name}_weight(gy, x); {gbias}",
              saves=("w for gx", "x for gw"))
    def conv_t(x, w, *bias, stride, pad, dilation, groups, size, share=None):
        def backward(gy):
            gx = conv(gy, w, stride=stride, pad=pad, dilation=dilation,
                      groups=groups) if x.requires_grad else None
            gw = conv_w(gy, x, stride=stride, pad=pad, dilation=dilation, groups=groups,
                        ksize=w.shape[2:]) if w.requires_grad else None
            return (gx, gw) + _bias_grad(gy, bias, nd)

        with x.backend.quiet_fp():
            z = conv_transpose_forward(x.array, w.array, stride, pad, dilation, groups,
                                       size, share)
        return _add_bias(z, bias, nd), backward

    # g: the conv's output gradient; this op's output is the filter gradient
    @register(f"{name}_weight", rule=f"gx = conv_transpose{nd}d(g, gy); gg = {name}(x, gy)",
              saves=("g for gx", "x for gg"))
    def conv_w(x, g, *, stride, pad, dilation, groups, ksize, cols=None, share=None):
        def backward(gy):
            gx = conv_t(g, gy, stride=stride, pad=pad, dilation=dilation, groups=groups,
                        size=x.shape[2:]) if x.requires_grad else None
            gg = conv(x, gy, stride=stride, pad=pad, dilation=dilation,
                      groups=groups) if g.requires_grad else None
            return gx, gg

        with x.backend.quiet_fp():
            gw = conv_weight_forward(x.array, g.array, ksize, stride, pad, dilation,
                                     groups, cols, share)
        return gw, backward

    return conv, conv_t, conv_w


conv1d_op, conv_transpose1d_op, conv1d_weight_op = _register(1)
conv2d_op, conv_transpose2d_op, conv2d_weight_op = _register(2)
conv3d_op, conv_transpose3d_op, conv3d_weight_op = _register(3)
CONV = {1: conv1d_op, 2: conv2d_op, 3: conv3d_op}
CONV_TRANSPOSE = {1: conv_transpose1d_op, 2: conv_transpose2d_op, 3: conv_transpose3d_op}
