"""``prod`` over ``dim`` and its exact derivatives when the input has zeros.

Notation as in :mod:`.reduce`: ``dims`` are the reduced dims; a *group* is the set of
elements reduced into one output; ``P`` its product. Without zeros the rules divide by ``x``
(``gx = gy * P / x``); with zeros they never divide by one: ``prod_others`` uses exclusive
cumulative products and its own backward goes case by case on the zeros in each group.
"""
from __future__ import annotations

from ..errors import OpRuntimeError
from .checks import device_check, on_host
from .op_registry import register
from .reduce import _dims, _grad_like_x, _sum


@register("prod", rule="gx = expand(gy) * prod_others(x, dims)", saves=("x",))
def _prod(x, *, dims, keepdim):
    xp = x.xp

    def backward(gy):
        g = _grad_like_x(gy, x, dims, keepdim)
        # the zero test only on the host: on a device it would be a sync, and prod_others
        # is exact (and differentiable) with or without zeros
        if x.array.size == 0:
            return g  # no elements, nothing to differentiate (and no groups to scan)
        if on_host(x.array) and not (x.array == 0).any():
            y = _prod(x, dims=dims, keepdim=True)
            return g * y / x
        return g * _prod_others(x, dims=dims)

    return xp.prod(x.array, axis=dims, keepdims=keepdim), backward


def _grouped(x, arr, dims):
    """``arr`` (x's shape) with the reduced dims moved last and flattened: (…, n); and the
    function that puts such an array back in x's layout."""
    xp = x.xp
    keep = [d for d in range(x.ndim) if d not in dims]
    perm = keep + list(dims)
    a = xp.transpose(arr, perm)
    inv = [perm.index(i) for i in range(x.ndim)]
    return (a.reshape(a.shape[:len(keep)] + (-1,)),
            lambda flat: xp.transpose(flat.reshape(a.shape), inv))


@register("prod_others", rule="gx = prod_others_backward(gy, x)", saves=("x",))
def _prod_others(x, *, dims):
    """Product of all other elements of each reduced group (exact with zeros)."""
    xp = x.xp
    flat, restore = _grouped(x, x.array, dims)
    # exclusive cumulative products from the left and from the right
    ones = xp.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]

    def backward(gy):
        # the closed form, differentiable to any order (host only: the test is a sync)
        if on_host(x.array) and not (x.array == 0).any():
            r = gy / x
            return _prod(x, dims=dims, keepdim=True) / x * (_sum(r, dims=dims, keepdim=True) - r)
        return _prod_others_backward(gy, x, dims=dims)

    return restore(left * right), backward


@register("prod_others_backward",
          rule="gg = prod_others_backward(gy, x); gx = prod_others(x, dims) * ((sum(gy / x, dims) "
               "- gy / x) * (sum(g / x, dims) - g / x) - sum(gy * g / x**2, dims) + gy * g / x**2)",
          saves=("x", "g for gx"))
def _prod_others_backward(g, x, *, dims):
    """``gx_j = sum_{i != j} g_i * prod_{k != i, j} x_k`` per group, by the number of zeros
    in the group (0, 1, 2, more): exact with zeros, no division by one. Its own backward is
    itself in g (a symmetric linear map); in x (prod's third derivative) it is refused when
    x has zeros."""
    xp = x.xp
    a, restore = _grouped(x, x.array, dims)
    gr, _ = _grouped(x, g.array, dims)
    zero = a == 0
    zc = zero.sum(axis=-1, keepdims=True)
    safe = xp.where(zero, 1, a)
    q = xp.prod(safe, axis=-1, keepdims=True)  # the product of the non-zero elements
    t = xp.where(zero, 0, gr / safe).sum(axis=-1, keepdims=True)
    gz = xp.where(zero, gr, 0).sum(axis=-1, keepdims=True)  # g summed over the zeros
    no_zero = q / safe * (t - gr / safe)
    one_zero = xp.where(zero, q * t, gz * q / safe)
    two_zeros = xp.where(zero, (gz - gr) * q, 0)
    out = xp.where(zc == 0, no_zero, xp.where(zc == 1, one_zero,
                                              xp.where(zc == 2, two_zeros, 0)))

    def backward(gy):
        # linear in g with a symmetric matrix: its adjoint is itself
        gg = _prod_others_backward(gy, x, dims=dims) if g.requires_grad else None
        return gg, (_prod_third(gy, g, x, dims) if x.requires_grad else None)

    return restore(out.astype(a.dtype, copy=False)), backward


def _prod_third(gw, gy, x, dims):
    """d/dx_m of ``sum_j gw_j gx_j`` = ``P / x_m * (W'G' - C')`` where W', G' and C' are the
    sums of gw/x, gy/x and gw gy / x**2 over the group without m (no zeros only). Called
    with gw the output gradient of prod_others_backward and gy its input g."""
    device_check(~(x.array == 0).any(), "prod: the third derivative of prod is not "
                 f"implemented for inputs containing zeros (shape {x.shape})", OpRuntimeError)
    rw, rg = gw / x, gy / x

    def others(t):
        return _sum(t, dims=dims, keepdim=True) - t

    return _prod(x, dims=dims, keepdim=True) / x * (others(rw) * others(rg) - others(rw * rg))


def prod(x, dim=None, keepdim=False):
    """Product over ``dim`` (one int or None, as PyTorch)."""
    dims = _dims("prod", dim, x)
    return _prod(x, dims=dims, keepdim=keepdim)
