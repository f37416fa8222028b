"""Fused-kernel benchmark: optimizer steps and cross-entropy vs PyTorch CPU, one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python tools/bench_fused.py [--repeats 15]

Workloads: one SGD (momentum 0.9, weight decay), Adam and AdamW step over ResNet-18's
parameters (random gradients, the same values in both libraries), and cross_entropy
forward+backward on logits (256, 1000) with integer targets (plain, label smoothing + weight).
Timings interleave the two libraries and report the median; the ratio is ours / torch.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn.models import resnet18


def _time(fns, repeats):
    """Median seconds of each of ``fns``, run interleaved (the load is shared alike)."""
    for fn in fns:  # warm up (first-step state allocation, lazy initialisation)
        fn()
        fn()
    ts = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, ts):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in ts]


def _optim_pair(name, torch):
    model = resnet18()
    ours = [p for p in model.parameters()]
    theirs = [torch.nn.Parameter(torch.from_numpy(p.numpy())) for p in ours]
    rng = np.random.default_rng(0)
    for a, b in zip(ours, theirs):
        g = rng.standard_normal(a.shape).astype(np.float32)
        a.grad = tg.tensor(g)
        b.grad = torch.from_numpy(g.copy())
    kw = {"SGD": {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4},
          "Adam": {"lr": 1e-3}, "AdamW": {"lr": 1e-3, "weight_decay": 1e-2}}[name]
    # foreach=False: torch's per-parameter loop, the same shape of work as ours
    return (getattr(tg.optim, name)(ours, **kw).step,
            getattr(torch.optim, name)(theirs, foreach=False, **kw).step,
            getattr(torch.optim, name)(theirs, **kw).step)


def _ce_pair(torch, smoothing, weighted):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 1000)).astype(np.float32)
    t = rng.integers(0, 1000, 256)
    w = rng.uniform(0.5, 2, 1000).astype(np.float32) if weighted else None
    xo, xt = tg.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_(True)
    wo = None if w is None else tg.tensor(w)
    wt = None if w is None else torch.from_numpy(w)
    to, tt = tg.tensor(t), torch.from_numpy(t)

    def ours():
        xo.grad = None
        F.cross_entropy(xo, to, weight=wo, label_smoothing=smoothing).backward()

    def theirs():
        xt.grad = None
        torch.nn.functional.cross_entropy(xt, tt, weight=wt,
                                          label_smoothing=smoothing).backward()
    return ours, theirs


def main():
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    # one thread: the machine is shared, and an idle-spinning OpenMP pool under load made
    # torch 10-100x slower in some runs; these workloads are memory-bound elementwise passes
    torch.set_num_threads(1)
    rows = []
    for name in ("SGD", "Adam", "AdamW"):
        ours, loop, default = _optim_pair(name, torch)
        a, b, c = _time((ours, loop, default), args.repeats)
        rows.append((f"{name} step, ResNet-18 params", a, b, c))
    for label, smoothing, weighted in (("cross_entropy 256x1000", 0.0, False),
                                       ("  + weight, label_smoothing=0.1", 0.1, True)):
        ours, theirs = _ce_pair(torch, smoothing, weighted)
        a, b = _time((ours, theirs), args.repeats)
        rows.append((label + " fwd+bwd", a, b, None))
    print(f"{'workload':40s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s}  torch default")
    for label, a, b, c in rows:
        extra = "" if c is None else f"{c * 1e3:8.2f} ms ({a / c:.2f}x)"
        print(f"{label:40s} {a * 1e3:9.2f} {b * 1e3:9.2f} {a / b:6.2f}  {extra}")


if __name__ == "__main__":
    main()
