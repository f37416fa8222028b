"""batch_norm, dropout and dropout2d, with torch.nn.functional's signatures."""
from __future__ import annotations

from ..errors import OpValueError
from ..ops.elementwise import sqrt


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) of (n, c, *d) input.

    training: by the batch's mean and biased variance, updating the running statistics in
    place (running_var with the unbiased variance, as PyTorch); otherwise by the running ones.
    """
    from ..autograd.grad_mode import no_grad
    if input.ndim < 2:
        raise OpValueError(f"batch_norm: expected input (n, c, *d), got shape {input.shape}")
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    view = (1, c) + (1,) * (input.ndim - 2)
    if training:
        n = input.numel() // c
        if n <= 1:
            raise OpValueError(f"batch_norm: expected more than 1 value per channel when "
                               f"training, got input shape {input.shape}")
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, unbiased=False, keepdim=True)
        if running_mean is not None:
            with no_grad():
                m = momentum
                running_mean.array = (1 - m) * running_mean.array + m * mean.array.reshape(c)
                running_var.array = (1 - m) * running_var.array + \
                    m * var.array.reshape(c) * (n / (n - 1))
    else:
        if running_mean is None or running_var is None:
            raise OpValueError("batch_norm: running_mean and running_var are needed when not "
                               "training")
        mean, var = running_mean.reshape(view), running_var.reshape(view)
    y = (input - mean) / sqrt(var + eps)
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


def _check_p(op, p):
    if not 0.0 <= p <= 1.0:
        raise OpValueError(f"{op}: dropout probability has to be between 0 and 1, got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (when training)."""
    from ..tensor import Tensor
    _check_p("dropout", p)
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    keep = input.backend.rng().random(input.shape) >= p
    return input * Tensor._make((keep / (1 - p)).astype(input.dtype))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (n, c, h, w) (or (c, h, w)) with probability p."""
    from ..tensor import Tensor
    _check_p("dropout2d", p)
    if not training or p == 0:
        return input
    mask_shape = input.shape[:-2] + (1, 1)
    keep = input.backend.rng().random(mask_shape) >= p
    return input * Tensor._make((keep / (1 - p)).astype(input.dtype))
