"""In-place tensor ops (``add_``, ``mul_``, ``zero_``, ``clamp_``, ``copy_``, ...).

An in-place op gives the tensor object its new value and bumps its version counter; when a
graph is being recorded the tensor is rebased onto the new node, and the op itself is computed
on the old value, so gradients through it are right. Backward rules that saved the tensor
*before* the change see the version mismatch and raise instead of silently using the new
values (PyTorch's rule).

One deliberate difference from PyTorch: the new value goes into a new array, so NumPy views
taken from the tensor earlier keep the old values. Graphs that saved such a view therefore
stay consistent (they see the values they were built from) instead of being corrupted.
"""
from __future__ import annotations

from .. import tensor as _tensor
from ..autograd import grad_mode as _gm
from ..errors import OpRuntimeError


def apply_inplace(t, name, fn):
    """``t = fn(t)`` in place; ``fn`` maps a tensor to a tensor of the same shape."""
    Tensor = _tensor.Tensor
    recording = _gm.state.enabled
    if recording and t.requires_grad and t.grad_fn is None:
        raise OpRuntimeError(f"{name}: a leaf tensor that requires grad (shape {t.shape}) "
                             "cannot be changed in place while grad is recorded; use "
                             "`with tg.no_grad():` (as optimizers do) or work on a clone")
    if recording and t.requires_grad:
        # the op may save its input for backward: give it the old values, which the write
        # below would otherwise overwrite
        old = Tensor._make(t.array.copy(), t.grad_fn, t.requires_grad)
        old._counter().value = t._version
    else:
        old = Tensor._make(t.array, t.grad_fn, t.requires_grad)
        old._vc = t._counter()
    old._output_nr = t._output_nr
    result = fn(old)
    if result.shape != t.shape:
        raise OpRuntimeError(f"{name}: the result of shape {result.shape} does not fit the "
                             f"tensor of shape {t.shape} (in-place ops cannot broadcast it)")
    if result.dtype != t.dtype:
        if t.dtype.kind != "f" and result.dtype.kind == "f":
            raise OpRuntimeError(f"{name}: result type {result.dtype} can't be cast to the "
                                 f"tensor's dtype {t.dtype} in place")
        result = result.to(dtype=t.dtype)
    t._assign(result.array)
    if recording and result.requires_grad:
        t.grad_fn = result.grad_fn
        t._output_nr = result._output_nr
        t.requires_grad = True
    return t
