"""``F.embedding``: rows of a weight table picked by integer indices (an indexing op, whose
gradient adds back into the picked rows)."""
from __future__ import annotations

from ..errors import OpTypeError, OpValueError
from ..ops import elementwise as _ew
from .activation import tensor_arg


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: ARG001
              scale_grad_by_freq=False, sparse=False):
    """``weight[input]``: indices (*) -> (*, embedding_dim). The ``padding_idx`` row gets no
    gradient. ``max_norm`` (PyTorch renormalises the weight rows in place),
    ``scale_grad_by_freq`` and ``sparse`` are refused (``norm_type`` only matters with
    ``max_norm``)."""
    tensor_arg("embedding", input)
    tensor_arg("embedding", weight, "weight")
    for name, val in (("max_norm", max_norm), ("scale_grad_by_freq", scale_grad_by_freq),
                      ("sparse", sparse)):
        if val:
            raise NotImplementedError(f"F.embedding: {name}={val!r} is not supported")
    if input.dtype.kind not in "iu":
        raise OpTypeError(f"F.embedding: expected integer indices (int64 or int32), got "
                          f"{input.dtype}")
    if weight.ndim != 2:
        raise OpValueError(f"F.embedding: weight must be 2-D, got shape {weight.shape}")
    n = weight.shape[0]
    if input.numel():
        lo, hi = int(input.array.min()), int(input.array.max())
        if lo < 0 or hi >= n:
            raise IndexError(f"F.embedding: index {lo if lo < 0 else hi} is out of range for "
                             f"a weight with {n} rows")
    y = weight[input]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise OpValueError(f"F.embedding: padding_idx {padding_idx} must be within "
                               f"num_embeddings ({n})")
        if weight.requires_grad:
            keep = (input != padding_idx % n).unsqueeze(-1)
            y = _ew.where(keep, y, y.detach())  # no gradient flows into the padding row
    return y
