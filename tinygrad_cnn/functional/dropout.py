"""Channel and alpha dropout, torch.nn.functional's: ``dropout1d``, ``dropout3d`` (whole
channels zeroed, as ``dropout2d``) and ``alpha_dropout`` (SELU-preserving). Masks come from
the backend generator (``tg.manual_seed``)."""
from __future__ import annotations

import math

from ..errors import OpValueError
from ..ops.op_registry import const as _const
from .activation import tensor_arg
from .norm import _apply_mask, _check_p


def _channel_dropout(op, input, p, training, inplace, spatial):
    tensor_arg(op, input)
    _check_p(op, p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise OpValueError(f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input "
                           f"((c, ...) or (n, c, ...)), got shape {input.shape}")
    if not training or p == 0:
        return input
    keep = input.backend.rng().random(input.shape[:-spatial] + (1,) * spatial) >= p
    return _apply_mask(input, keep, p, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (n, c, l) (or (c, l)) with probability p, scale by 1/(1-p)."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (n, c, d, h, w) (or (c, d, h, w)) with probability p."""
    return _channel_dropout("dropout3d", input, p, training, inplace, 3)


# -alpha' of SELU (scale * alpha): the value a dropped SELU unit saturates to
_ALPHA_PRIME = 1.7580993408473766


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps zero mean and unit variance (for SELU nets), PyTorch's rule: with
    ``a = 1 / sqrt((alpha'² p + 1)(1 - p))``, ``y = keep·a·x + (keep - 1)·a·alpha' + a·alpha'·p``
    (a dropped unit becomes the SELU saturation value, then the affine correction)."""
    tensor_arg("alpha_dropout", input)
    _check_p("alpha_dropout", p)
    if not training or p == 0:
        return input
    xp = input.xp
    if p == 1:
        zero = _const(xp.zeros((), dtype=input.dtype))
        return input.mul_(zero) if inplace else input * zero
    keep = (input.backend.rng().random(input.shape) >= p).astype(input.dtype)
    a = 1.0 / math.sqrt((_ALPHA_PRIME ** 2 * p + 1) * (1 - p))
    scale = _const(keep * a)
    shift = _const(((keep - 1) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p).astype(input.dtype))
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift
