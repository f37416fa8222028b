"""The one prepared GPU check (issue #15, item 5): one command, under 7 minutes on an H200.

    python tools/gpu_check.py [--out PATH] [--budget 400] [--skip-tests] [--dry-run]

Each section in its own try/except, skipped when the ``--budget`` seconds are spent:

1. ``tests``    pytest -m cuda: every CUDA test (pool, conv, fused kernels vs NumPy);
2. ``syncs``    host conversions per training step (LeNet-5, ResNet-18) on the test-only fake
                device, naming the op and line of the first (needs tests/fake_backend.py);
3. ``capture``  a LeNet-5 / ResNet-18 step inside cupy stream capture: CUDA refuses the first
                synchronous call, and the traceback names the op;
4. ``launches`` kernel launches per step, ours and torch's (CUPTI through torch.profiler);
5. ``bench``    fwd+bwd ms and ratios vs PyTorch CUDA: cuDNN with TF32 off, PyTorch without
                cuDNN (its im2col baseline), and, in a CUPY_TF32=1 subprocess, ours against
                cuDNN with its default TF32: conv A/B, ResNet-18 layers at batch 256,
                max/avg pool, LeNet-5 and ResNet-18 training steps (Adam), peak memory
                (the workloads and their timing: tools/gpu_bench.py).

Results go to ``$OUT/gpu_check.json`` (or ``--out``); a short table is printed last.
``--dry-run`` runs the same plumbing on the CPU with tiny sizes (ours on the fake device when
tests/ is there), so CI checks the script without a GPU (tests/test_gpu_check.py).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "tests")]

import tinygrad_cnn as tg  # noqa: E402
from gpu_bench import MODELS, Run, model_step, section_bench, worker_tf32  # noqa: E402

# ---------------------------------------------------------------- sections
def _pytest(run, extra, timeout):
    """One pytest run; on a timeout the output so far is kept (the summary says so)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"] + extra
    cmd += ["--collect-only"] if run.dry else []
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        rc, text = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        rc, text = "timeout", (out.decode() if isinstance(out, bytes) else out) + \
            f"\ntimed out after {timeout:.0f} s"
    lines = text.strip().splitlines()
    ok = rc in (0, 5) if run.dry else rc == 0
    return {"returncode": rc, "ok": ok, "summary": lines[-1] if lines else "",
            "tail": "\n".join(lines[-40:])}


def section_tests(run, args):
    """pytest -m cuda (the kernels vs NumPy), then the pooling op tests, whose every case also
    runs on the GPU when one is there (tests/helpers.py DEVICES)."""
    share = max(10.0, min(args.test_share * args.budget, run.left() - 60))
    t0 = time.monotonic()
    res = _pytest(run, ["-m", "cuda", str(ROOT / "tests")], share)
    left = share - (time.monotonic() - t0)
    res["pool_ops_on_device"] = _pytest(run, [str(ROOT / "tests" / "test_pool.py")],
                                        max(10.0, left)) if left > 10 else "skipped: budget"
    return res


def _where(frames, n=3):
    """The innermost ``n`` tinygrad_cnn frames, 'path:line in func', innermost last: the op
    and the line that asked the device for a value."""
    ours = [f for f in frames if "tinygrad_cnn" in f.filename][-n:]
    return "; ".join(f"{os.path.relpath(f.filename, ROOT)}:{f.lineno} in {f.name}" for f in ours)


CONVERSIONS = ("__bool__", "__float__", "__int__", "__index__", "item", "tolist")


def section_syncs(run, args):  # noqa: ARG001
    """Host conversions of fake-device arrays in one step of each model (tiny sizes)."""
    import fake_backend
    if not run.fake:
        fake_backend.register()
    sub, out, cls = Run(argparse.Namespace(dry_run=True, budget=run.left())), {}, \
        fake_backend.FakeArray
    saved = {n: getattr(cls, n) for n in CONVERSIONS}

    def counting(attr, seen):
        def conversion(self, *a, **k):
            seen.append((attr, traceback.extract_stack(limit=40)))
            return saved[attr](self, *a, **k)
        return conversion
    for name in MODELS:
        step, seen = model_step(sub, tg, name), []
        step()  # warm-up outside the count (first-call caches)
        try:
            for n in CONVERSIONS:
                setattr(cls, n, counting(n, seen))
            step()
        finally:
            for n in CONVERSIONS:
                setattr(cls, n, saved[n])
        out[name] = {"syncs_per_step": len(seen),
                     "first": f"{seen[0][0]} at {_where(seen[0][1])}" if seen else None}
    return out


def section_capture(run, args):  # noqa: ARG001
    if run.dry:
        return {"skipped": "dry run: stream capture needs a GPU (see the syncs section)"}
    import cupy
    out = {}
    for name in MODELS:
        step = model_step(run, tg, name)
        step()
        step()
        run.sync()
        stream = cupy.cuda.Stream(non_blocking=True)
        res = {"captured": False}
        with stream:
            stream.begin_capture()
            try:
                step()
            except Exception as exc:
                res["error"] = f"{type(exc).__name__}: {exc}"[:300]
                res["where"] = _where(traceback.extract_tb(exc.__traceback__))
            finally:
                try:
                    graph = stream.end_capture()
                    res["captured"] = "error" not in res
                    if res["captured"]:
                        graph.launch(stream=stream)  # the captured step runs as one graph
                        stream.synchronize()
                except Exception as exc:  # capture invalidated by the failed call
                    res.setdefault("end_capture", f"{type(exc).__name__}: {exc}"[:200])
        out[name] = res
    return out


def section_launches(run, args):  # noqa: ARG001
    if run.dry:
        return {"skipped": "dry run: kernel launches are counted with CUPTI on the GPU"}
    import torch
    from torch.profiler import ProfilerActivity, profile
    out = {}
    for name in MODELS:
        counts = {}
        for lib in (tg, torch):
            step = model_step(run, lib, name)
            step()
            run.sync()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                step()
                run.sync()
            ev = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
            counts["ours" if lib is tg else "torch"] = len(ev)
        out[name] = counts
    return out


SECTIONS = {"tests": section_tests, "syncs": section_syncs, "capture": section_capture,
            "launches": section_launches, "bench": section_bench}


def meta(run):
    info = {"dry_run": run.dry, "ours_device": run.ours, "torch_device": run.torch,
            "numpy": np.__version__, "cupy_tf32": os.environ.get("CUPY_TF32")}
    for mod in ("torch", "cupy"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception as exc:
            info[mod] = f"unavailable: {exc}"[:100]
    try:
        import cupy
        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception:
        info["gpu"] = None
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True,
                                        capture_output=True).stdout.strip() or None
    except OSError:
        info["commit"] = None
    return info


def table(results):
    lines = ["", f"{'workload':38} {'ours ms':>9} {'cuDNN':>9} {'x cuDNN':>8} {'x im2col':>8}"
             f" {'x tf32':>7}"]
    for name, r in results["sections"].get("bench", {}).items():
        if name == "seconds":
            continue
        if not isinstance(r, dict) or "ours_ms" not in r:
            lines.append(f"{name[:38]:38} {str(r)[:60]}")
            continue
        cells = [r.get(k) for k in ("ours_ms", "torch_tf32_off_ms", "ratio_cudnn",
                                    "ratio_im2col", "ratio_tf32")]
        lines.append(f"{name[:38]:38} " + " ".join(
            f"{'-' if v is None else v:>{w}}" for v, w in zip(cells, (9, 9, 8, 8, 7))))
    sec = results["sections"]
    for name, res in sec.items():
        if name != "bench":
            short = res.get("summary") if isinstance(res, dict) and "summary" in res else res
            lines.append(f"{name}: {json.dumps(short, default=str)[:300]}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="JSON path (default $OUT/gpu_check.json)")
    ap.add_argument("--budget", type=float, default=400.0, help="seconds for everything")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--test-share", type=float, default=0.35, help="budget share of pytest")
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--only", default=None, help="benchmarks whose name contains one of these "
                    "comma-separated parts (default: all)")
    ap.add_argument("--dry-run", action="store_true", help="CPU / fake device, tiny sizes")
    ap.add_argument("--worker-tf32", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    run = Run(args)
    if args.worker_tf32:
        return worker_tf32(run, args)
    results = {"meta": meta(run), "sections": {}}
    for name, fn in SECTIONS.items():
        if (name == "tests" and args.skip_tests) or run.left() < 15:
            results["sections"][name] = {"skipped": "--skip-tests" if name == "tests"
                                         else "budget spent"}
            continue
        t0 = time.monotonic()
        try:
            res = fn(run, args)
        except Exception:
            res = {"error": traceback.format_exc()[-2000:]}
        res["seconds"] = round(time.monotonic() - t0, 1)
        results["sections"][name] = res
    out = Path(args.out or Path(os.environ.get("OUT", ".")) / "gpu_check.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(table(results))
    print(f"\nwritten: {out}")
    return results


if __name__ == "__main__":
    main()
