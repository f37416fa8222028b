"""Graph pictures: content of the DOT, both renderers, gradient colouring, module clusters,
the engine-ordered backward steps and the step-through page (in a real browser if one is
installed)."""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn
from tinygrad_cnn.viz import dot as vdot

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def _conv_pool():
    x = tg.tensor([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]], requires_grad=True)
    w = tg.tensor([[[[1.0, 0], [-1, 2]]]], requires_grad=True)
    return F.max_pool2d(F.conv2d(x, w), 2, stride=1).sum(), x, w


def test_dot_has_one_node_per_tensor_and_op_with_labels():
    loss, x, w = _conv_pool()
    src = tg.viz.to_dot(loss, params={"X": x, "W": w}, show_values=True, show_rules=True)
    ops = re.findall(r'^n\d+ .*label="([a-z_0-9]+)', src, re.M)
    assert sorted(ops) == ["conv2d", "max_pool2d", "sum"]
    tensors = re.findall(r"^[to]\d+(?:_\d+)? \[", src, re.M)
    assert len(tensors) == 5  # X, W, conv out, pool out, loss
    assert "label=\"X\n(1, 1, 3, 3) f32\nleaf, requires_grad\nvalue [[1, 2, 3], [4, 5, 6], " \
           "[7, 8, 9]]\"" in src
    assert "conv_transpose2d(gy, w)" in src  # the backward rule from the registry
    assert src.count("->") == 7  # X, W -> conv -> t -> pool -> t -> sum -> loss


def test_gradients_and_colouring_come_from_the_engine_without_touching_grad():
    loss, x, w = _conv_pool()
    src = tg.viz.to_dot(loss, params={"X": x, "W": w}, show_grads=True)
    assert x.grad is None and w.grad is None  # the extra pass keeps .grad clean
    assert "grad [[0, 0, 0], [0, 1, 0], [0, -1, 2]]" in src   # dL/dX, by hand in the notes
    assert "grad [[5, 6], [8, 9]]" in src                      # dL/dW
    assert "cluster_legend" in src and 'penwidth="3"' in src
    loss.backward()  # afterwards the graph is freed: leaves still show their .grad
    assert "grad [[5, 6], [8, 9]]" in tg.viz.to_dot(loss, params={"W": w}, show_grads=True)


def test_grad_colour_scale_runs_from_blue_to_red():
    assert vdot.grad_color(1e-6, -6, 2) == "#3182bd"
    assert vdot.grad_color(100.0, -6, 2) == "#de2d26"
    assert vdot.grad_color(float("nan"), -6, 2) == "#ff00ff"


def test_backward_steps_follow_the_engine_order():
    loss, x, w = _conv_pool()
    frames, grads = tg.viz.backward_steps(loss)
    assert [f.op for f in frames] == ["sum", "max_pool2d", "conv2d"]
    assert frames[-1].grads_out[1].tolist() == [[[[5.0, 6.0], [8.0, 9.0]]]]
    assert np.array_equal(grads[w], [[[[5.0, 6.0], [8.0, 9.0]]]])
    seen = []
    from tinygrad_cnn.autograd.engine import run_backward
    run_backward([loss], [tg.tensor(1.0)], retain_graph=True, inputs=[x, w],
                 on_step=lambda node, gy, out: seen.append(node.name))
    assert seen == [f.op for f in frames]


def test_module_clusters_and_collapsed_view():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(2 * 4 * 4, 3))
    loss = F.cross_entropy(model(tg.randn(2, 1, 4, 4)), tg.tensor([0, 2]))
    src = tg.viz.to_dot(loss, params=model)
    for name in ("0: Conv2d", "1: ReLU", "2: Flatten", "3: Linear"):
        assert f'label="{name}"' in src
    assert 'label="0.weight\n(2, 1, 3, 3) f32' in src
    collapsed = tg.viz.to_dot(loss, params=model, collapse=True)
    assert 'label="3: Linear"' in collapsed and "conv2d" not in collapsed
    assert collapsed.count("->") < src.count("->")


def test_draw_returns_a_digraph_that_renders_inline():
    loss, x, w = _conv_pool()
    g = tg.viz.draw(loss, params={"X": x})
    import graphviz
    assert isinstance(g, graphviz.Digraph)
    assert "max_pool2d" in g.source
    assert hasattr(g, "_repr_mimebundle_") or hasattr(g, "_repr_svg_")


def test_render_with_graphviz_pure_when_dot_is_absent(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(vdot.shutil, "which",
                        lambda name: None if name == "dot" else real_which(name))
    assert "graphviz-pure" in vdot.dot_command()
    loss, x, w = _conv_pool()
    svg = tg.viz.render(loss, tmp_path / "g", params={"X": x, "W": w})
    assert svg.endswith(".svg") and "<svg" in open(svg).read()
    png = tg.viz.render(loss, tmp_path / "g.png", format="png")
    assert open(png, "rb").read(4) == b"\x89PNG"


@pytest.mark.skipif(shutil.which("dot") is None, reason="no system Graphviz dot")
def test_render_with_system_dot(tmp_path):
    loss, _, _ = _conv_pool()
    assert "<svg" in open(tg.viz.render(loss, tmp_path / "g")).read()


def test_deep_graphs_draw_without_recursion():
    x = tg.ones(2, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert tg.viz.to_dot(y.sum()).count("->") == 6002


def test_animate_writes_a_self_contained_page(tmp_path):
    loss, x, w = _conv_pool()
    path = tg.viz.animate(loss, tmp_path / "b.html", params={"X": x, "W": w})
    page = open(path, encoding="utf-8").read()
    assert page.count('class="frame"') == 4  # forward + 3 engine steps
    assert "http" not in page.replace("http://www.w3.org", "")  # nothing fetched
    assert 'id="next"' in page and 'id="slider"' in page
    assert x.grad is None


def test_notebook_helper_shows_the_page_inline():
    loss, _, _ = _conv_pool()
    page = tg.viz.show_backward(loss)
    out = page._repr_html_()
    assert out.startswith("<iframe") and "frame-3" in out


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="no Chromium installed")
def test_step_through_page_in_a_real_browser(tmp_path):
    loss, x, w = _conv_pool()
    page = tg.viz.animate(loss, tmp_path / "b.html", params={"X": x, "W": w})
    # a tiny driver appended to the page clicks Next until the end, as a user would
    driver = tmp_path / "drive.html"
    html = open(page, encoding="utf-8").read().replace(
        "</body>", "<script>for (let i = 0; i < 10; i++) "
        "document.getElementById('next').click();</script></body>")
    driver.write_text(html, encoding="utf-8")
    out = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          driver.as_uri()], capture_output=True, text=True, timeout=120)
    dom = out.stdout
    assert 'data-step="3"' in dom, out.stderr[-2000:]
    assert re.search(r'class="frame current" id="frame-3"', dom)
    assert "step 3 / 3" in dom


def test_visualize_example_writes_its_files(tmp_path):
    sys.path.insert(0, EXAMPLES)
    try:
        import visualize_graph
    finally:
        sys.path.remove(EXAMPLES)
    written = visualize_graph.main(["--out", str(tmp_path)])
    assert len(written) == 5 and all(os.path.getsize(p) > 1000 for p in written)
