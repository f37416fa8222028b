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
    frames, grads = [], {(loss.grad_fn, loss._output_nr): gradient.numpy()}
    done = {f"o{id(loss.grad_fn)}_{loss._output_nr}"}

    def on_step(node, gy, grads_out):
        gys = [gy] if node.num_outputs == 1 else list(gy)
        for nr, g in enumerate(gys):
            if g is not None:
                grads[(node, nr)] = g.numpy()
                done.add(f"o{id(node)}_{nr}")
        frames.append(Frame(len(frames), node, node.name, gys[0].numpy() if gys[0] is not None
                            else None,
                            tuple(None if g is None else g.numpy() for g in grads_out),
                            frozenset(done)))

    leaf_grads = run_backward([loss], [gradient], retain_graph=True, inputs=leaves,
                              allow_unused=True, on_step=on_step) if leaves else ()
    for leaf, g in zip(leaves, leaf_grads):
        if g is not None:
            grads[leaf] = g.numpy()
    if frames and leaves:  # leaves are complete once the last step ran
        last = frames[-1]
        frames[-1] = Frame(last.index, last.node, last.op, last.grad_in, last.grads_out,
                           last.done | {f"t{id(t)}" for t in leaves})
    return frames, grads
