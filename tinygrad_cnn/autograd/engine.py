"""The backward engine: topological order without recursion, gradient accumulation.

``run_backward`` is the single place that walks a graph backwards. It

1. counts, with an explicit stack (a 100,000-op chain is fine: no recursion anywhere), how
   many consumers will send each node a gradient (for ``autograd.grad`` only the nodes with a
   path to a requested tensor take part);
2. runs a node only when all of them have (Kahn's algorithm), so each closure runs once, on
   the summed gradient;
3. checks every returned gradient against the shape and dtype recorded on the edge: a
   gradient of a broadcast shape is summed back (``sum_to``), a dtype is cast back, anything
   else is a bug in the op and raises naming it;
4. frees each closure after it ran unless ``retain_graph``;
5. after a leaf's ``.grad`` was written, calls its post-accumulate-grad hooks, and once the
   whole graph ran, the callbacks queued during it (:func:`queue_callback`), in order.

Closures run with grad mode set to ``create_graph``: without it their Tensor ops record
nothing; with it the backward pass is itself a graph, so gradients of gradients work.
Buffers hold one gradient per single-output node (a list for multi-output Functions).
"""
from __future__ import annotations

import threading

from ..backend import numpy_backend
from . import grad_mode
from .graph import Node, expected_meta


# One list of queued callbacks per backward pass in progress on this thread (innermost last):
# a hook may itself run a backward, whose callbacks must not end the outer pass's.
_callbacks = threading.local()


def queue_callback(callback):
    """Call ``callback()`` (no arguments) when the backward pass now running has finished,
    after every gradient was accumulated (PyTorch's
    ``Variable._execution_engine.queue_callback``). Callbacks run in the order queued; one
    may queue another. Only valid inside a backward pass (from a hook)."""
    if not callable(callback):
        raise TypeError(f"queue_callback: expected a callable, got {type(callback).__name__}")
    frames = getattr(_callbacks, "frames", None)
    if not frames:
        raise RuntimeError("queue_callback: no backward pass is running; call it from a hook "
                           "during backward()")
    frames[-1].append(callback)


def _run_callbacks(queue):
    i = 0
    while i < len(queue):  # a callback may queue more: they run too, after it
        queue[i]()
        i += 1


def _count_dependencies(root_keys):
    """Consumers per node and leaf, over everything reachable from the roots."""
    deps = {}
    stack = [k for k in root_keys if type(k) is Node]
    seen = set(stack)
    while stack:
        node = stack.pop()
        for child in node.next_edges:
            if child is not None:
                if type(child) is tuple:
                    child = child[0]
                n = deps.get(child)
                deps[child] = 1 if n is None else n + 1
                if type(child) is Node and child not in seen:
                    seen.add(child)
                    stack.append(child)
    return deps


def _count_needed_dependencies(root_keys, capture):
    """Like :func:`_count_dependencies`, but only over nodes with a path to a captured key."""
    def targets(node):
        return [e[0] if type(e) is tuple else e for e in node.next_edges if e is not None]

    order, seen, stack = [], set(), []
    for key in root_keys:
        if type(key) is Node and key not in seen:
            seen.add(key)
            stack.append((key, iter(targets(key))))
    while stack:  # iterative post-order: children before parents
        node, it = stack[-1]
        for child in it:
            if type(child) is Node and child not in seen:
                seen.add(child)
                stack.append((child, iter(targets(child))))
                break
        else:
            stack.pop()
            order.append(node)
    needed = set()
    for node in order:
        if node in capture or any(c in needed or c in capture for c in targets(node)):
            needed.add(node)
    deps = {}
    for node in needed:
        for child in targets(node):
            if child in needed or child in capture:
                deps[child] = deps.get(child, 0) + 1
    return deps


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
    return all(s == 1 or s == t for s, t in zip(reversed(shape), reversed(target)))


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False, on_step=None, accumulate_inputs=False):
    """Back-propagate ``root_grads`` from ``roots``.

    Without ``inputs`` the gradients accumulate into the ``.grad`` of leaves (and of tensors
    that called ``retain_grad``). With ``inputs`` nothing is written to ``.grad``: the
    gradients of those tensors are returned as a tuple (``autograd.grad``), unless
    ``accumulate_inputs`` (``backward(inputs=...)``) adds them to those tensors' ``.grad``.

    ``on_step(node, gy, grads)`` is called after each node's closure ran, in the order the
    engine runs them (the graph viewer's step-by-step backward uses it). Callbacks queued
    during the pass run at its end; after an exception they are dropped.
    """
    frames = getattr(_callbacks, "frames", None)
    if frames is None:
        frames = _callbacks.frames = []
    queue = []
    frames.append(queue)
    try:
        out = _run_graph(roots, root_grads, retain_graph, create_graph, inputs, allow_unused,
                         on_step)
        if accumulate_inputs:
            stored = set()
            for t, g in zip(inputs, out):
                if g is not None:
                    _accumulate(t, g, create_graph, stored)
                    _post_accumulate(t)
            out = None
        _run_callbacks(queue)
    finally:
        frames.pop()
    return out


def _run_graph(roots, root_grads, retain_graph, create_graph, inputs, allow_unused, on_step):
    from ..tensor import Tensor
    make = Tensor._make

    capture = captured = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(f"autograd.grad: input {i} (shape {t.shape}) does not "
                                   "require grad")
            key = t if t.grad_fn is None else t.grad_fn
            capture.setdefault(key, []).append((i, t._output_nr))
        captured = [None] * len(inputs)

    buffers = {}
    root_keys = []
    for t, g in zip(roots, root_grads):
        key = t if t.grad_fn is None else t.grad_fn
        _add(buffers, key, t._output_nr, g)
        root_keys.append(key)
    deps = _count_dependencies(root_keys) if capture is None else \
        _count_needed_dependencies(root_keys, capture)
    ready = [k for k in dict.fromkeys(root_keys) if not deps.get(k)]

    stored = {id(g) for g in root_grads}  # never store one gradient object in two .grad
    prev_mode = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    quiet = numpy_backend.quiet_fp()  # masked rules (pow at 0, ...) compute inf*0 silently
    quiet.__enter__()
    try:
        while ready:
            node = ready.pop()
            if type(node) is not Node:  # a leaf tensor: all its gradient has arrived
                _finish_leaf(node, buffers.pop(node, None), capture, captured, create_graph,
                             stored)
                continue
            gy = buffers.pop(node, None)
            single = node.num_outputs == 1
            if gy is not None and (node.tensor_hooks or node.retained):
                gy = _run_tensor_hooks(node, gy if not single else [gy], create_graph, stored,
                                       capture is None)
                gy = gy[0] if single else gy
            edges = node.next_edges
            if capture is not None and node in capture:
                for i, nr in capture[node]:
                    captured[i] = gy if single else (gy[nr] if gy is not None else None)
            if gy is None or (not single and all(g is None for g in gy)):
                grads = None  # nothing arrived: pass nothing on, but release the inputs
            else:
                fn = node.backward_fn
                if fn is None:
                    raise RuntimeError(
                        f"trying to backward through '{node.name}' a second time: its saved "
                        "tensors were freed after the first backward. Pass retain_graph=True "
                        "to the first backward() (or autograd.grad) to do this.")
                node.check_saved_versions()
                if getattr(node.op, "needs_mask", False):
                    grads = fn(gy, make(node.saved_output, node, True), needs=_needs(
                        edges, deps)) if node.saved_output is not None else \
                        fn(gy, needs=_needs(edges, deps))
                elif node.saved_output is not None:
                    grads = fn(gy, make(node.saved_output, node, True))
                else:
                    grads = fn(gy) if single else fn(*gy)
                if type(grads) is not tuple:
                    grads = (grads,)
                if len(grads) != len(edges):
                    raise RuntimeError(f"backward of '{node.name}' returned {len(grads)} "
                                       f"gradients for {len(edges)} inputs")
                if not retain_graph:
                    node.release()
                if grad_mode.anomaly.enabled:
                    _check_finite(node, grads)
                if on_step is not None:
                    on_step(node, gy, grads)
            for i, child in enumerate(edges):
                if child is None:
                    continue
                nr = 0
                if type(child) is tuple:
                    child, nr = child
                left = deps.get(child)
                if left is None:  # pruned by autograd.grad: leads to no requested tensor
                    continue
                g = grads[i] if grads is not None else None
                if g is not None:
                    d = g.array
                    if type(child) is Node and nr == 0:
                        shape, dtype = child.shape, child.dtype
                    else:
                        shape, dtype = expected_meta(child, nr)
                    if d.shape != shape or d.dtype != dtype:
                        g = _fix_gradient(g, shape, dtype, node, i)
                    if type(child) is Node and child.num_outputs != 1:
                        _add(buffers, child, nr, g)
                    else:
                        prev = buffers.get(child)
                        if prev is None:
                            buffers[child] = g
                        elif create_graph:
                            buffers[child] = prev + g
                        else:
                            buffers[child] = make(prev.array + g.array)
                if left == 1:
                    del deps[child]
                    ready.append(child)
                else:
                    deps[child] = left - 1
    finally:
        grad_mode.state.enabled = prev_mode
        quiet.__exit__(None, None, None)

    if captured is None:
        return None
    for i, g in enumerate(captured):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {inputs[i].shape}) was not used to compute "
                "the outputs; pass allow_unused=True to get None for it")
    if not create_graph:
        captured = [None if g is None else g.detach() for g in captured]
    return tuple(captured)


def _needs(edges, deps):
    """Which inputs' gradients this backward must compute (PyTorch's ``grad_input_mask``):
    those that require grad and, under ``autograd.grad``, lead to a requested tensor."""
    return tuple(e is not None and (e[0] if type(e) is tuple else e) in deps for e in edges)


def _check_finite(node, grads):
    """detect_anomaly(): the first backward rule that makes a NaN/Inf gradient raises."""
    for i, g in enumerate(grads):
        if g is not None and not bool(g.xp.isfinite(g.array).all()):
            where = node.created_at or "(made outside detect_anomaly: no stack recorded)\n"
            raise RuntimeError(f"detect_anomaly: the backward of '{node.name}' produced NaN or "
                               f"Inf in the gradient of its input {i}. The forward op was "
                               f"called at:\n{where}")


def _add(buffers, key, nr, g):
    """Add ``g`` to the buffer of ``key`` (output ``nr`` of a multi-output node)."""
    if type(key) is Node and key.num_outputs != 1:
        buf = buffers.get(key)
        if buf is None:
            buf = buffers[key] = [None] * key.num_outputs
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    else:
        prev = buffers.get(key)
        buffers[key] = g if prev is None else prev + g


def _run_tensor_hooks(node, grads, create_graph, stored, accumulate):
    """Tensor hooks of a non-leaf; its retain_grad() ``.grad`` only in backward(), never in
    autograd.grad (which touches no ``.grad``, as in PyTorch)."""
    grads = list(grads)
    for nr, fns in (node.tensor_hooks or {}).items():
        for fn in fns:
            if grads[nr] is not None:
                r = fn(grads[nr])
                if r is not None:
                    grads[nr] = r
    for nr, ref in (node.retained or {}).items() if accumulate else ():
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
    if leaf._post_hooks:
        _post_accumulate(leaf)


def _post_accumulate(t):
    for fn in list(t._post_hooks or ()):  # a hook may remove itself
        r = fn(t)
        if r is not None:
            raise RuntimeError("post accumulate grad hooks must return None, got "
                               f"{type(r).__name__} from {fn!r}")


def _accumulate(t, g, create_graph, stored):
    """``t.grad += g``, out of place; a gradient object is never shared by two tensors."""
    from ..tensor import Tensor
    if t.grad is None:
        if not create_graph:
            if id(g) in stored:
                g = Tensor._make(g.array.copy())
            elif g.grad_fn is not None:
                g = g.detach()
            stored.add(id(g))
        t.grad = g
    elif create_graph:
        t.grad = t.grad + g
    else:
        t.grad = Tensor._make(t.grad.array + g.array)
