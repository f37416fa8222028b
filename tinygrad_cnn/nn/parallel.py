"""``nn.parallel``: DataParallel on one device (it calls the module), and the name of
DistributedDataParallel, which lives in ``tinygrad_cnn.distributed``."""
from __future__ import annotations

from .module import Module


class DataParallel(Module):
    """Wraps ``module`` as PyTorch's DataParallel does (``.module``; state-dict keys start
    with ``module.``). This engine runs one device per process, so forward simply calls the
    module on the input where it is; more than one device id is refused."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a Module, got {type(module).__name__}")
        if device_ids is not None and len(list(device_ids)) > 1:
            raise NotImplementedError(
                f"DataParallel: device_ids={list(device_ids)}: splitting a batch over several "
                "GPUs in one process is not supported; use one device (or "
                "tinygrad_cnn.distributed with one process per GPU)")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else None
        self.output_device, self.dim = output_device, dim

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


def __getattr__(name):
    # the class lives in tinygrad_cnn.distributed (it needs nn, so nn cannot import it first)
    if name == "DistributedDataParallel":
        from ..distributed.ddp import DistributedDataParallel
        return DistributedDataParallel
    raise AttributeError(f"module 'tinygrad_cnn.nn.parallel' has no attribute {name!r}")


__all__ = ["DataParallel", "DistributedDataParallel"]  # noqa: F822 (module __getattr__)
