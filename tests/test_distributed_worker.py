"""The rank side of tests/test_distributed.py (no tests here): run under mpiexec, one
scenario per launch, results written to files the test compares against one process.

    mpiexec -n N python tests/test_distributed_worker.py SCENARIO OUT_DIR
"""
from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim

STEPS, BATCH = 10, 8                      # global batch B; each of N ranks takes B / N
CAPS = {"1KB": 1 / 1024, "100KB": 100 / 1024, "unlimited": None}   # bucket_cap_mb


class Net(nn.Module):
    """conv → relu → linear → relu → linear; ``mixed`` makes the last layer float64."""

    def __init__(self, mixed=False):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc1 = nn.Linear(4 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, 10)
        self.mixed = mixed
        if mixed:
            self.fc2.to(dtype=tg.float64)

    def forward(self, x):
        h = F.relu(self.fc1(F.relu(self.conv(x)).flatten(1)))
        return self.fc2(h.double() if self.mixed else h)


class Heads(nn.Module):
    """A trunk and three heads: ``b`` is used on some ranks only, ``c`` on none."""

    def __init__(self):
        super().__init__()
        self.trunk, self.a, self.b, self.c = (nn.Linear(6, 5), nn.Linear(5, 3),
                                              nn.Linear(5, 3), nn.Linear(5, 3))

    def forward(self, x, use_b):
        h = F.relu(self.trunk(x))
        return self.a(h) + self.b(h) if use_b else self.a(h)


def data(steps=STEPS, batch=BATCH, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((steps, batch, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, (steps, batch))
    return x, y


def make_opt(name, params):
    if name == "sgd":
        return optim.SGD(params, lr=0.05, momentum=0.9)
    return optim.Adam(params, lr=1e-2)


def train(model, opt, x, y, step_model=None):
    """10 steps; ``step_model`` (the DDP wrapper) is what is called, ``model`` the params."""
    call = step_model if step_model is not None else model
    for s in range(x.shape[0]):
        opt.zero_grad()
        F.cross_entropy(call(tg.tensor(x[s])), tg.tensor(y[s])).backward()
        opt.step()
    return {n: p.numpy() for n, p in model.named_parameters()}


def reference(opt_name, mixed):
    """One process, the whole batch: what every rank must end with."""
    tg.manual_seed(0)
    model = Net(mixed)
    return train(model, make_opt(opt_name, model.parameters()), *data())


def configs():
    for opt_name in ("sgd", "adam"):
        for cap in CAPS:
            yield opt_name, cap, False
        yield opt_name, "1KB", True


def scenario_equiv(out, rank, world):
    from tinygrad_cnn.distributed import DistributedDataParallel as DDP
    x, y = data()
    share = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
    for opt_name, cap, mixed in configs():
        tg.manual_seed(rank)  # different on each rank: DDP must take rank 0's (seed 0)
        model = Net(mixed)
        ddp = DDP(model, bucket_cap_mb=CAPS[cap])
        params = train(model, make_opt(opt_name, model.parameters()), x[:, share], y[:, share],
                       ddp)
        np.savez(os.path.join(out, f"equiv_{opt_name}_{cap}_{int(mixed)}_r{rank}.npz"), **params)
    scenario_no_sync(out, rank, world)
    scenario_unused(out, rank, world)
    scenario_buffers(out, rank)


def scenario_buffers(out, rank):
    """Each rank's BatchNorm statistics set to rank + 1; momentum 0 keeps them through a
    forward, so after it they show whether rank 0's were broadcast."""
    from tinygrad_cnn.distributed import DistributedDataParallel as DDP
    res = {}
    for flag in (True, False):
        bn = nn.BatchNorm1d(3, momentum=0.0)
        ddp = DDP(bn, broadcast_buffers=flag)
        bn.running_mean.array[...] = rank + 1
        ddp(tg.randn(4, 3)).sum().backward()
        res[f"bcast{int(flag)}"] = bn.running_mean.numpy()
    np.savez(os.path.join(out, f"buffers_r{rank}.npz"), **res)


def scenario_no_sync(out, rank, world, k=3, b=2):
    """k micro-batches under no_sync, then one synced: gradients of one (k+1)x batch."""
    from tinygrad_cnn.distributed import DistributedDataParallel as DDP
    x, y = data(steps=k + 1, batch=b * world, seed=2)
    tg.manual_seed(0)
    model = Net()
    ddp = DDP(model, bucket_cap_mb=1 / 1024)
    share = slice(rank * b, (rank + 1) * b)
    with ddp.no_sync():
        for m in range(k):
            F.cross_entropy(ddp(tg.tensor(x[m, share])), tg.tensor(y[m, share]),
                            reduction="sum").backward()
    F.cross_entropy(ddp(tg.tensor(x[k, share])), tg.tensor(y[k, share]),
                    reduction="sum").backward()
    np.savez(os.path.join(out, f"nosync_r{rank}.npz"),
             **{n: p.grad.numpy() for n, p in model.named_parameters()})


def scenario_unused(out, rank, world):
    """Rank 0 uses head b, the others do not; no rank uses head c."""
    from tinygrad_cnn.distributed import DistributedDataParallel as DDP
    tg.manual_seed(0)
    model = Heads()
    before = {n: p.numpy() for n, p in model.named_parameters()}
    ddp = DDP(model, bucket_cap_mb=1e-4)
    x = tg.tensor(np.random.default_rng(3 + rank).standard_normal((4, 6)).astype(np.float32))
    ddp(x, use_b=rank == 0).sum().backward()
    res = {f"grad.{n}": p.grad.numpy() for n, p in model.named_parameters()
           if p.grad is not None}
    optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1).step()
    res.update({f"after.{n}": p.numpy() for n, p in model.named_parameters()})
    res.update({f"before.{n}": v for n, v in before.items()})
    np.savez(os.path.join(out, f"unused_r{rank}.npz"), **res)


def scenario_failure(mode, rank):
    """Exceptions, stuck and killed ranks in the middle of DDP training."""
    from tinygrad_cnn.distributed import DistributedDataParallel as DDP
    tg.manual_seed(0)
    model = Net()
    ddp = DDP(model)
    x, y = data()
    for s in range(4):
        if s == 2 and rank == (0 if mode == "raise" else 1):
            if mode == "raise":
                raise ValueError(f"deliberate failure on rank {rank} at step {s}")
            if mode == "stuck":
                time.sleep(60)
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        F.cross_entropy(ddp(tg.tensor(x[s])), tg.tensor(y[s])).backward()


def scenario_mismatch(out, rank):
    from tinygrad_cnn.distributed import DistributedDataParallel as DDP
    model = nn.Sequential(nn.Linear(4, 8 if rank == 0 else 9), nn.Linear(8 if rank == 0 else 9,
                                                                          2))
    try:
        DDP(model)
        msg = "no error"
    except RuntimeError as e:
        msg = str(e)
    with open(os.path.join(out, f"mismatch_r{rank}.txt"), "w") as f:
        f.write(msg)


def scenario_gpu(out, rank, world):
    """Two ranks sharing one GPU, CuPy arrays staged through the host by the MPI backend."""
    from tinygrad_cnn.distributed import DistributedDataParallel as DDP
    x, y = data()
    share = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
    tg.manual_seed(rank)
    model = Net().to("cuda")
    ddp = DDP(model, bucket_cap_mb=1 / 1024)
    opt = make_opt("sgd", model.parameters())
    for s in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(ddp(tg.tensor(x[s, share], device="cuda")),
                        tg.tensor(y[s, share], device="cuda")).backward()
        opt.step()
    np.savez(os.path.join(out, f"gpu_r{rank}.npz"),
             **{n: p.numpy() for n, p in model.named_parameters()})


def main(argv):
    import tinygrad_cnn.distributed as dist
    mode, out = argv[1], argv[2]
    backend = argv[3] if len(argv) > 3 else None
    dist.init_process_group(backend, timeout=3 if mode == "stuck" else 60)
    rank, world = dist.get_rank(), dist.get_world_size()
    with open(os.path.join(out, f"started_r{rank}.txt"), "w") as f:
        f.write(f"{world} {dist.get_backend()}")
    if mode == "equiv":
        scenario_equiv(out, rank, world)
    elif mode in ("raise", "stuck", "kill"):
        scenario_failure(mode, rank)
    elif mode == "mismatch":
        scenario_mismatch(out, rank)
    elif mode == "gpu":
        scenario_gpu(out, rank, world)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv)
