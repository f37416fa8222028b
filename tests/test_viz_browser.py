"""The stepper in a real (headless) Chromium, as a notebook shows it: an iframe that sizes
itself to its content, ←/→ keys, the view scrolled to the running op; and one explain page.
Skipped when Chromium is not installed."""
import json
import re
import shutil
import subprocess

import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


pytestmark = pytest.mark.skipif(_chromium() is None, reason="no Chromium installed")

# run inside the notebook-like parent page: press → n times in the iframe, then report
_DRIVER = """<script>
window.addEventListener('load', () => setTimeout(() => {
  const fr = document.querySelector('iframe');
  const doc = fr.contentDocument, win = fr.contentWindow;
  for (let i = 0; i < %d; i++)
    doc.dispatchEvent(new win.KeyboardEvent('keydown', {key: 'ArrowRight'}));
  doc.dispatchEvent(new win.KeyboardEvent('keydown', {key: 'ArrowLeft'}));
  const view = doc.getElementById('view'), vr = view.getBoundingClientRect();
  const cur = doc.querySelector('.frame.current');
  let target = null;
  for (const g of cur.querySelectorAll('g.node, [data-cell]')) {
    const t = g.querySelector('title');
    if ((t && t.textContent === cur.dataset.focus) || g.dataset.cell === cur.dataset.focus)
      target = g;
  }
  const tr = target ? target.getBoundingClientRect() : null;
  document.body.dataset.result = JSON.stringify({
    step: doc.body.dataset.step, iframeHeight: fr.getBoundingClientRect().height,
    contentHeight: doc.documentElement.scrollHeight, viewHeight: vr.height,
    scrollTop: view.scrollTop,
    focusVisible: tr !== null && tr.top >= vr.top - 1 && tr.bottom <= vr.bottom + 1});
}, 300));
</script>"""


def _run(tmp_path, widget, presses, shot=None):
    page = tmp_path / "notebook.html"
    page.write_text("<html><body style='width:900px'><div class='output'>"
                    + widget._repr_html_() + "</div>" + _DRIVER % presses + "</body></html>",
                    encoding="utf-8")
    args = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000", "--window-size=1000,900"]
    out = subprocess.run(args + ["--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False)
    m = re.search(r'data-result="([^"]*)"', out.stdout)
    assert m, out.stderr[-2000:]
    if shot:  # for the person reviewing the pictures (not asserted)
        subprocess.run(args + [f"--screenshot={shot}", page.as_uri()], capture_output=True,
                       timeout=120, check=False)
    return json.loads(m.group(1).replace("&quot;", '"'))


def test_stepper_sizes_itself_scrolls_to_the_op_and_follows_the_keys(tmp_path):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3))
    loss = F.cross_entropy(model(tg.randn(2, 1, 8, 8)), tg.tensor([0, 2]))
    widget = tg.viz.show_backward(loss, params=model)
    n_frames = widget.html.count('class="frame"')
    assert n_frames > 10
    # → twice then ← once: step 1, the loss's op, at the bottom of the top-down graph
    r = _run(tmp_path, widget, 2, shot=tmp_path / "stepper.png")
    assert r["step"] == "1"
    # the iframe is as tall as its content (not a fixed 720 px), the graph scrolls inside
    assert abs(r["iframeHeight"] - r["contentHeight"]) <= 8
    assert r["viewHeight"] <= 645 and r["scrollTop"] > 0
    assert r["focusVisible"]


def test_small_graph_is_not_clipped(tmp_path):
    a = tg.tensor(2.0, requires_grad=True)
    r = _run(tmp_path, tg.viz.show_backward((a * 3.0).tanh()), 1)
    assert r["step"] == "0" and abs(r["iframeHeight"] - r["contentHeight"]) <= 8


def test_explain_page_steps_through_the_windows(tmp_path):
    x = tg.arange(25.0).reshape(1, 1, 5, 5).requires_grad_()
    w = tg.arange(9.0).reshape(1, 1, 3, 3).requires_grad_()
    with tg.viz.trace():
        y = F.conv2d(x, w, stride=2)
    y.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    r = _run(tmp_path, tg.viz.explain(y), 6)
    tg.viz.clear_trace()
    assert r["step"] == "5" and r["focusVisible"]
