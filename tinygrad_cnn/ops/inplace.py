"""In-place tensor ops (``add_``, ``mul_``, ``zero_``, ``clamp_``, ``copy_``, ``x[i] = v``, ...).

PyTorch's storage model: an in-place op writes its result into the tensor's storage, so every
view of that storage (``x[0]``, ``x.view(...)``, ``x.T``, ``x.detach()``, ``x.data``) sees the
change, and bumps the version counter the views share. A graph node that saved the tensor (or
any view of it) for its backward then sees the version mismatch and raises instead of silently
using the new values.

When a graph is being recorded, the op itself is computed on the old value and the tensor is
rebased onto the new node, so gradients through it are right. If the op saved its own input
(``a.mul_(b)`` needs the old ``a`` for ``b``'s gradient), that input is given a copy of the old
values before the write, as PyTorch does, so the backward stays valid.

Refused while recording, with a clear error (PyTorch would rewrite the base's graph, which this
engine does not): an in-place op on a *view* of a tensor that requires grad, or one that would
make a view require grad. ``x = x.clone()`` first, or assign through the base (``x[idx] = v``).
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
    if not t.array.flags.writeable:
        raise OpRuntimeError(f"{name}: the tensor (shape {t.shape}) is an expanded or read-only "
                             "view whose elements share memory; clone() it before writing "
                             "in place")
    old = Tensor._make(t.array, t.grad_fn, t.requires_grad)
    old._output_nr = t._output_nr
    old._vc = t._counter()
    result = fn(old)
    if result.shape != t.shape:
        raise OpRuntimeError(f"{name}: the result of shape {result.shape} does not fit the "
                             f"tensor of shape {t.shape} (in-place ops cannot broadcast it)")
    if result.dtype != t.dtype:
        if t.dtype.kind != "f" and result.dtype.kind == "f":
            raise OpRuntimeError(f"{name}: result type {result.dtype} can't be cast to the "
                                 f"tensor's dtype {t.dtype} in place")
        result = result.to(dtype=t.dtype)
    tracked = recording and result.requires_grad
    if recording and t._base is not None and (tracked or t._base.requires_grad):
        raise OpRuntimeError(
            f"{name}: in-place change of a view (shape {t.shape}) of a tensor of shape "
            f"{t._base.shape} while grad is recorded"
            + (" and the base requires grad" if t._base.requires_grad else
               " would make the view require grad")
            + "; this engine does not rewrite the base's graph. Clone the view first, or "
            "assign through the base (`x[idx] = value`)")
    if tracked:
        _keep_old_values(result.grad_fn, old)
    t._assign(result.array)
    if tracked:
        t.grad_fn = result.grad_fn
        t._output_nr = result._output_nr
        t.requires_grad = True
    return t


def _keep_old_values(node, old, limit=64):
    """If a node recorded for the in-place op saved ``old`` (the alias of the storage about to
    be overwritten), give ``old`` a private copy of the values first."""
    stack, seen = [node], set()
    while stack and len(seen) < limit:
        n = stack.pop()
        if n is None or type(n) is tuple or n in seen or n is old.grad_fn or \
                not hasattr(n, "saved"):
            continue
        seen.add(n)
        if any(s is old for s in n.saved):
            version = old._version
            old.array = old.array.copy()
            old._vc = None
            old._counter().value = version
            return
        stack.extend(e[0] if type(e) is tuple else e for e in n.next_edges)
