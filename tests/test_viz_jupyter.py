"""What a notebook user sees: draw() renders with or without system Graphviz, trace() keeps
intermediate values and gradients, the step-through frames (one colour scale, gradients in
the frame they are computed, inputs named), and explain() against PyTorch."""
import re
import shutil

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn.viz import dot as vdot
from tinygrad_cnn.viz.animate import frame_sources, frames_html

from helpers import requires_torch, torch


def _conv_pool():
    x = tg.tensor([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]], requires_grad=True)
    w = tg.tensor([[[[1.0, 0], [-1, 2]]]], requires_grad=True)
    return x, w


def test_draw_displays_through_graphviz_pure_when_dot_is_absent(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(vdot.shutil, "which",
                        lambda name: None if name == "dot" else real_which(name))
    x, w = _conv_pool()
    g = tg.viz.draw(F.conv2d(x, w).sum(), params={"X": x, "W": w})
    bundle = g._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and "conv2d" in bundle["image/svg+xml"]
    # the HTML form scales to the cell instead of being cut at its right edge
    assert re.search(r'<svg width="100%"[^>]*max-width:\d+px', bundle["text/html"])
    assert g.pipe(format="svg").startswith(b"<") and b"<svg" in g.pipe(format="svg")


def test_trace_keeps_intermediate_values_and_gradients_after_backward():
    x, w = _conv_pool()
    with tg.viz.trace():
        y = F.conv2d(x, w)
        loss = F.max_pool2d(y, 2, stride=1).sum()
    del y  # nothing of the user's refers to the intermediates any more
    loss.backward()
    src = tg.viz.to_dot(loss, params={"X": x, "W": w}, show_values=True, show_grads=True)
    assert "value [[7, 9], [13, 15]]\ngrad [[0, 0], [0, 1]]" in src   # the conv output
    assert "value 15\ngrad 1" in src                                 # the loss: dL/dL = 1
    # drawing ran the viewer's own backward pass: it must not add to any .grad
    assert loss.grad.item() == 1.0 and w.grad.numpy().tolist() == [[[[5, 6], [8, 9]]]]


def test_without_trace_an_unsaved_intermediate_has_no_value():
    x, w = _conv_pool()
    loss = (F.conv2d(x, w) + 1.0).sum()  # add saves nothing
    assert "value [[7, 9], [13, 15]]" not in tg.viz.to_dot(loss, show_values=True)
    with tg.viz.trace():
        loss = (F.conv2d(x, w) + 1.0).sum()  # add saves nothing
    assert "value [[7, 9], [13, 15]]" in tg.viz.to_dot(loss, show_values=True)
    tg.viz.clear_trace()


def test_traces_do_not_nest_and_leave_the_engine_as_it_was():
    from tinygrad_cnn.ops import op_registry
    before = op_registry.apply
    with tg.viz.trace():
        with pytest.raises(RuntimeError, match="already active"):
            with tg.viz.trace():
                pass
    assert op_registry.apply is before
    tg.viz.clear_trace()


def test_legend_with_equal_norms_has_one_entry():
    a = tg.tensor([3.0, 4.0], requires_grad=True)
    src = tg.viz.to_dot((a * 1.0).sum(), show_grads=True)  # every norm is 1.41 or 1
    b = tg.tensor(2.0, requires_grad=True)
    src = tg.viz.to_dot(b * 1.0, show_grads=True)         # every norm is 1
    assert src.count("legend") == 1 + 1 and 'label="all 1"' in src


def test_frames_share_one_colour_scale_and_show_gradients_when_computed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 3.0
    loss = (a * a).sum() + a.sum()          # a gets its gradient from two consumers
    sources = frame_sources(loss, {"x": x})
    legends = [re.findall(r'legend\d \[.*label="([^"]+)"', src) for src, _, _ in sources[1:]]
    assert len(legends[0]) == 3 and all(lg == legends[0] for lg in legends)
    frames, _ = tg.viz.backward_steps(loss)
    a_id = f"o{id(a.grad_fn)}_0"
    first = next(i for i, f in enumerate(frames) if a_id in f.arrived)
    assert a_id not in frames[first].done   # a partial sum: the other consumer is pending
    node = re.search(rf"^{a_id} \[(.*?)\];$", sources[first + 1][0], re.M | re.S).group(1)
    assert "grad [" in node and "dashed" in node   # shown in the frame it was computed


def test_captions_name_inputs_by_parameter_and_argument():
    x, w = _conv_pool()
    loss = F.conv2d(x, w).sum()
    caption = frames_html(loss, {"X": x, "W": w})[-1][1]
    assert "gradient sent to X (conv2d's x)" in caption
    assert "gradient sent to W (conv2d's w)" in caption
    assert "input 0" not in caption


def _explained(fn, x_np, *extra):
    x = tg.tensor(x_np, requires_grad=True)
    with tg.viz.trace():
        y = fn(x, *[tg.tensor(e, requires_grad=True) for e in extra])
        loss = (y * tg.arange(float(y.numel())).reshape(y.shape)).sum()
    loss.backward()
    e = tg.viz.explain(y)
    tg.viz.clear_trace()
    return e, y


@requires_torch
@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (2, 0), (3, 2)])
def test_explain_conv_matches_torch(stride, padding):
    rng = np.random.default_rng(stride + padding)
    x_np, w_np = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 2))
    e, y = _explained(lambda x, w: F.conv2d(x, w, stride=stride, padding=padding), x_np, w_np)
    xt = torch.tensor(x_np, requires_grad=True)
    wt = torch.tensor(w_np, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, stride=stride, padding=padding)
    (yt * torch.arange(float(yt.numel()), dtype=yt.dtype).reshape(yt.shape)).sum().backward()
    np.testing.assert_allclose(e.grads["dL/dX"], xt.grad[0, 0].numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(e.grads["dL/dW"], wt.grad[0, 0].numpy(), rtol=1e-6, atol=1e-9)
    assert any("zeros inserted" in s for s in e.svgs())
    assert "<iframe" in e._repr_html_() and 'data-focus="cell"' in e.html


def test_explain_frames_are_the_lecture_worked_example():
    # dL/dY = [[0, 0], [0, 1]] (max pool after the conv): dX = flipped W placed at (1, 1)
    x, w = _conv_pool()
    with tg.viz.trace():
        y = F.conv2d(x, w)
        pooled = F.max_pool2d(y, 2, stride=1)
        loss = pooled.sum()
    loss.backward()
    e = tg.viz.explain(y)
    captions = [c for _, c in e.frames]
    assert "= 0·2 + 0·-1 + 1·0 + 0·1 = 0" in captions  # dX_pad[1, 0]: the window at (1, 0)
    assert e.grads["dL/dW"].tolist() == [[5, 6], [8, 9]]        # X's bottom-right 2x2
    p = tg.viz.explain(pooled)  # the max of [[7, 9], [13, 15]] is 15, at (1, 1)
    assert "dL/dY[0, 0] = 1 is routed to X[1, 1]" in p.frames[0][1]
    tg.viz.clear_trace()


@requires_torch
@pytest.mark.parametrize("kind", ["max", "avg", "avg_nopad", "up", "down"])
def test_explain_pool_and_resample_match_torch(kind):
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((1, 2, 5, 5))
    fns = {"max": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                   lambda x: torch.nn.functional.max_pool2d(x, 3, stride=2, padding=1)),
           "avg": (lambda x: F.avg_pool2d(x, 2, stride=1, padding=1),
                   lambda x: torch.nn.functional.avg_pool2d(x, 2, stride=1, padding=1)),
           "avg_nopad": (lambda x: F.avg_pool2d(x, 2, padding=1, count_include_pad=False),
                         lambda x: torch.nn.functional.avg_pool2d(
                             x, 2, padding=1, count_include_pad=False)),
           "up": (lambda x: F.upsample(x, 2), None), "down": (lambda x: F.downsample(x, 2), None)}
    ours, ref = fns[kind]
    e, y = _explained(ours, x_np)
    if ref is None:  # zero insertion and its adjoint, by hand
        gy = np.arange(float(y.numel())).reshape(y.shape)[0, 0]
        want = gy[::2, ::2] if kind == "up" else np.zeros((5, 5))
        if kind == "down":
            want[::2, ::2] = gy
    else:
        xt = torch.tensor(x_np, requires_grad=True)
        yt = ref(xt)
        (yt * torch.arange(float(yt.numel()), dtype=yt.dtype).reshape(yt.shape)).sum().backward()
        want = xt.grad[0, 0].numpy()
    np.testing.assert_allclose(e.grads["dL/dX"], want, rtol=1e-6, atol=1e-9)


def test_explain_refuses_what_it_cannot_explain():
    x = tg.randn(1, 1, 5, 5, requires_grad=True)
    w = tg.randn(1, 1, 3, 3, requires_grad=True)
    y = F.conv2d(x, w)
    with pytest.raises(RuntimeError, match="trace"):
        tg.viz.explain(y)
    with tg.viz.trace():
        y = F.conv2d(x, w, dilation=2)
        r = x.relu()
    with pytest.raises(ValueError, match="dilation"):
        tg.viz.explain(y, grad=np.ones(y.shape))
    with pytest.raises(ValueError, match="relu is not explained"):
        tg.viz.explain(r)
    with pytest.raises(RuntimeError, match="no gradient yet"):
        tg.viz.explain(y)
    with pytest.raises(ValueError, match="grad has shape"):
        tg.viz.explain(y, grad=np.ones((2, 2)))
    tg.viz.clear_trace()


def test_traced_graph_draws_its_constant_inputs():
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    images = tg.tensor([[1.0, 0.0]])
    with tg.viz.trace():
        loss = (images @ w).sum()
    src = tg.viz.to_dot(loss, params={"W": w, "images": images}, show_values=True)
    assert 'label="images\n(1, 2) f32\nleaf, constant\nvalue [1, 0]"' in src
    assert src.count("->") == 5  # images, W -> matmul -> t -> sum -> loss
    tg.viz.clear_trace()
