"""``nn.parallel``: DataParallel on one device (it calls the module), and the name of
DistributedDataParallel, which lives in ``tinygrad_cnn.distributed`` once that exists."""
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
                "GPUs in one process is not supported; use one device (or, once available, "
                "tinygrad_cnn.distributed with one process per GPU)")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else None
        self.output_device, self.dim = output_device, dim

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


class DistributedDataParallel(Module):
    """Placeholder: data-parallel training over processes needs ``tinygrad_cnn.distributed``
    (process groups, all-reduce), which is not available yet."""

    def __new__(cls, *args, **kwargs):
        try:
            from .. import distributed
            impl = getattr(distributed, "DistributedDataParallel", None)
        except ImportError:
            impl = None
        if impl is None or impl is cls:
            raise NotImplementedError(
                "nn.parallel.DistributedDataParallel needs tinygrad_cnn.distributed, which is "
                "not available yet; on one process, use the module itself (or DataParallel)")
        return impl(*args, **kwargs)


__all__ = ["DataParallel", "DistributedDataParallel"]
