"""The backward pass, step by step, in the order the engine itself runs it."""
from __future__ import annotations

from dataclasses import dataclass

from ..autograd.engine import run_backward
from ..autograd.graph import Node, split_edge
from ..tensor import Tensor


@dataclass
class Frame:
    """One engine step: ``op`` ran on the gradient ``grad_in`` that had fully arrived at its
    output and sent ``grads_out`` (one per input, None where none) to its inputs."""
    index: int
    node: Node
    op: str
    grad_in: object        # array
    grads_out: tuple       # arrays or None, one per input of the op
    done: frozenset        # graph ids (see viz.graph) whose gradient is complete after it
    arrived: dict = None   # graph id -> gradient summed so far (partial until in ``done``)
    targets: tuple = ()    # graph id of each input of the op (None where no gradient goes)


def _edge_id(e):
    """The graph id (as in viz.graph) of where an edge's gradient goes."""
    child, nr = split_edge(e)
    return f"o{id(child)}_{nr}" if isinstance(child, Node) else f"t{id(child)}"


def _nodes(root):
    out, stack = set(), [root.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in out:
            continue
        out.add(node)
        stack += [split_edge(e)[0] for e in node.next_edges
                  if e is not None and isinstance(split_edge(e)[0], Node)]
    return out


def _leaves(root):
    """Leaf tensors that require grad, found with an explicit stack."""
    out, seen, stack = [], set(), [root.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for e in node.next_edges:
            if e is None:
                continue
            child, _ = split_edge(e)
            if isinstance(child, Node):
                stack.append(child)
            elif all(child is not t for t in out):
                out.append(child)
    return out


def backward_steps(loss, gradient=None):
    """Run the backward pass of ``loss`` through the engine (keeping the graph and leaving
    ``.grad`` alone) and return its steps as :class:`Frame` s, plus a map of every gradient
    the pass computed, keyed like :func:`viz.graph.build` expects.

    Returns ``(frames, grads)``.
    """
    if loss.grad_fn is None:
        raise RuntimeError("backward_steps: the tensor has no graph (it is a leaf or was made "
                           "under no_grad)")
    if gradient is None:
        if loss.numel() != 1:
            raise RuntimeError(f"backward_steps: give gradient= for an output of shape "
                               f"{loss.shape}")
        gradient = Tensor._make(loss.xp.ones(loss.shape, dtype=loss.dtype))
    leaves = _leaves(loss)
    root = f"o{id(loss.grad_fn)}_{loss._output_nr}"
    frames, grads = [], {(loss.grad_fn, loss._output_nr): gradient.numpy()}
    done, arrived = {root}, {root: gradient.numpy()}

    def on_step(node, gy, grads_out):
        gys = [gy] if node.num_outputs == 1 else list(gy)
        for nr, g in enumerate(gys):
            if g is not None:
                grads[(node, nr)] = g.numpy()
                done.add(f"o{id(node)}_{nr}")
        targets = tuple(None if e is None else _edge_id(e) for e in node.next_edges)
        for tid, g in zip(targets, grads_out, strict=True):  # what this step sends, in this frame
            if tid is not None and g is not None:
                prev = arrived.get(tid)
                arrived[tid] = g.numpy() if prev is None else prev + g.numpy()
        frames.append(Frame(len(frames), node, node.name, gys[0].numpy() if gys[0] is not None
                            else None,
                            tuple(None if g is None else g.numpy() for g in grads_out),
                            frozenset(done), dict(arrived), targets))

    # this pass is the viewer's: tensors that retain_grad() (e.g. under viz.trace) must not
    # accumulate it into their .grad, so their retain records are set aside meanwhile
    nodes = _nodes(loss)
    retained = {n: n.retained for n in nodes if n.retained}
    for n in retained:
        n.retained = None
    try:
        leaf_grads = run_backward([loss], [gradient], retain_graph=True, inputs=leaves,
                                  allow_unused=True, on_step=on_step) if leaves else ()
    finally:
        for n, r in retained.items():
            n.retained = r
    for leaf, g in zip(leaves, leaf_grads, strict=False):
        if g is not None:
            grads[leaf] = g.numpy()
    if frames and leaves:  # leaves are complete once the last step ran
        last = frames[-1]
        frames[-1] = Frame(last.index, last.node, last.op, last.grad_in, last.grads_out,
                           last.done | {f"t{id(t)}" for t in leaves}, last.arrived,
                           last.targets)
    return frames, grads
