"""``tg.viz.trace()``: keep what the graph viewer needs that the engine lets go of.

The engine frees an intermediate tensor as soon as nothing refers to it, and after
``backward()`` only leaves keep a ``.grad``. Inside ``with tg.viz.trace():`` every recorded op
call is remembered with its inputs, its hyper-parameters and its output (kept alive, with
``retain_grad()``), so that drawings made before or after ``backward()`` show every forward
value and every gradient, and :func:`tg.viz.explain` knows the stride and padding of a conv::

    with tg.viz.trace():
        loss = model(x).sum()
    loss.backward()
    tg.viz.draw(loss, show_values=True, show_grads=True)   # intermediates included

The trace keeps those tensors alive until the next ``trace()`` starts (or
``tg.viz.clear_trace()``): use it for teaching-sized graphs, not inside a training loop.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from ..ops import op_registry as _reg


@dataclass
class Call:
    """One recorded op call: ``op(*inputs, **params) -> output``."""
    op: object
    inputs: tuple
    params: dict
    output: object

    @property
    def arg_names(self):
        """The op's own names for its tensor inputs (``x``, ``w``, ...)."""
        return op_arg_names(self.op, len(self.inputs))


def op_arg_names(op, n):
    """Names of the first ``n`` positional parameters of a registered op's forward."""
    try:
        sig = inspect.signature(op.forward)
    except (TypeError, ValueError, AttributeError):
        return tuple(f"input {i}" for i in range(n))
    names = []
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:  # conv's optional bias arrives as *bias
            names += [p.name] * (n - len(names))
    names += [f"input {i}" for i in range(len(names), n)]
    return tuple(names[:n])


class Trace:
    """The op calls recorded while the ``with`` block ran, keyed by their graph node."""

    def __init__(self):
        self.calls = {}          # Node -> Call
        self._saved_apply = None

    def __enter__(self):
        global _current, _active
        if _active is not None:
            raise RuntimeError("trace: a trace is already active (traces do not nest)")
        original = _reg.apply
        calls = self.calls

        def traced_apply(op, inputs, params):
            out = original(op, inputs, params)
            node = getattr(out, "grad_fn", None)
            if node is not None and node not in calls:
                out.retain_grad()  # its .grad survives backward(), for the drawings
                calls[node] = Call(op, tuple(inputs), dict(params), out)
            return out

        # every op goes through op_registry.apply (OpDef.__call__ looks it up at call time)
        self._saved_apply = original
        _reg.apply = traced_apply
        _current = _active = self
        return self

    def __exit__(self, *exc):
        global _active
        _reg.apply = self._saved_apply
        _active = None
        return False

    def tensor(self, node, nr=0):
        """The output tensor of ``node`` when it was recorded here, else None."""
        call = self.calls.get(node)
        return call.output if call is not None and nr == 0 else None

    def call(self, node):
        return self.calls.get(node)

    def __len__(self):
        return len(self.calls)


_current = None   # the latest trace: drawings consult it
_active = None    # the trace whose block is running


def trace():
    """A context manager recording every op call in its block (see the module docstring)."""
    return Trace()


def clear_trace():
    """Let go of the tensors the last trace kept alive."""
    global _current
    _current = None


def current():
    """The most recent trace (still active or finished), or None."""
    return _current
