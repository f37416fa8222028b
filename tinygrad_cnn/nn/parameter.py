"""``nn.Parameter`` and the small types Modules return (hook handles, load results)."""
from __future__ import annotations

from typing import NamedTuple

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as learnable (``requires_grad=True`` by default).
    Wrapping a tensor shares its storage and version counter."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = Tensor([])
        src = data if isinstance(data, Tensor) else Tensor(data)
        self._init_leaf(src.array, requires_grad)
        if isinstance(data, Tensor):
            self._vc = data._counter()

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns (torch's ``_IncompatibleKeys``)."""
    missing_keys: list
    unexpected_keys: list

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods: ``.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _zero_grad(p, set_to_none):
    if set_to_none or p.grad is None:
        p.grad = None
        return
    g = p.grad
    if g.grad_fn is not None:
        g.detach_()
    else:
        g.requires_grad_(False)
    g._assign(g.xp.zeros((), dtype=g.dtype))
