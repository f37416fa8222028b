"""MkDocs hooks.

* Before each build, draw the docs' graph pictures and explain frames with the engine itself,
  so they can never drift from the code (written to docs/img/generated/, not committed).
* Typeset math at build time: every ``$...$`` / ``$$...$$`` (arithmatex spans in pages, raw
  dollars in notebook cells) becomes MathML, which browsers render with no script, no web
  font and no network.
* Drop any script or stylesheet that a plugin or template would fetch from the network.
"""
from __future__ import annotations

import html as _html
import os
import re


def on_pre_build(config, **kwargs):
    import tinygrad_cnn as tg
    import tinygrad_cnn.functional as F

    out = os.path.join(config["docs_dir"], "img", "generated")
    os.makedirs(out, exist_ok=True)

    def f32(v):
        return tg.tensor(v, requires_grad=True)

    # the notes' 3x3 input and 2x2 filter
    x = f32([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]])
    w = f32([[[[1.0, 0], [-1, 2]]]])
    z = F.conv2d(x, w)
    z.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    tg.viz.render(z, os.path.join(out, "conv_3x3"), params={"X": x, "W": w},
                  show_values=True, show_grads=True, show_rules=True)

    x = tg.arange(25.0).reshape(1, 1, 5, 5).requires_grad_()
    w = tg.arange(9.0).reshape(1, 1, 3, 3).requires_grad_()
    z = F.conv2d(x, w, stride=2)
    z.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    tg.viz.render(z, os.path.join(out, "conv_stride2"), params={"X": x, "W": w},
                  show_values=True, show_grads=True, show_rules=True)

    y = f32([[[[1.0, 9, 2], [3, 4, 5], [8, 0, 7]]]])
    p = F.max_pool2d(y, 2, stride=1)
    p.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    tg.viz.render(p, os.path.join(out, "max_pool"), params={"Y": y}, show_values=True,
                  show_grads=True, show_rules=True)

    y = f32([[[[1.0, 9, 2], [3, 4, 5], [8, 0, 7]]]])
    p = F.avg_pool2d(y, 2, stride=1)
    p.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    tg.viz.render(p, os.path.join(out, "avg_pool"), params={"Y": y}, show_values=True,
                  show_grads=True, show_rules=True)

    x = f32([[[[1.0, 2.0], [3.0, 4.0]]]])
    u = F.upsample(x, 2)
    u.backward(tg.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    tg.viz.render(u, os.path.join(out, "upsample"), params={"x": x}, show_values=True,
                  show_grads=True, show_rules=True)

    a, b = tg.tensor(2.0, requires_grad=True), tg.tensor(-3.0, requires_grad=True)
    loss = (a * b + a).tanh()
    tg.viz.render(loss, os.path.join(out, "scalar"), params={"a": a, "b": b},
                  show_values=True, show_grads=True, rankdir="LR")
    x = f32([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]])
    w = f32([[[[1.0, 0], [-1, 2]]]])
    loss = F.max_pool2d(F.conv2d(x, w), 2, stride=1).sum()
    tg.viz.animate(loss, os.path.join(out, "backward.html"), params={"X": x, "W": w})
    _explain_pictures(tg, F, out)


def _explain_pictures(tg, F, out):
    """explain frames of the conv and pooling examples, as static SVGs and one stepper page."""
    x = tg.arange(25.0).reshape(1, 1, 5, 5).requires_grad_()
    w = tg.arange(9.0).reshape(1, 1, 3, 3).requires_grad_()
    with tg.viz.trace():
        z = F.conv2d(x, w, stride=2)
    z.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    e = tg.viz.explain(z)
    e.save(os.path.join(out, "explain_conv_stride2.html"))
    for i, name in ((0, "zero_insertion"), (8, "full_conv"), (len(e.frames) - 9, "weight")):
        with open(os.path.join(out, f"explain_{name}.svg"), "w", encoding="utf-8") as f:
            f.write(e.svgs()[i])
    y = tg.tensor([[[[1.0, 9, 2], [3, 4, 5], [8, 0, 7]]]], requires_grad=True)
    with tg.viz.trace():
        p = F.max_pool2d(y, 2, stride=1)
    p.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    with open(os.path.join(out, "explain_max_pool.svg"), "w", encoding="utf-8") as f:
        f.write(tg.viz.explain(p).svgs()[1])
    tg.viz.clear_trace()


_ARITH = re.compile(r'<(span|div) class="arithmatex">\s*(\\\(|\\\[)(.*?)(\\\)|\\\])\s*</\1>', re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$\w])\$(?!\s)((?:[^$<>\n]|\n(?!\n))+?)(?<!\s)\$(?![\w$])")
_CDN = re.compile(r'<(script|link)\b[^>]*(?:src|href)="https?://[^"]*"[^>]*>(?:\s*</script>)?', re.I)


def _mathml(tex, display):
    from latex2mathml.converter import convert
    return convert(_html.unescape(tex).strip(), display="block" if display else "inline")


def on_page_content(html, page, **kwargs):
    html = _ARITH.sub(lambda m: _mathml(m.group(3), m.group(2) == "\\["), html)
    if page.file.src_path.endswith(".ipynb"):  # notebook markdown keeps its raw dollars
        parts = re.split(r"(<pre\b.*?</pre>|<code\b.*?</code>)", html, flags=re.S)
        for i in range(0, len(parts), 2):  # never inside code
            parts[i] = _DISPLAY.sub(lambda m: _mathml(m.group(1), True), parts[i])
            parts[i] = _INLINE.sub(lambda m: _mathml(m.group(1), False), parts[i])
        html = "".join(parts)
    return html


def on_post_page(output, page, **kwargs):
    return _CDN.sub("", output)


def on_post_build(config, **kwargs):
    """The 404 page is rendered outside the page events: clean it the same way."""
    path = os.path.join(config["site_dir"], "404.html")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(_CDN.sub("", text))
