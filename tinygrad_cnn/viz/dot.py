"""DOT text, graphviz.Digraph and rendered pictures of a graph (see viz.graph)."""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys

import numpy as _np

from .graph import assign_modules, build

OP_FILL, PARAM_FILL, INPUT_FILL, OUTPUT_FILL, TENSOR_FILL = (
    "#dbe9f6", "#fff2b3", "#eeeeee", "#c9ecc4", "#ffffff")
HIGHLIGHT = "#ff8c1a"


def _fmt_array(a, full_up_to):
    a = _np.asarray(a)
    if a.size <= full_up_to:
        a = a.reshape(tuple(s for s in a.shape if s != 1) or ())  # (1, 1, 2, 2) reads as 2x2
        text = _np.array2string(a.astype(_np.float64) if a.dtype.kind == "f" else a,
                                separator=", ",
                                formatter={"float_kind": lambda v: f"{v:.4g}"})
        return " ".join(text.split())
    f = a.astype(_np.float64)
    return (f"min {f.min():.3g} mean {f.mean():.3g} max {f.max():.3g} "
            f"norm {_np.sqrt((f * f).sum()):.3g}")


def grad_color(norm, lo, hi):
    """Blue (vanishing) through green to red (exploding) on a log scale between lo and hi."""
    if norm is None or not math.isfinite(norm):
        return "#ff00ff" if norm is not None else None
    if norm == 0:
        return "#9ecae1"
    t = 0.5 if hi <= lo else (math.log10(norm) - lo) / (hi - lo)
    t = min(max(t, 0.0), 1.0)
    stops = [(0.0, (49, 130, 189)), (0.5, (116, 196, 118)), (1.0, (222, 45, 38))]
    for (t0, c0), (t1, c1) in zip(stops, stops[1:], strict=False):
        if t <= t1:
            u = (t - t0) / (t1 - t0)
            r, g, b = (int(c0[k] + u * (c1[k] - c0[k])) for k in range(3))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#de2d26"


def _esc(s):
    return str(s).replace("\\", "\\\\").replace('"', '\\"')


def grad_norm(g):
    return float(_np.sqrt((_np.asarray(g, dtype=_np.float64) ** 2).sum()))


def norm_span(arrays):
    """(lo, hi) of log10 of the finite non-zero norms of ``arrays`` (the colour scale)."""
    finite = [math.log10(n) for n in map(grad_norm, arrays) if n > 0 and math.isfinite(n)]
    return (min(finite), max(finite)) if finite else (0.0, 0.0)


def describe(g, show_shapes=True, show_values=False, show_grads=False, show_rules=False,
             show_saved=False, full_up_to=9, highlight=(), done=None, span=None):
    """(nodes, edges, colour span) as DOT attribute dicts, shared by to_dot and draw.
    ``span`` fixes the colour scale (log10 lo, hi), e.g. one scale for every frame."""
    norms = {}
    if show_grads:
        for vid, v in g.nodes.items():
            if v.kind == "tensor" and v.grad is not None:
                norms[vid] = grad_norm(v.grad)
    finite = [math.log10(n) for n in norms.values() if n > 0 and math.isfinite(n)]
    lo, hi = span if span is not None else \
        ((min(finite), max(finite)) if finite else (0.0, 0.0))
    nodes, edges = [], []
    for vid, v in g.nodes.items():
        if v.kind == "op":
            lines = [v.title]
            if show_rules and v.node is not None:
                lines.append(v.node.rule)
            if show_saved and v.node is not None:
                saved = [f"{tuple(s.shape)}" for s in v.node.saved_tensors()]
                if saved:
                    lines.append("saved: " + ", ".join(saved))
            attrs = dict(shape="box", style="rounded,filled", fillcolor=OP_FILL,
                         fontname="Helvetica")
        else:
            kind = ("param" if v.title not in ("input", "tensor", "output", "constant")
                    else v.title)
            lines = [v.title if v.title != "tensor" else ""]
            if show_shapes:
                lines.append(f"{v.shape} {v.dtype.replace('float', 'f').replace('int', 'i')}")
            if v.is_leaf:
                lines.append("leaf, requires_grad" if v.requires_grad else "leaf, constant")
            if show_values and v.tensor is not None:
                lines.append("value " + _fmt_array(v.tensor.numpy(), full_up_to))
            if show_grads and v.grad is not None:
                lines.append("grad " + _fmt_array(v.grad, full_up_to))
            fill = {"param": PARAM_FILL, "input": INPUT_FILL, "constant": INPUT_FILL,
                    "output": OUTPUT_FILL}.get(kind, TENSOR_FILL)
            if v.is_output:
                fill = OUTPUT_FILL
            attrs = dict(shape="box", style="filled", fillcolor=fill, fontname="Helvetica")
            if show_grads and vid in norms:
                attrs.update(color=grad_color(norms[vid], lo, hi), penwidth="3")
            if done is not None and vid in done:
                attrs.update(style="filled,bold", color="#238b45", penwidth="3")
            elif done is not None and vid in norms:  # a partial sum: more is on its way
                attrs.update(style="filled,dashed")
        if vid in highlight:
            attrs.update(fillcolor=HIGHLIGHT, penwidth="3")
        attrs["label"] = "\n".join(x for x in lines if x)
        nodes.append((vid, attrs))
    for src, dst, _ in g.edges:
        attrs = {}
        if show_grads:
            tensor_side = src if g.nodes[src].kind == "tensor" else dst
            if tensor_side in norms:
                attrs["color"] = grad_color(norms[tensor_side], lo, hi)
        edges.append((src, dst, attrs))
    return nodes, edges, (lo, hi) if norms or span is not None else None


def _legend_lines(span, rankdir="TB"):
    """A small key of the colour scale; one entry when every norm is the same."""
    lo, hi = span
    out = ["subgraph cluster_legend {", 'label="gradient norm"; fontname="Helvetica"; '
           'fontsize=10; style="rounded"; color="#bbbbbb";']
    steps = (0.0, 0.5, 1.0) if hi - lo > 1e-9 else (0.0,)
    for i, t in enumerate(steps):
        value = 10 ** (lo + t * (hi - lo))
        label = f"{value:.2g}" if len(steps) > 1 else f"all {value:.2g}"
        out.append(f'legend{i} [shape=box, style=filled, fillcolor="white", penwidth=3, '
                   f'color="{grad_color(value, lo, hi)}", fontname="Helvetica", fontsize=10, '
                   f'label="{label}"];')
    if len(steps) > 1:
        # across the flow (a row under a top-down graph), so it never widens the picture
        if rankdir in ("TB", "BT"):  # same rank; the invisible edges order it low to high
            out.append("{rank=same; legend0; legend1; legend2}")
        out.append("legend0 -> legend1 -> legend2 [style=invis];")
    out.append("}")
    return out


def to_dot(outputs, params=None, show_shapes=True, show_values=False, show_grads=False,
           rankdir="TB", show_rules=False, show_saved=False, full_up_to=9, grads=None,
           highlight=(), done=None, title=None, clusters=True, collapse=False, trace=None,
           span=None, tensor_grads=True):
    """DOT source of the graph behind ``outputs`` (no Graphviz installation needed).

    ``show_grads`` colours tensors and edges by gradient norm (blue: vanishing, red:
    exploding, a legend says the scale). Leaves show their ``.grad``; for a scalar output
    whose graph is still alive, the intermediate gradients come from one extra backward
    pass through the engine (``backward_steps``), which leaves ``.grad`` alone. After
    ``backward()`` intermediates show a gradient when the forward ran under
    ``tg.viz.trace()`` (``trace`` picks one; default: the latest).
    """
    if show_grads and grads is None:
        grads = _intermediate_grads(outputs)
    g = build(outputs, params, grads, trace, tensor_grads)
    is_module = hasattr(params, "named_modules")
    if is_module:
        assign_modules(g, params)
    if is_module and collapse:
        g = _collapse(g, params)
    nodes, edges, span = describe(g, show_shapes, show_values, show_grads, show_rules,
                                  show_saved, full_up_to, highlight, done, span)
    lines = ["digraph tinygrad_cnn {", f'rankdir="{rankdir}";',
             'node [fontsize=11]; edge [arrowsize=0.7];']
    if title:
        lines.append(f'label="{_esc(title)}"; labelloc="t"; fontname="Helvetica";')
    groups = {}
    for vid, attrs in nodes:
        line = f'{vid} [' + ", ".join(f'{k}="{_esc(v)}"' for k, v in attrs.items()) + "];"
        mod = g.nodes[vid].module if clusters and is_module and not collapse else ""
        groups.setdefault(mod, []).append(line)
    for mod, members in groups.items():
        if not mod:
            lines += members
            continue
        kind = type(_submodule(params, mod)).__name__
        lines.append(f'subgraph "cluster_{_esc(mod)}" {{ label="{_esc(mod)}: {kind}"; '
                     'style="rounded,dashed"; color="#888888"; fontname="Helvetica";')
        lines += members
        lines.append("}")
    for src, dst, attrs in edges:
        extra = " [" + ", ".join(f'{k}="{v}"' for k, v in attrs.items()) + "]" if attrs else ""
        lines.append(f"{src} -> {dst}{extra};")
    if span is not None:
        lines += _legend_lines(span, rankdir)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _submodule(module, dotted):
    for part in dotted.split("."):
        module = module._modules[part]
    return module


def _collapse(g, module):
    """One node per direct child module; edges between groups kept, inner ones dropped."""
    from .graph import VGraph, VNode
    group = {}
    for vid, v in g.nodes.items():
        top = v.module.split(".")[0] if v.module else ""
        if top:
            group[vid] = f"m_{top}"
    nodes = {}
    for vid, v in g.nodes.items():
        gid = group.get(vid)
        if gid is None:
            nodes[vid] = v
        elif gid not in nodes:
            name = gid[2:]
            nodes[gid] = VNode(gid, "op", f"{name}: {type(module._modules[name]).__name__}")
    edges, seen = [], set()
    for src, dst, i in g.edges:
        a, b = group.get(src, src), group.get(dst, dst)
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            edges.append((a, b, i))
    return VGraph(nodes, edges)


def _intermediate_grads(outputs):
    from ..tensor import Tensor
    from .steps import backward_steps
    if not isinstance(outputs, Tensor) or outputs.grad_fn is None or outputs.numel() != 1:
        return None
    try:
        return backward_steps(outputs)[1]
    except RuntimeError:  # the graph was freed by an earlier backward: leaves' .grad only
        return None


def responsive_svg(svg):
    """SVG text that scales down to the width of a notebook cell instead of being cut."""
    svg = svg[svg.find("<svg"):] if "<svg" in svg else svg  # no XML prolog inside HTML
    head_end = svg.find(">")
    head = re.sub(r'\swidth="[^"]*"', ' width="100%"', svg[:head_end], count=1)
    head = re.sub(r'\sheight="[^"]*"', "", head, count=1)
    m = re.search(r'viewBox="[\d.\-]+ [\d.\-]+ ([\d.]+) ', head)
    if m:  # never wider than its natural size: small graphs stay small
        head += f' style="max-width:{float(m.group(1)):.0f}px;height:auto"'
    return head + svg[head_end:]


def _digraph_class():
    import graphviz

    class Graph(graphviz.Digraph):
        """A ``graphviz.Digraph`` that displays through :func:`render_dot`: system ``dot``
        when installed, else the pip-installed ``graphviz-pure`` (so notebooks on machines
        without Graphviz show the picture instead of raising ``ExecutableNotFound``)."""

        def _repr_mimebundle_(self, include=None, exclude=None, **_):
            svg = self._repr_svg_()
            bundle = {"image/svg+xml": svg, "text/html": responsive_svg(svg)}
            return {k: v for k, v in bundle.items()
                    if (include is None or k in include) and k not in (exclude or ())}

        def _repr_svg_(self):
            return render_dot(self.source, "svg").decode("utf-8")

        def _repr_html_(self):
            return responsive_svg(self._repr_svg_())

        def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None,
                 quiet=False, *, engine=None, encoding=None):
            fmt = format or self.format
            if renderer or formatter or neato_no_op or engine or fmt not in ("svg", "png"):
                return super().pipe(format, renderer, formatter, neato_no_op, quiet,
                                    engine=engine, encoding=encoding)
            data = render_dot(self.source, fmt)
            return data.decode(encoding) if encoding else data

    return Graph


def draw(outputs, params=None, show_shapes=True, show_values=False, show_grads=False,
         rankdir="TB", **kwargs):
    """The graph as a ``graphviz.Digraph`` (a subclass) that displays inline in Jupyter,
    rendered like :func:`render`: system ``dot`` when present, else ``graphviz-pure``.
    Keyword arguments are those of :func:`to_dot`."""
    src = to_dot(outputs, params, show_shapes, show_values, show_grads, rankdir, **kwargs)
    body = src.strip().splitlines()[1:-1]
    return _digraph_class()(name="tinygrad_cnn", body=[line + "\n" for line in body])


def dot_command():
    """The Graphviz ``dot`` on PATH, else the pip-installed ``graphviz-pure`` renderer."""
    found = shutil.which("dot")
    if found:
        return found
    here = os.path.join(os.path.dirname(sys.executable), "graphviz-pure")
    return here if os.path.exists(here) else shutil.which("graphviz-pure")


def render_dot(source, fmt="svg"):
    """Rendered bytes of DOT ``source`` (svg or png)."""
    cmd = dot_command()
    if cmd is None:
        raise RuntimeError("render: neither Graphviz's dot nor graphviz-pure was found; "
                           "pip install graphviz-pure")
    res = subprocess.run([cmd, f"-T{fmt}"], input=source.encode(), capture_output=True,
                         timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"render: {os.path.basename(cmd)} failed: "
                           f"{res.stderr.decode(errors='replace')[:500]}")
    return res.stdout


def render(outputs, path, format="svg", **kwargs):
    """Write a picture of the graph to ``path`` (suffix added when missing); returns it."""
    if format not in ("svg", "png"):
        raise ValueError(f"render: format must be 'svg' or 'png', got {format!r}")
    path = os.fspath(path)
    if not os.path.splitext(path)[1]:
        path = f"{path}.{format}"
    data = render_dot(to_dot(outputs, **kwargs), format)
    with open(path, "wb") as f:
        f.write(data)
    return path
