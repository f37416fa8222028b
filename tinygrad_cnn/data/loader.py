"""The DataLoader and ``default_collate``, with PyTorch's arguments and batch structure.

Batches come out as PyTorch's ``default_collate`` builds them: samples that are tuples or
lists give a *list* of batched fields, dicts a dict, numbers a 1-D tensor (float64 for Python
floats, int64 for ints), tensors and NumPy arrays a stacked tensor. A TensorDataset read with
the default collate and no custom sampler is batched by one fancy-index per tensor (no
per-sample Python work).
"""
from __future__ import annotations

import numbers
from collections import abc

import numpy as _np

from ..tensor import Tensor
from .dataset import Dataset, IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate", "default_convert",
           "get_worker_info"]


def default_convert(data):
    """NumPy arrays and numbers inside ``data`` become tensors; structure is kept."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, _np.ndarray) and data.dtype.kind not in "USO":
        return Tensor(data)
    if isinstance(data, _np.generic):
        return Tensor(_np.asarray(data))
    if isinstance(data, abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()}) \
            if type(data) is not dict else {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(d) for d in data]
    return data


def _stack(tensors):
    if any(t.requires_grad for t in tensors):
        from ..ops.shape import stack
        return stack(tensors)
    shape = tensors[0].shape
    for t in tensors:
        if t.shape != shape:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, "
                               f"but got {shape} and {t.shape}")
    return Tensor._make(tensors[0].xp.stack([t.array for t in tensors]))


def default_collate(batch):
    """Merge a list of samples into a batch, recursively (PyTorch's rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, _np.ndarray):
        if elem.dtype.kind in "USO":
            raise TypeError(f"default_collate: batch must contain tensors, numbers, dicts or "
                            f"lists; found a NumPy array of {elem.dtype}")
        return Tensor(_np.stack(batch))
    if isinstance(elem, _np.generic):
        return Tensor(_np.asarray(batch))
    if isinstance(elem, bool):
        return Tensor(_np.asarray(batch, dtype=bool))
    if isinstance(elem, numbers.Integral):
        return Tensor(_np.asarray(batch, dtype=_np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor(_np.asarray(batch, dtype=_np.float64))  # PyTorch: float64 for floats
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, abc.Mapping):
        return {k: default_collate([d[k] for d in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        n = len(elem)
        if any(len(s) != n for s in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, NumPy arrays, numbers, "
                    f"dicts or lists; found {type(elem).__name__}")


def get_worker_info():
    """None: samples are always loaded in the main process (see DataLoader)."""


def _check_kwargs(num_workers, timeout, worker_init_fn, persistent_workers, prefetch_factor,
                  multiprocessing_context):
    if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative, got "
                         f"{num_workers!r}")
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
    if num_workers == 0:
        for name, val, default in (("timeout", timeout, 0),
                                   ("persistent_workers", persistent_workers, False),
                                   ("prefetch_factor", prefetch_factor, None),
                                   ("multiprocessing_context", multiprocessing_context, None),
                                   ("worker_init_fn", worker_init_fn, None)):
            if val != default and val is not default:
                raise ValueError(f"DataLoader: {name}={val!r} only applies to multi-process "
                                 "loading (num_workers > 0)")
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError(f"DataLoader: prefetch_factor option should be non-negative, got "
                         f"{prefetch_factor}")


class DataLoader:
    """Iterate over ``dataset`` in batches, as torch.utils.data.DataLoader.

    Order: ``sampler`` / ``batch_sampler`` if given, else sequential, or a new permutation
    every epoch with ``shuffle=True`` (from ``generator``: an int seed or NumPy Generator;
    or ``seed``; else the global generator ``tg.manual_seed`` seeds). ``batch_size=None``
    turns batching off (each sample converted to tensors). ``collate_fn`` merges a list of
    samples (default: ``default_collate``). ``device`` (ours) moves each batch there.

    ``num_workers > 0`` loads in this process, in order, with the same batches as
    ``num_workers=0`` (this engine has no worker processes): ``worker_init_fn(0)`` is called
    at the start of each epoch (once with ``persistent_workers``); ``timeout``,
    ``prefetch_factor`` and ``multiprocessing_context`` then have nothing to act on.
    ``pin_memory`` and ``pin_memory_device`` are hints (host arrays are copied to the GPU
    either way), kept as attributes as torch's; ``in_order=False`` permits batches out of
    order, and loading in this process always yields them in order.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None, device=None):
        _check_kwargs(num_workers, timeout, worker_init_fn, persistent_workers,
                      prefetch_factor, multiprocessing_context)
        if batch_size is not None and (isinstance(batch_size, bool) or
                                       not isinstance(batch_size, numbers.Integral) or
                                       batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, got "
                             f"{batch_size!r}")
        if isinstance(dataset, IterableDataset):
            for name, val in (("shuffle", shuffle), ("sampler", sampler),
                              ("batch_sampler", batch_sampler)):
                if val:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={val!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass either generator or seed, not both")
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self.worker_init_fn, self.persistent_workers = worker_init_fn, persistent_workers
        self.prefetch_factor, self.device = prefetch_factor, device
        self.generator = _np.random.default_rng(seed) if seed is not None else generator
        # a TensorDataset batched by our own BatchSampler (over any sampler: DistributedSampler
        # included) is one fancy index per tensor, the same batch default_collate would stack
        self._fast = collate_fn is None and batch_sampler is None and \
            isinstance(dataset, TensorDataset) and batch_size is not None
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_size is not None or batch_sampler is not None
            else default_convert)
        self._iterable = isinstance(dataset, IterableDataset)
        if not self._iterable:
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=self.generator) if shuffle
                           else SequentialSampler(dataset))
            elif not isinstance(sampler, (Sampler, abc.Iterable)):
                raise TypeError(f"DataLoader: sampler must be an iterable of indices, got "
                                f"{type(sampler).__name__}")
            if batch_sampler is None and batch_size is not None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._workers_started = False

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self):
        if self.num_workers > 0 and self.worker_init_fn is not None and \
                not (self.persistent_workers and self._workers_started):
            self.worker_init_fn(0)
        self._workers_started = True
        for batch in self._batches():
            yield self._to_device(batch)

    def _batches(self):
        if self._iterable:
            yield from self._iterable_batches()
        elif self.batch_sampler is None:
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])
        elif self._fast:
            for idx in self.batch_sampler:
                yield [Tensor._make(t.array[t.xp.asarray(_np.asarray(idx, dtype=_np.int64))])
                       for t in self.dataset.tensors]
        else:
            for idx in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in idx])

    def _iterable_batches(self):
        if self.batch_size is None:
            for s in self.dataset:
                yield self.collate_fn(s)
            return
        batch = []
        for s in self.dataset:
            batch.append(s)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def _to_device(self, batch):
        if self.device is None:
            return batch
        if isinstance(batch, Tensor):
            return batch.to(self.device)
        if isinstance(batch, dict):
            return {k: self._to_device(v) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            out = [self._to_device(v) for v in batch]
            return type(batch)(*out) if hasattr(batch, "_fields") else type(batch)(out)
        return batch
