"""The backward engine: topological order without recursion, gradient accumulation.

``run_backward`` is the single place that walks a graph backwards. It

1. discovers the nodes reachable from the roots with an explicit stack (a 100,000-op chain is
   fine: no recursion anywhere), keeping only those that lead to a gradient someone wants;
2. counts, for each node, how many consumers will send it a gradient, and runs a node only
   when all of them have (Kahn's algorithm), so each node's closure runs once on the sum;
3. checks every returned gradient against the input's recorded shape and dtype: a gradient
   of a broadcast shape is summed back (``sum_to``), a dtype is cast back, anything else is a
   bug in the op and raises naming it;
4. frees each closure after it ran unless ``retain_graph``.

Closures run with grad mode set to ``create_graph``: without it their Tensor ops record
nothing; with it the backward pass is itself a graph, so gradients of gradients work.
"""
from __future__ import annotations

from ..backend import numpy_backend
from . import grad_mode
from .graph import Node


def _discover(root_keys, capture):
    """Nodes reachable from the roots, in post-order, and which of them lead to a target.

    ``capture`` (for ``autograd.grad``) limits the walk to nodes with a path to a captured
    tensor; without it every node that leads to a leaf that requires grad is needed.
    """
    order = []
    seen = set()
    stack = []
    for key in root_keys:
        if isinstance(key, Node) and key not in seen:
            seen.add(key)
            stack.append((key, iter(key.next_edges)))
    while stack:
        node, it = stack[-1]
        for edge in it:
            if edge is not None:
                child = edge[0]
                if isinstance(child, Node) and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child.next_edges)))
                    break
        else:
            stack.pop()
            order.append(node)
    needed = set()
    for node in order:  # children come before parents in post-order
        if capture is not None and node in capture:
            needed.add(node)
            continue
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            if child in needed or (not isinstance(child, Node)
                                   and (capture is None or child in capture)):
                needed.add(node)
                break
    return needed


def _fix_gradient(g, shape, dtype, node, i):
    """Sum a broadcast gradient back to ``shape`` and cast it to ``dtype``; else raise."""
    from ..ops import shape as shape_ops
    if g.shape != shape:
        if not _broadcasts_to(shape, g.shape):
            raise RuntimeError(
                f"backward of '{node.name}' returned a gradient of shape {g.shape} for input "
                f"{i}, which has shape {shape}")
        g = shape_ops.sum_to(g, shape=shape)
    if g.dtype != dtype:
        g = g.to(dtype=dtype)
    return g


def _broadcasts_to(shape, target):
    if len(shape) > len(target):
        return False
    for s, t in zip(reversed(shape), reversed(target)):
        if s != 1 and s != t:
            return False
    return True


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False, on_step=None):
    """Back-propagate ``root_grads`` from ``roots``.

    Without ``inputs`` the gradients accumulate into the ``.grad`` of leaves (and of tensors
    that called ``retain_grad``). With ``inputs`` nothing is written to ``.grad``: the
    gradients of those tensors are returned as a tuple (``autograd.grad``).

    ``on_step(node, grads_in, grads_out)`` is called after each node's closure ran, in the
    order the engine runs them (the graph viewer's step-by-step backward uses it).
    """
    from ..tensor import Tensor

    capture = None
    captured = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(f"autograd.grad: input {i} (shape {t.shape}) does not "
                                   "require grad")
            key = t if t.grad_fn is None else t.grad_fn
            capture.setdefault(key, []).append((i, t._output_nr))
        captured = [None] * len(inputs)

    buffers = {}   # node -> [grad per output] ; leaf tensor -> grad
    root_keys = []
    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            key = t
            buffers[key] = g if key not in buffers else buffers[key] + g
        else:
            key = t.grad_fn
            buf = buffers.get(key)
            if buf is None:
                buf = buffers[key] = [None] * key.num_outputs
            nr = t._output_nr
            buf[nr] = g if buf[nr] is None else buf[nr] + g
        root_keys.append(key)

    needed = _discover(root_keys, capture)
    deps = {}
    for node in needed:
        for edge in node.next_edges:
            if edge is not None:
                child = edge[0]
                if child in needed or (not isinstance(child, Node)
                                       and (capture is None or child in capture)):
                    deps[child] = deps.get(child, 0) + 1

    ready = []
    for key in dict.fromkeys(root_keys):
        if deps.get(key, 0) == 0:
            ready.append(key)

    stored = set()  # ids of gradient tensors already stored in some .grad (never alias two)
    prev_mode = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    quiet = numpy_backend.quiet_fp()  # masked rules (pow at 0, ...) compute inf*0 silently
    quiet.__enter__()
    try:
        while ready:
            key = ready.pop()
            if not isinstance(key, Node):
                _finish_leaf(key, buffers.pop(key, None), capture, captured, create_graph, stored)
                continue
            node = key
            grads = buffers.pop(node, None)
            if grads is not None:
                grads = _run_tensor_hooks(node, grads, create_graph, stored)
                if capture is not None and node in capture:
                    for i, nr in capture[node]:
                        captured[i] = grads[nr]
                    if node not in needed:
                        continue
            if grads is None or all(g is None for g in grads):
                grads_out = None  # nothing arrived: pass nothing on, but release consumers
            else:
                grads_out = _call_backward(node, grads, retain_graph)
                if on_step is not None:
                    on_step(node, grads, grads_out)
            for i, edge in enumerate(node.next_edges):
                if edge is None:
                    continue
                child, nr = edge
                if child not in deps:
                    continue
                g = grads_out[i] if grads_out is not None else None
                if g is not None:
                    shape, dtype = node.input_meta[i]
                    if g.shape != shape or g.dtype != dtype:
                        g = _fix_gradient(g, shape, dtype, node, i)
                    if isinstance(child, Node):
                        buf = buffers.get(child)
                        if buf is None:
                            buf = buffers[child] = [None] * child.num_outputs
                        buf[nr] = g if buf[nr] is None else buf[nr] + g
                    else:
                        prev = buffers.get(child)
                        buffers[child] = g if prev is None else prev + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    ready.append(child)
    finally:
        grad_mode.state.enabled = prev_mode
        quiet.__exit__(None, None, None)

    if captured is not None:
        for i, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {inputs[i].shape}) was not used to compute "
                    "the outputs; pass allow_unused=True to get None for it")
        if not create_graph:
            captured = [None if g is None else g.detach() for g in captured]
        return tuple(captured)
    return None


def _call_backward(node, grads, retain_graph):
    fn = node.backward_fn
    if fn is None:
        raise RuntimeError(
            f"trying to backward through '{node.name}' a second time: its saved tensors were "
            "freed after the first backward. Pass retain_graph=True to the first backward() "
            "(or autograd.grad) to backward through the graph again.")
    if node.op.saves_output:
        from ..tensor import Tensor
        y = Tensor._make(node.saved_output, node, True)
        out = fn(grads[0], y)
    elif len(grads) == 1:
        out = fn(grads[0])
    else:
        out = fn(*grads)
    if not isinstance(out, tuple):
        out = (out,)
    if len(out) != len(node.next_edges):
        raise RuntimeError(f"backward of '{node.name}' returned {len(out)} gradients for "
                           f"{len(node.next_edges)} inputs")
    if not retain_graph:
        node.backward_fn = None
        node.saved_output = None
    return out


def _run_tensor_hooks(node, grads, create_graph, stored):
    hooks = node.tensor_hooks
    if hooks:
        grads = list(grads)
        for nr, fns in hooks.items():
            for fn in fns:
                if grads[nr] is not None:
                    r = fn(grads[nr])
                    if r is not None:
                        grads[nr] = r
    if node.retained:
        for nr, ref in node.retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                _accumulate(t, grads[nr], create_graph, stored)
    return grads


def _finish_leaf(leaf, g, capture, captured, create_graph, stored):
    if g is None:
        return
    for fn in leaf._hooks or ():
        r = fn(g)
        if r is not None:
            g = r
    if capture is not None:
        for i, _ in capture.get(leaf, ()):
            captured[i] = g
        return
    _accumulate(leaf, g, create_graph, stored)


def _accumulate(t, g, create_graph, stored):
    from ..tensor import Tensor
    if t.grad is None:
        if not create_graph:
            if id(g) in stored or g.grad_fn is not None:
                g = Tensor._make(g.data.copy() if id(g) in stored else g.data)
            stored.add(id(g))
        t.grad = g
    elif create_graph:
        t.grad = t.grad + g
    else:
        t.grad = Tensor._make(t.grad.data + g.data)
