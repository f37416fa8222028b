"""Samplers: which dataset indices a DataLoader visits, in which order (PyTorch's classes).

``generator`` may be None (the global generator that ``tg.manual_seed`` seeds), an int seed,
or a NumPy ``Generator``. Index draws are host-side NumPy work, one call per epoch.
"""
from __future__ import annotations

import numbers

from .dataset import _rng


class Sampler:
    """Base class: ``__iter__`` yields indices (or, for batch samplers, lists of them)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation per epoch (repeated if ``num_samples`` exceeds the length), or
    ``num_samples`` draws with replacement."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a bool, got {replacement!r}")
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if not isinstance(self.num_samples, numbers.Integral) or self.num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got "
                             f"{self.num_samples!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, k = len(self.data_source), self.num_samples
        rng = _rng(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, size=k).tolist())
        order = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            order.append(rng.permutation(n)[:k % n])
        return iter([int(i) for part in order for i in part.tolist()])

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = list(indices), generator

    def __iter__(self):
        perm = _rng(self.generator).permutation(len(self.indices)).tolist()
        return iter([self.indices[i] for i in perm])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        import numpy as _np  # host-side index work
        if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or \
                num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive "
                             f"integer, got {num_samples!r}")
        w = _np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                        dtype=_np.float64)
        if w.ndim != 1 or (w < 0).any() or not _np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(f"WeightedRandomSampler: weights must be a 1-D sequence of "
                             f"non-negative finite numbers, not all zero, got shape {w.shape}")
        if not replacement and num_samples > int((w > 0).sum()):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                               f"without replacement from {int((w > 0).sum())} with weight")
        self.weights, self.num_samples = w, int(num_samples)
        self.replacement, self.generator = replacement, generator

    def __iter__(self):
        rng = _rng(self.generator)
        idx = rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                         p=self.weights / self.weights.sum())
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or \
                batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer, got "
                             f"{batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(  # noqa: TRY004 (PyTorch raises ValueError)
                f"BatchSampler: drop_last should be a bool, got {drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """Rank ``rank``'s share of ``dataset`` out of ``num_replicas`` (PyTorch's semantics).

    Every rank gets ``num_samples`` indices. Without ``drop_last`` the index list is padded
    with its own first indices up to a multiple of ``num_replicas`` (so some samples are seen
    twice per epoch); with it the tail is dropped instead. Rank ``r`` takes positions
    ``r, r + num_replicas, ...``. With ``shuffle`` the list is a permutation drawn from
    ``seed + epoch``: identical on every rank (so the shards are disjoint) and new after
    ``set_epoch(epoch)``; call it at the start of each epoch. ``num_replicas`` and ``rank``
    default to the process group's. (The permutation is NumPy's, not torch's: the same
    rules, other numbers.)
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed
            if not distributed.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the "
                                   "process group's; call "
                                   "tinygrad_cnn.distributed.init_process_group() first or "
                                   "pass them")
            num_replicas = distributed.get_world_size() if num_replicas is None \
                else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        for name, val in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(val, bool) or not isinstance(val, numbers.Integral):
                raise TypeError(f"DistributedSampler: {name} must be an int, got {val!r}")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, got "
                             f"{num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in "
                             f"the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = -(-(n - self.num_replicas) // self.num_replicas)
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self):
        import numpy as _np  # host-side index work, once per epoch
        n = len(self.dataset)
        idx = _np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle \
            else _np.arange(n)
        if not self.drop_last and self.total_size > n:
            idx = _np.resize(idx, self.total_size)  # repeats idx from its start
        else:
            idx = idx[:self.total_size]
        return iter(idx[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use permutation ``seed + epoch`` from the next ``iter()`` on."""
        self.epoch = int(epoch)
