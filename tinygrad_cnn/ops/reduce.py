"""Reductions over ``dim`` (None, an int, or a tuple) with ``keepdim``, as PyTorch.

Notation: ``dims`` is the sorted tuple of reduced dims; ``n`` the number of reduced elements.
Every backward first restores the reduced dims of ``gy`` (as size 1) and lets ``expand``
broadcast it back over ``x``.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..errors import OpRuntimeError, OpTypeError
from .checks import canonical_dim, canonical_dims, check_float
from .op_registry import const as _const, register




def _kept_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _grad_like_x(gy, x, dims, keepdim):
    """``gy`` with the reduced dims restored as size 1, expanded to ``x``'s shape."""
    from .shape import _expand, _reshape
    if not keepdim:
        gy = _reshape(gy, shape=_kept_shape(x.shape, dims))
    return gy if gy.shape == x.shape else _expand(gy, shape=x.shape)


def _count(shape, dims):
    return math.prod(shape[d] for d in dims)


def _check_nonempty(op, x, dims):
    if any(x.shape[d] == 0 for d in dims):
        raise OpRuntimeError(f"{op}: cannot reduce over an empty dimension (shape {x.shape}, "
                             f"dim {dims})")


# ---------------------------------------------------------------- sum, mean, prod
@register("sum", rule="gx = expand(gy) to x's shape", saves=())
def _sum(x, *, dims, keepdim):
    y = x.array.sum(axis=dims, keepdims=keepdim)
    if x.dtype.kind in "biu":
        y = y.astype(dtypes.int64, copy=False)  # integer sums are int64 in PyTorch
    return y, lambda gy: _grad_like_x(gy, x, dims, keepdim)


def sum(x, dim=None, keepdim=False):
    """Sum over ``dim``. ``(…)`` -> reduced shape."""
    return _sum(x, dims=canonical_dims("sum", dim, x.ndim, x.shape), keepdim=keepdim)


@register("mean", rule="gx = expand(gy) / n", saves=())
def _mean(x, *, dims, keepdim):
    n = _count(x.shape, dims)
    return x.array.mean(axis=dims, keepdims=keepdim), \
        lambda gy: _grad_like_x(gy, x, dims, keepdim) / n


def mean(x, dim=None, keepdim=False):
    """Mean over ``dim`` (floating tensors only, as PyTorch)."""
    check_float("mean", x)
    return _mean(x, dims=canonical_dims("mean", dim, x.ndim, x.shape), keepdim=keepdim)


@register("prod", rule="gx = expand(gy) * (product of the other elements)", saves=("x",))
def _prod(x, *, dims, keepdim):
    xp = x.xp

    def backward(gy):
        g = _grad_like_x(gy, x, dims, keepdim)
        if not (x.array == 0).any():
            y = _prod(x, dims=dims, keepdim=True)
            return g * y / x
        return g * _prod_others(x, dims=dims)

    return xp.prod(x.array, axis=dims, keepdims=keepdim), backward


@register("prod_others", rule="double backward not implemented when x has zeros", saves=("x",))
def _prod_others(x, *, dims):
    """Product of all other elements of each reduced group (exact with zeros)."""
    xp = x.xp
    # move the reduced dims last and flatten them, then use exclusive cumulative products
    keep = [d for d in range(x.ndim) if d not in dims]
    perm = keep + list(dims)
    a = xp.transpose(x.array, perm)
    flat = a.reshape(a.shape[:len(keep)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    out = (left * right).reshape(a.shape)
    inv = [perm.index(i) for i in range(x.ndim)]

    def backward(gy):
        raise OpRuntimeError("prod: the second derivative of prod is not implemented for "
                             f"inputs containing zeros (shape {x.shape})")

    return xp.transpose(out, inv), backward


def prod(x, dim=None, keepdim=False):
    """Product over ``dim`` (one int or None, as PyTorch)."""
    dims = canonical_dims("prod", dim, x.ndim, x.shape)
    return _prod(x, dims=dims, keepdim=keepdim)


# ---------------------------------------------------------------- var, std, logsumexp
def _correction(op, unbiased, correction):
    if correction is None:
        return 1 if unbiased else 0
    if unbiased is not True and unbiased is not None:
        raise OpTypeError(f"{op}: give either unbiased or correction, not both")
    return correction


@register("var", rule="gx = expand(gy) * 2 (x - mean(x)) / (n - correction)", saves=("x",))
def _var(x, *, dims, correction, keepdim):
    xp = x.xp
    n = _count(x.shape, dims)
    d = x.array - x.array.mean(axis=dims, keepdims=True)
    with x.backend.quiet_fp():
        y = (d * d).sum(axis=dims, keepdims=keepdim) / (n - correction if n > correction else 0)

    def backward(gy):
        centred = x - _mean(x, dims=dims, keepdim=True)
        return _grad_like_x(gy, x, dims, keepdim) * centred * (2.0 / (n - correction))

    return xp.asarray(y, dtype=x.dtype), backward


def var(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's correction by default (``unbiased=True``)."""
    check_float("var", x)
    dims = canonical_dims("var", dim, x.ndim, x.shape)
    return _var(x, dims=dims, correction=_correction("var", unbiased, correction),
                keepdim=keepdim)


@register("std", rule="gx = expand(gy) * (x - mean(x)) / ((n - correction) * y), 0 where y == 0",
          saves_output=True, saves=("x",))
def _std(x, *, dims, correction, keepdim):
    xp = x.xp
    n = _count(x.shape, dims)
    v, _ = _var.forward(x, dims=dims, correction=correction, keepdim=keepdim)

    def backward(gy, y):
        from .elementwise import where
        centred = x - _mean(x, dims=dims, keepdim=True)
        scale = where(_const(y.array == 0), 0.0, gy / (y * (n - correction)))
        return _grad_like_x(scale, x, dims, keepdim) * centred

    return xp.sqrt(v), backward


def std(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Standard deviation over ``dim`` (Bessel-corrected by default)."""
    check_float("std", x)
    dims = canonical_dims("std", dim, x.ndim, x.shape)
    return _std(x, dims=dims, correction=_correction("std", unbiased, correction),
                keepdim=keepdim)


@register("logsumexp", rule="gx = expand(gy) * exp(x - y)", saves_output=True, saves=("x",))
def _logsumexp(x, *, dims, keepdim):
    xp = x.xp
    m = x.array.max(axis=dims, keepdims=True) if x.size else xp.zeros(_kept_shape(x.shape, dims))
    m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or inf) groups: shift by 0, not by inf
    with x.backend.quiet_fp():
        y = xp.log(xp.exp(x.array - m).sum(axis=dims, keepdims=True)) + m

    def backward(gy, y):
        from .elementwise import exp
        from .shape import _reshape
        yk = y if keepdim else _reshape(y, shape=_kept_shape(x.shape, dims))
        return _grad_like_x(gy, x, dims, keepdim) * exp(x - yk)

    return (y if keepdim else y.reshape(_reduced_shape(x.shape, dims))), backward


def _reduced_shape(shape, dims):
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def logsumexp(x, dim, keepdim=False):
    """``log(sum(exp(x), dim))`` computed stably."""
    check_float("logsumexp", x)
    return _logsumexp(x, dims=canonical_dims("logsumexp", dim, x.ndim, x.shape),
                      keepdim=keepdim)


# ---------------------------------------------------------------- max, min, arg*
@register("amax", rule="gx = expand(gy) split evenly among the maxima of each group", saves=("x",))
def _amax(x, *, dims, keepdim):
    return _extreme_evenly(x, dims, keepdim, x.xp.max)


@register("amin", rule="gx = expand(gy) split evenly among the minima of each group", saves=("x",))
def _amin(x, *, dims, keepdim):
    return _extreme_evenly(x, dims, keepdim, x.xp.min)


def _extreme_evenly(x, dims, keepdim, fn):
    y = fn(x.array, axis=dims, keepdims=True)

    def backward(gy):
        # recomputed from x (which the node saved), not read from the output: the user may
        # have changed the output in place since
        hit = x.array == fn(x.array, axis=dims, keepdims=True)
        share = hit / hit.sum(axis=dims, keepdims=True)  # ties share the gradient (PyTorch)
        return _grad_like_x(gy, x, dims, keepdim) * _const(share.astype(gy.dtype))

    return (y if keepdim else y.reshape(_reduced_shape(x.shape, dims))), backward


def amax(x, dim=(), keepdim=False):
    """Maximum over ``dim`` (all dims when ``dim`` is empty or None); ties share the gradient."""
    return _amax(x, dims=_nonempty_dims("amax", x, dim), keepdim=keepdim)


def amin(x, dim=(), keepdim=False):
    """Minimum over ``dim``; ties share the gradient."""
    return _amin(x, dims=_nonempty_dims("amin", x, dim), keepdim=keepdim)


def _nonempty_dims(op, x, dim):
    dims = canonical_dims(op, None if dim == () else dim, x.ndim, x.shape)
    _check_nonempty(op, x, dims)
    return dims


@register("max_dim", rule="gx = gy at the first maximum of each row along dim, else 0", saves=())
def _max_dim(x, *, dim, keepdim):
    return _extreme_at_index(x, dim, keepdim, x.xp.argmax)


@register("min_dim", rule="gx = gy at the first minimum of each row along dim, else 0", saves=())
def _min_dim(x, *, dim, keepdim):
    return _extreme_at_index(x, dim, keepdim, x.xp.argmin)


def _extreme_at_index(x, dim, keepdim, argfn):
    xp = x.xp
    idx = xp.expand_dims(argfn(x.array, axis=dim), dim)
    y = xp.take_along_axis(x.array, idx, axis=dim)

    def backward(gy):
        positions = xp.arange(x.shape[dim]).reshape((-1,) + (1,) * (x.ndim - 1 - dim))
        onehot = (positions == idx).astype(gy.dtype)
        return _grad_like_x(gy, x, (dim,), keepdim) * _const(onehot)

    return (y if keepdim else xp.squeeze(y, axis=dim)), backward


def max(x, dim=None, keepdim=False):
    """Max of all elements, or along ``dim`` (returns the values; see ``argmax``).

    All-element max shares the gradient among ties; ``dim`` routes it to the first maximum.
    """
    if dim is None:
        _check_nonempty("max", x, tuple(range(x.ndim)))
        return _amax(x, dims=tuple(range(x.ndim)), keepdim=False)
    d = canonical_dim("max", dim, x.ndim, x.shape)
    _check_nonempty("max", x, (d,) if x.ndim else ())
    return _max_dim(x, dim=d if x.ndim else None, keepdim=keepdim) if x.ndim else x.clone()


def min(x, dim=None, keepdim=False):
    """Min of all elements, or along ``dim`` (returns the values; see ``argmin``)."""
    if dim is None:
        _check_nonempty("min", x, tuple(range(x.ndim)))
        return _amin(x, dims=tuple(range(x.ndim)), keepdim=False)
    d = canonical_dim("min", dim, x.ndim, x.shape)
    _check_nonempty("min", x, (d,) if x.ndim else ())
    return _min_dim(x, dim=d if x.ndim else None, keepdim=keepdim) if x.ndim else x.clone()


@register("argmax", rule="not differentiable (integer result)", differentiable=False, saves=())
def _argmax(x, *, dim, keepdim):
    return _arg(x, dim, keepdim, x.xp.argmax), None


@register("argmin", rule="not differentiable (integer result)", differentiable=False, saves=())
def _argmin(x, *, dim, keepdim):
    return _arg(x, dim, keepdim, x.xp.argmin), None


def _arg(x, dim, keepdim, fn):
    xp = x.xp
    if dim is None:
        i = fn(x.array.reshape(-1))
        return xp.asarray(i, dtype=dtypes.int64).reshape((1,) * x.ndim if keepdim else ())
    return fn(x.array, axis=dim, keepdims=keepdim).astype(dtypes.int64, copy=False)


def argmax(x, dim=None, keepdim=False):
    """Index of the first maximum (of the flattened tensor when ``dim`` is None)."""
    d = None if dim is None or x.ndim == 0 else canonical_dim("argmax", dim, x.ndim, x.shape)
    _check_nonempty("argmax", x, tuple(range(x.ndim)) if d is None else (d,))
    return _argmax(x, dim=d, keepdim=keepdim)


def argmin(x, dim=None, keepdim=False):
    """Index of the first minimum (of the flattened tensor when ``dim`` is None)."""
    d = None if dim is None or x.ndim == 0 else canonical_dim("argmin", dim, x.ndim, x.shape)
    _check_nonempty("argmin", x, tuple(range(x.ndim)) if d is None else (d,))
    return _argmin(x, dim=d, keepdim=keepdim)
