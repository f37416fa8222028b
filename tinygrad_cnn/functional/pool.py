"""``F.max_pool{1,2,3}d``, ``F.max_unpool2d``, ``F.avg_pool{1,2,3}d``, adaptive pooling."""
from __future__ import annotations

import math

from ..errors import OpTypeError, OpValueError
from ..ops.cnn_args import check_float, int_tuple, out_size, spatial_input
from ..ops.op_registry import const
from ..ops.pool import AVG_POOL, MAX_POOL, MAX_UNPOOL, avg_divisor, pool_gather


def _pool_args(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode):
    if any(v == 0 for v in x.shape[1:]):
        raise OpValueError(f"{op}: expected an input with non-empty channel and spatial dims "
                           f"(only the batch may be empty), got shape {x.shape}")
    k = int_tuple(op, "kernel_size", kernel_size, nd, minimum=1)
    st = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        int_tuple(op, "stride", stride, nd, minimum=1)
    p = int_tuple(op, "padding", padding, nd, minimum=0)
    d = int_tuple(op, "dilation", dilation, nd, minimum=1)
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            raise OpValueError(f"{op}: padding should be at most half of the kernel size, got "
                               f"padding={p} for kernel_size={k}")
    o = tuple(out_size(op, si, kk, ss, pp, pp, dd, ceil_mode)
              for si, kk, ss, pp, dd in zip(x.shape[2:], k, st, p, d))
    if any(oo <= 0 for oo in o):
        raise OpValueError(f"{op}: output size {o} is too small (input {x.shape})")
    # right padding so that ceil_mode's last, partial window exists in the padded array
    pr = tuple(max(pp, (oo - 1) * ss + dd * (kk - 1) + 1 - si - pp)
               for si, kk, ss, pp, dd, oo in zip(x.shape[2:], k, st, p, d, o))
    return k, st, p, d, o, pr


def _max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d"
    x, unbatched = spatial_input(op, input, nd)
    check_float(op, x)
    k, st, p, d, o, pr = _pool_args(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    y = MAX_POOL[nd](x, k=k, st=st, p=p, pr=pr, d=d, o=o)
    if return_indices:
        # the tap each output took is in the closure of y's node; recompute it when no graph
        _, arg = x.backend.max_pool_forward(x.array, k, st, p, pr, d, o)
        idx = x.backend.max_pool_indices(arg, x.shape[2:], k, st, p, d)
    if unbatched:
        y = y.squeeze(0)
        idx = idx[0] if return_indices else None
    return (y, const(idx)) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (n, c, l) or (c, l)."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling; stride defaults to kernel_size; padding counts as -inf.

    Backward: the gradient of each output goes to its window's first maximum (argmax).
    With return_indices, also the flat position of each maximum in its (h, w) plane.
    """
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over (n, c, d, h, w) or unbatched."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size):
    from ..tensor import Tensor
    op = f"max_unpool{nd}d"
    x, unbatched = spatial_input(op, input, nd)
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise OpTypeError(f"{op}: indices must be an integer Tensor (from return_indices=True)")
    idx = indices.array if not unbatched else indices.array[None]
    if idx.shape != x.shape:
        raise OpValueError(f"{op}: indices shape {indices.shape} must match input shape "
                           f"{input.shape}")
    k = int_tuple(op, "kernel_size", kernel_size, nd, minimum=1)
    st = k if stride is None else int_tuple(op, "stride", stride, nd, minimum=1)
    p = int_tuple(op, "padding", padding, nd, minimum=0)
    if output_size is None:
        size = tuple((i - 1) * s - 2 * pp + kk for i, s, pp, kk in zip(x.shape[2:], st, p, k))
    else:
        size = tuple(output_size)[-nd:]
    plane = math.prod(size)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        raise OpValueError(f"{op}: indices must lie in [0, {plane}) for output size {size}, got "
                           f"values in [{int(idx.min())}, {int(idx.max())}]")
    y = MAX_UNPOOL[nd](x, indices=idx, size=size)
    return y.squeeze(0) if unbatched else y


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool2d: values put back at their argmax positions, zeros elsewhere."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def _avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    op = f"avg_pool{nd}d"
    x, unbatched = spatial_input(op, input, nd)
    check_float(op, x)
    if divisor_override is not None:
        # PyTorch takes any nonzero int (a negative one flips the sign) and refuses 0
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int):
            raise OpTypeError(f"{op}: divisor_override must be an int, got "
                              f"{type(divisor_override).__name__} {divisor_override!r}")
        if divisor_override == 0:
            raise OpValueError(f"{op}: divisor_override must not be zero")
    k, st, p, _, o, pr = _pool_args(op, x, nd, kernel_size, stride, padding, 1, ceil_mode)
    div = avg_divisor(x.xp, x.shape[2:], k, st, p, o, count_include_pad, divisor_override,
                      x.dtype)
    y = AVG_POOL[nd](x, k=k, st=st, p=p, pr=pr, o=o, divisor=div)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling; backward spreads each gradient evenly over its window."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---------------------------------------------------------------- adaptive pooling
def _adaptive_bounds(xp, n_in, n_out):
    """PyTorch's windows, as arrays: start = floor(i·n/o), end = ceil((i+1)·n/o)."""
    i = xp.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _adaptive_width(n_in, n_out):
    """The widest adaptive window: a function of the sizes alone, so it is computed on the
    host (reading it from the device arrays would make the host wait for the GPU)."""
    from ..backend import numpy_backend  # the host's array module, through the backend door
    start, end = _adaptive_bounds(numpy_backend.xp, n_in, n_out)
    return int((end - start).max())


def _output_size(op, output_size, nd, x):
    sizes = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != nd:
        raise OpValueError(f"{op}: output_size must have {nd} entries, got {output_size!r}")
    sizes = tuple(s if s is not None else x.shape[2 + i] for i, s in enumerate(sizes))
    if any(not isinstance(s, int) or s <= 0 for s in sizes):
        raise OpValueError(f"{op}: output_size must be positive ints, got {output_size!r}")
    return sizes


def _adaptive_avg(nd, input, output_size):
    op = f"adaptive_avg_pool{nd}d"
    x, unbatched = spatial_input(op, input, nd)
    check_float(op, x)
    o = _output_size(op, output_size, nd, x)
    y = x
    for i in range(nd):  # averaging is separable: one dim at a time
        y = _adaptive_avg_dim(y, 2 + i, o[i])
    return y.squeeze(0) if unbatched else y


def _adaptive_avg_dim(x, axis, n_out):
    """x averaged over PyTorch's adaptive windows along ``axis`` (n_in -> n_out).

    Windows of equal size that tile the dim: a reshape and a mean. Otherwise every window
    is gathered at its own positions, padded to the widest with a zero cell appended to
    the dim (so a NaN/Inf stays within the windows that contain it: no dense matrix
    product, no cumulative sum, no 0 · Inf)."""
    from ..ops.resample import pad_constant
    from ..tensor import Tensor
    n_in = x.shape[axis]
    if n_in % n_out == 0:
        step = n_in // n_out
        return x.reshape(x.shape[:axis] + (n_out, step) + x.shape[axis + 1:]).mean(axis + 1)
    xp = x.xp
    start, end = _adaptive_bounds(xp, n_in, n_out)
    width = _adaptive_width(n_in, n_out)
    pos = start[:, None] + xp.arange(width)                        # (n_out, width)
    idx = xp.where(pos < end[:, None], pos, n_in)                  # n_in: the zero cell
    rest = x.ndim - axis - 1
    xz = pad_constant(x, before=(0,) * (rest + 1), after=(1,) + (0,) * rest, value=0.0)
    inv = (1.0 / (end - start)).astype(x.dtype).reshape((-1,) + (1,) * rest)
    win = xz[(slice(None),) * axis + (idx,)]                       # (..., n_out, width, ...)
    return win.sum(axis + 1) * Tensor._make(xp.ascontiguousarray(inv))


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length, windows as PyTorch."""
    return _adaptive_avg(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed (oh, ow) (None keeps that size), windows as PyTorch."""
    return _adaptive_avg(2, input, output_size)


def _adaptive_max(x, indices, overlap):
    return pool_gather(x, indices=indices, overlap=overlap)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed (oh, ow), windows as PyTorch; the gradient goes to the argmax."""
    op = "adaptive_max_pool2d"
    x, unbatched = spatial_input(op, input, 2)
    check_float(op, x)
    o = _output_size(op, output_size, 2, x)
    xp = x.xp
    h, w = x.shape[2:]
    rows, cols = [], []
    for n_in, n_out, dest in ((h, o[0], rows), (w, o[1], cols)):
        start, end = _adaptive_bounds(xp, n_in, n_out)
        width = _adaptive_width(n_in, n_out)
        # each window padded to the widest by repeating its last element (max unchanged)
        dest.append(xp.minimum(start[:, None] + xp.arange(width), end[:, None] - 1))
    r, c = rows[0], cols[0]
    win = x.array[:, :, r[:, None, :, None], c[None, :, None, :]]     # (n, c, oh, ow, kh, kw)
    win = win.reshape(win.shape[:4] + (win.shape[4] * win.shape[5],))  # -1 fails when n = 0
    tap = win.argmax(axis=-1)
    kw = c.shape[1]
    pos_h = r[xp.arange(o[0])[:, None], tap // kw]       # (n, c, oh, ow)
    pos_w = c[xp.arange(o[1])[None, :], tap % kw]
    idx = (pos_h * w + pos_w).astype("int64")
    y = _adaptive_max(x, indices=idx, overlap=True)
    if unbatched:
        y, idx = y.squeeze(0), idx[0]
    return (y, const(idx)) if return_indices else y
