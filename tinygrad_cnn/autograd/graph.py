"""The graph node: what one op call leaves behind for the backward pass.

A tensor produced by a recorded op holds its ``grad_fn`` (a :class:`Node`); the node holds
edges to the *nodes* of its inputs (or to leaf tensors), never to the output tensor, so the
graph has no reference cycles and intermediates that no backward rule saved are freed as soon
as the user drops them.
"""
from __future__ import annotations


class Node:
    """One recorded op call.

    Attributes:
        op: the registry entry (``.name``, ``.rule``) or a user ``Function`` class' spec.
        backward_fn: the closure ``gy -> (gx0, gx1, ...)``; ``None`` once freed.
        next_edges: per input, ``(node_or_leaf_tensor, output_nr)`` or ``None`` when the
            input needs no gradient.
        input_meta: per input, ``(shape, dtype)`` the engine checks gradients against.
        out_meta: per output, ``(shape, dtype)``.
        saved_output: the output array, kept only for ops whose rule uses the output.
    """

    __slots__ = ("op", "backward_fn", "next_edges", "input_meta", "out_meta", "saved_output",
                 "tensor_hooks", "retained", "__weakref__")

    def __init__(self, op, backward_fn, next_edges, input_meta, out_meta, saved_output=None):
        self.op = op
        self.backward_fn = backward_fn
        self.next_edges = next_edges
        self.input_meta = input_meta
        self.out_meta = out_meta
        self.saved_output = saved_output
        self.tensor_hooks = None   # {output_nr: [hook, ...]} for non-leaf register_hook
        self.retained = None       # {output_nr: weakref to tensor} for retain_grad()

    @property
    def name(self) -> str:
        """The op's registry name, e.g. ``"mul"`` or ``"conv2d"``."""
        return self.op.name

    @property
    def rule(self) -> str:
        """The backward rule in words, from the op registry."""
        return self.op.rule

    @property
    def num_outputs(self) -> int:
        return len(self.out_meta)

    @property
    def next_functions(self):
        """``(node_or_leaf, output_nr)`` per input, like PyTorch's ``next_functions``."""
        return tuple(e if e is not None else (None, 0) for e in self.next_edges)

    @property
    def freed(self) -> bool:
        return self.backward_fn is None

    def saved_tensors(self):
        """What the backward closure holds on to (tensors and arrays), for viewers."""
        if self.backward_fn is None:
            return ()
        cells = getattr(self.backward_fn, "__closure__", None) or ()
        out = []
        for cell in cells:
            try:
                v = cell.cell_contents
            except ValueError:
                continue
            if hasattr(v, "shape") and hasattr(v, "dtype"):
                out.append(v)
        return tuple(out)

    def register_hook(self, output_nr, fn):
        if self.tensor_hooks is None:
            self.tensor_hooks = {}
        self.tensor_hooks.setdefault(output_nr, []).append(fn)

    def __repr__(self):
        return f"<{self.name} backward>"
