"""Pictures of graphs for teaching, written to --out (default runs/viz):

1. expression.svg  a micrograd-style scalar expression with values and gradients;
2. conv_pool.svg   a 3×3 input and 2×2 filter, then 2×2 max pooling,
                   with every value and gradient, and each op's backward rule;
3. cnn.svg / cnn_collapsed.svg  the example CNN's training loss, clustered by module and
                   collapsed to one node per layer, coloured by gradient norm;
4. backward.html   the conv + pool example's backward pass, step by step (open in a browser).

    python examples/visualize_graph.py [--out runs/viz] [--format svg|png]
"""
from __future__ import annotations

import argparse
import os
import sys

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from train_cnn import make_model  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description="Draw computation graphs for teaching.")
    ap.add_argument("--out", default=os.path.join("runs", "viz"))
    ap.add_argument("--format", default="svg", choices=["svg", "png"])
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    written = []

    # 1. a scalar expression: one neuron, tanh(x1·w1 + x2·w2 + b)
    leaf = lambda v: tg.tensor(v, dtype=tg.float64, requires_grad=True)  # noqa: E731
    x1, x2, w1, w2, b = leaf(2.0), leaf(0.0), leaf(-3.0), leaf(1.0), leaf(6.881373587)
    with tg.viz.trace():  # so the picture has every intermediate value (x1·w1 = -6, ...)
        o = (x1 * w1 + x2 * w2 + b).tanh()
    written.append(tg.viz.render(o, out("expression"), args.format,
                                 params=dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b),
                                 show_values=True, show_grads=True, rankdir="LR"))

    # 2. a worked convolution followed by max pooling
    x = tg.tensor([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]], requires_grad=True)
    w = tg.tensor([[[[1.0, 0], [-1, 2]]]], requires_grad=True)
    loss = F.max_pool2d(F.conv2d(x, w), 2, stride=1).sum()
    names = dict(X=x, W=w)
    written.append(tg.viz.render(loss, out("conv_pool"), args.format, params=names,
                                 show_values=True, show_grads=True, show_rules=True))
    written.append(tg.viz.animate(loss, out("backward.html"), params=names))

    tg.viz.clear_trace()

    # 3. the example CNN, clustered and collapsed
    tg.manual_seed(0)
    model = make_model()
    images = tg.randn(4, 1, 8, 8)
    cnn_loss = F.cross_entropy(model(images), tg.tensor([0, 1, 2, 3]))
    written.append(tg.viz.render(cnn_loss, out("cnn"), args.format, params=model,
                                 show_grads=True))
    written.append(tg.viz.render(cnn_loss, out("cnn_collapsed"), args.format, params=model,
                                 collapse=True))
    for p in written:
        print("wrote", p)
    return written


if __name__ == "__main__":
    main()
