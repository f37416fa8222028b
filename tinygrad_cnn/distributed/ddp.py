"""DistributedDataParallel: one model replica per rank, gradients averaged over ranks.

At construction every rank checks that it holds the same parameters and buffers (names,
shapes, dtypes) as rank 0, then takes rank 0's values. During ``backward()`` each
parameter's post-accumulate-grad hook copies its gradient, divided by the world size, into
its bucket (a flat array allocated once: parameters in reverse order, one dtype and device
per bucket, at most ``bucket_cap_mb`` MiB); a complete bucket's asynchronous all-reduce
starts at once, overlapping the rest of the backward. Buckets start in index order on every
rank (collectives must be issued in one order everywhere): a bucket that completes early
waits for its predecessors. An end-of-backward callback zero-fills what no gradient reached
on this rank (so no rank waits forever for it), starts the remaining buckets and a small
all-reduce of which parameters got a gradient anywhere, waits for all of them under the
watchdog, and writes the averaged gradients into ``.grad``. A parameter no rank used keeps
``.grad`` None, so the optimiser leaves it alone. After that, a plain optimiser step works
as on one process.
"""
from __future__ import annotations

import contextlib
import numbers
import time

import numpy as _np

from ..autograd import grad_mode
from ..autograd.engine import queue_callback
from ..nn.module import Module
from ..tensor import Tensor
from . import group as _group
from .bucket import Bucket, check_same_model, make_buckets


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the default process group.

    Args:
        module (Module): the model; its state-dict keys gain the prefix ``module.``.
        bucket_cap_mb (float | None): bucket size in MiB (None or ``inf``: one bucket per
            dtype and device).
        broadcast_buffers (bool): copy rank 0's buffers (BatchNorm statistics, ...) to every
            rank at the start of each forward in training mode.
        gradient_as_bucket_view (bool): make ``.grad`` a view of the bucket (no copy; it is
            overwritten by the next synchronised backward) instead of a fresh array.
        find_unused_parameters, static_graph: accepted for PyTorch code; unused parameters
            are always handled (found at the end of backward, no graph walk needed).
        device_ids, output_device: None, or the one device the module is on.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=25,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        _check_args(module, device_ids, output_device, dim, process_group, bucket_cap_mb)
        self.module = module
        be = self._backend = _group.default_backend()
        self.broadcast_buffers = bool(broadcast_buffers)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.find_unused_parameters, self.static_graph = find_unused_parameters, static_graph
        self.check_reduction = check_reduction  # deprecated in PyTorch: no effect there either
        self.bucket_cap_mb = bucket_cap_mb
        named = list(module.named_parameters())
        buffers = list(module.named_buffers())
        check_same_model(be, named, buffers)
        with grad_mode.no_grad():
            for _, t in named + buffers:  # every rank starts from rank 0's values
                be.broadcast(_contiguous(t), 0, "broadcast of the parameters from rank 0")
                t._bump_version()
        self._params = [p for _, p in named if p.requires_grad]
        self._names = [n for n, p in named if p.requires_grad]
        self._sync_buffers = [b for _, b in buffers]
        cap = None if bucket_cap_mb is None else bucket_cap_mb * 2 ** 20
        self._buckets = make_buckets(self._params, cap)
        self._where = {}
        for bi, bucket in enumerate(self._buckets):
            for j, i in enumerate(bucket.index):
                self._where[i] = (bi, j)
        self._handles = [p.register_post_accumulate_grad_hook(self._hook_for(i))
                         for i, p in enumerate(self._params)]
        self._has_grad = _np.zeros(len(self._params), dtype=_np.int32)
        self._sync, self._active, self._step = True, False, 0
        self._launched = 0
        self.comm_stats = {"steps": 0, "wait_s": 0.0, "copy_s": 0.0}

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        if self._active:
            raise RuntimeError("DistributedDataParallel: the previous backward() did not "
                               "finish its gradient reduction (it raised?); the ranks are "
                               "out of step, restart the job")
        if self.broadcast_buffers and self._sync_buffers and self.training and \
                self._backend.world_size > 1:
            with grad_mode.no_grad():
                for b in self._sync_buffers:
                    self._backend.broadcast(_contiguous(b), 0,
                                            f"broadcast of the buffers (step {self._step})")
                    b._bump_version()
        out = self.module(*args, **kwargs)
        if self._sync and grad_mode.is_grad_enabled():
            # an output's gradient hook starts the reduction even if this rank's loss reaches
            # no parameter at all, so its peers are not left waiting for it
            for t in _tensors(out):
                if t.requires_grad and t.grad_fn is not None:
                    t.register_hook(self._output_hook)
        return out

    def _output_hook(self, _gy):
        self._begin()

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally, with no communication; the
        first synchronised backward after it reduces the accumulated sum."""
        prev, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = prev

    # ------------------------------------------------------------------ backward
    def _begin(self):
        if self._active or not self._sync:
            return
        self._active, self._launched = True, 0
        for bucket in self._buckets:
            bucket.reset()
        queue_callback(self._finish)

    def _hook_for(self, i):
        def hook(p):
            if not self._sync:
                return
            self._begin()
            bi, j = self._where[i]
            bucket = self._buckets[bi]
            if bucket.ready[j]:
                raise RuntimeError(f"DistributedDataParallel: parameter {self._names[i]!r} "
                                   "got a gradient twice in one backward")
            t0 = time.perf_counter()
            bucket.put(j, p.grad.array, self._backend.world_size)
            self.comm_stats["copy_s"] += time.perf_counter() - t0
            self._launch_ready()
            for b in self._buckets[:self._launched]:
                b.progress()  # MPI progresses a non-blocking collective only when called
        return hook

    def _launch_ready(self):
        while self._launched < len(self._buckets) and \
                self._buckets[self._launched].complete():
            self._start(self._launched)

    def _start(self, bi):
        what = (f"all_reduce of gradient bucket {bi} ({self._buckets[bi].describe()}) at "
                f"step {self._step}")
        self._buckets[bi].start(self._backend, what)
        self._launched = bi + 1

    def _finish(self):
        """End of backward: fill what this rank did not compute, reduce the rest, wait."""
        t0 = time.perf_counter()
        ws = self._backend.world_size
        for bucket in self._buckets[self._launched:]:
            bucket.fill_missing([self._params[i] for i in bucket.index], ws)
        while self._launched < len(self._buckets):
            self._start(self._launched)
        has_grad = self._has_grad  # host flags: which parameters have a gradient here
        for i, p in enumerate(self._params):
            has_grad[i] = p.grad is not None
        used = self._backend.all_reduce_async(
            has_grad, "max", f"all_reduce of the used-parameter flags at step {self._step}")
        for bucket in self._buckets:
            bucket.wait()
        used.wait()
        for bucket in self._buckets:
            for j, i in enumerate(bucket.index):
                if has_grad[i]:
                    self._params[i].grad = Tensor._make(
                        bucket.view(j, self.gradient_as_bucket_view))
        self._active = False
        self._step += 1
        self.comm_stats["steps"] += 1
        self.comm_stats["wait_s"] += time.perf_counter() - t0

    def __repr__(self):
        return f"DistributedDataParallel(\n  (module): {self.module!r}\n)"


def _contiguous(t):
    if not t.array.flags.c_contiguous:
        t.array = t.xp.ascontiguousarray(t.array)
    return t.array


def _tensors(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for t in out if isinstance(t, Tensor)]
    return []


def _check_args(module, device_ids, output_device, dim, process_group, bucket_cap_mb):
    op = "DistributedDataParallel"
    if process_group is not None:
        raise ValueError(f"{op}: process_group={process_group!r}: only the default group is "
                         "supported")
    if dim != 0:
        raise ValueError(f"{op}: dim={dim}: the batch is split by the sampler, not by DDP")
    devices = {p.device for p in module.parameters()}
    for name, ids in (("device_ids", device_ids), ("output_device", output_device)):
        if ids is None:
            continue
        ids = list(ids) if isinstance(ids, (list, tuple)) else [ids]
        if len(ids) != 1:
            raise ValueError(f"{op}: {name}={ids}: one device per process")
        want = ids[0] if not isinstance(ids[0], numbers.Integral) else f"cuda:{ids[0]}"
        if {str(d) for d in devices} - {str(want)}:
            raise ValueError(f"{op}: {name}={ids} but the module is on "
                             f"{sorted(str(d) for d in devices)}: move it there first")
    if bucket_cap_mb is not None and (isinstance(bucket_cap_mb, bool) or not isinstance(
            bucket_cap_mb, numbers.Real) or not bucket_cap_mb > 0):
        raise ValueError(f"{op}: bucket_cap_mb must be a positive number or None, got "
                         f"{bucket_cap_mb!r}")


__all__ = ["Bucket", "DistributedDataParallel"]
