"""Numbers as grids in plain SVG (no Graphviz): the pictures of ``tg.viz.explain``.

A frame is a row of panels; a panel is a titled 2-D grid of numbers where some cells are
highlighted (the sliding window, the cell being computed) and some are not yet known."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as _np

CELL = 38
WINDOW, RESULT, ROUTE, PAD = "#ffd8a8", "#b2f2bb", "#a5d8ff", "#f1f3f5"


@dataclass
class Panel:
    """``values`` (h, w); ``known`` (h, w) bools, None = all known; ``marks`` {(i, j): fill};
    ``padded`` (h, w) bools drawn grey (zero padding / inserted zeros)."""
    title: str
    values: object
    known: object = None
    marks: dict = field(default_factory=dict)
    padded: object = None
    note: str = ""


def _fmt(v):
    if v == 0:
        return "0"
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.3g}"


def _panel_svg(p, x0, y0, focus):
    vals = _np.asarray(p.values, dtype=_np.float64)
    if vals.ndim == 1:
        vals = vals[None, :]
    h, w = vals.shape
    out = [f'<text x="{x0}" y="{y0 + 14}" font-size="13" font-weight="bold">'
           f"{html.escape(p.title)}</text>"]
    top = y0 + 22
    for i in range(h):
        for j in range(w):
            fill = p.marks.get((i, j))
            if fill is None:
                fill = PAD if p.padded is not None and p.padded[i][j] else "white"
            x, y = x0 + j * CELL, top + i * CELL
            cell = f' data-cell="{focus}"' if focus and (i, j) == _first_mark(p) else ""
            out.append(f'<g{cell}><rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" '
                       f'fill="{fill}" stroke="#868e96"/>')
            if p.known is None or p.known[i][j]:
                out.append(f'<text x="{x + CELL / 2}" y="{y + CELL / 2 + 4}" font-size="12" '
                           f'text-anchor="middle">{_fmt(vals[i, j])}</text>')
            out.append("</g>")
    if p.note:
        out.append(f'<text x="{x0}" y="{top + h * CELL + 16}" font-size="11" fill="#495057">'
                   f"{html.escape(p.note)}</text>")
    return "\n".join(out), w * CELL, h * CELL + 22 + (20 if p.note else 0)


def _first_mark(p):
    return min(p.marks) if p.marks else None


def frame_svg(panels, heading="", focus="cell", footer=""):
    """One SVG with ``panels`` side by side under ``heading``, ``footer`` below them (the
    frame's arithmetic, so a static frame reads on its own)."""
    parts, x, height = [], 8, 0
    y0 = 30 if heading else 4
    for i, p in enumerate(panels):
        svg, w, h = _panel_svg(p, x, y0, focus if i == len(panels) - 1 else None)
        title_w = 7.5 * len(p.title)
        parts.append(svg)
        x += max(w, title_w) + 30
        height = max(height, h)
    head = (f'<text x="8" y="18" font-size="14">{html.escape(heading)}</text>'
            if heading else "")
    width, height = int(x), int(y0 + height + 8)
    if footer:
        head += (f'<text x="8" y="{height + 10}" font-size="12" font-family="monospace">'
                 f"{html.escape(footer)}</text>")
        width, height = max(width, int(16 + 7.3 * len(footer))), height + 20
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">'
            f'{head}{"".join(parts)}</svg>')


def window_marks(r0, c0, kh, kw, fill=WINDOW, shape=None):
    """{cell: fill} for a kh x kw window at (r0, c0), clipped to ``shape`` when given."""
    out = {}
    for a in range(kh):
        for b in range(kw):
            i, j = r0 + a, c0 + b
            if shape is None or (0 <= i < shape[0] and 0 <= j < shape[1]):
                out[(i, j)] = fill
    return out
