"""Training-step time of the example CNN (examples/train_cnn.py) here and in PyTorch, on
the same digits batches, in one process: forward, cross-entropy, backward, Adam step.

    python tools/bench_train.py [--steps 60] [--batch-size 32]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import optim

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from train_cnn import make_model  # noqa: E402


def torch_model(ours):
    import torch
    from torch import nn
    m = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                      nn.Flatten(), nn.Linear(256, 10))
    with torch.no_grad():
        for p, q in zip(m.parameters(), ours.parameters()):
            p.copy_(torch.from_numpy(q.numpy()))
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(2)
    from tinygrad_cnn.data import load_digits
    x_all, y_all = (t.numpy() for t in load_digits("train").tensors)
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(y_all), args.batch_size, replace=False) for _ in range(args.steps)]

    tg.manual_seed(0)
    ours = make_model()
    ref = torch_model(ours)
    opt = optim.Adam(ours.parameters(), lr=1e-2)
    topt = torch.optim.Adam(ref.parameters(), lr=1e-2)

    def step_ours(i):
        x, y = tg.tensor(x_all[i]), tg.tensor(y_all[i])
        opt.zero_grad()
        loss = F.cross_entropy(ours(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def step_torch(i):
        x, y = torch.from_numpy(x_all[i]), torch.from_numpy(y_all[i])
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(ref(x), y)
        loss.backward()
        topt.step()
        return loss.item()

    t_ours, t_ref, drift = [], [], 0.0
    for i in batches:
        t0 = time.perf_counter()
        a = step_ours(i)
        t1 = time.perf_counter()
        b = step_torch(i)
        t2 = time.perf_counter()
        t_ours.append(t1 - t0)
        t_ref.append(t2 - t1)
        drift = max(drift, abs(a - b))
    a, b = statistics.median(t_ours) * 1e3, statistics.median(t_ref) * 1e3
    print(f"example CNN train step, batch {args.batch_size}: tinygrad_cnn {a:.2f} ms, "
          f"PyTorch {b:.2f} ms, ratio {a / b:.2f}x")
    print(f"same weights and batches: largest loss difference over {args.steps} steps "
          f"{drift:.2e} (float32 round-off)")


if __name__ == "__main__":
    main()
