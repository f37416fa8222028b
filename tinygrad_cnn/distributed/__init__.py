"""``tinygrad_cnn.distributed``: data-parallel training over processes, PyTorch's names.

    import tinygrad_cnn.distributed as dist
    dist.init_process_group()              # mpi under a launcher, a world of one otherwise
    model = dist.DistributedDataParallel(model)

Launch with ``mpiexec -n 4 python -m mpi4py train.py`` or
``python -m tinygrad_cnn.distributed.run -n 4 train.py``. Backends: ``mpi`` (mpi4py; CPU,
and GPU arrays through host copies), ``nccl`` (CuPy; GPU) and ``local`` (one process).
See docs/distributed.md.
"""
from .group import (ReduceOp, all_reduce, barrier, broadcast, broadcast_object_list,
                    destroy_process_group, get_backend, get_local_rank, get_rank,
                    get_world_size, init_process_group, is_available, is_initialized)


def __getattr__(name):
    # DistributedDataParallel needs nn, which imports far more than the collectives do
    if name == "DistributedDataParallel":
        from .ddp import DistributedDataParallel
        return DistributedDataParallel
    raise AttributeError(f"module 'tinygrad_cnn.distributed' has no attribute {name!r}")


__all__ = ["DistributedDataParallel", "ReduceOp", "all_reduce", "barrier", "broadcast",
           "broadcast_object_list", "destroy_process_group", "get_backend", "get_local_rank",
           "get_rank", "get_world_size", "init_process_group", "is_available",
           "is_initialized"]
