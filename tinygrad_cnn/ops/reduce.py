"""Reductions over ``dim`` (None, an int, or a tuple) with ``keepdim``, as PyTorch.

Notation: ``dims`` is the sorted tuple of reduced dims; ``n`` the number of reduced elements.
Every backward first restores the reduced dims of ``gy`` (as size 1) and lets ``expand``
broadcast it back over ``x``.
"""
from __future__ import annotations

import math
from collections import namedtuple

from .. import dtypes
from ..errors import OpRuntimeError, OpTypeError
from .checks import canonical_dim, canonical_dims, check_float
from .op_registry import const as _const, register




def _dims(op, dim, x):
    """``dim`` as the sorted tuple of reduced dims; a 0-d tensor accepts 0 and -1 (PyTorch)
    and reduces over nothing (its one element)."""
    dims = canonical_dims(op, dim, x.ndim, x.shape)
    return () if x.ndim == 0 else dims


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
@register("sum", rule="gx = expand(gy, x.shape)", saves=())
def _sum(x, *, dims, keepdim):
    y = x.array.sum(axis=dims, keepdims=keepdim)
    if x.dtype.kind in "biu":
        y = y.astype(dtypes.int64, copy=False)  # integer sums are int64 in PyTorch
    return y, lambda gy: _grad_like_x(gy, x, dims, keepdim)


def sum(x, dim=None, keepdim=False):
    """Sum over ``dim``. ``(…)`` -> reduced shape."""
    return _sum(x, dims=_dims("sum", dim, x), keepdim=keepdim)


@register("mean", rule="gx = expand(gy) / n", saves=())
def _mean(x, *, dims, keepdim):
    n = _count(x.shape, dims)
    if n == 0:  # the mean of nothing is NaN (PyTorch), without NumPy's warning
        with x.backend.quiet_fp():
            y = x.array.sum(axis=dims, keepdims=keepdim) / x.xp.asarray(0, dtype=x.dtype)
    else:
        y = x.array.mean(axis=dims, keepdims=keepdim)
    return y, lambda gy: _grad_like_x(gy, x, dims, keepdim) / (n if n else math.nan)


def mean(x, dim=None, keepdim=False):
    """Mean over ``dim`` (floating tensors only, as PyTorch)."""
    check_float("mean", x)
    return _mean(x, dims=_dims("mean", dim, x), keepdim=keepdim)


# ---------------------------------------------------------------- var, std, logsumexp
def _correction(op, unbiased, correction):
    if correction is None:
        return 1 if unbiased else 0
    if unbiased is not True and unbiased is not None:
        raise OpTypeError(f"{op}: give either unbiased or correction, not both")
    return correction


def _dof(x, dims, correction):
    """``max(n - correction, 0)``: no degrees of freedom left gives inf/NaN, as PyTorch."""
    n = _count(x.shape, dims)
    return n - correction if n > correction else 0


@register("var", rule="gx = expand(gy) * 2 * (x - mean(x, dims)) / maximum(n - correction, 0)",
          saves=("x",))
def _var(x, *, dims, correction, keepdim):
    xp = x.xp
    dof = _dof(x, dims, correction)
    with x.backend.quiet_fp():
        d = x.array - _mean.forward(x, dims=dims, keepdim=True)[0]
        y = (d * d).sum(axis=dims, keepdims=keepdim) / xp.asarray(dof, dtype=x.dtype)

    def backward(gy):
        centred = x - _mean(x, dims=dims, keepdim=True)
        scale = 2.0 / dof if dof else math.inf  # 0/0 -> NaN as PyTorch, not ZeroDivisionError
        return _grad_like_x(gy, x, dims, keepdim) * centred * scale

    return xp.asarray(y, dtype=x.dtype), backward


def var(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's correction by default (``unbiased=True``)."""
    check_float("var", x)
    dims = _dims("var", dim, x)
    return _var(x, dims=dims, correction=_correction("var", unbiased, correction),
                keepdim=keepdim)


@register("std", rule="gx = expand(gy) * (x - mean(x)) / ((n - correction) * y), 0 where y == 0",
          saves_output=True, saves=("x",))
def _std(x, *, dims, correction, keepdim):
    xp = x.xp
    dof = _dof(x, dims, correction)
    v, _ = _var.forward(x, dims=dims, correction=correction, keepdim=keepdim)

    def backward(gy, y):
        from .elementwise import where
        centred = x - _mean(x, dims=dims, keepdim=True)
        if not dof:  # no degrees of freedom: NaN, as PyTorch
            return _grad_like_x(gy, x, dims, keepdim) * centred * math.inf
        # y == 0 (all equal): the subgradient 0, as PyTorch; a safe denominator keeps
        # the unused branch of where finite so higher derivatives stay finite too
        zero = _const(y.array == 0)
        scale = where(zero, 0.0, gy / (where(zero, 1.0, y) * dof))
        return _grad_like_x(scale, x, dims, keepdim) * centred

    return xp.sqrt(v), backward


def std(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Standard deviation over ``dim`` (Bessel-corrected by default)."""
    check_float("std", x)
    dims = _dims("std", dim, x)
    return _std(x, dims=dims, correction=_correction("std", unbiased, correction),
                keepdim=keepdim)


@register("logsumexp", rule="gx = expand(gy) * exp(x - y)", saves_output=True, saves=("x",))
def _logsumexp(x, *, dims, keepdim):
    xp = x.xp
    # an empty group has no max: shift it by 0 (its sum of exps is 0, so y = -inf)
    m = (x.array.max(axis=dims, keepdims=True) if x.array.size else
         xp.zeros(_kept_shape(x.shape, dims), dtype=x.dtype))
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
    return _logsumexp(x, dims=_dims("logsumexp", dim, x),
                      keepdim=keepdim)


# ---------------------------------------------------------------- max, min, arg*
@register("amax", rule="gx = expand(gy) * (x == expand(y)) / sum(x == expand(y), dims)",
          saves=("x",))
def _amax(x, *, dims, keepdim):
    """The maxima over ``dims``; tied maxima share the gradient evenly (PyTorch)."""
    return _extreme_evenly(x, dims, keepdim, x.xp.max)


@register("amin", rule="gx = expand(gy) * (x == expand(y)) / sum(x == expand(y), dims)",
          saves=("x",))
def _amin(x, *, dims, keepdim):
    """The minima over ``dims``; tied minima share the gradient evenly (PyTorch)."""
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
    dims = _dims(op, None if dim == () else dim, x)
    _check_nonempty(op, x, dims)
    return dims


@register("max_dim", rule="gx = gy where argmax(x) along dim, else 0", saves=())
def _max_dim(x, *, dim, keepdim):
    """The maxima along ``dim``; the gradient goes to the first maximum (argmax's)."""
    return _extreme_at_index(x, dim, keepdim, x.xp.argmax)


@register("min_dim", rule="gx = gy where argmin(x) along dim, else 0", saves=())
def _min_dim(x, *, dim, keepdim):
    """The minima along ``dim``; the gradient goes to the first minimum (argmin's)."""
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


class return_types:
    """PyTorch's named tuples: ``values`` and ``indices``, unpacking and ``[0]``/``[1]``."""

    max = namedtuple("max", ("values", "indices"))
    min = namedtuple("min", ("values", "indices"))


def _extreme(op, x, dim, keepdim, other_fn, all_fn, dim_fn, arg_fn):
    from ..tensor import Tensor
    if isinstance(dim, Tensor):  # tg.max(a, b): the elementwise maximum, as torch
        if keepdim:
            raise OpTypeError(f"{op}: keepdim is not an argument of the two-tensor {op}")
        return other_fn(x, dim)
    if dim is None:
        if keepdim:
            raise OpTypeError(f"{op}: keepdim=True needs a dim (max over all elements returns "
                              "one value)")
        _check_nonempty(op, x, tuple(range(x.ndim)))
        return all_fn(x, dims=tuple(range(x.ndim)), keepdim=False)
    d = canonical_dim(op, dim, x.ndim, x.shape)
    if x.ndim == 0:  # the lone element, at index 0
        return getattr(return_types, op)(x.clone(), _const(x.xp.zeros((), dtype=dtypes.int64)))
    _check_nonempty(op, x, (d,))
    return getattr(return_types, op)(dim_fn(x, dim=d, keepdim=keepdim),
                                     arg_fn(x, dim=d, keepdim=keepdim))


def max(x, dim=None, keepdim=False):
    """Max of all elements (a tensor; ties share the gradient), or along ``dim`` the named
    tuple ``(values, indices)`` (the gradient goes to the first maximum), as PyTorch.
    ``max(a, b)`` with a tensor ``b`` is ``maximum(a, b)``. (…) -> reduced shape."""
    from .arithmetic import maximum
    return _extreme("max", x, dim, keepdim, maximum, _amax, _max_dim, _argmax)


def min(x, dim=None, keepdim=False):
    """Min of all elements, or along ``dim`` the named tuple ``(values, indices)``;
    ``min(a, b)`` with a tensor ``b`` is ``minimum(a, b)``."""
    from .arithmetic import minimum
    return _extreme("min", x, dim, keepdim, minimum, _amin, _min_dim, _argmin)


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


def _arg_dim(op, x, dim):
    if dim is None:
        return None
    d = canonical_dim(op, dim, x.ndim, x.shape)  # 0-d: 0 or -1, then over the lone element
    return None if x.ndim == 0 else d


def argmax(x, dim=None, keepdim=False):
    """Index of the first maximum (of the flattened tensor when ``dim`` is None)."""
    d = _arg_dim("argmax", x, dim)
    _check_nonempty("argmax", x, tuple(range(x.ndim)) if d is None else (d,))
    return _argmax(x, dim=d, keepdim=keepdim)


def argmin(x, dim=None, keepdim=False):
    """Index of the first minimum (of the flattened tensor when ``dim`` is None)."""
    d = _arg_dim("argmin", x, dim)
    _check_nonempty("argmin", x, tuple(range(x.ndim)) if d is None else (d,))
    return _argmin(x, dim=d, keepdim=keepdim)


from .prod import prod  # noqa: E402,F401  (prod lives apart, and imports this module)
