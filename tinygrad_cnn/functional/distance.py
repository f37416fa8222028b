"""Norms and similarities between vectors, torch.nn.functional's: ``normalize``,
``cosine_similarity``, ``pairwise_distance``, composed of ``norm`` and elementwise ops.
"""
from __future__ import annotations

from ..errors import OpValueError
from ..ops import elementwise as _ew
from ..ops import shape as _sh
from ..ops.checks import broadcast_shapes, canonical_dim
from ..ops.norm import norm
from ..ops.op_registry import const as _const
from .activation import _number, tensor_arg


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p along dim, eps)`` (keeps the shape)."""
    tensor_arg("normalize", input)
    if out is not None:
        raise TypeError("F.normalize: out= is not supported; use the returned tensor")
    eps = _number("normalize", "eps", eps)
    denom = _ew.clamp(norm(input, p, dim, True), min=eps)
    return input / denom


def _clamped_norm(x, dim, eps):
    """``||x||_2`` along dim (kept) whose *value* is clamped below at eps while the gradient
    is the plain norm's: PyTorch clamps in place under no_grad."""
    n = norm(x, 2, dim, True)
    raw = n.array
    return n + _const(x.xp.maximum(raw, eps) - raw)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps), dim)``, PyTorch's (2.x) form:
    each input is divided by its own norm first, which keeps the result in [-1, 1]."""
    tensor_arg("cosine_similarity", x1, "x1")
    tensor_arg("cosine_similarity", x2, "x2")
    eps = _number("cosine_similarity", "eps", eps)
    shape = broadcast_shapes(x1.shape, x2.shape)
    if shape is None:
        raise OpValueError(f"F.cosine_similarity: shapes {x1.shape} and {x2.shape} do not "
                           "broadcast")
    x1, x2 = _sh.broadcast_to(x1, shape), _sh.broadcast_to(x2, shape)
    d = canonical_dim("cosine_similarity", dim, len(shape), shape)
    return ((x1 / _clamped_norm(x1, d, eps)) * (x2 / _clamped_norm(x2, d, eps))).sum(d)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dim (eps keeps the norm's gradient finite)."""
    tensor_arg("pairwise_distance", x1, "x1")
    tensor_arg("pairwise_distance", x2, "x2")
    ndim = max(x1.ndim, x2.ndim)
    if ndim == 0:
        raise OpValueError("F.pairwise_distance: inputs must have at least one dim")
    return norm(x1 - x2 + eps, p, ndim - 1, keepdim)
