"""Unary elementwise math, activations, clamp and where.

Rules that are cheaper from the output (exp, tanh, sigmoid, sqrt) declare
list ``"y"`` in ``saves``: the engine hands the closure the output as a tensor that is still
connected to the graph, so the rule stays differentiable without a reference cycle.
"""
from __future__ import annotations

import operator

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

from .. import dtypes
from ..errors import OpTypeError, OpValueError
from .checks import check_float
from .op_registry import const as _const, register




def _float_input(x):
    """PyTorch computes float functions of integer tensors in the default float dtype."""
    if x.dtype.kind != "f":
        return x.array.astype(dtypes.default_float)
    return x.array


@register("neg", rule="gx = -gy", saves=())
def neg(x):
    """``-x``."""
    if x.dtype.kind == "b":
        raise OpTypeError(f"neg: negation of a bool tensor (shape {x.shape}) is not supported")
    return -x.array, lambda gy: -gy


@register("abs", rule="gx = gy * sign(x)", saves=("x",))
def abs(x):
    """``|x|``; the gradient at 0 is 0."""
    def backward(gy):
        return gy * _const(x.xp.sign(x.array))

    return x.xp.abs(x.array), backward


def _zero_grad(gy):
    # zeros, not gy * 0: an inf or NaN upstream gradient must not turn into NaN
    return _const(gy.xp.zeros(gy.shape, dtype=gy.dtype))


@register("sign", rule="gx = 0", saves=())
def sign(x):
    """-1, 0 or 1 elementwise; its gradient is zero (PyTorch's convention, also at 0)."""
    return x.xp.sign(x.array), _zero_grad


def _rounding(name, fn):
    @register(name, rule="gx = 0", saves=())
    def op(x):
        # integer tensors are already whole: PyTorch returns them unchanged (a copy)
        y = x.array.copy() if x.dtype.kind in "iub" else getattr(x.xp, fn)(x.array)
        return y, _zero_grad

    op.__doc__ = f"``{name}(x)`` elementwise; the gradient is zero, as in PyTorch."
    return op


floor = _rounding("floor", "floor")
ceil = _rounding("ceil", "ceil")
trunc = _rounding("trunc", "trunc")
_round = _rounding("round", "rint")  # half to even, as PyTorch


def round(x, decimals=0):
    """Round half to even (to ``decimals`` places), as ``torch.round``; zero gradient."""
    try:
        decimals = operator.index(decimals)
    except TypeError:
        raise OpTypeError(f"round: decimals must be an int, got {decimals!r}") from None
    if decimals == 0:
        return _round(x)
    scale = 10.0 ** decimals
    return _round(x * scale) / scale


@register("log1p", rule="gx = gy / (1 + x)", saves=("x",))
def log1p(x):
    """``log(1 + x)``, accurate for small ``x``."""
    with x.backend.quiet_fp():
        return x.xp.log1p(_float_input(x)), lambda gy: gy / (x + 1)


@register("expm1", rule="gx = gy * (y + 1)", saves_output=True, saves=())
def expm1(x):
    """``exp(x) - 1``, accurate for small ``x``."""
    return x.xp.expm1(_float_input(x)), lambda gy, y: gy * (y + 1)


@register("reciprocal", rule="gx = -gy * y**2", saves_output=True, saves=())
def reciprocal(x):
    """``1 / x`` (integer input gives the default float dtype, as PyTorch)."""
    with x.backend.quiet_fp():
        return 1 / _float_input(x), lambda gy, y: -gy * y * y


@register("rsqrt", rule="gx = -gy * y**3 / 2", saves_output=True, saves=())
def rsqrt(x):
    """``1 / sqrt(x)``."""
    with x.backend.quiet_fp():
        return 1 / x.xp.sqrt(_float_input(x)), lambda gy, y: gy * y * y * y * -0.5


def square(x):
    """``x * x``."""
    return x * x


@register("exp", rule="gx = gy * y", saves=("y",))
def exp(x):
    """``e**x``."""
    return x.xp.exp(_float_input(x)), lambda gy, y: gy * y


@register("log", rule="gx = gy / x", saves=("x",))
def log(x):
    """Natural logarithm (``-inf`` at 0, NaN below, as PyTorch)."""
    xp = x.xp
    with x.backend.quiet_fp():
        return xp.log(_float_input(x)), lambda gy: gy / x


@register("sqrt", rule="gx = gy / (2 * y)", saves=("y",))
def sqrt(x):
    """Square root."""
    xp = x.xp
    with x.backend.quiet_fp():
        return xp.sqrt(_float_input(x)), lambda gy, y: gy / (2 * y)


@register("sin", rule="gx = gy * cos(x)", saves=("x",))
def sin(x):
    """Sine."""
    return x.xp.sin(_float_input(x)), lambda gy: gy * cos(x)


@register("cos", rule="gx = -gy * sin(x)", saves=("x",))
def cos(x):
    """Cosine."""
    return x.xp.cos(_float_input(x)), lambda gy: -gy * sin(x)


@register("tanh", rule="gx = tanh_backward(gy, y) = gy * (1 - y**2)", saves=("y",))
def tanh(x):
    """Hyperbolic tangent."""
    return x.xp.tanh(_float_input(x)), tanh_backward


@register("tanh_backward", rule="gg = gy * (1 - t**2); gt = -2 * gy * g * t",
          saves=("t", "g for gt"))
def tanh_backward(g, t):
    """``g * (1 - t**2)`` as one op (t: tanh's output): tanh's backward costs one dispatch,
    not three."""
    def backward(gy):
        return (gy * (1 - t * t) if g.requires_grad else None,
                -2 * gy * g * t if t.requires_grad else None)

    ga, v = g.array, t.array
    return ga - ga * v * v, backward


@register("sigmoid", rule="gx = sigmoid_backward(gy, y) = gy * y * (1 - y)",
          saves=("y",))
def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""
    xp = x.xp
    v = _float_input(x)
    # exp of a non-positive number never overflows: pick the form per sign
    e = xp.exp(-xp.abs(v))
    y = xp.where(v >= 0, 1 / (1 + e), e / (1 + e)).astype(v.dtype, copy=False)
    return y, sigmoid_backward


@register("sigmoid_backward", rule="gg = gy * t * (1 - t); gt = gy * g * (1 - 2 * t)",
          saves=("t", "g for gt"))
def sigmoid_backward(g, t):
    """``g * t * (1 - t)`` as one op (t: sigmoid's output)."""
    def backward(gy):
        return (gy * t * (1 - t) if g.requires_grad else None,
                gy * g * (1 - 2 * t) if t.requires_grad else None)

    ga, v = g.array, t.array
    return ga * v * (1 - v), backward


@register("erf", rule="gx = gy * 2/sqrt(pi) * exp(-x**2)", saves=("x",))
def erf(x):
    """The error function (for exact GELU)."""
    def backward(gy):
        return gy * exp(-(x * x)) * 1.1283791670955126

    return x.backend.erf(_float_input(x)), backward


@register("relu", rule="gx = relu_backward(gy, x)", saves=("x",))
def relu(x):
    """``max(x, 0)``; the gradient at 0 is 0 (as PyTorch)."""
    def backward(gy):
        from .activation import relu_backward  # (activation imports this module)
        return relu_backward(gy, x)  # gy · (x > 0) in one kernel, twice differentiable

    return x.xp.maximum(x.array, 0).astype(x.dtype, copy=False), backward


@register("clamp", rule="gx = gy where min <= x <= max, else 0", saves=("x",))
def _clamp(x, *, min=None, max=None):
    xp = x.xp
    y = x.array
    if min is not None:
        y = xp.maximum(y, xp.asarray(min, dtype=x.dtype))
    if max is not None:
        y = xp.minimum(y, xp.asarray(max, dtype=x.dtype))

    def backward(gy):
        keep = xp.ones(x.shape, dtype=bool)
        if min is not None:
            keep &= x.array >= min
        if max is not None:
            keep &= x.array <= max
        return gy * _const(keep.astype(gy.dtype))

    return (y if y is not x.array else y.copy()), backward


def clamp(x, min=None, max=None):
    """Limit ``x`` to ``[min, max]`` (either may be None; not both)."""
    if min is None and max is None:
        raise OpValueError("clamp: at least one of min and max must be given")
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, (int, float)):
            raise OpTypeError(f"clamp: {name} must be a number, got {type(v).__name__}")
    return _clamp(x, min=min, max=max)


def where(condition, x0, x1):
    """``x0`` where ``condition`` else ``x1``; all three broadcast, x0/x1 promote."""
    Tensor = _tensor.Tensor
    from .op_registry import promote_operands
    if not isinstance(x0, Tensor) and not isinstance(x1, Tensor):
        if not isinstance(condition, Tensor):
            raise OpTypeError("where: expected at least one Tensor argument")
        x0 = Tensor._make(condition.xp.asarray(x0, dtype=dtypes.result_type(x0, x1)))
    x0, x1 = promote_operands("where", (x0, x1))
    if not isinstance(condition, Tensor):
        condition = Tensor(condition, device=x0.device)
    if condition.dtype.kind != "b":
        raise OpTypeError(f"where: condition must be a bool tensor, got {condition.dtype}")
    return _where(x0, x1, condition)


@register("where", rule="gx0 = gy where condition, else 0; gx1 = gy where not condition, else 0",
          saves=("condition",))
def _where(x0, x1, condition):
    # condition is the last input and gets no gradient (it is a bool tensor)
    xp = x0.xp
    c = condition.array

    def backward(gy):
        zero = _const(xp.zeros((), dtype=gy.dtype))
        cond = _const(c)
        return (_where(gy, zero, cond) if x0.requires_grad else None,
                _where(zero, gy, cond) if x1.requires_grad else None, None)

    return xp.where(c, x0.array, x1.array), backward


__all__ = ["neg", "abs", "sign", "exp", "log", "erf", "sqrt", "sin", "cos", "tanh", "sigmoid",
           "relu", "clamp", "where", "check_float", "floor", "ceil", "trunc", "round", "log1p",
           "expm1", "reciprocal", "rsqrt", "square"]
