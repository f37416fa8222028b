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
        next_edges: per input, where its gradient goes: the input's node, or the leaf tensor
            itself, or ``(node, output_nr)`` for a later output of a multi-output node;
            ``None`` when the input needs no gradient. (Plain references rather than tuples:
            fewer objects per op for Python's garbage collector to scan.)
        shape, dtype: of the output (of output 0 for multi-output nodes); the engine checks
            the gradients it sends here against them.
        saved_output: the output array, kept only for ops whose rule uses the output.
        num_outputs: 1 for built-in ops; user Functions may have more.
        out_meta: ``(shape, dtype)`` per output for multi-output nodes, else None.
    """

    __slots__ = ("op", "backward_fn", "next_edges", "shape", "dtype", "saved_output",
                 "num_outputs", "out_meta", "tensor_hooks", "retained", "created_at",
                 "saved", "saved_versions", "output_counter", "output_version",
                 "__weakref__")

    def __init__(self, op, backward_fn, next_edges, shape, dtype, saved_output=None,
                 out_meta=None):
        self.op = op
        self.backward_fn = backward_fn
        self.next_edges = next_edges
        self.shape = shape
        self.dtype = dtype
        self.saved_output = saved_output
        self.num_outputs = 1 if out_meta is None else len(out_meta)
        self.out_meta = out_meta
        self.tensor_hooks = None   # {output_nr: [hook, ...]} for non-leaf register_hook
        self.retained = None       # {output_nr: weakref to tensor} for retain_grad()
        self.created_at = None     # the Python stack that made it, under detect_anomaly()
        self.saved = ()            # the input tensors the backward reads (declared by the op)
        self.saved_versions = None  # their versions when the op ran (None: all were 0)
        self.output_counter = None  # the output's version counter, for ops that save it,
        self.output_version = 0     # and its value then

    @property
    def name(self) -> str:
        """The op's registry name, e.g. ``"mul"`` or ``"conv2d"``."""
        return self.op.name

    @property
    def rule(self) -> str:
        """The backward rule in words, from the op registry."""
        return self.op.rule

    @property
    def next_functions(self):
        """``(node_or_leaf, output_nr)`` per input, like PyTorch's ``next_functions``."""
        return tuple(split_edge(e) for e in self.next_edges)

    @property
    def freed(self) -> bool:
        return self.backward_fn is None

    def saved_tensors(self):
        """What the backward reads (the declared inputs, and the output's array for ops that
        save it), for viewers; empty once freed."""
        if self.backward_fn is None:
            return ()
        out = self.saved
        return out + (self.saved_output,) if self.saved_output is not None else out

    def release(self):
        """Drop the closure and what it saved (after a backward without retain_graph)."""
        self.backward_fn = None
        self.saved_output = None
        self.saved = ()

    def check_saved_versions(self):
        """Raise if a tensor this node saved was modified in place after the op ran."""
        counter = self.output_counter
        if counter is not None and counter.value != self.output_version:
            raise RuntimeError(
                f"backward of '{self.name}': its output, saved for the gradient, was modified by "
                f"an in-place operation: it is at version {counter.value}, the op saw version "
                f"{self.output_version}. Clone it before changing it in place.")
        versions = self.saved_versions
        for i, t in enumerate(self.saved):
            vc = t._vc
            now = 0 if vc is None else vc.value
            saw = versions[i] if versions is not None else 0
            if now != saw:
                raise RuntimeError(
                    f"backward of '{self.name}': a tensor it saved (shape {tuple(t.shape)}), "
                    f"needed for the gradient, was modified by an in-place operation: it is "
                    f"at version {now}, the op saw version {saw}. Clone it before changing it "
                    "in place.")

    def register_hook(self, output_nr, fn):
        if self.tensor_hooks is None:
            self.tensor_hooks = {}
        self.tensor_hooks.setdefault(output_nr, []).append(fn)

    def __repr__(self):
        return f"<{self.name} backward>"


def split_edge(edge):
    """``(target, output_nr)`` of an edge; ``(None, 0)`` for an input without gradient."""
    if type(edge) is tuple:
        return edge
    return edge, 0


def expected_meta(target, nr):
    """``(shape, dtype)`` a gradient sent to ``target``'s output ``nr`` must have."""
    if type(target) is Node:
        return (target.shape, target.dtype) if nr == 0 else target.out_meta[nr]
    return target.array.shape, target.array.dtype
