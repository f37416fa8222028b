"""``F.upsample``/``F.downsample`` (zero insertion, the lecture notes' uSample/dSample),
``F.interpolate`` and ``F.pad`` with torch.nn.functional's semantics."""
from __future__ import annotations

import math
import numbers

from ..backend import numpy_backend as _cpu
from ..errors import OpTypeError, OpValueError
from ..ops import resample as _rs
from ..ops.cnn_args import check_float, require_tensor


def _factor_args(op, input, factor):
    """(batched input, factor tuple, was_unbatched) under API.md's rule: the input is
    (n, c, *spatial) unless a tuple factor has ndim - 1 entries (then (c, *spatial))."""
    require_tensor(op, input)
    if isinstance(factor, (tuple, list)):
        f = tuple(factor)
        if len(f) == input.ndim - 1:
            x, unbatched = input.unsqueeze(0), True
        elif len(f) == input.ndim - 2:
            x, unbatched = input, False
        else:
            raise OpValueError(f"{op}: factor {f} must have one entry per spatial dim: "
                               f"{input.ndim - 2} for (n, c, *spatial) input of shape "
                               f"{input.shape}")
    else:
        if input.ndim < 3:
            raise OpValueError(f"{op}: expected input (n, c, *spatial) with at least one "
                               f"spatial dim, got shape {input.shape}")
        f = (factor,) * (input.ndim - 2)
        x, unbatched = input, False
    for v in f:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise OpTypeError(f"{op}: factor must be an int or a tuple of ints, got {factor!r}")
        if v < 1:
            raise OpValueError(f"{op}: factor must be >= 1, got {factor!r}")
    return x, tuple(int(v) for v in f), unbatched


def upsample(input, factor):
    """Zero insertion: spatial size n -> (n - 1)·factor + 1, input samples at multiples of
    factor, zeros between. Backward: downsample(grad, factor)."""
    x, f, unbatched = _factor_args("upsample", input, factor)
    size = tuple((s - 1) * ff + 1 for s, ff in zip(x.shape[2:], f))
    y = _rs.upsample(x, factor=f, size=size)
    return y.squeeze(0) if unbatched else y


def downsample(input, factor):
    """Keep the samples at multiples of factor: n -> ceil(n / factor).
    Backward: upsample(grad, factor) back to n."""
    x, f, unbatched = _factor_args("downsample", input, factor)
    y = _rs.downsample(x, factor=f)
    return y.squeeze(0) if unbatched else y


# ---------------------------------------------------------------- interpolate
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _source_index(xp, n_in, n_out, scale, align_corners, mode):
    dst = xp.arange(n_out, dtype="float64")
    if mode == "nearest":
        return xp.minimum(xp.floor(dst * scale).astype("int64"), n_in - 1)
    if align_corners:
        return dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    return xp.maximum((dst + 0.5) * scale - 0.5, 0.0)


def _integer_factor(s_in, out, scales):
    """The integer factors when nearest interpolation is a plain repeat of each pixel (the
    source indices, worked out on the host as the gather would, are dst // factor), else
    None."""
    np = _cpu.xp
    factor = tuple(o // i if i and o % i == 0 else 0 for i, o in zip(s_in, out))
    if not all(factor):
        return None
    for i, o, sc, f in zip(s_in, out, scales, factor):
        if not np.array_equal(_source_index(np, i, o, sc, None, "nearest"), np.arange(o) // f):
            return None
    return factor


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (n, c, *spatial) input, as torch.nn.functional.interpolate
    for modes "nearest", "linear" (3-D input), "bilinear" (4-D), "trilinear" (5-D).

    With ``scale_factor``, the source positions use that factor (PyTorch's default) unless
    ``recompute_scale_factor=True``, which uses input size / output size instead.
    ``antialias=True`` is not implemented and is refused."""
    from ..tensor import Tensor
    op = "interpolate"
    require_tensor(op, input)
    if antialias:
        raise OpValueError(f"{op}: antialias=True is not supported (only antialias=False)")
    if recompute_scale_factor not in (None, True, False):
        raise OpTypeError(f"{op}: recompute_scale_factor must be None, True or False, got "
                          f"{recompute_scale_factor!r}")
    if recompute_scale_factor and scale_factor is None:
        raise OpValueError(f"{op}: recompute_scale_factor is only meaningful with "
                           "scale_factor (size was given)")
    nd = input.ndim - 2
    if nd < 1 or nd > 3:
        raise OpValueError(f"{op}: expected a 3-D, 4-D or 5-D input, got shape {input.shape}")
    if mode not in ("nearest",) + tuple(_LINEAR):
        raise OpValueError(f"{op}: mode must be 'nearest', 'linear', 'bilinear' or "
                           f"'trilinear', got {mode!r}")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise OpValueError(f"{op}: mode {mode!r} needs a {_LINEAR[mode] + 2}-D input, got shape "
                           f"{input.shape}")
    if mode == "nearest" and align_corners is not None:
        raise OpValueError(f"{op}: align_corners can only be set with the linear modes")
    if (size is None) == (scale_factor is None):
        raise OpValueError(f"{op}: give exactly one of size and scale_factor")
    check_float(op, input)
    s_in = input.shape[2:]
    if size is not None:
        out = (size,) * nd if isinstance(size, numbers.Integral) else tuple(size)
        if len(out) != nd or any(not isinstance(o, numbers.Integral) or o <= 0 for o in out):
            raise OpValueError(f"{op}: size must be {nd} positive ints, got {size!r}")
        scales = [i / o for i, o in zip(s_in, out)]
    else:
        sf = (scale_factor,) * nd if isinstance(scale_factor, numbers.Real) else \
            tuple(scale_factor)
        if len(sf) != nd or any(not (isinstance(v, numbers.Real) and math.isfinite(v) and v > 0)
                                for v in sf):
            raise OpValueError(f"{op}: scale_factor must be {nd} positive finite numbers, got "
                               f"{scale_factor!r}")
        out = tuple(int(math.floor(i * v)) for i, v in zip(s_in, sf))
        if any(o <= 0 for o in out):
            raise OpValueError(f"{op}: scale_factor {scale_factor!r} gives an empty output "
                               f"{out} for input {input.shape}")
        scales = [i / o for i, o in zip(s_in, out)] if recompute_scale_factor else \
            [1.0 / v for v in sf]
    xp = input.xp
    if mode == "nearest":
        factor = _integer_factor(s_in, out, scales)
        if factor is not None:
            return _rs.repeat_nearest(input, factor=factor)
        idx = [_source_index(xp, i, o, sc, None, mode) for i, o, sc in zip(s_in, out, scales)]
        mesh = xp.ix_(*idx)
        return input[(slice(None), slice(None)) + tuple(mesh)]
    y = input
    for i in range(nd):  # separable: along each spatial dim, 2 neighbours with weights
        src = _source_index(xp, s_in[i], out[i], scales[i], align_corners, mode)
        i0 = xp.minimum(xp.floor(src).astype("int64"), s_in[i] - 1)
        i1 = xp.minimum(i0 + 1, s_in[i] - 1)   # PyTorch's neighbour (itself at the edge)
        lam = (src - i0).astype(input.dtype)
        shape = (-1,) + (1,) * (nd - 1 - i)
        w1 = Tensor._make(xp.ascontiguousarray(lam.reshape(shape)))
        w0 = Tensor._make(xp.ascontiguousarray((1 - lam).reshape(shape)))
        lead = (slice(None),) * (2 + i)
        # gathers, not a dense matrix product: a NaN/Inf pixel reaches only the outputs
        # whose two neighbours include it (as PyTorch); the backward is the adjoint scatter
        with xp_quiet(input):  # 0 · Inf is NaN silently, as in PyTorch (NumPy would warn)
            y = y[lead + (i0,)] * w0 + y[lead + (i1,)] * w1
    return y


def xp_quiet(t):
    return t.backend.quiet_fp()


# ---------------------------------------------------------------- pad
def pad(input, pad, mode="constant", value=0.0):
    """Pad (or crop, with negative widths) the last len(pad)//2 dims. ``pad`` lists
    (before, after) pairs starting from the last dim, as PyTorch. Modes: constant, reflect,
    replicate, circular."""
    op = "pad"
    require_tensor(op, input)
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or \
            any(isinstance(p, bool) or not isinstance(p, numbers.Integral) for p in pad):
        raise OpTypeError(f"{op}: pad must be a tuple of an even number of ints, got {pad!r}")
    k = len(pad) // 2
    if k > input.ndim:
        raise OpValueError(f"{op}: pad {tuple(pad)} covers {k} dims, the input has only "
                           f"{input.ndim} (shape {input.shape})")
    before = [int(pad[2 * (k - 1 - i)]) for i in range(k)]   # first padded dim first
    after = [int(pad[2 * (k - 1 - i) + 1]) for i in range(k)]
    sizes = input.shape[input.ndim - k:]
    for b, a, s in zip(before, after, sizes):
        if s + b + a < 0 or (s + b + a == 0 and s > 0 and mode != "constant"):
            raise OpValueError(f"{op}: pad {tuple(pad)} leaves no elements of shape "
                               f"{input.shape}")
    if mode == "constant":
        x = input
        if any(b < 0 for b in before) or any(a < 0 for a in after):
            lead = (slice(None),) * (input.ndim - k)
            x = x[lead + tuple(slice(max(-b, 0), s - max(-a, 0))
                               for b, a, s in zip(before, after, sizes))]
        pos_b = tuple(max(b, 0) for b in before)
        pos_a = tuple(max(a, 0) for a in after)
        if not any(pos_b) and not any(pos_a):
            return x if x is not input else input.clone()
        return _rs.pad_constant(x, before=pos_b, after=pos_a, value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise OpValueError(f"{op}: mode must be 'constant', 'reflect', 'replicate' or "
                           f"'circular', got {mode!r}")
    xp = input.xp
    idx = []
    for b, a, s in zip(before, after, sizes):
        if mode == "reflect" and (b >= s or a >= s):
            raise OpValueError(f"{op}: reflect padding {tuple(pad)} must be smaller than the "
                               f"padded dim's size {s} (shape {input.shape})")
        if mode == "circular" and (b > s or a > s):
            raise OpValueError(f"{op}: circular padding {tuple(pad)} must be at most the "
                               f"padded dim's size {s} (shape {input.shape})")
        if s == 0:
            raise OpValueError(f"{op}: cannot {mode}-pad an empty dim (shape {input.shape})")
        i = xp.arange(-b, s + a)
        if mode == "reflect":
            i = xp.abs(i)
            i = xp.where(i > s - 1, 2 * (s - 1) - i, i)
        elif mode == "replicate":
            i = xp.clip(i, 0, s - 1)
        else:  # PyTorch crops first, then wraps around what is left
            lo, hi = max(-b, 0), s - max(-a, 0)
            i = lo + (xp.arange(-max(b, 0), hi - lo + max(a, 0)) % (hi - lo))
        idx.append(i)
    if mode == "reflect" and min(before + after) >= 0:
        return _rs.pad_reflect(input, before=tuple(before), after=tuple(after))
    lead = (slice(None),) * (input.ndim - k)
    return input[lead + tuple(xp.ix_(*idx))]


# ---------------------------------------------------------------- pixel shuffle
def _shuffle_factor(op, name, factor):
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or factor < 1:
        raise OpValueError(f"{op}: {name} must be a positive int, got {factor!r}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """(*, c·r², h, w) -> (*, c, h·r, w·r), as torch.nn.functional.pixel_shuffle: output
    pixel (i·r + a, j·r + b) of channel k is input channel k·r² + a·r + b at (i, j).
    A reshape, a permute and a reshape, so the backward is their adjoints."""
    op = "pixel_shuffle"
    require_tensor(op, input)
    r = _shuffle_factor(op, "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise OpValueError(f"{op}: expected an input with at least 3 dims (*, c, h, w), got "
                           f"shape {input.shape}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise OpValueError(f"{op}: the channels ({c}) must be divisible by upscale_factor² "
                           f"({r * r}) (input shape {input.shape})")
    k = len(lead)
    y = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    y = y.permute(tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return y.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, c, h·r, w·r) -> (*, c·r², h, w): the inverse of :func:`pixel_shuffle`."""
    op = "pixel_unshuffle"
    require_tensor(op, input)
    r = _shuffle_factor(op, "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise OpValueError(f"{op}: expected an input with at least 3 dims (*, c, h, w), got "
                           f"shape {input.shape}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise OpValueError(f"{op}: the height ({h}) and width ({w}) must be divisible by "
                           f"downscale_factor ({r}) (input shape {input.shape})")
    k = len(lead)
    y = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    y = y.permute(tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return y.reshape(tuple(lead) + (c * r * r, h // r, w // r))
