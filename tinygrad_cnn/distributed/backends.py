"""The narrow interface every communication backend implements, and its three backends.

A backend moves backend arrays (NumPy or CuPy) between the ranks of one job:

- ``all_reduce_async(x, op) -> Work``: in place on ``x``; ``Work.test()`` drives progress and
  says whether it finished, ``Work.wait(what)`` blocks under the watchdog;
- ``all_reduce(x, op)``, ``broadcast(x, src)``, ``barrier()``: blocking, under the watchdog;
- ``broadcast_object(obj, src)``: a JSON-able Python value from ``src`` to every rank (JSON,
  never pickle: nothing a peer sends is executed);
- ``abort(code)``: end the whole job now (the watchdog and the excepthook call it).

``mpi`` (mpi4py): NumPy arrays directly, CuPy arrays staged through host copies (the MPICH
wheel is not CUDA-aware). ``nccl`` (CuPy's NCCL bindings): CuPy arrays on this rank's GPU,
ranks met through MPI. ``local``: a world of one, every collective is the identity. mpi4py
and CuPy are imported inside the backends that need them.
"""
from __future__ import annotations

import json
import os
import time

import numpy as _np

from .watchdog import wait_for

REDUCE_OPS = ("sum", "product", "min", "max")


class Work:
    """A collective in flight. ``test()`` is non-blocking; ``wait()`` blocks (watchdog)."""

    def __init__(self, backend, test, finish=None, what="collective"):
        self._backend, self._test, self._finish = backend, test, finish
        self.what, self._done = what, False

    def test(self):
        if not self._done and self._test():
            self._done = True
            if self._finish is not None:
                self._finish()
        return self._done

    def is_completed(self):  # PyTorch's Work.is_completed
        return self.test()

    def wait(self, what=None):
        if not self._done:
            wait_for(self.test, self._backend, what or self.what)
        return True


class Backend:
    """Common part: rank, sizes, the timeout, the blocking forms built on the async ones."""

    name = "?"

    def __init__(self, rank, world_size, local_rank, timeout):
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.timeout = timeout

    def all_reduce(self, x, op="sum", what="all_reduce"):
        self.all_reduce_async(x, op, what).wait()

    def close(self):
        pass


class LocalBackend(Backend):
    """World size 1 without MPI: every collective leaves the data as it is."""

    name = "local"

    def __init__(self, timeout):
        super().__init__(0, 1, 0, timeout)

    def all_reduce_async(self, x, op="sum", what="all_reduce"):
        _check_op(op, x, what)
        return Work(self, lambda: True, what=what)

    def broadcast(self, x, src=0, what="broadcast"):  # noqa: ARG002 (x is already rank 0's)
        _check_src(src, self.world_size, what)

    def barrier(self, what="barrier"):
        pass

    def broadcast_object(self, obj, src=0, what="broadcast_object"):
        _check_src(src, self.world_size, what)
        return json.loads(json.dumps(obj))  # the same JSON round trip as a real world

    def abort(self, code=1):
        os._exit(code)


class MPIBackend(Backend):
    """MPI through mpi4py; non-blocking collectives polled by the watchdog."""

    name = "mpi"

    def __init__(self, timeout):
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError("init_process_group(backend='mpi') needs mpi4py and an MPI "
                               'library: pip install "tinygrad_cnn[distributed]" (mpi4py, '
                               f"mpich); import failed: {e}") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()  # our own communicator: user MPI traffic can't mix
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        local_rank = local.Get_rank()
        local.Free()
        super().__init__(self.comm.Get_rank(), self.comm.Get_size(), local_rank, timeout)
        self._ops = {"sum": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}

    def all_reduce_async(self, x, op="sum", what="all_reduce"):
        _check_op(op, x, what)
        host, finish = _host_view(x, what)
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self._ops[op])
        return Work(self, req.Test, finish, what)

    def broadcast(self, x, src=0, what="broadcast"):
        _check_src(src, self.world_size, what)
        host, finish = _host_view(x, what)
        Work(self, self.comm.Ibcast(host, root=src).Test, finish, what).wait()

    def barrier(self, what="barrier"):
        Work(self, self.comm.Ibarrier().Test, what=what).wait()

    def broadcast_object(self, obj, src=0, what="broadcast_object"):
        _check_src(src, self.world_size, what)
        data = _np.frombuffer(json.dumps(obj).encode(), dtype=_np.uint8) \
            if self.rank == src else None
        n = _np.array([0 if data is None else data.size], dtype=_np.int64)
        self.broadcast(n, src, what)
        buf = data.copy() if data is not None else _np.empty(int(n[0]), dtype=_np.uint8)
        self.broadcast(buf, src, what)
        return json.loads(buf.tobytes().decode())

    def abort(self, code=1):
        self.comm.Abort(code)

    def close(self):
        self.comm.Free()


class NCCLBackend(Backend):
    """NCCL through CuPy, on the current CuPy stream (so it runs after the kernels that made
    the gradients, with no host sync). The ranks meet over MPI when there is more than one:
    rank 0 makes the NCCL id and broadcasts it."""

    name = "nccl"

    def __init__(self, timeout):
        try:
            import cupy
            from cupy.cuda import nccl
        except ImportError as e:
            raise RuntimeError("init_process_group(backend='nccl') needs CuPy with NCCL: pip "
                               f'install "tinygrad_cnn[cuda12]"; import failed: {e}') from None
        if not nccl.available:
            raise RuntimeError("init_process_group(backend='nccl'): this CuPy build has no "
                               "NCCL; pip install nvidia-nccl-cu12 or use backend='mpi'")
        self.cupy, self.nccl = cupy, nccl
        self.mpi = MPIBackend(timeout) if _launched_by_mpi() else None
        rank, size, local = (0, 1, 0) if self.mpi is None else \
            (self.mpi.rank, self.mpi.world_size, self.mpi.local_rank)
        super().__init__(rank, size, local, timeout)
        cupy.cuda.Device(local % cupy.cuda.runtime.getDeviceCount()).use()
        uid = list(nccl.get_unique_id()) if rank == 0 else None
        if self.mpi is not None:
            uid = self.mpi.broadcast_object(uid, 0, "nccl unique id")
        self.comm = nccl.NcclCommunicator(size, tuple(uid), rank)
        self._ops = {"sum": nccl.NCCL_SUM, "product": nccl.NCCL_PROD, "min": nccl.NCCL_MIN,
                     "max": nccl.NCCL_MAX}

    def _nccl_dtype(self, x, what):
        names = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32",
                 "float64": "NCCL_FLOAT64", "int32": "NCCL_INT32", "int64": "NCCL_INT64",
                 "uint8": "NCCL_UINT8", "int8": "NCCL_INT8"}
        if not isinstance(x, self.cupy.ndarray):
            raise TypeError(f"{what}: the nccl backend reduces CuPy (GPU) arrays, got "
                            f"{type(x).__name__}; use backend='mpi' for CPU tensors")
        if str(x.dtype) not in names or not x.flags.c_contiguous:
            raise TypeError(f"{what}: nccl needs a contiguous array of "
                            f"{sorted(names)}, got {x.dtype}")
        return getattr(self.nccl, names[str(x.dtype)])

    def _event_work(self, what):
        stream = self.cupy.cuda.get_current_stream()
        ev = stream.record()
        return Work(self, lambda: ev.done, what=what)

    def all_reduce_async(self, x, op="sum", what="all_reduce"):
        _check_op(op, x, what)
        host = x if isinstance(x, _np.ndarray) else None
        if host is not None:  # small host arrays (DDP's flags) go through the GPU
            x = self.cupy.asarray(host)
        dt = self._nccl_dtype(x, what)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.comm.allReduce(x.data.ptr, x.data.ptr, x.size, dt, self._ops[op], stream)
        work = self._event_work(what)
        if host is not None:
            work._finish = lambda: host.__setitem__(Ellipsis, x.get())
        return work

    def broadcast(self, x, src=0, what="broadcast"):
        _check_src(src, self.world_size, what)
        dt = self._nccl_dtype(x, what)
        self.comm.bcast(x.data.ptr, x.size, dt, src, self.cupy.cuda.get_current_stream().ptr)
        self._event_work(what).wait()

    def barrier(self, what="barrier"):
        self.all_reduce(self.cupy.zeros(1, self.cupy.float32), "sum", what)

    def broadcast_object(self, obj, src=0, what="broadcast_object"):
        if self.mpi is None:
            _check_src(src, 1, what)
            return json.loads(json.dumps(obj))
        return self.mpi.broadcast_object(obj, src, what)

    def abort(self, code=1):
        try:
            self.comm.abort()  # frees peers blocked inside NCCL kernels
        finally:
            if self.mpi is not None:
                self.mpi.abort(code)
            os._exit(code)

    def close(self):
        self.comm.destroy()
        if self.mpi is not None:
            self.mpi.close()


def _check_op(op, x, what):
    if op not in REDUCE_OPS:
        raise ValueError(f"{what}: op must be one of {REDUCE_OPS} (or a ReduceOp), got {op!r}")
    if x.dtype == _np.bool_:
        raise TypeError(f"{what}: cannot reduce a bool array (shape {x.shape}); convert it "
                        "to an integer dtype first")


def _check_src(src, world_size, what):
    if not 0 <= src < world_size:
        raise ValueError(f"{what}: src={src} is not a rank of this world of size {world_size}")


def _host_view(x, what):
    """A contiguous host array MPI can work on in place, and the copy back (if any)."""
    if isinstance(x, _np.ndarray):
        if not x.flags.c_contiguous or not x.flags.writeable:
            raise ValueError(f"{what}: needs a contiguous, writeable array (shape {x.shape}, "
                             f"strides {x.strides})")
        return x, None
    if not hasattr(x, "get"):
        raise TypeError(f"{what}: expected a NumPy or CuPy array, got {type(x).__name__}")
    host = x.get()  # staged through the host: the MPI library here is not CUDA-aware
    return host, lambda: x.set(host)


def _launched_by_mpi():
    """True under mpiexec/mpirun (MPICH's PMI or Open MPI's variables)."""
    return any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE",
                                          "PMIX_RANK", "MPI_LOCALNRANKS"))


def make_backend(name, timeout):
    """Instantiate backend ``name`` (None: ``mpi`` under an MPI launcher, else ``local``)."""
    if name is None:
        name = "mpi" if _launched_by_mpi() else "local"
    makers = {"mpi": MPIBackend, "nccl": NCCLBackend, "local": LocalBackend}
    if name not in makers:
        raise ValueError(f"init_process_group: backend must be one of {sorted(makers)} or "
                         f"None, got {name!r} (gloo's role is played by mpi here)")
    t0 = time.monotonic()
    backend = makers[name](timeout)
    backend.init_s = time.monotonic() - t0
    return backend
