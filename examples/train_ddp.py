"""Train the digits CNN of examples/train_cnn.py on N ranks with DistributedDataParallel.

    python -m tinygrad_cnn.distributed.run -n 2 examples/train_ddp.py [--epochs 15]
    mpiexec -n 2 python -m mpi4py examples/train_ddp.py          # the same, by hand
    python examples/train_ddp.py                                 # one process

Each rank reads its shard of the training set (DistributedSampler) in batches of
``--batch-size / N``, so N ranks together take the same global batch, the same number of
steps and reach the same accuracy as ``train_cnn.py`` on one process. Rank 0 evaluates and
prints the machine-readable last line ``test_accuracy=0.98 wall_s=12.3 ranks=2``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tinygrad_cnn as tg  # noqa: E402
import tinygrad_cnn.distributed as dist  # noqa: E402
import tinygrad_cnn.functional as F  # noqa: E402
from tinygrad_cnn import optim  # noqa: E402
from tinygrad_cnn.data import DataLoader, DistributedSampler, load_digits  # noqa: E402
from train_cnn import evaluate, make_model  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description="Train the digits CNN on N ranks.")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--backend", default=None, help="mpi, nccl or local (default: picked)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=32, help="global batch, all ranks")
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    dist.init_process_group(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} must be divisible by {world} ranks")
    tg.manual_seed(args.seed)
    data = load_digits("train", device=args.device)
    sampler = DistributedSampler(data, seed=args.seed)
    train = DataLoader(data, batch_size=args.batch_size // world, sampler=sampler)
    model = dist.DistributedDataParallel(make_model().to(args.device))
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        total = 0.0
        for x, y in train:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()       # gradients are averaged over the ranks here
            opt.step()
            total += loss.item()
        sched.step()
        if rank == 0:
            print(f"epoch {epoch:2d}: loss {total / len(train):.4f}", flush=True)
    acc = None
    if rank == 0:
        acc = evaluate(model.module, DataLoader(load_digits("test", device=args.device),
                                                batch_size=256))
        print(f"test_accuracy={acc:.3f} wall_s={time.perf_counter() - start:.1f} "
              f"ranks={world}", flush=True)
    dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main()
