"""Model-zoo benchmark: each zoo model's fwd+bwd here vs PyTorch CPU, same source, same data,
same process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python tools/bench_models.py [--repeats 7]
        [--only resnet]

Each model file is built twice, as the parity tests do: imported here, and under PyTorch with
its three import lines swapped. Both start from torch's state dict. One timed repeat is
forward (train mode) + ``(out * g).sum().backward()`` with a fixed random g; ours and torch's
repeats are interleaved (so both see the same machine load) and the medians printed.

Memory, per model:
- ``ours trace``: tracemalloc's peak over one fwd+bwd (NumPy reports its buffers to
  tracemalloc), i.e. the arrays alive at the high-water mark; exact, and what to compare between
  versions of this package;
- ``ours rss`` / ``torch rss``: how much one fwd+bwd raises the process's peak resident set
  size, each side in FRESH subprocesses that build only that side's model (its own init: the
  values do not change the memory, and copying torch's state dict in would peak higher than a
  step): the peak (``VmHWM``) of one that builds it and runs one step, minus the peak of
  one that only builds it. In one
  long process RSS rises mean nothing (the allocator keeps the pages freed by earlier models
  and reuses them; here even a freed 200 MB NumPy array stays resident), and a rise sampled
  within a fresh process hides behind the pages freed while building; peak minus peak does
  not. A lower bound where building itself peaked higher; comparable between the columns
  (torch's allocator does not report to tracemalloc).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tinygrad_cnn as tg  # noqa: E402  (after the sys.path line above)

IMPORTS = {"import tinygrad_cnn as torch": "import torch",
           "from tinygrad_cnn import nn": "from torch import nn",
           "import tinygrad_cnn.functional as F": "import torch.nn.functional as F"}

# name -> (family, builder over the family's namespace, input shape); batch 8, small inputs
MODELS = {
    "mnist Net 28x28": ("lenet", lambda ns: ns["Net"](), (8, 1, 28, 28)),
    "LeNet-5 32x32": ("lenet", lambda ns: ns["LeNet5"](), (8, 1, 32, 32)),
    "AlexNet 64x64": ("alexnet", lambda ns: ns["AlexNet"](num_classes=10), (8, 3, 64, 64)),
    "VGG-11-BN 32x32 (fc 512)": ("vgg", lambda ns: ns["vgg11_bn"](num_classes=10, hidden=512),
                                 (8, 3, 32, 32)),
    "ResNet-18 64x64": ("resnet", lambda ns: ns["resnet18"](num_classes=10), (8, 3, 64, 64)),
    "ResNet-50 64x64": ("resnet", lambda ns: ns["resnet50"](num_classes=10), (8, 3, 64, 64)),
    "MobileNetV2 64x64": ("mobilenet", lambda ns: ns["mobilenet_v2"](num_classes=10),
                          (8, 3, 64, 64)),
    "MobileNetV3-small 64x64": ("mobilenet", lambda ns: ns["mobilenet_v3_small"](
        num_classes=10), (8, 3, 64, 64)),
    "SqueezeNet 1.1 64x64": ("squeezenet", lambda ns: ns["squeezenet1_1"](num_classes=10),
                             (8, 3, 64, 64)),
    "DenseNet-121 64x64": ("densenet", lambda ns: ns["densenet121"](num_classes=10),
                           (8, 3, 64, 64)),
    "U-Net base 16 64x64": ("unet", lambda ns: ns["UNet"](3, 2, base=16), (8, 3, 64, 64)),
    "DCGAN G+D nz 100": ("dcgan", lambda ns: ns["DCGAN"](), (8, 100, 1, 1)),
    "ESPCN x3 64x64": ("superres", lambda ns: ns["Net"](upscale_factor=3), (8, 1, 64, 64)),
    "TransformerNet 64x64": ("style_transfer", lambda ns: ns["TransformerNet"](),
                             (8, 3, 64, 64)),
}


def torch_namespace(family):
    """The family's source with the three import lines swapped for PyTorch's, exec'd."""
    src = (ROOT / "tinygrad_cnn" / "models" / f"{family}.py").read_text().splitlines()
    ns = {"__name__": f"torch_zoo.{family}"}
    exec(compile("\n".join(IMPORTS.get(line, line) for line in src), family, "exec"), ns)  # noqa: S102
    return ns


def blas_summary():
    """Which BLAS NumPy runs on, its kernel and threads (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "NumPy BLAS: unknown (pip install threadpoolctl to see it)"
    libs = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')} kernels, "
            f"{i.get('num_threads')} threads" for i in threadpool_info() if i["user_api"] == "blas"]
    pinned = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}
    return "NumPy BLAS: " + "; ".join(libs) + (f" (environment: {pinned})" if pinned else "")


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_peak_rise(fn):
    """Peak RSS rise (bytes) while fn runs, sampled every millisecond by a thread."""
    gc.collect()
    base, peak, done = _rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.001)

    t = threading.Thread(target=sample)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return max(peak[0], _rss()) - base


def trace_peak(fn):
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def make_steps(torch, family, build, shape):
    """(ours step, torch step), each one fwd+bwd of its model on the same x and g."""
    torch.manual_seed(0)
    ref = build(torch_namespace(family))
    ours = build(vars(importlib.import_module(f"tinygrad_cnn.models.{family}")))
    # strict=False: timing only (the parity tests check the keys); a buffer the package lacks
    # (BatchNorm num_batches_tracked) does not stop the benchmark
    ours.load_state_dict({k: tg.tensor(v.numpy().copy()) for k, v in ref.state_dict().items()},
                         strict=False)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        g = rng.standard_normal(tuple(ref(torch.from_numpy(x)).shape)).astype(np.float32)
    xt, gt, xo, go = torch.from_numpy(x), torch.from_numpy(g), tg.tensor(x), tg.tensor(g)

    def step_ours():
        ours.zero_grad()
        (ours(xo) * go).sum().backward()

    def step_torch():
        ref.zero_grad()
        (ref(xt) * gt).sum().backward()

    return step_ours, step_torch


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _peak_in_fresh_process(name, which):
    r = subprocess.run([sys.executable, __file__, "--rss-worker", which, "--only", name],
                       capture_output=True, text=True, check=False)
    lines = r.stdout.split()
    return int(lines[-1]) if r.returncode == 0 and lines else None


def rss_in_fresh_process(name, which):
    """Bytes by which one fwd+bwd of ``which`` ("ours" or "torch") raises the peak RSS of a
    fresh process that built only that model (module docstring); None if a worker failed."""
    built, ran = (_peak_in_fresh_process(name, f"{which}-{w}") for w in ("build", "run"))
    return None if built is None or ran is None else max(ran - built, 0)


def rss_worker(torch, name, which):
    """Build one side's model (and its x, g), step it once if ``which`` ends in "run", print
    the process's peak RSS in bytes."""
    family, build, shape = MODELS[name]
    side, mode = which.split("-")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    if side == "torch":
        torch.manual_seed(0)
        model, xt = build(torch_namespace(family)), torch.from_numpy(x)
    else:
        model = build(vars(importlib.import_module(f"tinygrad_cnn.models.{family}")))
        xt = tg.tensor(x)
    if mode == "run":
        out = model(xt)
        g = rng.standard_normal(tuple(out.shape)).astype(np.float32)
        (out * (torch.from_numpy(g) if side == "torch" else tg.tensor(g))).sum().backward()
    # VmHWM, this address space's peak: ru_maxrss would carry the parent's over fork + exec
    with open("/proc/self/status") as f:
        hwm = next(line for line in f if line.startswith("VmHWM:"))
    print(int(hwm.split()[1]) * 1024)  # kB


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default="", help="run models whose name contains this")
    ap.add_argument("--rss-worker", help=argparse.SUPPRESS,  # "ours-run", "torch-build", ...
                    choices=[f"{s}-{m}" for s in ("ours", "torch") for m in ("build", "run")])
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is needed for the side-by-side run: pip install torch") from None
    torch.set_num_threads(2)
    if args.rss_worker:  # one model (its exact name in --only), one side, then exit
        return rss_worker(torch, args.only, args.rss_worker)
    print(blas_summary())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; fwd+bwd, batch 8, "
          f"median of {args.repeats} interleaved repeats")
    print(f"{'model':<26} {'ours ms':>8} {'torch ms':>9} {'ratio':>6} {'ours trace':>11} "
          f"{'ours rss':>9} {'torch rss':>10}")
    for name, (family, build, shape) in MODELS.items():
        if args.only.lower() not in name.lower():
            continue
        try:
            step_ours, step_torch = make_steps(torch, family, build, shape)
            step_ours()  # warm up both (first-call allocations, lazy imports)
        except Exception as e:  # noqa: BLE001  (a layer the package lacks: report it, go on)
            print(f"{name:<26} gap: {type(e).__name__}: {e}")
            continue
        step_torch()
        ours, ref = [], []
        for _ in range(args.repeats):
            ours.append(_time(step_ours))
            ref.append(_time(step_torch))
        a, b = statistics.median(ours) * 1e3, statistics.median(ref) * 1e3
        mb = 2.0 ** 20
        tr = trace_peak(step_ours)
        ro, rt = (rss_in_fresh_process(name, w) for w in ("ours", "torch"))
        rss = [f"{v / mb:7.1f}MB" if v is not None else "   failed" for v in (ro, rt)]
        print(f"{name:<26} {a:8.1f} {b:9.1f} {a / b:5.2f}x {tr / mb:9.1f}MB {rss[0]} "
              f"{rss[1]:>10}", flush=True)


if __name__ == "__main__":
    main()
