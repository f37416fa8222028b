"""One self-contained HTML page that steps through the backward pass (SVGs inline, no
network): Prev/Next buttons and a slider; each frame highlights the op that runs, outlines
in green the tensors whose gradient is complete, and shows the numbers."""
from __future__ import annotations

import html
import os

from .dot import _fmt_array, render_dot, to_dot
from .steps import backward_steps

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 16px; }}
#controls {{ display: flex; gap: 8px; align-items: center; margin-bottom: 8px; }}
#caption {{ font-family: monospace; white-space: pre-wrap; background: #f6f6f6;
           padding: 8px; border-radius: 6px; min-height: 3em; }}
.frame {{ display: none; }} .frame.current {{ display: block; }}
.frame svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h2>{title}</h2>
<div id="controls">
  <button id="prev">&#9664; Prev</button>
  <input id="slider" type="range" min="0" max="{last}" value="0">
  <button id="next">Next &#9654;</button>
  <span id="counter"></span>
</div>
<div id="caption"></div>
{frames}
<script>
const frames = Array.from(document.querySelectorAll('.frame'));
const slider = document.getElementById('slider');
function show(i) {{
  i = Math.max(0, Math.min(frames.length - 1, i));
  frames.forEach((f, k) => f.classList.toggle('current', k === i));
  slider.value = i;
  document.getElementById('counter').textContent = 'step ' + i + ' / ' + (frames.length - 1);
  document.getElementById('caption').textContent = frames[i].dataset.caption;
  document.body.dataset.step = i;
}}
document.getElementById('prev').onclick = () => show(+slider.value - 1);
document.getElementById('next').onclick = () => show(+slider.value + 1);
slider.oninput = () => show(+slider.value);
show(0);
</script></body></html>
"""


def _caption(frame, full_up_to):
    lines = [f"step {frame.index + 1}: {frame.op} runs (rule: {frame.node.rule})"]
    if frame.grad_in is not None:
        lines.append("gradient arriving at its output: " + _fmt_array(frame.grad_in, full_up_to))
    for i, g in enumerate(frame.grads_out):
        if g is not None:
            lines.append(f"gradient sent to input {i}: " + _fmt_array(g, full_up_to))
    return "\n".join(lines)


def frames_html(loss, params=None, full_up_to=9):
    """(list of (svg text, caption)) for the forward picture and each backward step."""
    frames, grads = backward_steps(loss)
    out = [(render_dot(to_dot(loss, params, show_values=True, full_up_to=full_up_to,
                              title="forward graph: nothing back-propagated yet")).decode(),
            "forward pass done; press Next to run the backward pass one op at a time")]
    for f in frames:
        known = {k: v for k, v in grads.items()
                 if (isinstance(k, tuple) and f"o{id(k[0])}_{k[1]}" in f.done) or
                 (not isinstance(k, tuple) and f"t{id(k)}" in f.done)}
        src = to_dot(loss, params, show_values=True, show_grads=True, grads=known,
                     full_up_to=full_up_to, highlight={f"n{id(f.node)}"}, done=f.done,
                     title=f"backward step {f.index + 1} of {len(frames)}: {f.op}")
        out.append((render_dot(src).decode(), _caption(f, full_up_to)))
    return out


class BackwardPage:
    """The step-through page as an object Jupyter displays inline (``_repr_html_``)."""

    def __init__(self, html_text):
        self.html = html_text

    def _repr_html_(self):
        # an iframe keeps the page's script and ids apart from the notebook's own
        return ('<iframe style="width:100%;height:720px;border:0" srcdoc="'
                + html.escape(self.html) + '"></iframe>')


def show_backward(loss, params=None, full_up_to=9, title="Backward pass, step by step"):
    """The same page as :func:`animate`, for a notebook cell: ``tg.viz.show_backward(loss)``."""
    return BackwardPage(page_html(loss, params, full_up_to, title))


def page_html(loss, params=None, full_up_to=9, title="Backward pass, step by step"):
    parts = []
    for i, (svg, caption) in enumerate(frames_html(loss, params, full_up_to)):
        svg = svg[svg.find("<svg"):]  # drop the XML prolog: the SVG sits inside HTML
        parts.append(f'<div class="frame" id="frame-{i}" data-caption="{html.escape(caption)}">'
                     f"{svg}</div>")
    return _PAGE.format(title=html.escape(title), last=len(parts) - 1, frames="\n".join(parts))


def animate(loss, path, params=None, full_up_to=9, title="Backward pass, step by step"):
    """Write the step-through page for ``loss``'s backward pass to ``path`` and return it.
    ``.grad`` is left untouched and the graph is kept (the pass runs with retain_graph)."""
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page_html(loss, params, full_up_to, title))
    return path
