"""How long drawing takes: a LeNet training step's graph (forward + loss) to DOT, and a
10,000-node graph to DOT (plain text, no rendering), median of a few runs.

    python tools/bench_viz.py
"""
from __future__ import annotations

import statistics
import time

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def timed(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    model = lenet()
    loss = F.cross_entropy(model(tg.randn(64, 1, 28, 28)), tg.randint(0, 10, (64,)))
    t = timed(lambda: tg.viz.to_dot(loss, params=model))
    n = tg.viz.to_dot(loss, params=model).count("->")
    print(f"LeNet step graph ({n} edges) to DOT, clustered by module: {t * 1e3:.1f} ms")
    t = timed(lambda: tg.viz.to_dot(loss, params=model, show_grads=True))
    print(f"  the same with gradient colouring (one extra backward pass): {t * 1e3:.1f} ms")
    x = tg.ones(4, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y = y.sum()
    src = tg.viz.to_dot(y)
    nodes = src.count(" [shape=")
    print(f"{nodes}-node chain to DOT: {timed(lambda: tg.viz.to_dot(y), 3) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
