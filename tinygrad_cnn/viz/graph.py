"""The graph behind some tensors, as plain data (no Graphviz needed): one node per tensor
and per op, edges in the direction data flows (inputs -> op -> output).

Intermediate tensors are not kept alive by the engine, so their node shows what the op
recorded (shape, dtype); values appear where a tensor is still reachable: the outputs you
pass, the leaves, inputs that some backward rule saved, and every op output recorded by
``tg.viz.trace()`` (which also keeps their gradients after ``backward()``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..autograd.graph import Node, split_edge
from ..tensor import Tensor


@dataclass
class VNode:
    id: str
    kind: str                      # "tensor" or "op"
    title: str                     # op name, or parameter name / "tensor"
    shape: tuple = ()
    dtype: str = ""
    tensor: object = None          # the Tensor when it is reachable
    node: object = None            # the autograd Node (op nodes; tensor nodes made by an op)
    is_leaf: bool = False
    requires_grad: bool = False
    is_output: bool = False
    grad: object = None            # array of this tensor's gradient when known
    module: str = ""               # dotted name of the module that made/owns it
    extra: list = field(default_factory=list)


@dataclass
class VGraph:
    nodes: dict                    # id -> VNode, in discovery order
    edges: list                    # (src id, dst id, input index)


def _tensor_id(t):
    return f"t{id(t)}"


def _out_id(node, nr=0):
    return f"o{id(node)}_{nr}"


def _op_id(node):
    return f"n{id(node)}"


def param_names(params):
    """{id(tensor): name} from a Module or a mapping name -> tensor."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        items = list(params.named_parameters()) + list(params.named_buffers())
    else:
        items = list(dict(params).items())
    return {id(t): name for name, t in items}


def build(outputs, params=None, grads=None, trace=None, tensor_grads=True):
    """Collect the graph that produced ``outputs`` (a Tensor or a sequence of them).

    ``grads`` optionally maps ``(node, output_nr)``, a leaf tensor or a graph id (``"o.."``,
    ``"t.."``) to a gradient array (from :func:`backward_steps`), shown on the tensors.
    ``trace`` (default: the latest ``tg.viz.trace()``) supplies intermediate tensors.
    ``tensor_grads=False`` shows only ``grads``, not the tensors' own ``.grad``.
    """
    from .trace import current
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    names = param_names(params)
    grads = grads or {}
    trace = current() if trace is None else trace

    def gof(t, grads):
        return _grad_of(t, grads, use_tensor=tensor_grads)
    nodes, edges = {}, []
    # tensors still reachable: the outputs and whatever the backward closures captured
    reachable = {}
    for t in outs:
        if t.grad_fn is not None:
            reachable[(t.grad_fn, t._output_nr)] = t

    def tensor_node(t, is_output=False):
        vid = _tensor_id(t) if t.grad_fn is None else _out_id(t.grad_fn, t._output_nr)
        if vid not in nodes:
            nodes[vid] = VNode(vid, "tensor", names.get(id(t), "output" if is_output else
                                                       ("input" if t.grad_fn is None else
                                                        "tensor")),
                               tuple(t.shape), str(t.dtype), t, t.grad_fn, t.grad_fn is None,
                               t.requires_grad, is_output,
                               gof(t, grads))
        elif is_output:
            nodes[vid].is_output = True
        return vid

    stack = []
    for t in outs:
        tensor_node(t, is_output=True)
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
    seen = set()
    while stack:  # explicit stack: no recursion on deep graphs
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        traced = trace.tensor(node) if trace is not None else None
        if traced is not None:
            reachable.setdefault((node, 0), traced)
        for cell in node.saved_tensors():
            if isinstance(cell, Tensor) and cell.grad_fn is not None:
                reachable.setdefault((cell.grad_fn, cell._output_nr), cell)
        oid = _op_id(node)
        nodes[oid] = VNode(oid, "op", node.name, node=node)
        for nr in range(node.num_outputs):
            vid = _out_id(node, nr)
            if vid not in nodes:
                t = reachable.get((node, nr))
                shape, dtype = (node.shape, node.dtype) if nr == 0 else node.out_meta[nr]
                nodes[vid] = VNode(vid, "tensor", "tensor", tuple(shape), str(dtype), t, node,
                                   False, True, False,
                                   gof(t, grads) if t is not None else
                                   grads.get((node, nr)))
            edges.append((oid, vid, nr))
        for i, e in enumerate(node.next_edges):
            if e is None:
                continue
            child, nr = split_edge(e)
            if isinstance(child, Node):
                cid = _out_id(child, nr)
                if cid not in nodes:
                    t = reachable.get((child, nr))
                    if t is None and trace is not None and nr == 0:
                        t = trace.tensor(child)
                    shape, dtype = (child.shape, child.dtype) if nr == 0 else child.out_meta[nr]
                    nodes[cid] = VNode(cid, "tensor", "tensor", tuple(shape), str(dtype), t,
                                       child, False, True, False,
                                       gof(t, grads) if t is not None else
                                       grads.get((child, nr)))
                stack.append(child)
            else:
                cid = tensor_node(child)
            edges.append((cid, oid, i))
        call = trace.call(node) if trace is not None else None
        if call is not None:  # a traced call knows its constant inputs (images, targets)
            for i, t in enumerate(call.inputs):
                if node.next_edges[i] is None and isinstance(t, Tensor):
                    cid = tensor_node(t)
                    if nodes[cid].title == "input" and t.ndim == 0:
                        nodes[cid].title = "constant"
                    edges.append((cid, oid, i))
    for key, g in grads.items():  # gradients keyed by graph id (the step-through frames)
        if isinstance(key, str) and key in nodes:
            nodes[key].grad = g
    # constant inputs (no grad) are not in the graph's edges unless the call was traced
    return VGraph(nodes, edges)


def _grad_of(t, grads, use_tensor=True):
    if t is None:
        return None
    if use_tensor and t.grad is not None:
        return t.grad.numpy()
    key = t if t.grad_fn is None else (t.grad_fn, t._output_nr)
    return grads.get(key)


def assign_modules(g, module):
    """Set ``VNode.module`` to the dotted name of the innermost module whose last call made
    the op (or owns the parameter). Modules are found through what ``Module.__call__``
    recorded: the node of its output and the inputs it started from."""
    named = list(module.named_modules())
    by_node = {}
    for name, mod in sorted(named, key=lambda nm: nm[0].count(".") + bool(nm[0])):
        call = mod.__dict__.get("_last_call")
        if call is None:
            continue
        end, starts = call[0](), set(call[1])
        if end is None:
            continue
        stack, seen = [end], set()
        while stack:  # explicit stack, stopping at the call's inputs
            node = stack.pop()
            if node in seen or id(node) in starts:
                continue
            seen.add(node)
            by_node[node] = name  # deeper modules come later and win
            for e in node.next_edges:
                if e is not None:
                    child, _ = split_edge(e)
                    if isinstance(child, Node):
                        stack.append(child)
    owner = {}
    for name, mod in named:
        for p in mod._parameters.values():
            if p is not None:
                owner[id(p)] = name
    for v in g.nodes.values():
        if v.kind == "op" and v.node in by_node:
            v.module = by_node[v.node]
        elif v.kind == "tensor" and v.node is not None and v.node in by_node:
            v.module = by_node[v.node]
        elif v.kind == "tensor" and v.tensor is not None and id(v.tensor) in owner:
            v.module = owner[id(v.tensor)]
    return g
