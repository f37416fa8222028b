"""Graph pictures for teaching: what was computed, and how the gradient flows back.

    tg.viz.draw(loss, params=model)              # graphviz.Digraph, inline in Jupyter
    tg.viz.to_dot(loss)                          # DOT text, no Graphviz needed
    tg.viz.render(loss, "graph.svg")             # system dot, else pip's graphviz-pure
    frames, grads = tg.viz.backward_steps(loss)  # the engine's own backward order
    tg.viz.animate(loss, "backward.html")        # step through it in a browser
    tg.viz.show_backward(loss)                   # the same, inline in a notebook
"""
from .animate import animate, show_backward
from .dot import draw, render, to_dot
from .steps import Frame, backward_steps

__all__ = ["draw", "to_dot", "render", "backward_steps", "Frame", "animate", "show_backward"]
