"""``F.conv{1,2,3}d`` and ``F.conv_transpose{1,2,3}d`` with torch.nn.functional's signatures.

Arguments are checked here, before any array work; the ops themselves live in
:mod:`tinygrad_cnn.ops.conv`.
"""
from __future__ import annotations

from ..errors import OpRuntimeError, OpTypeError, OpValueError
from ..ops.cnn_args import check_float, int_tuple, out_size, spatial_input
from ..ops.conv import CONV, CONV_TRANSPOSE
from ..ops.resample import pad_constant


def _check_weight(op, x, weight, bias, nd, groups, transposed):
    from ..tensor import Tensor
    if not isinstance(weight, Tensor):
        raise OpTypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    check_float(op, x)
    if weight.ndim != nd + 2:
        layout = "(c_in, c_out/groups, *k)" if transposed else "(c_out, c_in/groups, *k)"
        raise OpValueError(f"{op}: weight must be {nd + 2}-D {layout}, got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise OpValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c = x.shape[1]
    if transposed:
        if weight.shape[0] != c:
            raise OpValueError(f"{op}: input has {c} channels but weight {weight.shape} expects "
                               f"{weight.shape[0]} (weight.shape[0])")
        f = weight.shape[0]
    else:
        f = weight.shape[0]
        if weight.shape[1] * groups != c:
            raise OpValueError(f"{op}: input has {c} channels but weight {weight.shape} with "
                               f"groups={groups} expects {weight.shape[1] * groups} "
                               "(weight.shape[1] * groups)")
    if c % groups or f % groups:
        raise OpValueError(f"{op}: groups={groups} must divide the input channels ({c}) and the "
                           f"{'input' if transposed else 'output'} channels ({f})")
    if weight.dtype != x.dtype:
        raise OpRuntimeError(f"{op}: input dtype {x.dtype} and weight dtype {weight.dtype} must "
                             "be the same")
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise OpTypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
        n_out = weight.shape[1] * groups if transposed else weight.shape[0]
        if bias.shape != (n_out,):
            raise OpValueError(f"{op}: bias must have shape ({n_out},), got {bias.shape}")
        if bias.dtype != x.dtype:
            raise OpRuntimeError(f"{op}: input dtype {x.dtype} and bias dtype {bias.dtype} must "
                                 "be the same")


def _pads(op, padding, nd, k, st, d):
    """((before, after), ...) from an int, a tuple, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in st):
                raise OpValueError(f"{op}: padding='same' is not supported for strided "
                                   f"convolutions (stride={st})")
            # total d·(k-1); an odd total puts the extra element after, as PyTorch
            return tuple((dd * (kk - 1) // 2, dd * (kk - 1) - dd * (kk - 1) // 2)
                         for kk, dd in zip(k, d))
        raise OpValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got "
                           f"{padding!r}")
    p = int_tuple(op, "padding", padding, nd, minimum=0)
    return tuple((pp, pp) for pp in p)


def _conv(nd, input, weight, bias, stride, padding, dilation, groups):
    op = f"conv{nd}d"
    x, unbatched = spatial_input(op, input, nd)
    _check_weight(op, x, weight, bias, nd, groups, transposed=False)
    st = int_tuple(op, "stride", stride, nd, minimum=1)
    d = int_tuple(op, "dilation", dilation, nd, minimum=1)
    k = weight.shape[2:]
    pad = _pads(op, padding, nd, k, st, d)
    for si, ki, sti, (pb, pa), di in zip(x.shape[2:], k, st, pad, d):
        out_size(op, si, ki, sti, pb, pa, di)
    extra = (bias,) if bias is not None else ()
    y = CONV[nd](x, weight, *extra, stride=st, pad=pad, dilation=d, groups=groups)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation). input (n, c, l) or (c, l); weight (f, c/groups, k)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution. input (n, c, h, w) or (c, h, w); weight (f, c/groups, kh, kw);
    output (n, f, oh, ow) with o = floor((s + 2p - d(k-1) - 1) / stride) + 1.

    Backward (lecture notes): dX = conv_transpose2d(dY, W), the full convolution of the
    stride-upsampled dY with the flipped filter; dW = the correlation of X with dY.
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution. input (n, c, d, h, w) or unbatched; weight (f, c/groups, kd, kh, kw)."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    op = f"conv_transpose{nd}d"
    x, unbatched = spatial_input(op, input, nd)
    _check_weight(op, x, weight, bias, nd, groups, transposed=True)
    st = int_tuple(op, "stride", stride, nd, minimum=1)
    d = int_tuple(op, "dilation", dilation, nd, minimum=1)
    p = int_tuple(op, "padding", padding, nd, minimum=0)
    op_ = int_tuple(op, "output_padding", output_padding, nd, minimum=0)
    if any(a >= s and a >= dd for a, s, dd in zip(op_, st, d)):
        # PyTorch's rule: smaller than the stride or the dilation (either one suffices)
        raise OpValueError(f"{op}: output_padding {op_} must be smaller than either stride "
                           f"{st} or dilation {d}")
    k = weight.shape[2:]
    size = tuple((i - 1) * s - 2 * pp + dd * (kk - 1) + a + 1
                 for i, s, pp, dd, kk, a in zip(x.shape[2:], st, p, d, k, op_))
    if any(s <= 0 for s in size):
        raise OpValueError(f"{op}: output size {size} is not positive (input {x.shape}, "
                           f"padding {p}, stride {st})")
    more = tuple(a // s for a, s in zip(op_, st))
    if any(more):
        # output_padding ≥ stride (allowed when below the dilation): the conv over the output
        # then has more windows than x has positions. Zero-extend x so that every window has
        # its (zero) value; zeros add nothing, and the pad's backward crops the gradient.
        x = pad_constant(x, before=(0,) * nd, after=more, value=0.0)
    extra = (bias,) if bias is not None else ()
    y = CONV_TRANSPOSE[nd](x, weight, *extra, stride=st, pad=tuple((pp, pp) for pp in p),
                           dilation=d, groups=groups, size=size)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution; weight (c_in, c_out/groups, k)."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the gradient of conv2d in its input); weight
    (c_in, c_out/groups, kh, kw); output size (i-1)·stride - 2p + d(k-1) + output_padding + 1."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution; weight (c_in, c_out/groups, kd, kh, kw)."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)
