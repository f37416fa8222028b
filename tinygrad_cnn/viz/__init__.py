"""Graph pictures for teaching: what was computed, and how the gradient flows back.

    tg.viz.draw(loss, params=model)              # inline in Jupyter (dot, else graphviz-pure)
    tg.viz.to_dot(loss)                          # DOT text, no Graphviz needed
    tg.viz.render(loss, "graph.svg")             # system dot, else pip's graphviz-pure
    with tg.viz.trace(): loss = f(x)             # keep intermediate values and gradients
    frames, grads = tg.viz.backward_steps(loss)  # the engine's own backward order
    tg.viz.animate(loss, "backward.html")        # step through it in a browser
    tg.viz.show_backward(loss)                   # the same, inline in a notebook
    tg.viz.explain(y)                            # a conv / pool / resample backward, by hand
"""
from .animate import animate, show_backward
from .dot import draw, render, to_dot
from .explain import explain
from .steps import Frame, backward_steps
from .trace import clear_trace, trace

__all__ = ["draw", "to_dot", "render", "backward_steps", "Frame", "animate", "show_backward",
           "trace", "clear_trace", "explain"]
