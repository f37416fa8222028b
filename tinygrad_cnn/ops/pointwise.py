"""More pointwise ops, PyTorch's: ``fmod`` (one registered op), and ``nan_to_num``, ``lerp``,
``addcmul``, ``addcdiv`` composed of existing ops (their gradients come from those ops).
"""
from __future__ import annotations

import importlib

from ..errors import OpRuntimeError, OpTypeError
from . import arithmetic as _ar
from . import elementwise as _ew
from .checks import device_check
from .op_registry import const as _const, register

# the module, looked up at call time (import cycle); `from .. import tensor` would give the
# tg.tensor factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)


@register("fmod", rule="gx0 = gy; gx1 = -gy * trunc(x0 / x1)", promote=True,
          saves=("x0 for gx1", "x1 for gx1"))
def fmod(x0, x1):
    """C's ``fmod``: ``x0 - trunc(x0 / x1) * x1``, the sign of the dividend (``remainder``
    takes the divisor's). Integer division by zero raises, as PyTorch."""
    xp = x0.xp
    if x0.dtype.kind in "iub":  # checked on the device, raised at the next sync there
        device_check(~(x1.array == 0).any(), f"fmod: integer division by zero (shapes "
                     f"{x0.shape}, {x1.shape})", OpRuntimeError)

    def backward(gy):
        # trunc(x0 / x1) is piecewise constant, so this rule is its own second derivative
        return gy, -gy * _const(xp.trunc(x0.array / x1.array).astype(gy.dtype))

    with x0.backend.quiet_fp():  # (a device's integer x % 0 is reported by the check above)
        return xp.fmod(x0.array, x1.array), backward


def _tensor_arg(op, t, name="input"):
    if not isinstance(t, _tensor.Tensor):
        raise OpTypeError(f"{op}: expected a Tensor for {name}, got {type(t).__name__}")
    return t


def _number(op, name, v, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise OpTypeError(f"{op}: {name} must be a number, got {v!r}")
    return v


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest value), -inf ->
    ``neginf`` (default: its lowest); the gradient is ``gy`` where ``input`` is finite, else 0
    (PyTorch's ``grad * isfinite(input)``)."""
    _tensor_arg("nan_to_num", input)
    nan = _number("nan_to_num", "nan", nan, allow_none=True)
    posinf = _number("nan_to_num", "posinf", posinf, allow_none=True)
    neginf = _number("nan_to_num", "neginf", neginf, allow_none=True)
    xp = input.xp
    if input.dtype.kind != "f":
        return input.clone()  # integers hold no NaN or inf
    fill = xp.nan_to_num(input.array, nan=0.0 if nan is None else nan, posinf=posinf,
                         neginf=neginf)
    finite = _const(xp.isfinite(input.array))
    return _ew.where(finite, input, _const(fill))


def lerp(input, end, weight):
    """``input + weight * (end - input)``, as ``torch.lerp`` (which switches to
    ``end - (end - input) * (1 - weight)`` for ``weight >= 0.5`` so ``weight = 1`` gives
    ``end`` exactly; so does this). ``weight``: a number or a tensor; all broadcast."""
    _tensor_arg("lerp", input)
    _tensor_arg("lerp", end, "end")
    if not isinstance(weight, _tensor.Tensor):
        _number("lerp", "weight", weight)
    for name, t in (("input", input), ("end", end)) + \
            ((("weight", weight),) if isinstance(weight, _tensor.Tensor) else ()):
        if t.dtype.kind != "f":
            raise OpTypeError(f"lerp: expected floating point tensors, got {name} of dtype "
                              f"{t.dtype} (shape {t.shape})")
    if input.dtype != end.dtype:
        raise OpTypeError(f"lerp: expected input and end of one dtype, got {input.dtype} "
                          f"and {end.dtype}")
    diff = end - input
    if not isinstance(weight, _tensor.Tensor):
        return input + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight)
    small = _const(weight.xp.abs(weight.array) < 0.5)
    return _ew.where(small, input + weight * diff, end - diff * (1 - weight))


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2`` (all broadcast)."""
    for name, t in (("input", input), ("tensor1", tensor1), ("tensor2", tensor2)):
        _tensor_arg("addcmul", t, name)
    _number("addcmul", "value", value)
    prod = _ar.mul(tensor1, tensor2)
    return _ar.add(input, prod if value == 1 else _ar.mul(prod, value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2`` (all broadcast; true division)."""
    for name, t in (("input", input), ("tensor1", tensor1), ("tensor2", tensor2)):
        _tensor_arg("addcdiv", t, name)
    _number("addcdiv", "value", value)
    if tensor1.dtype.kind in "iub" and tensor2.dtype.kind in "iub":
        raise OpRuntimeError(f"addcdiv: integer division of tensors ({tensor1.dtype}, "
                             f"{tensor2.dtype}) is not supported, as in PyTorch; convert "
                             "them to floating point first")
    quot = _ar.div(tensor1, tensor2)
    return _ar.add(input, quot if value == 1 else _ar.mul(quot, value))


