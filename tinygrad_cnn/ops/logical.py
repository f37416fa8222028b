"""Predicates and logic: ``isnan``, ``isinf``, ``isfinite``, ``logical_and/or/xor/not``,
``any``/``all`` (bool tensors, as PyTorch), and index queries ``nonzero``/``argwhere``/``unique``.

None of these is differentiable: their results are bool or integer tensors that never enter
the graph (a bool result has no gradient to carry; indices are piecewise constant).
"""
from __future__ import annotations

import importlib

from .. import dtypes
from ..errors import OpTypeError, OpValueError
from .checks import canonical_dims
from .op_registry import register

# the module, looked up at call time (import cycle); `from .. import tensor` would give the
# tg.tensor factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)

_BOOL = "not differentiable (bool result)"


def _predicate(name, fn):
    @register(name, rule=_BOOL, differentiable=False, saves=())
    def op(x):
        return fn(x.xp, x.array), None

    op.__doc__ = f"``{name}(x)`` elementwise: a bool tensor of x's shape (integers: all " \
                 f"{'True' if name == 'isfinite' else 'False'})."
    return op


def _float_or_int(xp, a, f, default):
    # NumPy's isnan/isinf refuse nothing numeric, but bool needs a cast first
    return f(a) if a.dtype.kind == "f" else xp.full(a.shape, default, dtype=dtypes.bool_)


isnan = _predicate("isnan", lambda xp, a: _float_or_int(xp, a, xp.isnan, False))
isinf = _predicate("isinf", lambda xp, a: _float_or_int(xp, a, xp.isinf, False))
isfinite = _predicate("isfinite", lambda xp, a: _float_or_int(xp, a, xp.isfinite, True))


@register("logical_not", rule=_BOOL, differentiable=False, saves=())
def logical_not(x):
    """``not x`` elementwise (nonzero counts as True): a bool tensor."""
    return x.xp.logical_not(x.array), None


def _logical(name, ufunc):
    @register(name, rule=_BOOL, differentiable=False, saves=())
    def op(x0, x1):
        return getattr(x0.xp, ufunc)(x0.array, x1.array), None

    op.__doc__ = f"Elementwise ``{name}`` of two broadcast tensors (nonzero is True): a " \
                 "bool tensor."
    return op


logical_and = _logical("logical_and", "logical_and")
logical_or = _logical("logical_or", "logical_or")
logical_xor = _logical("logical_xor", "logical_xor")


def _truth_reduction(name, fn):
    @register(name, rule=_BOOL, differentiable=False, saves=())
    def op(x, *, dim=None, keepdim=False):
        axes = None if dim is None else canonical_dims(name, dim, x.ndim, x.shape)
        y = getattr(x.xp, fn)(x.array, axis=axes, keepdims=bool(keepdim))
        # PyTorch keeps uint8 for uint8 input (a legacy of its byte masks), else bool
        return x.xp.asarray(y, dtype=dtypes.uint8 if x.dtype == dtypes.uint8 else
                            dtypes.bool_), None

    return op


_any = _truth_reduction("any", "any")
_all = _truth_reduction("all", "all")


def _check_tensor(name, x):
    if not isinstance(x, _tensor.Tensor):
        raise OpTypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    return x


def _check_keepdim(name, keepdim):
    if not isinstance(keepdim, bool):
        raise OpTypeError(f"{name}: keepdim must be a bool, got {keepdim!r}")


def any(input, dim=None, keepdim=False):
    """True where any element (along ``dim``: int, tuple or None for all) is nonzero; a bool
    tensor (0-d for ``dim=None``), as ``torch.any``."""
    _check_tensor("any", input)
    _check_keepdim("any", keepdim)
    return _any(input, dim=dim, keepdim=keepdim)


def all(input, dim=None, keepdim=False):
    """True where every element (along ``dim``) is nonzero; a bool tensor, as ``torch.all``."""
    _check_tensor("all", input)
    _check_keepdim("all", keepdim)
    return _all(input, dim=dim, keepdim=keepdim)


def nonzero(input, *, as_tuple=False):
    """Indices of the nonzero elements: an int64 ``(count, ndim)`` tensor, or with
    ``as_tuple=True`` one int64 ``(count,)`` tensor per dim (a 0-d input counts as 1-d)."""
    _check_tensor("nonzero", input)
    if not isinstance(as_tuple, bool):
        raise OpTypeError(f"nonzero: as_tuple must be a bool, got {as_tuple!r}")
    xp, a = input.xp, input.array
    Tensor = _tensor.Tensor
    if as_tuple:
        idx = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
        return tuple(Tensor._make(i.astype(dtypes.int64)) for i in idx)
    return Tensor._make(xp.argwhere(a).astype(dtypes.int64))  # (count, ndim), 0-d too


def argwhere(input):
    """``nonzero(input)``: the ``(count, ndim)`` int64 indices of the nonzero elements."""
    _check_tensor("argwhere", input)
    return nonzero(input)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of ``input`` (flattened, or the distinct slices along ``dim``),
    ascending, as ``torch.unique``; optionally with ``inverse`` (where each input element
    went, input's shape, or ``(input.shape[dim],)``) and ``counts``.

    ``sorted=False`` is honoured as PyTorch allows: the order is then unspecified, and the
    one given here is ascending too. Not differentiable (the values are detached).
    """
    _check_tensor("unique", input)
    for name, v in (("sorted", sorted), ("return_inverse", return_inverse),
                    ("return_counts", return_counts)):
        if not isinstance(v, bool):
            raise OpTypeError(f"unique: {name} must be a bool, got {v!r}")
    xp, a = input.xp, input.array
    axis = None
    if dim is not None:
        axis = canonical_dims("unique", dim, input.ndim, input.shape)
        if len(axis) != 1:
            raise OpValueError(f"unique: dim must be one int, got {dim!r}")
        axis = axis[0]
    vals, inv, counts = xp.unique(a, return_inverse=True, return_counts=True, axis=axis)
    Tensor = _tensor.Tensor
    inv = inv.reshape(a.shape if axis is None else (a.shape[axis],)).astype(dtypes.int64)
    out = [Tensor._make(vals)]
    if return_inverse:
        out.append(Tensor._make(inv))
    if return_counts:
        out.append(Tensor._make(counts.astype(dtypes.int64)))
    return out[0] if len(out) == 1 else tuple(out)
