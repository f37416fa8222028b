"""Graph overhead: a long chain of small elementwise ops, forward + backward, µs per op,
side by side with PyTorch in the same process (reported as a ratio).

    python tools/bench_overhead.py [--ops 10000] [--repeats 5]

Also reports a 100,000-op chain's backward time and the peak traced memory of building
and back-propagating it.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

import numpy as np

import tinygrad_cnn as tg


def chain(lib, x, n_ops):
    """n_ops elementwise ops: mul by a scalar, add a tensor, tanh, repeated."""
    b = lib.ones(16) * 0.01
    y = x
    for _ in range(n_ops // 3):
        y = y * 0.999
        y = y + b
        y = y.tanh()
    return y.sum()


def time_fwd_bwd(lib, n_ops, repeats):
    times = []
    for _ in range(repeats):
        gc.collect()  # each repeat starts from the same heap: the last graph is gone
        x = lib.ones(16, requires_grad=True)
        t0 = time.perf_counter()
        loss = chain(lib, x, n_ops)
        loss.backward()
        times.append(time.perf_counter() - t0)
        del loss, x
    n = 3 * (n_ops // 3) + 1
    return statistics.median(times) / n * 1e6


def deep_chain(n_ops, trace=False):
    """Build and back-propagate an n_ops chain; times it, or (trace=True) its peak memory."""
    gc.collect()
    x = tg.ones(16, requires_grad=True)
    if trace:
        tracemalloc.start()
    y = x
    t0 = time.perf_counter()
    for _ in range(n_ops):
        y = y * 1.0
    t1 = time.perf_counter()
    y.sum().backward()
    t2 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    assert np.allclose(x.grad.numpy(), 1.0)
    return t1 - t0, t2 - t1, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--deep", type=int, default=100_000)
    args = ap.parse_args()

    ours = time_fwd_bwd(tg, args.ops, args.repeats)
    print(f"tinygrad_cnn : {ours:6.2f} µs/op  (chain of {args.ops} ops, fwd+bwd, median of "
          f"{args.repeats})")
    try:
        import torch
        torch.set_num_threads(2)
        ref = time_fwd_bwd(torch, args.ops, args.repeats)
        print(f"PyTorch      : {ref:6.2f} µs/op")
        print(f"ratio        : {ours / ref:6.2f}x PyTorch")
    except ImportError:
        print("PyTorch      : not installed (pip install torch==2.13.0 for the ratio)")
    fwd, bwd, _ = deep_chain(args.deep)
    _, _, peak = deep_chain(args.deep, trace=True)  # tracemalloc slows Python: time untraced
    print(f"{args.deep}-op chain : forward {fwd:.2f} s, backward {bwd:.2f} s, "
          f"peak traced memory {peak / 2**20:.1f} MiB ({peak / args.deep:.0f} B/op)")


if __name__ == "__main__":
    main()
