"""The default process group and PyTorch's ``torch.distributed`` functions over it.

One process group per process, as PyTorch's default group: it *is* process-wide state (the
job this process belongs to), set by :func:`init_process_group` and cleared by
:func:`destroy_process_group`. Tensors are reduced in place on their own device; a
non-contiguous tensor goes through a contiguous copy.
"""
from __future__ import annotations

import contextlib
import datetime
import numbers
import os

from .backends import make_backend
from .watchdog import ExceptHook

DEFAULT_TIMEOUT_S = 300.0


class ReduceOp:
    """PyTorch's ``dist.ReduceOp`` names (AVG: the sum divided by the world size)."""
    SUM, PRODUCT, MIN, MAX, AVG = "sum", "product", "min", "max", "avg"


class _Group:
    backend = None      # the Backend of the default group, None when not initialised
    hook = None         # the ExceptHook installed for it
    seq = 0             # collectives issued through this module (named by the watchdog)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the job: ``backend`` ``"mpi"`` (CPU, or GPU arrays staged through the host),
    ``"nccl"`` (GPU) or ``"local"`` (a world of one); None picks ``mpi`` under an MPI
    launcher (``mpiexec``, ``python -m tinygrad_cnn.distributed.run``) and ``local``
    otherwise. Ranks and the world size come from the launcher: ``world_size``/``rank``, if
    given, must agree with it. ``timeout`` (seconds or a ``timedelta``, default 300 s) bounds
    every blocking collective: past it the job is aborted with a message naming the
    collective. With more than one rank an uncaught exception aborts the whole job."""
    if _Group.backend is not None:
        raise RuntimeError("init_process_group: trying to initialize the default process "
                           "group twice (call destroy_process_group() first)")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method={init_method!r} is not supported: "
                         "ranks meet through the MPI launcher (mpiexec / "
                         "python -m tinygrad_cnn.distributed.run)")
    for name, val, default in (("store", store, None), ("group_name", group_name, ""),
                               ("pg_options", pg_options, None)):
        if val != default:
            raise ValueError(f"init_process_group: {name}={val!r} is not supported")
    if device_id is not None and backend != "nccl":
        raise ValueError(f"init_process_group: device_id={device_id!r} only applies to "
                         "backend='nccl' (the rank's GPU is local_rank % device count)")
    timeout = _seconds(timeout)
    be = make_backend(backend, timeout)
    for name, want, got in (("world_size", world_size, be.world_size), ("rank", rank, be.rank)):
        if want not in (-1, None) and want != got:
            be.close()
            raise ValueError(f"init_process_group: {name}={want} but the launcher started "
                             f"this process with {name} {got}")
    _Group.backend, _Group.seq = be, 0
    _Group.hook = ExceptHook(be).install() if be.world_size > 1 else None
    pid_dir = os.environ.get("TINYGRAD_CNN_DIST_PID_DIR")
    if pid_dir:  # our launcher names the rank of a PID that MPICH reports dead
        with contextlib.suppress(OSError), \
                open(os.path.join(pid_dir, f"rank{be.rank}"), "w") as f:
            f.write(str(os.getpid()))


def _seconds(timeout):
    if timeout is None:
        return DEFAULT_TIMEOUT_S
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
        raise ValueError(f"init_process_group: timeout must be a positive number of seconds "
                         f"or a timedelta, got {timeout!r}")
    return float(timeout)


def destroy_process_group(group=None):
    """Leave the job (after a barrier, so no rank frees its communicator while a peer still
    uses it) and restore ``sys.excepthook``."""
    _check_group(group, "destroy_process_group")
    be = _require("destroy_process_group")
    try:
        be.barrier("barrier in destroy_process_group")
        be.close()
    finally:
        if _Group.hook is not None:
            _Group.hook.uninstall()
        _Group.backend = _Group.hook = None


def is_available():
    """True: the local backend always exists (``mpi`` needs mpi4py, ``nccl`` CuPy)."""
    return True


def is_initialized():
    return _Group.backend is not None


def _require(op):
    if _Group.backend is None:
        raise RuntimeError(f"{op}: default process group has not been initialized, please "
                           "make sure to call tinygrad_cnn.distributed.init_process_group() "
                           "(under a launcher for more than one rank)")
    return _Group.backend


def _check_group(group, op):
    if group is not None and group != "WORLD":
        raise ValueError(f"{op}: only the default group (group=None) is supported, got "
                         f"{group!r}")


def get_backend(group=None):
    _check_group(group, "get_backend")
    return _require("get_backend").name


def get_rank(group=None):
    """This process's rank, 0 ... world_size - 1."""
    _check_group(group, "get_rank")
    return _require("get_rank").rank


def get_world_size(group=None):
    _check_group(group, "get_world_size")
    return _require("get_world_size").world_size


def get_local_rank():
    """The rank among the processes on this machine (which GPU this rank uses)."""
    return _require("get_local_rank").local_rank


def _describe(op, tensor):
    _Group.seq += 1
    return f"{op} #{_Group.seq} (shape {tuple(tensor.shape)}, {tensor.dtype})"


def _contiguous(tensor, op):
    """A contiguous array of ``tensor`` to work on, and ``done()`` that writes it back (if it
    was a copy) and bumps the version: autograd must see the in-place change."""
    from ..tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    x = tensor.array
    flat = x if x.flags.c_contiguous else tensor.xp.ascontiguousarray(x)

    def done():
        if flat is not x:
            x[...] = flat
        tensor._bump_version()
    return flat, done


class _TensorWork:
    """What ``async_op=True`` returns: ``wait()`` finishes the collective (watchdog)."""

    def __init__(self, work, done):
        self._work, self._done, self._finished = work, done, False

    def is_completed(self):
        return self._work is None or self._work.test()

    def wait(self, timeout=None):
        if timeout is not None:
            raise ValueError("Work.wait: a per-call timeout is not supported; the process "
                             "group's timeout applies")
        if not self._finished:
            if self._work is not None:
                self._work.wait()
            self._done()
            self._finished = True
        return True


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks, in place (every rank gets the result). With
    ``async_op=True`` it returns a work whose ``wait()`` completes it."""
    _check_group(group, "all_reduce")
    be = _require("all_reduce")
    avg = op == ReduceOp.AVG
    if avg and tensor.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got {tensor.dtype}")
    flat, write_back = _contiguous(tensor, "all_reduce")
    work = be.all_reduce_async(flat, "sum" if avg else op, _describe("all_reduce", tensor))

    def done():
        if avg:
            flat[...] /= be.world_size
        write_back()
    tw = _TensorWork(work, done)
    return tw if async_op else tw.wait() and None


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place (blocking; with
    ``async_op=True`` the returned work is already complete)."""
    _check_group(group, "broadcast")
    be = _require("broadcast")
    if isinstance(src, bool) or not isinstance(src, numbers.Integral):
        raise TypeError(f"broadcast: src must be an int rank, got {src!r}")
    flat, done = _contiguous(tensor, "broadcast")
    be.broadcast(flat, int(src), _describe("broadcast", tensor))
    tw = _TensorWork(None, done)
    return tw if async_op else tw.wait() and None


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank reached this call (under the watchdog)."""
    _check_group(group, "barrier")
    if device_ids is not None:
        raise ValueError(f"barrier: device_ids={device_ids!r}: each rank uses one device "
                         "(local_rank % device count), there is none to choose")
    if async_op:
        raise ValueError("barrier: async_op=True is not supported")
    _Group.seq += 1
    _require("barrier").barrier(f"barrier #{_Group.seq}")


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace ``object_list``'s items by rank ``src``'s (JSON values: numbers, strings,
    lists, dicts, None; never pickled, as nothing received may run code)."""
    _check_group(group, "broadcast_object_list")
    del device  # objects travel as JSON bytes through the host: no device to stage them on
    be = _require("broadcast_object_list")
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: expected a list, got "
                        f"{type(object_list).__name__}")
    _Group.seq += 1
    got = be.broadcast_object(list(object_list) if be.rank == src else None, src,
                              f"broadcast_object_list #{_Group.seq}")
    if len(got) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(got)} objects, this "
                         f"rank's list has {len(object_list)}")
    object_list[:] = got


def default_backend():
    """The Backend object of the default group (for DistributedDataParallel)."""
    return _require("DistributedDataParallel")
