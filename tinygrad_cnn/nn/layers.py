"""Linear, shape and embedding layers, dropout, and the loss modules (PyTorch's
constructors; activations live in activation.py, normalisations in norm.py)."""
from __future__ import annotations

import numbers

from .. import functional as F
from ..factories import empty
from ..functional import norm as FN
from ..ops import elementwise as _ew
from . import init
from .module import Module, Parameter


class Identity(Module):
    """Returns its input; takes (and ignores) any constructor arguments, as PyTorch."""

    def __init__(self, *args, **kwargs):  # noqa: ARG002  (torch's signature: ignored by design)
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features), PyTorch's init."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dim ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or list, got "
                            f"{type(unflattened_size).__name__}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        d = self.dim % x.ndim if -x.ndim <= self.dim < x.ndim else None
        if d is None:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for shape {x.shape}")
        return x.reshape(*x.shape[:d], *self.unflattened_size, *x.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _check_factor(op, r):
    if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
        raise ValueError(f"{op}: the factor must be a positive int, got {r!r}")
    return int(r)


class PixelShuffle(Module):
    """(*, c·r², h, w) -> (*, c, h·r, w·r): sub-pixel rearrangement (PyTorch's order)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = _check_factor("PixelShuffle", upscale_factor)

    def forward(self, x):
        r = self.upscale_factor
        if x.ndim < 3 or x.shape[-3] % (r * r):
            raise ValueError(f"PixelShuffle: expected (*, c·{r * r}, h, w) input, got shape "
                             f"{x.shape}")
        *b, c, h, w = x.shape
        k = len(b)
        y = x.reshape(*b, c // (r * r), r, r, h, w)
        y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
        return y.reshape(*b, c // (r * r), h * r, w * r)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, c, h·r, w·r) -> (*, c·r², h, w): the inverse of PixelShuffle."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = _check_factor("PixelUnshuffle", downscale_factor)

    def forward(self, x):
        r = self.downscale_factor
        if x.ndim < 3 or x.shape[-1] % r or x.shape[-2] % r:
            raise ValueError(f"PixelUnshuffle: expected (*, c, h·{r}, w·{r}) input, got shape "
                             f"{x.shape}")
        *b, c, h, w = x.shape
        k = len(b)
        y = x.reshape(*b, c, h // r, r, w // r, r)
        y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
        return y.reshape(*b, c * r * r, h // r, w // r)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class Embedding(Module):
    """A lookup table: integer indices (*) -> rows of weight (*, embedding_dim); weight is
    N(0, 1) with the ``padding_idx`` row zeroed and kept out of the gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        for name, val in (("max_norm", max_norm), ("scale_grad_by_freq", scale_grad_by_freq),
                          ("sparse", sparse)):
            if val:
                raise NotImplementedError(f"Embedding: {name}={val!r} is not supported")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings ({num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, device=device,
                                          dtype=dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            from ..autograd.grad_mode import no_grad
            with no_grad():
                self.weight.array[self.padding_idx] = 0
                self.weight._bump_version()

    def forward(self, input):
        if input.dtype.kind not in "iu":
            raise TypeError(f"Embedding: expected integer indices, got dtype {input.dtype}")
        y = self.weight[input]
        if self.padding_idx is not None and self.weight.requires_grad:
            keep = (input != self.padding_idx).unsqueeze(-1)
            y = _ew.where(keep, y, y.detach())  # no gradient flows into the padding row
        return y

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class Dropout(Module):
    """Zeroes elements with probability p while training (the rest scaled by 1/(1-p));
    the identity in eval mode. ``inplace`` writes into the input."""

    _fn = staticmethod(FN.dropout)

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return self._fn(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zeroes whole channels with probability p while training."""

    _fn = staticmethod(FN.dropout2d)


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce arguments, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        reduction = _legacy_reduction(size_average, reduce, reduction)
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # in the state dict, as PyTorch


class CrossEntropyLoss(_WeightedLoss):
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_WeightedLoss):
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class BCELoss(_WeightedLoss):
    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)
