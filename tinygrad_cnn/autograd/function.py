"""User-defined differentiable ops, the PyTorch way::

    class Cube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return 3 * x * x * gy

    y = Cube.apply(x)

``forward`` runs without recording; ``apply`` records one node named after the class, so
the op shows up in graphs like a built-in. ``backward`` gets one gradient per output (zeros
for outputs that received none) and returns one per ``forward`` argument (None for
non-tensors). Written with Tensor ops, it is differentiable again.
"""
from __future__ import annotations

from . import grad_mode
from .graph import Node


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``; set any attribute on it."""

    def save_for_backward(self, *tensors):
        """Keep tensors for ``backward`` (read back as ``ctx.saved_tensors``). Their versions
        are recorded: changing one in place before the backward makes the backward raise."""
        self._saved = tensors
        self._saved_versions = tuple(t._version if hasattr(t, "_vc") else 0 for t in tensors)

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", ())
        if saved is None:
            raise RuntimeError("saved_tensors: they were freed after the first backward; pass "
                               "retain_graph=True to backward through the graph again")
        return saved

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}


class _FunctionSpec:
    """What a Node needs to know about a Function subclass (``name``, ``rule``)."""

    __slots__ = ("name", "rule", "saves_output")

    def __init__(self, cls):
        self.name = cls.__name__
        doc = (cls.backward.__doc__ or cls.__doc__ or "").strip()
        self.rule = doc.splitlines()[0] if doc else "user-defined backward"
        self.saves_output = False


class Function:
    """Base class for user-defined ops: subclass, write static ``forward``/``backward``,
    call ``apply``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses must implement backward(ctx, ...)")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        ctx = FunctionCtx()
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with grad_mode.no_grad():
            raw = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(raw, tuple)
        outs = (raw,) if single else raw
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return Tensors, output {i} is a "
                                f"{type(o).__name__}")
        inputs = [args[i] for i in tensor_pos]
        record = grad_mode.state.enabled and any(t.requires_grad for t in inputs)
        if not record:
            results = tuple(Tensor._make(o.array) if any(o is t for t in inputs) else o
                            for o in outs)
            return results[0] if single else results
        non_diff = getattr(ctx, "_non_diff", set())
        out_meta = tuple((o.shape, o.dtype) for o in outs)
        xp = outs[0].xp

        def backward(*grads):
            filled = [g if g is not None else Tensor._make(xp.zeros(shape, dtype=dtype))
                      for g, (shape, dtype) in zip(grads, out_meta)]
            got = cls.backward(ctx, *filled)
            got = got if isinstance(got, tuple) else (got,)
            if len(got) != len(args):
                raise RuntimeError(f"{cls.__name__}.backward returned {len(got)} gradients, "
                                   f"forward took {len(args)} arguments")
            return tuple(got[i] if got[i] is None or isinstance(got[i], Tensor)
                         else Tensor(got[i], dtype=args[i].dtype, device=args[i].device)
                         for i in tensor_pos)

        edges = tuple((t if t.grad_fn is None else
                       t.grad_fn if t._output_nr == 0 else (t.grad_fn, t._output_nr))
                      if t.requires_grad else None for t in inputs)
        node = Node(_FunctionSpec(cls), backward, edges, out_meta[0][0], out_meta[0][1],
                    out_meta=out_meta)
        saved = getattr(ctx, "_saved", ())
        node.saved = tuple(t for t in saved if isinstance(t, Tensor))
        node.saved_versions = tuple(v for t, v in zip(saved, ctx._saved_versions)
                                    if isinstance(t, Tensor)) if saved else None
        results = []
        for nr, o in enumerate(outs):
            diff = o.dtype.kind == "f" and id(o) not in non_diff
            t = Tensor._make(o.array, node if diff else None, diff)
            t._vc = o._counter()  # the same storage: a saved output changed in place is seen
            t._output_nr = nr
            results.append(t)
        return results[0] if single else tuple(results)
