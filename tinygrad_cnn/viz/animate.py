"""One self-contained HTML page that steps through the backward pass (SVGs inline, no
network): each frame highlights the op that runs, shows the gradients it sends in that same
frame (dashed while a sum is still partial, green once complete), with one colour scale for
every frame. Prev/Next, a slider and the ←/→ keys; the view scrolls to the running op."""
from __future__ import annotations

import os

from ..tensor import Tensor
from .dot import _fmt_array, norm_span, render_dot, to_dot
from .graph import param_names
from .stepper import Stepper, page
from .steps import backward_steps
from .trace import op_arg_names


def _input_names(frame, names):
    """One label per input of the frame's op: "W (conv2d's w)" when the input is a named
    parameter, else the op's own argument name."""
    own = op_arg_names(frame.node.op, len(frame.node.next_edges))
    out = []
    for i, e in enumerate(frame.node.next_edges):
        leaf = e if isinstance(e, Tensor) else None  # an edge to a leaf is the tensor
        given = names.get(id(leaf)) if leaf is not None else None
        out.append(f"{given} ({frame.op}'s {own[i]})" if given else f"{frame.op}'s {own[i]}")
    return out


def _caption(frame, full_up_to, names):
    lines = [f"step {frame.index + 1}: {frame.op} runs (rule: {frame.node.rule})"]
    if frame.grad_in is not None:
        lines.append("gradient arriving at its output: " + _fmt_array(frame.grad_in, full_up_to))
    labels = _input_names(frame, names)
    for i, g in enumerate(frame.grads_out):
        if g is not None:
            lines.append(f"gradient sent to {labels[i]}: " + _fmt_array(g, full_up_to))
    return "\n".join(lines)


def frame_sources(loss, params=None, full_up_to=9):
    """(DOT source, caption, focus id) for the forward picture and each backward step."""
    frames, grads = backward_steps(loss)
    names = param_names(params)
    span = norm_span([g for g in grads.values() if g is not None])  # one scale for all
    out = [(to_dot(loss, params, show_values=True, full_up_to=full_up_to,
                   title="forward graph: nothing back-propagated yet"),
            "forward pass done; press Next (or →) to run the backward pass one op at a time",
            None)]
    for f in frames:
        focus = f"n{id(f.node)}"
        src = to_dot(loss, params, show_values=True, show_grads=True, grads=f.arrived,
                     full_up_to=full_up_to, highlight={focus}, done=f.done, span=span,
                     tensor_grads=False,
                     title=f"backward step {f.index + 1} of {len(frames)}: {f.op}")
        out.append((src, _caption(f, full_up_to, names), focus))
    return out


def frames_html(loss, params=None, full_up_to=9):
    """(svg text, caption, focus id) for the forward picture and each backward step."""
    return [(render_dot(src).decode(), caption, focus)
            for src, caption, focus in frame_sources(loss, params, full_up_to)]


def page_html(loss, params=None, full_up_to=9, title="Backward pass, step by step"):
    return page(frames_html(loss, params, full_up_to), title)


def show_backward(loss, params=None, full_up_to=9, title="Backward pass, step by step"):
    """The same page as :func:`animate`, for a notebook cell: ``tg.viz.show_backward(loss)``.
    ``.grad`` is left untouched (the pass runs with retain_graph)."""
    return Stepper(page_html(loss, params, full_up_to, title))


# the name older code used for the notebook object
BackwardPage = Stepper


def animate(loss, path, params=None, full_up_to=9, title="Backward pass, step by step"):
    """Write the step-through page for ``loss``'s backward pass to ``path`` and return it.
    ``.grad`` is left untouched and the graph is kept (the pass runs with retain_graph)."""
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page_html(loss, params, full_up_to, title))
    return path
