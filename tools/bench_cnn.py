"""CNN op benchmark: this engine vs PyTorch CPU, same data, same process, fwd+bwd.

    python tools/bench_cnn.py [--repeats 15] [--device cpu|cuda]

For every workload it first checks that our outputs and gradients match PyTorch's
(float32), then times both (interleaved step by step, median of the repeats) and
prints ours / torch.
It also prints the GFLOP/s our conv fwd+bwd achieves against NumPy's own matmul on the
same GEMM shapes, and the peak traced memory (tracemalloc) of one conv fwd+bwd.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import tracemalloc

import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F


def _lenet(lib, fn, x, y, p):
    h = fn.max_pool2d(fn.conv2d(x, p[0], p[1], padding=2).relu(), 2)
    h = fn.max_pool2d(fn.conv2d(h, p[2], p[3]).relu(), 2)
    h = h.reshape(h.shape[0], -1)
    h = (h @ p[4].T + p[5]).relu()
    h = (h @ p[6].T + p[7]).relu()
    z = h @ p[8].T + p[9]
    return (z.logsumexp(1) - z[lib.arange(z.shape[0]), y]).mean()


def workloads(rng):
    """name -> (make inputs (list of arrays, int arrays pass through), fn(lib, F, *tensors))."""
    def r(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    lenet_params = [r(6, 1, 5, 5, scale=0.2), r(6, scale=0.1), r(16, 6, 5, 5, scale=0.1),
                    r(16, scale=0.1), r(120, 400, scale=0.05), r(120, scale=0.1),
                    r(84, 120, scale=0.1), r(84, scale=0.1), r(10, 84, scale=0.1),
                    r(10, scale=0.1)]
    return {
        "conv2d A  N32 16->32 28x28 k3p1": (
            [r(32, 16, 28, 28), r(32, 16, 3, 3, scale=0.1)],
            lambda _lib, fn, x, w: fn.conv2d(x, w, padding=1)),
        "conv2d B  N8 64->64 56x56 k3p1": (
            [r(8, 64, 56, 56), r(64, 64, 3, 3, scale=0.05)],
            lambda _lib, fn, x, w: fn.conv2d(x, w, padding=1)),
        "depthwise N8 C64 56x56 k3p1": (
            [r(8, 64, 56, 56), r(64, 1, 3, 3, scale=0.3)],
            lambda _lib, fn, x, w: fn.conv2d(x, w, padding=1, groups=64)),
        "depthwise s2 N8 C64 56x56 k3p1": (
            [r(8, 64, 56, 56), r(64, 1, 3, 3, scale=0.3)],
            lambda _lib, fn, x, w: fn.conv2d(x, w, stride=2, padding=1, groups=64)),
        "depthwise x2 N8 C32->64 56x56 k3p1": (
            [r(8, 32, 56, 56), r(64, 1, 3, 3, scale=0.3)],
            lambda _lib, fn, x, w: fn.conv2d(x, w, padding=1, groups=32)),
        "max_pool2d 2x2 N32 C32 28x28": (
            [r(32, 32, 28, 28)], lambda _lib, fn, x: fn.max_pool2d(x, 2)),
        "avg_pool2d 2x2 N32 C32 28x28": (
            [r(32, 32, 28, 28)], lambda _lib, fn, x: fn.avg_pool2d(x, 2)),
        "conv_transpose2d s2 N16 32->16 14->28": (
            [r(16, 32, 14, 14), r(32, 16, 3, 3, scale=0.1)],
            lambda _lib, fn, x, w: fn.conv_transpose2d(x, w, stride=2, padding=1,
                                                       output_padding=1)),
        "LeNet-5 fwd+bwd batch 64": (
            [r(64, 1, 28, 28), rng.integers(0, 10, 64)] + lenet_params,
            lambda lib, fn, x, y, *p: _lenet(lib, fn, x, y, p)),
    }


DEVICE = "cpu"  # set by --device


def _tensors(lib, arrays):
    """Leaf tensors of ``lib`` (tg or torch) for the arrays on DEVICE; floats require grad."""
    import torch
    out = []
    for a in arrays:
        if lib is tg:
            out.append(tg.tensor(a, requires_grad=a.dtype.kind == "f", device=DEVICE))
        else:
            t = torch.from_numpy(a).to(DEVICE)
            out.append(t.requires_grad_() if a.dtype.kind == "f" else t)
    return out


def _sync():
    """Wait for queued GPU work, so timings measure it."""
    if DEVICE.startswith("cuda"):
        import cupy
        import torch
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()


def _run(lib, fn, f, arrays, grad_seed):
    """Forward, backward with a fixed random upstream gradient; returns (out, grads)."""
    import torch
    ts = _tensors(lib, arrays)
    is_tg = lib is tg
    out = f(lib, fn, *ts)
    g = np.random.default_rng(grad_seed).standard_normal(tuple(out.shape)).astype(np.float32)
    out.backward(tg.tensor(g, device=DEVICE) if is_tg else torch.from_numpy(g).to(DEVICE))
    return out, [t.grad for t in ts if t.dtype.kind == "f" if is_tg] if is_tg else \
        [t.grad for t in ts if t.is_floating_point()]


def check(name, f, arrays):
    import torch
    import torch.nn.functional as TF
    out, grads = _run(tg, F, f, arrays, 0)
    tout, tgrads = _run(torch, TF, f, arrays, 0)
    tout = tout.detach().cpu().numpy()
    scale = float(np.abs(tout).max()) or 1.0
    np.testing.assert_allclose(out.numpy(), tout, atol=1e-4 * scale,
                               rtol=1e-3, err_msg=f"{name}: forward")
    for i, (a, b) in enumerate(zip(grads, tgrads)):
        b = b.cpu().numpy()
        np.testing.assert_allclose(a.numpy(), b, atol=1e-4 * (np.abs(b).max() or 1.0),
                                   rtol=1e-3, err_msg=f"{name}: gradient {i}")


def stepper(lib, fn, f, arrays):
    """One timed fwd+bwd of ``f`` on fresh leaves of ``lib``, after a warm-up."""
    ts = _tensors(lib, arrays)

    def step():
        for t in ts:
            t.grad = None
        out = f(lib, fn, *ts)
        out.sum().backward()

    step()  # warm-up

    def timed_step():
        gc.collect()
        _sync()
        t0 = time.perf_counter()
        step()
        _sync()
        return time.perf_counter() - t0
    return timed_step


def interleaved(steps, repeats):
    """Run the steps in turn, ``repeats`` rounds: each round times every step once, so all
    see the same machine load (a shared machine's load changes within seconds)."""
    times = [[] for _ in steps]
    for _ in range(repeats):
        for ts, step in zip(times, steps):
            ts.append(step())
    return times


def conv_flops(x_shape, w_shape, o_hw):
    n, c = x_shape[:2]
    f, _, kh, kw = w_shape
    return 3 * 2.0 * n * f * c * kh * kw * o_hw[0] * o_hw[1]   # fwd, input grad, weight grad


def matmul_gflops(m, k, n, repeats=5):
    a = np.random.default_rng(0).standard_normal((m, k), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((k, n), dtype=np.float32)
    best = min(_time(lambda: a @ b) for _ in range(repeats))
    return 2.0 * m * k * n / best / 1e9


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def gemm_floor_ms(x_shape, w_shape, repeats=9):
    """The three GEMMs of an im2col conv fwd+bwd alone: forward (f, c·k) @ (c·k, m·o),
    weight gradient (f, m·o) @ (m·o, c·k), input gradient (c·k, f) @ (f, m·o), for the
    whole batch (m = n) or one sample at a time (m = 1, cache-sized operands), whichever
    NumPy does faster; median time for the whole batch in ms. A NumPy conv that does this
    arithmetic through matmul cannot be faster than this."""
    n, c, h, w = x_shape
    f, _, kh, kw = w_shape
    ck = c * kh * kw
    rng = np.random.default_rng(0)
    best = float("inf")
    for m in (n, 1):
        wm = rng.standard_normal((f, ck), dtype=np.float32)
        cols = rng.standard_normal((ck, m * h * w), dtype=np.float32)
        gy = rng.standard_normal((f, m * h * w), dtype=np.float32)

        def three(wm=wm, cols=cols, gy=gy):
            wm @ cols
            gy @ cols.T
            wm.T @ gy
        three()
        best = min(best, statistics.median(_time(three) for _ in range(repeats)) * n / m)
    return best * 1e3


def blas_summary():
    """Which BLAS NumPy runs on, its kernel and threads (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (pip install threadpoolctl to see it)"
    libs = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')} kernels, "
            f"{i.get('num_threads')} threads" for i in threadpool_info() if i["user_api"] == "blas"]
    pinned = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}
    return "NumPy BLAS: " + "; ".join(libs) + (f" (environment: {pinned})" if pinned else "")


def peak_memory(f, arrays):
    ts = [tg.tensor(a, requires_grad=True) for a in arrays]
    gc.collect()
    tracemalloc.start()
    f(tg, F, *ts).sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--only", default="", help="run workloads whose name contains this")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (CuPy vs PyTorch CUDA)")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    try:
        import torch
        import torch.nn.functional as TF
    except ImportError as exc:
        raise SystemExit("PyTorch is needed for the side-by-side run: "
                         "pip install torch==2.13.0") from exc
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    if DEVICE == "cpu":
        print(blas_summary())
    print(f"{'workload':<40} {'ours ms':>8} {'torch ms':>9} {'ratio':>6}")
    for name, (arrays, f) in workloads(rng).items():
        if args.only not in name:
            continue
        check(name, f, arrays)
        ours, ref = interleaved([stepper(tg, F, f, arrays), stepper(torch, TF, f, arrays)],
                                args.repeats)
        a, b = statistics.median(ours) * 1e3, statistics.median(ref) * 1e3
        print(f"{name:<40} {a:8.2f} {b:9.2f} {a / b:5.2f}x")
        if name.startswith("conv2d") and DEVICE == "cpu":
            x, w = arrays
            o = x.shape[2:]
            achieved = conv_flops(x.shape, w.shape, o) / (a / 1e3) / 1e9
            ck = w.shape[1] * w.shape[2] * w.shape[3]
            ref_gemm = matmul_gflops(w.shape[0], ck, x.shape[0] * o[0] * o[1])
            print(f"{'':<40} conv fwd+bwd {achieved:.0f} GFLOP/s = "
                  f"{100 * achieved / ref_gemm:.0f}% of NumPy matmul on its GEMM shape "
                  f"({ref_gemm:.0f} GFLOP/s)")
            floor = gemm_floor_ms(x.shape, w.shape)
            print(f"{'':<40} its three GEMMs alone (NumPy matmul): {floor:.2f} ms = "
                  f"{floor / b:.2f}x torch's whole conv")
            print(f"{'':<40} peak traced memory of one fwd+bwd: "
                  f"{peak_memory(f, arrays) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
