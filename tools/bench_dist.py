"""Data-parallel scaling and all-reduce cost, over MPI, at 1, 2 and 4 ranks.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python tools/bench_dist.py [--ranks 1 2 4]
        [--steps 15] [--batch 64]

For the digits CNN (examples/train_cnn.py, 8x8 inputs) and LeNet-5 (32x32), strong scaling
(global batch fixed, split over the ranks) and weak scaling (``--batch`` per rank):
samples/s of a real DDP step (forward, backward with the overlapped all-reduce, Adam step),
efficiency = throughput_N / (N * throughput_1) (= T1 / (N * T_N) for strong scaling), and,
from separate instrumented steps, the compute time (forward + backward under no_sync + the
optimiser step), the time waiting for peers (a barrier right after it) and the transfer
time (the buckets' all-reduce after that barrier) per step, medians over steps of rank 0.
Then the all-reduce time of one float32 array of 4 KiB ... 50 MiB, and the digits CNN's
gradients all-reduced per tensor against one bucket.

Each configuration is one ``mpiexec -n N`` run of this file with ``--worker``; ranks are
pinned to cores // N BLAS threads.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "examples"))

SIZES = [4 << 10, 64 << 10, 1 << 20, 8 << 20, 50 << 20]


def make(name):
    from tinygrad_cnn.models.lenet import LeNet5
    from train_cnn import make_model
    return (make_model(), (1, 8, 8)) if name == "digits" else (LeNet5(), (1, 32, 32))


def bench_model(name, batch, steps, warmup=3):
    import tinygrad_cnn as tg
    import tinygrad_cnn.distributed as dist
    import tinygrad_cnn.functional as F
    from tinygrad_cnn import optim
    be = dist.group.default_backend()
    tg.manual_seed(0)
    model, shape = make(name)
    ddp = dist.DistributedDataParallel(model)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = tg.randn(batch, *shape)
    y = tg.randint(0, 10, (batch,))
    rec = {"step": [], "compute": [], "wait": [], "transfer": []}
    for s in range(warmup + steps):
        t0 = time.perf_counter()                     # a real DDP step
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
        t1 = time.perf_counter()
        opt.zero_grad()                              # the same step taken apart
        with ddp.no_sync():
            F.cross_entropy(ddp(x), y).backward()
        opt.step()
        t2 = time.perf_counter()
        be.barrier("bench barrier")
        t3 = time.perf_counter()
        for b in ddp._buckets:
            b.start(be, "bench bucket")
        for b in ddp._buckets:
            b.wait()
        t4 = time.perf_counter()
        if s >= warmup:
            for k, v in zip(rec, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                rec[k].append(v)
    return {k: statistics.median(v) for k, v in rec.items()}


def bench_allreduce(repeats=7):
    import tinygrad_cnn.distributed as dist
    be = dist.group.default_backend()
    out = {}
    for size in SIZES:
        a = np.ones(size // 4, dtype=np.float32)
        times = []
        for _ in range(repeats if size < 8 << 20 else 3):
            be.barrier("bench barrier")
            t0 = time.perf_counter()
            be.all_reduce(a, "sum", "bench all_reduce")
            times.append(time.perf_counter() - t0)
        out[str(size)] = statistics.median(times)
    from train_cnn import make_model
    grads = [np.ones(p.shape, dtype=np.float32) for p in make_model().parameters()]
    flat = np.ones(sum(g.size for g in grads), dtype=np.float32)
    per, one = [], []
    for _ in range(repeats * 3):
        be.barrier("bench barrier")
        t0 = time.perf_counter()
        works = [be.all_reduce_async(g, "sum", "per tensor") for g in grads]
        for w in works:
            w.wait()
        t1 = time.perf_counter()
        be.barrier("bench barrier")
        t2 = time.perf_counter()
        be.all_reduce(flat, "sum", "one bucket")
        per.append(t1 - t0)
        one.append(time.perf_counter() - t2)
    out["per_tensor"], out["one_bucket"] = statistics.median(per), statistics.median(one)
    out["n_tensors"], out["bytes"] = len(grads), int(flat.nbytes)
    return out


def worker(args):
    import tinygrad_cnn.distributed as dist
    dist.init_process_group(timeout=120)
    n = dist.get_world_size()
    res = {"ranks": n}
    for model in ("digits", "lenet5"):
        res[f"{model}/strong"] = bench_model(model, args.batch // n, args.steps)
        res[f"{model}/weak"] = bench_model(model, args.batch, args.steps)
    if n > 1:
        res["allreduce"] = bench_allreduce()
    if dist.get_rank() == 0:
        with open(args.worker, "w") as f:
            json.dump(res, f)
    dist.destroy_process_group()


def run_all(args):
    from tinygrad_cnn.distributed.run import find_mpiexec, thread_env
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.ranks:
            path = os.path.join(tmp, f"r{n}.json")
            cmd = [find_mpiexec(), "-n", str(n), sys.executable, os.path.abspath(__file__),
                   "--worker", path, "--steps", str(args.steps), "--batch", str(args.batch)]
            subprocess.run(cmd, check=True, env=thread_env(n, os.environ), timeout=1800)
            with open(path) as f:
                results[n] = json.load(f)
    report(results, args)


def report(results, args):
    try:
        from threadpoolctl import threadpool_info
        blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads"))
                for i in threadpool_info()]
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"BLAS: {blas}; cores: {os.cpu_count()}; global batch (strong) / per-rank batch "
          f"(weak): {args.batch}; medians of {args.steps} steps, rank 0\n")
    print("| model | scaling | ranks | samples/s | efficiency | step ms | compute ms | "
          "wait ms | transfer ms | (wait+transfer)/step |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    first = min(results)
    for key in ("digits/strong", "digits/weak", "lenet5/strong", "lenet5/weak"):
        model, kind = key.split("/")
        base = None
        for n, res in sorted(results.items()):
            r = res[key]
            glob = args.batch if kind == "strong" else args.batch * n
            thr = glob / r["step"]
            if n == first:
                base = thr / n
            comm = (r["wait"] + r["transfer"]) / r["step"]
            print(f"| {model} | {kind} | {n} | {thr:.0f} | {thr / (n * base):.2f} | "
                  f"{1e3 * r['step']:.2f} | {1e3 * r['compute']:.2f} | {1e3 * r['wait']:.2f} "
                  f"| {1e3 * r['transfer']:.3f} | {100 * comm:.1f} % |")
    print("\n| ranks | " + " | ".join(_size(s) for s in SIZES) +
          " | digits grads per tensor | one bucket |")
    print("|---|" + "---|" * (len(SIZES) + 2))
    for n, res in sorted(results.items()):
        a = res.get("allreduce")
        if a:
            print(f"| {n} | " + " | ".join(f"{1e3 * a[str(s)]:.3f} ms" for s in SIZES) +
                  f" | {1e3 * a['per_tensor']:.3f} ms ({a['n_tensors']} tensors) | "
                  f"{1e3 * a['one_bucket']:.3f} ms ({a['bytes']} B) |")


def _size(s):
    return f"{s >> 20} MiB" if s >= 1 << 20 else f"{s >> 10} KiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
    else:
        run_all(args)


if __name__ == "__main__":
    main()
