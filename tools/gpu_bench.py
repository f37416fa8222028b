"""Benchmarks of tools/gpu_check.py: the workloads, ours and PyTorch on them, timed.

Ours runs on ``Run.ours`` (cuda; the fake device or the CPU in a dry run), PyTorch on
``Run.torch``. A workload is a ``step()`` closure: fwd+bwd of one conv or pool call, or one
training step of a model-zoo model built from the same source for both engines.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "tests")]

import tinygrad_cnn as tg  # noqa: E402
import tinygrad_cnn.functional as F  # noqa: E402

CONV = {  # name -> (n, c_in, h, c_out, k, stride, padding)
    "conv A N32 16->32 28 k3p1": (32, 16, 28, 32, 3, 1, 1),
    "conv B N8 64->64 56 k3p1": (8, 64, 56, 64, 3, 1, 1),
    "r18 conv1 N256 3->64 224 k7s2p3": (256, 3, 224, 64, 7, 2, 3),
    "r18 layer1 N256 64 56 k3p1": (256, 64, 56, 64, 3, 1, 1),
    "r18 layer2.0 N256 64->128 56 k3s2p1": (256, 64, 56, 128, 3, 2, 1),
    "r18 layer2 N256 128 28 k3p1": (256, 128, 28, 128, 3, 1, 1),
    "r18 layer3 N256 256 14 k3p1": (256, 256, 14, 256, 3, 1, 1),
    "r18 layer4 N256 512 7 k3p1": (256, 512, 7, 512, 3, 1, 1),
    "r18 downsample N256 128->256 28 k1s2": (256, 128, 28, 256, 1, 2, 0),
}
POOL = {  # name -> (max|avg, input shape, kwargs)
    "max_pool2d 2x2 N32 C32 28": ("max", (32, 32, 28, 28), dict(kernel_size=2)),
    "avg_pool2d 2x2 N32 C32 28": ("avg", (32, 32, 28, 28), dict(kernel_size=2)),
    "r18 max_pool 3x3s2p1 N256 C64 112": ("max", (256, 64, 112, 112),
                                           dict(kernel_size=3, stride=2, padding=1)),
}
MODELS = {  # name -> (family, constructor, input shape); 10 classes
    "LeNet-5 step b64": ("lenet", "LeNet5", (64, 1, 32, 32)),
    "ResNet-18 step b64 224": ("resnet", "resnet18", (64, 3, 224, 224)),
}


class Run:
    """Device names, sizes and the clock for one invocation."""
    def __init__(self, args):
        self.dry = args.dry_run
        self.deadline = time.monotonic() + args.budget
        self.fake = False
        if self.dry:
            try:
                import fake_backend
                fake_backend.register()
                self.fake = True
            except ImportError:
                pass
        self.ours = "cuda" if not self.dry else "fake" if self.fake else "cpu"
        self.torch = "cpu" if self.dry else "cuda"

    def left(self):
        return self.deadline - time.monotonic()

    def shrink(self, shape):
        """Tiny sizes for the dry run: batch 2, at most 8 channels, at most 32 pixels."""
        if not self.dry:
            return tuple(shape)
        return (min(shape[0], 2),) + tuple(min(s, 8) for s in shape[1:2]) + \
            tuple(min(s, 32) for s in shape[2:])

    def sync(self):
        if not self.dry:
            import cupy
            import torch
            cupy.cuda.Device().synchronize()
            torch.cuda.synchronize()


# ---------------------------------------------------------------- timing helpers
def timed(run, step, repeats, share):
    """Median ms of ``step()`` after warm-ups (kernel compilation, pool growth); the repeats
    cut to fit ``share`` seconds. A dry run times one call: it checks plumbing, not speed."""
    for _ in range(1 if run.dry else 2):
        step()
    times = []
    while True:
        run.sync()
        t0 = time.perf_counter()
        step()
        run.sync()
        times.append(time.perf_counter() - t0)
        n = 1 if run.dry else max(3, min(repeats, int(min(share, run.left()) / times[0])))
        if len(times) >= n:
            return float(f"{1e3 * statistics.median(times):.4g}")


def _ratio(ours, theirs):
    """ours / theirs to 3 significant figures (decimals would flatten a 0.0015 to 0.001)."""
    return float(f"{ours / theirs:.3g}")


def torch_mode(mode):
    """PyTorch CUDA settings: tf32_off (cuDNN, exact float32), default (cuDNN's default TF32
    convolutions), im2col (cuDNN disabled: PyTorch's own im2col + GEMM path)."""
    import torch
    torch.backends.cudnn.enabled = mode != "im2col"
    torch.backends.cudnn.allow_tf32 = mode == "default"
    torch.backends.cuda.matmul.allow_tf32 = False


def op_steps(run, lib, name):
    """fwd+bwd of one conv or pool workload with ``lib`` (tg or torch)."""
    rng = np.random.default_rng(0)
    is_tg = lib is tg
    dev = run.ours if is_tg else run.torch

    def leaf(shape, scale=1.0):
        a = (rng.standard_normal(run.shrink(shape)) * scale).astype(np.float32)
        if is_tg:
            return tg.tensor(a, device=dev, requires_grad=True)
        return lib.from_numpy(a).to(dev).requires_grad_()

    fn = F if is_tg else lib.nn.functional
    if name in CONV:
        n, c, h, co, k, s, p = CONV[name]
        x, w = leaf((n, c, h, h)), leaf((co, c, k, k), 0.05)
        if run.dry:
            w = leaf((min(co, 8), x.shape[1], k, k), 0.05)
        ts, f = [x, w], lambda: fn.conv2d(x, w, stride=s, padding=p)
    else:
        kind, shape, kw = POOL[name]
        x = leaf(shape)
        ts, f = [x], lambda: getattr(fn, f"{kind}_pool2d")(x, **kw)

    def step():
        for t in ts:
            t.grad = None
        f().sum().backward()
    return step


def model_step(run, lib, name):
    """One training step (forward, cross-entropy, backward, Adam) of a model-zoo model, built
    from the same source for both engines (tools/bench_models.torch_namespace)."""
    family, ctor, shape = MODELS[name]
    shape = (2, shape[1], 32, 32) if run.dry else shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0])
    if lib is tg:
        import tinygrad_cnn.models as zoo
        model = getattr(zoo, ctor)(num_classes=10).to(run.ours)
        xt, yt = tg.tensor(x, device=run.ours), tg.tensor(y, device=run.ours)
        opt, loss = tg.optim.Adam(model.parameters(), lr=1e-3), F.cross_entropy
    else:
        from bench_models import torch_namespace
        model = torch_namespace(family)[ctor](num_classes=10).to(run.torch)
        xt, yt = lib.from_numpy(x).to(run.torch), lib.from_numpy(y).to(run.torch)
        opt, loss = lib.optim.Adam(model.parameters(), lr=1e-3), lib.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss(model(xt), yt).backward()
        opt.step()
    return step


def peak_memory(run, ours_step, torch_step):
    """Peak bytes in use during one step: CuPy's pool (a MemoryHook) and torch's allocator."""
    if run.dry:
        return {"ours_peak_mb": None, "torch_peak_mb": None, "note": "dry run: not measured"}
    import cupy
    import torch
    from cupy.cuda.memory_hook import MemoryHook

    class Peak(MemoryHook):  # bytes the pool hands out, from what is in use before the step
        name = "peak"

        def __init__(self):
            self.base = self.now = self.peak = cupy.get_default_memory_pool().used_bytes()

        def malloc_postprocess(self, **kw):
            self.now += kw["mem_size"]
            self.peak = max(self.peak, self.now)

        def free_postprocess(self, **kw):
            self.now -= kw["mem_size"]

    run.sync()
    hook = Peak()
    with hook:
        ours_step()
        cupy.cuda.Device().synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    torch_step()
    torch.cuda.synchronize()
    return {"ours_peak_mb": round((hook.peak - hook.base) / 2**20, 1),
            "torch_peak_mb": round((torch.cuda.max_memory_allocated() - base) / 2**20, 1)}


def bench_one(run, name, share, repeats):
    """ours and PyTorch (TF32 off; cuDNN off; cuDNN default) on one workload."""
    import torch
    make = model_step if name in MODELS else op_steps
    res = {"ours_ms": timed(run, make(run, tg, name), repeats, share)}
    modes = ("tf32_off",) if name in POOL else ("tf32_off", "im2col", "default")
    try:
        for mode in modes:
            torch_mode(mode)
            res[f"torch_{mode}_ms"] = timed(run, make(run, torch, name), repeats, share)
    finally:
        torch_mode("default")
    res["ratio_cudnn"] = _ratio(res["ours_ms"], res["torch_tf32_off_ms"])
    if "torch_im2col_ms" in res:
        res["ratio_im2col"] = _ratio(res["ours_ms"], res["torch_im2col_ms"])
    if name in MODELS:
        res.update(peak_memory(run, make(run, tg, name), make(run, torch, name)))
    return res


def _free(run):
    import gc
    gc.collect()
    if not run.dry:
        import cupy
        import torch
        cupy.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()


def bench_all(run, names, fn, share_of_left):
    out = {}
    per = max(1.0, run.left() * share_of_left / max(1, 4 * len(names)))
    for name in names:
        if run.left() < 15:
            out[name] = {"skipped": "budget spent"}
            continue
        try:
            out[name] = fn(name, per)
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
        _free(run)
    return out


def selected(args, names):
    """The workloads whose name contains one of ``--only``'s comma-separated parts."""
    parts = [p.strip() for p in (args.only or "").split(",") if p.strip()]
    return [n for n in names if not parts or any(p in n for p in parts)]


def section_bench(run, args):
    out = bench_all(run, selected(args, list(CONV) + list(POOL) + list(MODELS)),
                    lambda name, per: bench_one(run, name, per, args.repeats), 0.65)
    # ours with CUPY_TF32=1 (read when CuPy loads: a fresh process) vs cuDNN's default TF32
    cmd = [sys.executable, str(Path(__file__).with_name("gpu_check.py")), "--worker-tf32",
           "--budget", str(max(20, run.left() - 10)), "--repeats", str(args.repeats)]
    cmd += ["--only", args.only] if args.only else []
    cmd += ["--dry-run"] if run.dry else []
    env = dict(os.environ, CUPY_TF32="1")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=max(20, run.left()))
        tf32 = json.loads(p.stdout.strip().splitlines()[-1])
    except Exception as exc:
        tf32 = {"error": f"{type(exc).__name__}: {exc}"[:400]}
    for name, res in tf32.items():
        if name in out and "ours_ms" in res:
            out[name]["ours_tf32_ms"] = res["ours_ms"]
            if "torch_default_ms" in out[name]:
                out[name]["ratio_tf32"] = _ratio(res["ours_ms"], out[name]["torch_default_ms"])
        elif name not in out or name == "error":
            out[f"tf32 worker: {name}"] = res
    return out


def worker_tf32(run, args):
    res = bench_all(run, selected(args, list(CONV) + list(MODELS)), lambda name, per: {
        "ours_ms": timed(run, (model_step if name in MODELS else op_steps)(run, tg, name),
                         args.repeats, per)}, 0.9)
    print(json.dumps(res))
