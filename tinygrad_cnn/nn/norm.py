"""Normalisation layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, GroupNorm, LayerNorm, with
PyTorch's constructors, buffers (``num_batches_tracked`` included, so PyTorch state dicts load
with ``strict=True``) and momentum rules (``momentum=None``: cumulative moving average)."""
from __future__ import annotations

import numbers

from ..autograd.grad_mode import no_grad
from ..factories import ones, tensor, zeros
from ..functional import norm as FN
from .module import Module, Parameter



def _affine_parameters(module, affine, bias, n, device, dtype):
    """``weight`` (ones) and ``bias`` (zeros) of n features when affine, else both None (as
    torch's norm layers register them, so state_dict keys match)."""
    if affine:
        module.weight = Parameter(ones(n, device=device, dtype=dtype))
        if bias:
            module.bias = Parameter(zeros(n, device=device, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)

class _NormBase(Module):
    """Shared by batch and instance norm: affine parameters and the running statistics."""

    _ndims = (2, 3)      # accepted input ndims
    _default_affine = True
    _default_track = True

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=None,
                 track_running_stats=None, device=None, dtype=None, *, bias=True):
        super().__init__()
        affine = self._default_affine if affine is None else affine
        track = self._default_track if track_running_stats is None else track_running_stats
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, "
                             f"got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track
        _affine_parameters(self, affine, bias, num_features, device, dtype)
        if track:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean._assign(self.running_mean.xp.zeros((), self.running_mean.dtype))
                self.running_var._assign(self.running_var.xp.ones((), self.running_var.dtype))
                self.num_batches_tracked._assign(self.num_batches_tracked.xp.zeros((), "int64"))

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            from . import init
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, x):
        if x.ndim not in self._ndims:
            raise ValueError(f"{type(self).__name__}: expected a "
                             f"{' or '.join(map(str, self._ndims))}-D input, got shape {x.shape}")

    def _momentum(self):
        """The weight of this batch in the running averages; counts the batch (PyTorch)."""
        if not (self.training and self.track_running_stats):
            return 0.0 if self.momentum is None else self.momentum
        nbt = self.num_batches_tracked
        with no_grad():
            nbt._assign(nbt.array + 1)
        return 1.0 / float(nbt.item()) if self.momentum is None else self.momentum

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def forward(self, x):
        self._check_input(x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels, got "
                             f"input shape {x.shape}")
        momentum = self._momentum()
        use_batch = self.training or self.running_mean is None
        keep = not self.training or self.track_running_stats
        return FN.batch_norm(x, self.running_mean if keep else None,
                             self.running_var if keep else None, self.weight, self.bias,
                             use_batch, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over (n, c) or (n, c, l)."""
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (n, c, h, w)."""
    _ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (n, c, d, h, w)."""
    _ndims = (5,)


class _InstanceNorm(_NormBase):
    _default_affine = False
    _default_track = False

    def forward(self, x):
        self._check_input(x)
        unbatched = x.ndim == self._ndims[0]
        if unbatched:
            x = x.unsqueeze(0)
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels, got "
                             f"input shape {x.shape}")
        # PyTorch's instance norm never counts batches: momentum=None means 0 here
        momentum = 0.0 if self.momentum is None else self.momentum
        y = FN.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             self.training or not self.track_running_stats, momentum, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (n, c, l) or unbatched (c, l)."""
    _ndims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (n, c, h, w) or unbatched (c, h, w)."""
    _ndims = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (n, c, d, h, w) or unbatched (c, d, h, w)."""
    _ndims = (4, 5)


class GroupNorm(Module):
    """Normalise (n, c, *d) over groups of c / num_groups channels; per-channel affine."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _affine_parameters(self, affine, bias, num_channels, device, dtype)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input (n, {self.num_channels}, *), got shape "
                             f"{x.shape}")
        return FN.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims; elementwise affine."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else \
            tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(*shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return FN.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
]
