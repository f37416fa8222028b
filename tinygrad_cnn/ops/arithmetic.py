"""Binary elementwise ops with NumPy broadcasting and PyTorch dtype promotion.

Broadcasting needs no code in the backward rules: each closure returns the gradient in the
broadcast output shape and the engine sums it back to the input's shape.
"""
from __future__ import annotations

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

from ..errors import OpRuntimeError, OpTypeError, OpValueError
from .checks import device_check
from .op_registry import const as _const, register


def _check_integer_divisor(op, x0, x1):
    """Integer division by zero has no value to return: PyTorch raises, and so do we."""
    if x1.dtype.kind in "iub":  # the test on the device: raised at the next sync there
        device_check(x1.array.all(), f"{op}: ZeroDivisionError: integer division by zero "
                     f"(dividend shape {x0.shape}, divisor shape {x1.shape}, dtype {x1.dtype})",
                     OpRuntimeError)

@register("add", rule="gx0 = gy; gx1 = gy", promote=True, saves=())
def add(x0, x1):
    """Elementwise ``x0 + x1``; shapes broadcast."""
    return x0.array + x1.array, _add_backward


def _add_backward(gy):
    return gy, gy


@register("sub", rule="gx0 = gy; gx1 = -gy", promote=True, saves=())
def sub(x0, x1):
    """Elementwise ``x0 - x1``; shapes broadcast."""
    if x0.dtype.kind == "b":
        raise OpTypeError(f"sub: subtraction of bool tensors is not supported (shapes "
                          f"{x0.shape}, {x1.shape}); use logical_xor or cast to int")

    def backward(gy):
        return gy, -gy if x1.requires_grad else None

    return x0.array - x1.array, backward


@register("mul", rule="gx0 = gy * x1; gx1 = gy * x0", promote=True,
          saves=("x1 for gx0", "x0 for gx1"))
def mul(x0, x1):
    """Elementwise ``x0 * x1``; shapes broadcast."""
    def backward(gy):
        return (gy * x1 if x0.requires_grad else None,
                gy * x0 if x1.requires_grad else None)

    return x0.array * x1.array, backward


def div(x0, x1):
    """True division ``x0 / x1``: integer inputs give a float32 result, as in PyTorch."""
    Tensor = _tensor.Tensor
    from .. import dtypes
    dt = dtypes.result_type(x0, x1)
    if dt.kind != "f":
        x0 = x0.to(dtype=dtypes.default_float) if isinstance(x0, Tensor) else float(x0)
    return _div(x0, x1)


@register("div", rule="gx0 = gy / x1; gx1 = -gy * x0 / x1**2", promote=True,
          saves=("x1", "x0 for gx1"))
def _div(x0, x1):
    def backward(gy):
        gx0 = gy / x1
        return (gx0 if x0.requires_grad else None,
                -gx0 * x0 / x1 if x1.requires_grad else None)

    with x0.backend.quiet_fp():
        return x0.array / x1.array, backward


@register("floor_divide", rule="not differentiable (piecewise constant)", promote=True,
          differentiable=False, saves=())
def floor_divide(x0, x1):
    """``x0 // x1`` rounding toward minus infinity (as Python and PyTorch)."""
    xp = x0.xp
    _check_integer_divisor("floor_divide", x0, x1)
    with x0.backend.quiet_fp():
        return xp.floor_divide(x0.array, x1.array), None


@register("remainder", rule="gx0 = gy; gx1 = -gy * floor_divide(x0, x1)", promote=True,
          saves=("x0 for gx1", "x1 for gx1"))
def remainder(x0, x1):
    """``x0 % x1`` with the sign of the divisor (Python's and PyTorch's convention)."""
    xp = x0.xp
    _check_integer_divisor("remainder", x0, x1)

    def backward(gy):
        q = _const(xp.floor_divide(x0.array, x1.array))
        return gy, (-gy * q if x1.requires_grad else None)

    with x0.backend.quiet_fp():
        return xp.remainder(x0.array, x1.array), backward


@register("pow", rule="gx0 = gy * x1 * x0**(x1-1) (0 where x1 == 0); "
                      "gx1 = gy * y * log(x0) (0 where x0 == 0 and x1 >= 0)", promote=True,
          saves=("x0", "x1"))
def pow(x0, x1):
    """Elementwise ``x0 ** x1``; shapes broadcast."""
    from .elementwise import log, where
    xp = x0.xp
    if x0.dtype.kind in "iu" and x1.dtype.kind in "iu":
        device_check(~(x1.array < 0).any(), "pow: integers to negative integer powers are not "
                     f"allowed (shapes {x0.shape}, {x1.shape})", OpValueError)

    def backward(gy):
        gx0 = gx1 = None
        if x0.requires_grad:
            zero = _const(x1.array == 0)
            gx0 = where(zero, 0.0, gy * x1 * x0 ** (x1 - 1))
        if x1.requires_grad:
            mask = _const((x0.array == 0) & (x1.array >= 0))
            gx1 = where(mask, 0.0, gy * x0 ** x1 * log(x0))
        return gx0, gx1

    with x0.backend.quiet_fp():
        return xp.power(x0.array, x1.array), backward


@register("maximum", rule="gx0 = gy * ((x0 > x1) + (x0 == x1) / 2); "
                         "gx1 = gy * ((x1 > x0) + (x0 == x1) / 2)", promote=True,
          saves=("x0", "x1"))
def maximum(x0, x1):
    """Elementwise maximum (NaN propagates); shapes broadcast. gy goes to the larger input,
    a tie splits it in half (PyTorch)."""
    return _minmax_forward(x0, x1, x0.xp.maximum, lambda a, b: a > b)


@register("minimum", rule="gx0 = gy * ((x0 < x1) + (x0 == x1) / 2); "
                         "gx1 = gy * ((x1 < x0) + (x0 == x1) / 2)", promote=True,
          saves=("x0", "x1"))
def minimum(x0, x1):
    """Elementwise minimum (NaN propagates); shapes broadcast. gy goes to the smaller input,
    a tie splits it in half (PyTorch)."""
    return _minmax_forward(x0, x1, x0.xp.minimum, lambda a, b: a < b)


def _minmax_forward(x0, x1, fn, wins):
    def backward(gy):
        a, b = x0.array, x1.array
        dt = gy.dtype
        # the winner takes gy, a tie splits it in half (PyTorch's rule)
        w0 = wins(a, b) + 0.5 * (a == b)
        w1 = wins(b, a) + 0.5 * (a == b)
        return (gy * _const(w0.astype(dt)) if x0.requires_grad else None,
                gy * _const(w1.astype(dt)) if x1.requires_grad else None)

    return fn(x0.array, x1.array), backward


def _comparison(name, ufunc):
    @register(name, rule="not differentiable (bool result)", promote=True, differentiable=False,
              saves=())
    def compare(x0, x1):
        return getattr(x0.xp, ufunc)(x0.array, x1.array), None

    compare.__doc__ = f"Elementwise ``{name}`` comparison; returns a bool tensor."
    return compare


eq = _comparison("eq", "equal")
ne = _comparison("ne", "not_equal")
lt = _comparison("lt", "less")
le = _comparison("le", "less_equal")
gt = _comparison("gt", "greater")
ge = _comparison("ge", "greater_equal")


@register("isclose", rule="not differentiable (bool result)", promote=True,
          differentiable=False, saves=())
def _isclose(x0, x1, *, rtol=1e-05, atol=1e-08, equal_nan=False):
    return x0.xp.isclose(x0.array, x1.array, rtol=rtol, atol=atol, equal_nan=equal_nan), None


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|`` elementwise (a bool tensor), as PyTorch."""
    for name, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise OpValueError(f"isclose: {name} must be a non-negative number, got {v!r}")
    return _isclose(input, other, rtol=float(rtol), atol=float(atol), equal_nan=bool(equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element of ``input`` is close to ``other`` (see ``isclose``)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())
