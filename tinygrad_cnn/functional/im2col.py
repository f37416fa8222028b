"""``F.unfold`` (im2col) and ``F.fold`` (col2im), torch.nn.functional's, for (n, c, h, w)
(or unbatched (c, h, w)) inputs.

``unfold`` gathers every ``kh × kw`` window of the zero-padded input as a column:
``(n, c, h, w) -> (n, c·kh·kw, L)``, rows ordered channel, then kernel row, then kernel column;
``L = oh · ow`` window positions, row-major. It is one advanced-indexing op, so its gradient
is the indexing adjoint (``index_add``), which is exactly ``fold``; and ``fold`` here *is*
that ``index_add`` (overlapping windows summed) followed by a crop of the padding, so the two
are each other's backward, as in the lecture notes.
"""
from __future__ import annotations

import numbers

from ..errors import OpRuntimeError, OpTypeError, OpValueError
from ..ops import shape as _sh
from ..ops.cnn_args import out_size
from ..ops.indexing import index_add
from .activation import tensor_arg
from .resample import pad


def _pair(op, name, v, low):
    vals = (v, v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v
    if not isinstance(vals, (tuple, list)) or len(vals) != 2 or any(
            isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in vals):
        raise OpTypeError(f"F.{op}: {name} must be an int or a pair of ints, got {v!r}")
    if any(a < low for a in vals):
        raise OpValueError(f"F.{op}: {name} must be >= {low}, got {v!r}")
    return tuple(int(a) for a in vals)


def _args(op, kernel_size, dilation, padding, stride):
    return (_pair(op, "kernel_size", kernel_size, 1), _pair(op, "dilation", dilation, 1),
            _pair(op, "padding", padding, 0), _pair(op, "stride", stride, 1))


def _window_index(xp, k, d, st, o):
    """Row and column index arrays (kh, kw, oh, ow) broadcast, into the padded input."""
    (kh, kw), (dh, dw), (sh, sw), (oh, ow) = k, d, st, o
    rows = (xp.arange(kh) * dh)[:, None, None, None] + (xp.arange(oh) * sh)[None, None, :, None]
    cols = (xp.arange(kw) * dw)[None, :, None, None] + (xp.arange(ow) * sw)[None, None, None, :]
    return rows, cols


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """(n, c, h, w) -> (n, c·kh·kw, oh·ow): every sliding window as a column."""
    tensor_arg("unfold", input)
    if input.ndim not in (3, 4):
        raise OpValueError(f"F.unfold: expected a 3-D or 4-D input (unbatched or batched), got "
                           f"shape {input.shape}")
    k, d, p, st = _args("unfold", kernel_size, dilation, padding, stride)
    batched = input.ndim == 4
    x = input if batched else _sh.unsqueeze(input, 0)
    n, c, h, w = x.shape
    o = tuple(out_size("unfold", s, ki, sti, pi, pi, di)
              for s, ki, sti, pi, di in zip((h, w), k, st, p, d))
    if any(v <= 0 for v in o):
        raise OpRuntimeError(f"F.unfold: the {k} kernel (dilation {d}, padding {p}) does not "
                             f"fit the input of spatial size {(h, w)}")
    xpad = pad(x, (p[1], p[1], p[0], p[0])) if any(p) else x
    rows, cols = _window_index(x.xp, k, d, st, o)
    win = xpad[:, :, rows, cols]                                  # (n, c, kh, kw, oh, ow)
    out = _sh.reshape(win, (n, c * k[0] * k[1], o[0] * o[1]))
    return out if batched else _sh.squeeze(out, 0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """(n, c·kh·kw, L) -> (n, c, *output_size): columns summed back into their windows (the
    adjoint of ``unfold``; overlaps accumulate)."""
    tensor_arg("fold", input)
    if input.ndim not in (2, 3):
        raise OpValueError(f"F.fold: expected a 2-D or 3-D input (unbatched or batched), got "
                           f"shape {input.shape}")
    size = _pair("fold", "output_size", output_size, 1)
    k, d, p, st = _args("fold", kernel_size, dilation, padding, stride)
    batched = input.ndim == 3
    x = input if batched else _sh.unsqueeze(input, 0)
    n, ckk, L = x.shape
    if ckk % (k[0] * k[1]):
        raise OpRuntimeError(f"F.fold: expected size of input's dimension 1 ({ckk}) to be "
                             f"divisible by the product of kernel_size {k}")
    o = tuple(out_size("fold", s, ki, sti, pi, pi, di)
              for s, ki, sti, pi, di in zip(size, k, st, p, d))
    if o[0] * o[1] != L:
        raise OpRuntimeError(f"F.fold: given output_size={size}, kernel_size={k}, "
                             f"dilation={d}, padding={p}, stride={st}, expected size of "
                             f"input's dimension 2 to match the calculated number of sliding "
                             f"blocks {o[0]} * {o[1]} = {o[0] * o[1]}, but got {L}")
    c = ckk // (k[0] * k[1])
    rows, cols = _window_index(x.xp, k, d, st, o)
    win = _sh.reshape(x, (n, c, k[0], k[1], o[0], o[1]))
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    index = (slice(None), slice(None), rows, cols)
    full = index_add(win, index=index, advanced=True, shape=(n, c, hp, wp))
    out = full[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]] if any(p) else full
    return out if batched else _sh.squeeze(out, 0)
