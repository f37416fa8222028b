"""The HTML stepper shared by the backward page and ``explain``: frames (inline SVG or
HTML), one shown at a time, with Prev/Next, a slider and the ←/→ keys; the page sizes its
notebook iframe to its content and scrolls the running part (``data-focus``) into view."""
from __future__ import annotations

import html
import uuid

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 8px; }}
#controls {{ display: flex; gap: 8px; align-items: center; margin-bottom: 6px;
            position: sticky; top: 0; background: white; z-index: 1; padding: 4px 0; }}
#caption {{ font-family: monospace; white-space: pre-wrap; background: #f6f6f6;
           padding: 8px; border-radius: 6px; min-height: 3em; font-size: 12px; }}
#view {{ overflow: auto; max-height: {max_height}px; }}
.frame {{ display: none; }} .frame.current {{ display: block; }}
.frame svg {{ max-width: 100%; height: auto; }}
.focus {{ outline: 3px solid #ff8c1a; outline-offset: 2px; }}
kbd {{ border: 1px solid #bbb; border-radius: 3px; padding: 0 4px; font-size: 11px; }}
</style></head><body tabindex="0">
<h3 style="margin:4px 0">{title}</h3>
<div id="controls">
  <button id="prev">&#9664; Prev</button>
  <input id="slider" type="range" min="0" max="{last}" value="0">
  <button id="next">Next &#9654;</button>
  <span id="counter"></span> <span style="color:#777;font-size:11px">keys <kbd>&larr;</kbd>
  <kbd>&rarr;</kbd></span>
</div>
<div id="caption"></div>
<div id="view">
{frames}
</div>
<script>
const frames = Array.from(document.querySelectorAll('.frame'));
const slider = document.getElementById('slider');
const view = document.getElementById('view');
function fit() {{
  // a notebook shows the page in an iframe (same origin via srcdoc): size it to the content
  try {{
    const fe = window.frameElement;
    if (fe) fe.style.height = (document.documentElement.scrollHeight + 4) + 'px';
  }} catch (e) {{}}
}}
function focusOf(frame) {{
  const id = frame.dataset.focus;
  if (!id) return null;
  for (const g of frame.querySelectorAll('g.node, [data-cell]')) {{
    const t = g.querySelector('title');
    if ((t && t.textContent === id) || g.dataset.cell === id) return g;
  }}
  return null;
}}
function show(i) {{
  i = Math.max(0, Math.min(frames.length - 1, i));
  frames.forEach((f, k) => f.classList.toggle('current', k === i));
  slider.value = i;
  document.getElementById('counter').textContent = 'step ' + i + ' / ' + (frames.length - 1);
  document.getElementById('caption').textContent = frames[i].dataset.caption;
  document.body.dataset.step = i;
  const target = focusOf(frames[i]);
  if (target) {{
    // scroll the view (not the notebook) so the running op sits in the middle
    const vr = view.getBoundingClientRect(), tr = target.getBoundingClientRect();
    view.scrollTop += (tr.top + tr.height / 2) - (vr.top + vr.height / 2);
    view.scrollLeft += (tr.left + tr.width / 2) - (vr.left + vr.width / 2);
    document.body.dataset.focus = frames[i].dataset.focus;
  }}
  fit();
}}
document.getElementById('prev').onclick = () => show(+slider.value - 1);
document.getElementById('next').onclick = () => show(+slider.value + 1);
slider.oninput = () => show(+slider.value);
document.addEventListener('keydown', (e) => {{
  if (e.key === 'ArrowRight') {{ show(+slider.value + 1); e.preventDefault(); }}
  if (e.key === 'ArrowLeft') {{ show(+slider.value - 1); e.preventDefault(); }}
}});
window.addEventListener('load', () => {{ show(+slider.value); }});
show(0);
</script></body></html>
"""


def page(frames, title, max_height=640):
    """One self-contained page from ``frames``: (body html/svg, caption, focus id or None)."""
    parts = []
    for i, (body, caption, focus) in enumerate(frames):
        if body.lstrip().startswith("<?xml"):
            body = body[body.find("<svg"):]  # the SVG sits inside HTML
        focus_attr = f' data-focus="{html.escape(focus)}"' if focus else ""
        parts.append(f'<div class="frame" id="frame-{i}" data-caption="{html.escape(caption)}"'
                     f"{focus_attr}>{body}</div>")
    return _PAGE.format(title=html.escape(title), last=len(parts) - 1,
                        frames="\n".join(parts), max_height=int(max_height))


class Stepper:
    """A stepper page that Jupyter displays inline (``_repr_html_``); ``.html`` is the page,
    ``.save(path)`` writes it."""

    def __init__(self, html_text):
        self.html = html_text

    def _repr_html_(self):
        # an iframe keeps the page's script and ids apart from the notebook's; the page
        # sets the iframe's height to its content once loaded (the 200px is a first guess)
        return (f'<iframe id="tgviz-{uuid.uuid4().hex[:8]}" style="width:100%;height:200px;'
                'border:0" srcdoc="' + html.escape(self.html) + '"></iframe>')

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)
        return path
