"""Dataset, TensorDataset and DataLoader (batches collated into Tensors)."""
from __future__ import annotations

import math

import numpy as _np

from ..tensor import Tensor


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(i)`` returning a sample (a tuple)."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows of equally long tensors: ``dataset[i] = (t0[i], t1[i], ...)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        n = tensors[0].shape[0]
        for i, t in enumerate(tensors):
            if t.shape[0] != n:
                raise ValueError(f"TensorDataset: tensor {i} has {t.shape[0]} rows, tensor 0 "
                                 f"has {n}")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle`` draws a new order every epoch from its own generator, seeded by ``seed``
    (or from the global one that ``tg.manual_seed`` seeds). A TensorDataset is batched by
    one fancy-index per tensor, with no per-sample Python work; other datasets are collated
    sample by sample. ``device`` moves each batch there.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 device=None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last, self.device = shuffle, drop_last, device
        self._rng = _np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return _np.arange(n)
        if self._rng is not None:
            return self._rng.permutation(n)
        from ..backend import numpy_backend
        return numpy_backend.rng().permutation(n)

    def __iter__(self):
        order = self._order()
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self._batch(idx)

    def _batch(self, idx):
        if isinstance(self.dataset, TensorDataset):
            out = []
            for t in self.dataset.tensors:
                batch = Tensor._make(t.array[t.xp.asarray(idx)])
                out.append(batch if self.device is None else batch.to(self.device))
            return tuple(out)
        samples = [self.dataset[int(i)] for i in idx]
        first = samples[0]
        if not isinstance(first, tuple):
            samples = [(s,) for s in samples]
        cols = list(zip(*samples))
        out = []
        for col in cols:
            if isinstance(col[0], Tensor):
                out.append(Tensor._make(col[0].xp.stack([c.array for c in col])))
            else:
                out.append(Tensor(_np.asarray(col)))
        if self.device is not None:
            out = [t.to(self.device) for t in out]
        return tuple(out) if isinstance(first, tuple) else out[0]
