"""Normalisation (batch, instance, group, layer) and dropout, with torch.nn.functional's
signatures.

Notation: input (n, c, *d) — n samples, c channels, any number of spatial dims d. The
normalisations are composed of Tensor ops (mean, var, arithmetic), so their gradients (and
gradients of gradients) are the exact derivatives, batch statistics included. Running
statistics are buffers updated through ``Tensor._assign`` (the version bumps, as PyTorch).
"""
from __future__ import annotations

import numbers

from ..autograd.grad_mode import no_grad
from ..errors import OpValueError
from ..ops.elementwise import sqrt


def _affine(y, weight, bias, view):
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


def _update_running(op, running_mean, running_var, mean, var_unbiased, momentum):
    """running = (1 - momentum) · running + momentum · batch value, in place."""
    with no_grad():
        for buf, val in ((running_mean, mean), (running_var, var_unbiased)):
            if buf is None:
                continue
            if tuple(buf.shape) != tuple(val.shape):
                raise OpValueError(f"{op}: running statistics of shape {buf.shape} do not fit "
                                   f"the {val.shape[0]} channels of the input")
            arr = val.array.astype(buf.dtype, copy=False)
            buf._assign((1 - momentum) * buf.array + momentum * arr)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) of (n, c, *d) input.

    training: by the batch's mean and biased variance, updating the running statistics in
    place when given (running_var with the unbiased variance, as PyTorch); otherwise by the
    running ones. ``momentum`` is the weight of the new batch value (a float in [0, 1]).
    """
    if input.ndim < 2:
        raise OpValueError(f"batch_norm: expected input (n, c, *d), got shape {input.shape}")
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    view = (1, c) + (1,) * (input.ndim - 2)
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise OpValueError(f"batch_norm: {name} of shape {t.shape} does not fit input of "
                               f"shape {input.shape} ({c} channels)")
    if training:
        n = input.numel() // c
        if n <= 1:
            raise OpValueError(f"batch_norm: expected more than 1 value per channel when "
                               f"training, got input shape {input.shape}")
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, unbiased=False, keepdim=True)
        if running_mean is not None or running_var is not None:
            _update_running("batch_norm", running_mean, running_var, mean.detach().reshape(c),
                            var.detach().reshape(c) * (n / (n - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise OpValueError("batch_norm: running_mean and running_var are needed when not "
                               "training")
        mean, var = running_mean.reshape(view), running_var.reshape(view)
    return _affine((input - mean) / sqrt(var + eps), weight, bias, view)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) of (n, c, *d) over its spatial dims.

    With ``use_input_stats`` the instance statistics are used, and running statistics (if
    given) move towards their mean over the batch (the variance unbiased), as PyTorch;
    otherwise the running statistics normalise.
    """
    if input.ndim < 3:
        raise OpValueError(f"instance_norm: expected input (n, c, *d) with spatial dims, got "
                           f"shape {input.shape}")
    n, c = input.shape[:2]
    view = (1, c) + (1,) * (input.ndim - 2)
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    dims = tuple(range(2, input.ndim))
    m = input.numel() // (n * c)
    if m <= 1:
        raise OpValueError(f"instance_norm: expected more than 1 spatial element per channel "
                           f"when training, got input shape {input.shape}")
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, unbiased=False, keepdim=True)
    if running_mean is not None or running_var is not None:
        _update_running("instance_norm", running_mean, running_var,
                        mean.detach().reshape(n, c).mean(0),
                        (var.detach().reshape(n, c) * (m / (m - 1))).mean(0), momentum)
    return _affine((input - mean) / sqrt(var + eps), weight, bias, view)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise (n, c, *d) over each group of c / num_groups channels and the spatial dims
    (biased variance); weight and bias (c,) per channel."""
    if input.ndim < 2:
        raise OpValueError(f"group_norm: expected input (n, c, *d), got shape {input.shape}")
    n, c = input.shape[:2]
    if not isinstance(num_groups, numbers.Integral) or num_groups < 1 or c % num_groups:
        raise OpValueError(f"group_norm: num_groups={num_groups!r} must be a positive int "
                           f"dividing the {c} channels of input shape {input.shape}")
    g = input.reshape(n, int(num_groups), -1)
    mean = g.mean(2, keepdim=True)
    var = g.var(2, unbiased=False, keepdim=True)
    y = ((g - mean) / sqrt(var + eps)).reshape(input.shape)
    return _affine(y, weight, bias, (1, c) + (1,) * (input.ndim - 2))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims (which must equal it); weight and
    bias have shape normalized_shape."""
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else \
        tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or k > input.ndim:
        raise OpValueError(f"layer_norm: normalized_shape {shape} must be the trailing dims of "
                           f"the input, got input shape {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise OpValueError(f"layer_norm: {name} of shape {t.shape} should be {shape}")
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, unbiased=False, keepdim=True)
    y = (input - mean) / sqrt(var + eps)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def _check_p(op, p):
    if not 0.0 <= p <= 1.0:
        raise OpValueError(f"{op}: dropout probability has to be between 0 and 1, got {p}")


def _apply_mask(input, keep, p, inplace):
    from ..tensor import Tensor
    mask = Tensor._make((keep / (1 - p)).astype(input.dtype) if p < 1 else
                        input.xp.zeros(keep.shape, dtype=input.dtype))
    return input.mul_(mask) if inplace else input * mask


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (when training);
    ``inplace`` writes the result into ``input`` (which is returned)."""
    _check_p("dropout", p)
    if not training or p == 0:
        return input
    keep = input.backend.rng().random(input.shape) >= p
    return _apply_mask(input, keep, p, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (n, c, h, w) (or (c, h, w)) with probability p."""
    _check_p("dropout2d", p)
    if input.ndim not in (3, 4):
        raise OpValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {input.shape}")
    if not training or p == 0:
        return input
    keep = input.backend.rng().random(input.shape[:-2] + (1, 1)) >= p
    return _apply_mask(input, keep, p, inplace)
