"""Gradient buckets of DistributedDataParallel, and its same-model check across ranks.

A bucket is one flat array (allocated once) holding the gradients of several parameters of
one dtype and device, so one all-reduce moves them all: fewer, larger messages than one per
tensor (tools/bench_dist.py measures the difference).
"""
from __future__ import annotations

import numpy as _np


class Bucket:
    """Parameters ``index`` (positions in DDP's parameter list) laid end to end in ``buf``."""

    def __init__(self, index, params):
        self.index = list(index)
        self.shapes = [p.shape for p in params]
        sizes = [int(_np.prod(s, dtype=_np.int64)) for s in self.shapes]
        self.offsets = [int(o) for o in _np.cumsum([0] + sizes[:-1])]
        self.sizes = sizes
        self.dtype, self.xp = params[0].dtype, params[0].xp
        self.buf = self.xp.zeros(sum(sizes), dtype=self.dtype)
        self.ready = [False] * len(sizes)
        self.pending = len(sizes)
        self.work = None

    def reset(self):
        self.ready = [False] * len(self.sizes)
        self.pending = len(self.sizes)
        self.work = None

    def _slot(self, j):
        return self.buf[self.offsets[j]:self.offsets[j] + self.sizes[j]]

    def put(self, j, g, world_size):
        """Gradient ``g`` of parameter ``j``, divided by the world size (PyTorch divides
        before summing too: the sum of the shares is the mean)."""
        if world_size == 1:
            self._slot(j)[...] = g.reshape(-1)
        else:
            self.xp.divide(g.reshape(-1), world_size, out=self._slot(j))
        self.ready[j] = True
        self.pending -= 1

    def fill_missing(self, params, world_size):
        """Slots no gradient reached in this backward: the parameter's gradient accumulated
        earlier (under no_sync) if it has one, else zeros, so the all-reduce can run."""
        for j, p in enumerate(params):
            if not self.ready[j]:
                if p.grad is None:
                    self._slot(j)[...] = 0
                    self.ready[j] = True
                    self.pending -= 1
                else:
                    self.put(j, p.grad.array, world_size)

    def complete(self):
        return self.pending == 0

    def start(self, backend, what):
        self.work = backend.all_reduce_async(self.buf, "sum", what)

    def progress(self):
        if self.work is not None:
            self.work.test()

    def wait(self):
        self.work.wait()

    def view(self, j, as_view):
        v = self._slot(j).reshape(self.shapes[j])
        return v if as_view else v.copy()

    def describe(self):
        return f"{len(self.sizes)} parameters, {self.buf.nbytes} bytes of {self.dtype}"


def make_buckets(params, cap_bytes):
    """Buckets over ``params`` taken in reverse (the order backward produces gradients),
    one open bucket per (dtype, device), closed once it holds ``cap_bytes`` (None: never).
    A parameter larger than the cap gets a bucket of its own. Bucket order: closing order,
    then the still-open ones by their first parameter; the same on every rank."""
    open_, done = {}, []
    for i in reversed(range(len(params))):
        p = params[i]
        key = (str(p.dtype), str(p.device))
        members = open_.setdefault(key, [])
        members.append(i)
        if cap_bytes is not None and \
                sum(params[k].array.nbytes for k in members) >= cap_bytes:
            done.append(members)
            del open_[key]
    done.extend(sorted(open_.values(), key=lambda m: -m[0]))
    return [Bucket(m, [params[i] for i in m]) for m in done]


def _meta(named, buffers):
    rows = [["parameter", n, list(p.shape), str(p.dtype), bool(p.requires_grad)]
            for n, p in named]
    return rows + [["buffer", n, list(b.shape), str(b.dtype), False] for n, b in buffers]


def _first_difference(mine, ref, rank):
    for a, b in zip(mine, ref):
        if a != b:
            return (f"rank {rank} has {a[0]} {a[1]!r} of shape {tuple(a[2])}, {a[3]}"
                    f"{', requires_grad' if a[4] else ''} where rank 0 has {b[0]} {b[1]!r} "
                    f"of shape {tuple(b[2])}, {b[3]}{', requires_grad' if b[4] else ''}")
    if len(mine) != len(ref):
        extra = (mine if len(mine) > len(ref) else ref)[min(len(mine), len(ref))]
        return (f"rank {rank} has {len(mine)} parameters and buffers, rank 0 has {len(ref)} "
                f"(first unmatched: {extra[0]} {extra[1]!r})")
    return None


def check_same_model(backend, named, buffers):
    """Raise on every rank, naming the first difference, unless all ranks hold parameters
    and buffers of the same names, shapes, dtypes and requires_grad as rank 0."""
    mine = _meta(named, buffers)
    ref = backend.broadcast_object(mine if backend.rank == 0 else None, 0,
                                   "broadcast of rank 0's parameter list (DDP construction)")
    diff = _first_difference(mine, ref, backend.rank)
    bad = _np.array([backend.world_size if diff is None else backend.rank], dtype=_np.int64)
    backend.all_reduce(bad, "min", "all_reduce of the model check (DDP construction)")
    first = int(bad[0])
    if first < backend.world_size:
        msg = backend.broadcast_object(diff if backend.rank == first else None, first,
                                       "broadcast of the model difference")
        raise RuntimeError(f"DistributedDataParallel: the model differs between ranks: {msg}")
