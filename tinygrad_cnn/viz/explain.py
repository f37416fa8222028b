"""``tg.viz.explain(y)``: the backward of one conv, pooling or up/downsample node with its
own numbers, frame by frame, as the lecture derives it (input gradient as the full
convolution of dL/dY with the flipped filter, filter gradient as the correlation of X with
dL/dY, stride as zero insertion, max-pool routing, average-pool spreading).

    with tg.viz.trace():                 # explain needs the op's inputs and hyper-parameters
        y = F.conv2d(x, w, stride=2)
        loss = (y * y).sum()
    loss.backward()
    tg.viz.explain(y)                    # dL/dY is y.grad (or pass grad=)

Every gradient the derivation arrives at is compared with the engine's (the op's own
backward, run afresh); a mismatch raises instead of showing wrong numbers.
"""
from __future__ import annotations

import numpy as _np

from ..tensor import Tensor
from . import explain_steps as steps
from .grids import frame_svg
from .stepper import Stepper, page
from .trace import current

SUPPORTED = ("conv2d", "max_pool2d", "avg_pool2d", "upsample", "downsample")


class Explanation(Stepper):
    """The frames (``.frames``: SVG strings with headings and captions), the gradients
    (``.grads``: name -> array, the engine's) and the stepper page (``_repr_html_``)."""

    def __init__(self, op, frames, grads, title):
        self.op, self.grads = op, grads
        self.frames = [(frame_svg(panels, heading, footer=caption), caption)
                       for panels, heading, caption in frames]
        super().__init__(page([(svg, cap, "cell") for svg, cap in self.frames], title,
                              max_height=900))

    def svgs(self):
        """The static SVG of every frame, in order (for docs and slides)."""
        return [svg for svg, _ in self.frames]


def _plane(a, n, c):
    return _np.asarray(a.numpy() if isinstance(a, Tensor) else a, dtype=_np.float64)[n, c]


def _engine_grads(call, gy):
    """The engine's gradients of the recorded call for output gradient ``gy``."""
    from ..autograd.api import grad as autograd_grad
    from ..autograd.grad_mode import enable_grad
    leaves = [t.detach().requires_grad_() for t in call.inputs]
    with enable_grad():
        out = call.op(*leaves, **call.params)
    return [g.numpy() for g in autograd_grad(out, leaves, grad_outputs=gy)]


def _check(name, mine, engine):
    if not _np.allclose(mine, engine, rtol=1e-4, atol=1e-5 * (1 + _np.abs(engine).max())):
        raise RuntimeError(f"explain: the derivation of {name} disagrees with the engine "
                           f"(max difference {_np.abs(mine - engine).max():.3g}); please "
                           "report this")


def explain(y, grad=None, sample=0, channel=0, filter=0, max_frames=40, trace=None):
    """Frames of the backward of the op that made ``y`` (recorded under ``tg.viz.trace()``).

    Args:
        y (Tensor): output of ``conv2d``, ``max_pool2d``, ``avg_pool2d``, ``upsample`` or
            ``downsample``, shape (n, c, h, w).
        grad (Tensor | array | None): dL/dY, of y's shape; default ``y.grad`` after
            ``backward()``.
        sample (int): which sample of the batch to show.
        channel (int): which input channel of X to show.
        filter (int): which output channel of a convolution (dL/dX sums over every filter:
            the last frame says so).
        max_frames (int): at most this many sliding-window frames per derivation.
        trace (Trace | None): where the op was recorded; default the latest trace.
    Returns:
        An :class:`Explanation`: shows inline in Jupyter, ``.save(path)``, ``.svgs()``.
    """
    if not isinstance(y, Tensor) or y.grad_fn is None:
        raise TypeError("explain: expected the output tensor of a recorded op, got "
                        f"{type(y).__name__}" + ("" if not isinstance(y, Tensor) else
                                                 " without a graph"))
    trace = current() if trace is None else trace
    call = trace.call(y.grad_fn) if trace is not None else None
    if call is None:
        raise RuntimeError(f"explain: the {y.grad_fn.name} that made this tensor was not "
                           "recorded; run its forward inside `with tg.viz.trace():`")
    name = call.op.name
    if name not in SUPPORTED:
        raise ValueError(f"explain: {name} is not explained; supported: {', '.join(SUPPORTED)}")
    if grad is None:
        if y.grad is None:
            raise RuntimeError("explain: y has no gradient yet; call backward() on the loss "
                               "first or pass grad= (dL/dY, shape " f"{tuple(y.shape)})")
        grad = y.grad
    gy_full = _np.asarray(grad.numpy() if isinstance(grad, Tensor) else grad, dtype=_np.float64)
    if gy_full.shape != tuple(y.shape):
        raise ValueError(f"explain: grad has shape {gy_full.shape}, y has {tuple(y.shape)}")
    n_, c_ = y.shape[0], call.inputs[0].shape[1]
    if not (0 <= sample < n_ and 0 <= channel < c_):
        raise ValueError(f"explain: sample {sample} / channel {channel} out of range for X of "
                         f"shape {tuple(call.inputs[0].shape)}")
    engine = _engine_grads(call, Tensor(gy_full.astype(call.inputs[0].numpy().dtype)))
    frames, grads = _DERIVE[name](call, gy_full, engine, sample, channel, filter, max_frames)
    return Explanation(name, frames, grads, f"{name} backward, step by step")


def _conv(call, gy_full, engine, n, c, f, limit):
    x, w = call.inputs[0], call.inputs[1]
    p = call.params
    if p["groups"] != 1 or any(d != 1 for d in p["dilation"]):
        raise ValueError(f"explain: conv2d with groups={p['groups']}, dilation="
                         f"{p['dilation']} is not explained (groups=1, dilation=1 only)")
    if not 0 <= f < w.shape[0]:
        raise ValueError(f"explain: filter {f} out of range for W of shape {tuple(w.shape)}")
    xs, ws = _plane(x, n, c), _plane(w, f, c)
    gy = gy_full[n, f]
    size = tuple(x.shape[2:])
    fx, dx = steps.conv_input_grad(gy, ws, p["stride"], p["pad"], size, limit)
    total = sum(steps.conv_input_grad(gy_full[n, k], _plane(w, k, c), p["stride"], p["pad"],
                                      size, 0)[1] for k in range(w.shape[0]))
    _check("dL/dX", total, engine[0][n, c])
    if w.shape[0] > 1:
        fx[-1] = (fx[-1][0], f"dL/dX from filter {f}; summed over all {w.shape[0]} filters: "
                  f"{_np.array2string(engine[0][n, c], precision=3)}", fx[-1][2])
    fw, dw = steps.conv_weight_grad(xs, gy, p["stride"], p["pad"], tuple(w.shape[2:]), limit)
    partial = _np.zeros_like(dw)
    for m in range(gy_full.shape[0]):  # dW sums over the batch
        partial += steps.conv_weight_grad(_plane(x, m, c), gy_full[m, f], p["stride"],
                                          p["pad"], tuple(w.shape[2:]), 0)[1]
    _check("dL/dW", partial, engine[1][f, c])
    return fx + fw, {"X": xs, "W": ws, "dL/dY": gy, "dL/dX": engine[0][n, c],
                     "dL/dW": engine[1][f, c]}


def _pool_geometry(call):
    p = call.params
    if len(p["k"]) != 2:
        raise ValueError("explain: 2-D pooling only")
    return p["k"], p["st"], p["p"]


def _max_pool(call, gy_full, engine, n, c, _f, limit):
    if any(d != 1 for d in call.params["d"]):
        raise ValueError(f"explain: max_pool2d with dilation {call.params['d']} is not "
                         "explained (dilation=1 only)")
    k, st, pad = _pool_geometry(call)
    xs, gy = _plane(call.inputs[0], n, c), gy_full[n, c]
    frames, dx = steps.max_pool_grad(xs, gy, k, st, pad, limit)
    _check("dL/dX", dx, engine[0][n, c])
    return frames, {"X": xs, "dL/dY": gy, "dL/dX": engine[0][n, c]}


def _avg_pool(call, gy_full, engine, n, c, _f, limit):
    k, st, pad = _pool_geometry(call)
    x = call.inputs[0]
    div = _np.asarray(call.params["divisor"].get() if hasattr(call.params["divisor"], "get")
                      else call.params["divisor"], dtype=_np.float64)
    div = _np.broadcast_to(div, gy_full.shape)[n, c]
    gy = gy_full[n, c]
    frames, dx = steps.avg_pool_grad(tuple(x.shape[2:]), gy, k, st, pad, div, limit)
    _check("dL/dX", dx, engine[0][n, c])
    return frames, {"X": _plane(x, n, c), "dL/dY": gy, "dL/dX": engine[0][n, c]}


def _resample(call, gy_full, engine, n, c, _f, limit):
    factor = call.params["factor"]
    if len(factor) != 2:
        raise ValueError("explain: 2-D upsample/downsample only")
    up = call.op.name == "upsample"
    size = tuple(call.inputs[0].shape[2:])
    frames, dx = steps.resample_grad(gy_full[n, c], factor, size, up, limit)
    _check("dL/dX", dx, engine[0][n, c])
    return frames, {"X": _plane(call.inputs[0], n, c), "dL/dY": gy_full[n, c],
                    "dL/dX": engine[0][n, c]}


_DERIVE = {"conv2d": _conv, "max_pool2d": _max_pool, "avg_pool2d": _avg_pool,
           "upsample": _resample, "downsample": _resample}
