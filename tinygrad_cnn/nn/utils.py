"""``nn.utils``: gradient clipping and flattening parameters to a vector (PyTorch's names,
signatures and return values). Gradients are changed in place (their versions bump)."""
from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


def _params(parameters, op):
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        ps = list(parameters)
    except TypeError:
        raise TypeError(f"{op}: expected a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for p in ps:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors, got a {type(p).__name__}")
    return ps


def _check_foreach(op, foreach):
    if foreach not in (None, True, False):
        raise TypeError(f"{op}: foreach must be None or a bool, got {foreach!r}")
    # foreach only picks PyTorch's batched kernels; the results are the same either way


def _norm(g, p):
    """The p-norm of one gradient array, as a 0-d array of its dtype."""
    xp, a = g.xp, g.array
    if p == math.inf:
        return xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
    if p == -math.inf:
        return xp.abs(a).min() if a.size else xp.zeros((), a.dtype)
    if p == 2:
        return xp.sqrt((a * a).sum())
    if p == 0:
        return (a != 0).sum().astype(a.dtype)
    return (xp.abs(a) ** p).sum() ** (1.0 / p)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so that their joint ``norm_type``-norm is at most
    ``max_norm`` (by max_norm / (norm + 1e-6), never above 1). Returns the norm before
    clipping as a 0-d tensor."""
    op = "clip_grad_norm_"
    _check_foreach(op, foreach)
    norm_type = float(norm_type)
    grads = [p.grad for p in _params(parameters, op) if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    first = grads[0]
    with first.backend.quiet_fp():  # inf/nan gradients propagate silently, as in PyTorch
        norms = [Tensor._make(_norm(g, norm_type)).to(device=first.device) for g in grads]
        stacked = Tensor._make(first.xp.stack([n.array for n in norms]))
        total = Tensor._make(_norm(stacked, norm_type))
    if error_if_nonfinite and not bool(first.xp.isfinite(total.array)):
        raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is "
                           "non-finite, so it cannot be clipped; set error_if_nonfinite=False "
                           "to clip anyway")
    # on the device, as PyTorch: reading the norm on the host would be a sync. In float64,
    # as the Python float this once was, so the CPU numbers are unchanged
    xp = first.xp
    with first.backend.quiet_fp():
        coef = xp.minimum(float(max_norm) / (total.array.astype(xp.float64) + 1e-6), 1.0)
    with no_grad(), first.backend.quiet_fp():
        for g in grads:
            c = coef if g.device == first.device else Tensor._make(coef).to(device=g.device).array
            # PyTorch multiplies even when coef == 1: a nan/inf norm spreads into the grads
            g._assign(g.array * c.astype(g.dtype))
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient into [-clip_value, clip_value] in place."""
    op = "clip_grad_value_"
    _check_foreach(op, foreach)
    v = float(clip_value)
    with no_grad():
        for p in _params(parameters, op):
            if p.grad is not None:
                p.grad._assign(p.grad.xp.clip(p.grad.array, -v, v))


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one (differentiable) vector."""
    from ..ops.shape import cat
    ps = _params(parameters, "parameters_to_vector")
    dev = ps[0].device if ps else None
    for p in ps:
        if p.device != dev:
            raise TypeError(f"parameters_to_vector: found parameters on {dev} and {p.device}")
    return cat([p.reshape(-1) for p in ps])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters (the inverse of
    parameters_to_vector)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    ps = _params(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in ps)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: vec of shape {vec.shape} does not hold the "
                         f"{total} parameter values")
    pointer = 0
    with no_grad():
        for p in ps:
            n = p.numel()
            p._assign(vec.array[pointer:pointer + n].reshape(p.shape))
            pointer += n


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]
