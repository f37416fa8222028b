"""The backward derivations of ``tg.viz.explain``, one plane at a time, as frames of grids.

Every function gets 2-D NumPy planes and the op's hyper-parameters and returns
``(frames, result)``: frames are ``(panels, heading, caption)`` and ``result`` is the
gradient the derivation arrives at (checked against the engine by the caller)."""
from __future__ import annotations

import numpy as _np

from .grids import RESULT, ROUTE, WINDOW, Panel, window_marks


def _terms(a, b):
    return " + ".join(f"{x:.3g}·{y:.3g}" for x, y in zip(a.ravel(), b.ravel(), strict=True))


def conv_input_grad(gy, w, stride, pad, size, limit):
    """dX = full convolution of the zero-inserted, zero-padded dY with the flipped filter,
    cropped by the forward padding. gy (oh, ow); w (kh, kw); pad ((t, b), (l, r))."""
    (kh, kw), (sh, sw) = w.shape, stride
    (pt, pb), (pl, pr) = pad
    hp, wp = size[0] + pt + pb, size[1] + pl + pr          # the padded input's size
    g = _np.zeros((hp + kh - 1, wp + kw - 1))
    inserted = _np.ones_like(g, dtype=bool)
    rows = kh - 1 + sh * _np.arange(gy.shape[0])
    cols = kw - 1 + sw * _np.arange(gy.shape[1])
    g[_np.ix_(rows, cols)] = gy
    inserted[_np.ix_(rows, cols)] = False
    wf = w[::-1, ::-1]
    full = _np.zeros((hp, wp))
    known = _np.zeros((hp, wp), dtype=bool)
    frames = [([Panel("dL/dY", gy), Panel(f"stride {sh}×{sw}: zeros inserted, "
                                           f"padded by k-1", g, padded=inserted),
                Panel("W flipped", wf)],
               "dL/dX: zero insertion and padding of dL/dY",
               f"dY {gy.shape} gets {sh - 1}×{sw - 1} zeros between samples (stride), then "
               f"{kh - 1}×{kw - 1} zeros around (full convolution); the filter is flipped")]
    for i in range(hp):
        for j in range(wp):
            win = g[i:i + kh, j:j + kw]
            full[i, j] = (win * wf).sum()
            known[i, j] = True
            if len(frames) <= limit:
                frames.append(([Panel("dY, inserted + padded", g, padded=inserted,
                                      marks=window_marks(i, j, kh, kw)),
                                Panel("W flipped", wf, marks=window_marks(0, 0, kh, kw)),
                                Panel("dL/dX (padded)", full, known=known.copy(),
                                      marks={(i, j): RESULT})],
                               f"dL/dX[{i - pt}, {j - pl}]" if (pt <= i < pt + size[0] and
                                                                pl <= j < pl + size[1])
                               else f"padding cell ({i}, {j}): computed, then cropped",
                               f"= {_terms(win, wf)} = {full[i, j]:.4g}"))
    dx = full[pt:pt + size[0], pl:pl + size[1]]
    frames.append(([Panel("dL/dX (padded)", full), Panel("dL/dX: padding cropped", dx)],
                   "dL/dX", "crop the forward padding: the input gradient"))
    return frames, dx


def conv_weight_grad(x, gy, stride, pad, ksize, limit):
    """dW = correlation of the padded X with dY, whose samples sit ``stride`` apart."""
    (sh, sw), ((pt, pb), (pl, pr)) = stride, pad
    xp = _np.pad(x, ((pt, pb), (pl, pr)))
    padded = _np.pad(_np.zeros(x.shape, dtype=bool), ((pt, pb), (pl, pr)),
                     constant_values=True)
    oh, ow = gy.shape
    dw = _np.zeros(ksize)
    known = _np.zeros(ksize, dtype=bool)
    frames = []
    for a in range(ksize[0]):
        for b in range(ksize[1]):
            taps = xp[a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
            dw[a, b] = (taps * gy).sum()
            known[a, b] = True
            if len(frames) < limit:
                marks = {(a + sh * i, b + sw * j): WINDOW for i in range(oh) for j in range(ow)}
                frames.append(([Panel("X (padded)", xp, marks=marks, padded=padded),
                                Panel("dL/dY", gy, marks=window_marks(0, 0, oh, ow)),
                                Panel("dL/dW", dw, known=known.copy(), marks={(a, b): RESULT})],
                               f"dL/dW[{a}, {b}]: X correlated with dL/dY",
                               f"= {_terms(taps, gy)} = {dw[a, b]:.4g}"))
    return frames, dw


def _windows(out_shape, k, st, p, size):
    for i in range(out_shape[0]):
        for j in range(out_shape[1]):
            r0, c0 = i * st[0] - p[0], j * st[1] - p[1]
            yield i, j, r0, c0, window_marks(r0, c0, k[0], k[1], shape=size)


def max_pool_grad(x, gy, k, st, p, limit):
    """Each dY goes to the first maximum of its window (windows that overlap add up)."""
    dx = _np.zeros(x.shape)
    frames = []
    for i, j, _, _, cells in _windows(gy.shape, k, st, p, x.shape):
        best = max(cells, key=lambda c: (x[c], -c[0], -c[1]))  # first maximum, row-major
        dx[best] += gy[i, j]
        if len(frames) < limit:
            marks = dict(cells)
            marks[best] = ROUTE
            frames.append(([Panel("X", x, marks=marks),
                            Panel("dL/dY", gy, marks={(i, j): ROUTE}),
                            Panel("dL/dX", dx.copy(), marks={best: RESULT})],
                           f"max pool window ({i}, {j}): the maximum {x[best]:.4g} is at "
                           f"{best}",
                           f"dL/dY[{i}, {j}] = {gy[i, j]:.4g} is routed to X{list(best)}; "
                           "every other cell of the window gets 0"))
    return frames, dx


def avg_pool_grad(x_shape, gy, k, st, p, divisor, limit):
    """Each dY is spread evenly, dY / divisor, over the cells of its window."""
    dx = _np.zeros(x_shape)
    frames = []
    for i, j, _, _, cells in _windows(gy.shape, k, st, p, x_shape):
        share = gy[i, j] / divisor[i, j]
        for c in cells:
            dx[c] += share
        if len(frames) < limit:
            frames.append(([Panel("dL/dY", gy, marks={(i, j): ROUTE}),
                            Panel("dL/dX", dx.copy(), marks=dict.fromkeys(cells, RESULT))],
                           f"average pool window ({i}, {j}): 1/{divisor[i, j]:.4g} each",
                           f"dL/dY[{i}, {j}] / {divisor[i, j]:.4g} = {share:.4g} added to "
                           f"{len(cells)} cells (1/k² with k×k = {k[0]}×{k[1]})"))
    return frames, dx


def resample_grad(gy, factor, size, up, limit):
    """upsample's backward keeps every factor-th sample (downsample); downsample's puts the
    gradient back at those positions with zeros between (zero insertion)."""
    fh, fw = factor
    if up:
        dx = gy[::fh, ::fw][:size[0], :size[1]].copy()
        marks = {(i * fh, j * fw): ROUTE for i in range(dx.shape[0]) for j in range(dx.shape[1])}
        return [([Panel("dL/dY", gy, marks=marks), Panel("dL/dX", dx)],
                 "upsample backward = downsample",
                 f"x[i, j] went to y[{fh}i, {fw}j]: its gradient is read back from there; "
                 "the inserted zeros had no input, their gradient is dropped")], dx
    dx = _np.zeros(size)
    dx[::fh, ::fw] = gy
    inserted = _np.ones(size, dtype=bool)
    inserted[::fh, ::fw] = False
    return [([Panel("dL/dY", gy), Panel("dL/dX", dx, padded=inserted)][:limit + 2],
             "downsample backward = upsample (zero insertion)",
             f"y[i, j] = x[{fh}i, {fw}j]: its gradient goes back there, zeros elsewhere")], dx
