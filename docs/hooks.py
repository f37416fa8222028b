"""MkDocs hook: draw the docs' graph pictures with the engine itself before each build, so
they can never drift from the code (written to docs/img/generated/, not committed)."""
from __future__ import annotations

import os


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
