"""``backward`` and ``grad``: argument checking around :func:`engine.run_backward`."""
from __future__ import annotations

from .engine import run_backward


def _as_tuple(x):
    if x is None:
        return None
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _root_gradients(op, outputs, grad_outputs):
    from ..tensor import Tensor
    grads = []
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: output {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does "
                               "not have a grad_fn (was it computed under no_grad, or from "
                               "tensors without requires_grad=True?)")
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for outputs with "
                                   f"one element; output {i} has shape {t.shape}. Pass "
                                   "gradient= (a tensor of that shape)")
            g = Tensor._make(t.xp.ones(t.shape, dtype=t.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor(g, dtype=t.dtype, device=t.device)
            if g.shape != t.shape:
                raise RuntimeError(f"{op}: gradient of shape {g.shape} does not match output {i} "
                                   f"of shape {t.shape}")
            if g.device != t.device:
                raise RuntimeError(f"{op}: gradient on {g.device} for output {i} on {t.device}")
            if g.dtype != t.dtype:
                g = g.to(dtype=t.dtype)
        grads.append(g)
    return grads


def _prepare(op, outputs, grad_outputs, retain_graph, create_graph):
    """Outputs as a tuple, their starting gradients, and retain_graph's default."""
    outputs = _as_tuple(outputs)
    grad_outputs = _as_tuple(grad_outputs)
    if grad_outputs is not None and len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{op}: got {len(grad_outputs)} gradients for {len(outputs)} "
                           "outputs")
    roots = _root_gradients(op, outputs, grad_outputs)
    return outputs, roots, create_graph if retain_graph is None else retain_graph


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the leaves' ``.grad``.

    ``inputs``, when given, restricts accumulation to those tensors.
    """
    tensors, roots, retain_graph = _prepare("backward", tensors, grad_tensors, retain_graph,
                                            create_graph)
    if inputs is not None:
        run_backward(tensors, roots, retain_graph, create_graph, inputs=_as_tuple(inputs),
                     allow_unused=True, accumulate_inputs=True)
        return
    run_backward(tensors, roots, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is untouched.

    ``grad_outputs`` is required for outputs with more than one element. With
    ``create_graph=True`` the results are part of a graph and can be differentiated again.
    """
    outputs, roots, retain_graph = _prepare("grad", outputs, grad_outputs, retain_graph,
                                            create_graph)
    return run_backward(outputs, roots, retain_graph, create_graph, inputs=_as_tuple(inputs),
                        allow_unused=allow_unused)
