"""torch.utils.data's surface: default_collate's batch structure, samplers, Subset,
ConcatDataset, random_split and every DataLoader keyword (working or refused by name)."""
import collections

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import data
from helpers import requires_torch, torch

TD = torch.utils.data if torch is not None else None


def _same_structure(ours, ref):
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, tg.Tensor)
        assert ours.dtype == np.dtype(str(ref.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    elif isinstance(ref, dict):
        assert type(ours) is dict and list(ours) == list(ref)
        for k in ref:
            _same_structure(ours[k], ref[k])
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            _same_structure(a, b)
    else:
        assert ours == ref


Point = collections.namedtuple("Point", "x y")


@requires_torch
@pytest.mark.parametrize("make", [
    lambda T, i: (T(np.full((2, 3), i, np.float32)), i),
    lambda T, i: {"img": np.full(2, i, np.float64), "label": i, "name": f"s{i}",
                  "w": 0.5 * i, "flag": i % 2 == 0},
    lambda T, i: [i, (np.int32(i), 2.5)],
    lambda T, i: Point(T(np.array([i, i + 1])), np.float32(i)),
], ids=["tensor-tuple", "dict", "nested-list", "namedtuple"])
def test_default_collate_matches_torch(make):
    ours = data.default_collate([make(tg.tensor, i) for i in range(4)])
    ref = TD.default_collate([make(torch.from_numpy, i) for i in range(4)])
    _same_structure(ours, ref)
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([[1, 2], [3]])


@requires_torch
def test_samplers_match_torch_where_deterministic():
    ds = list(range(10))
    for drop in (False, True):
        ours = list(data.BatchSampler(data.SequentialSampler(ds), 3, drop))
        ref = list(TD.BatchSampler(TD.SequentialSampler(ds), 3, drop))
        assert ours == ref and len(data.BatchSampler(range(10), 3, drop)) == len(ref)
    perm = list(data.RandomSampler(ds, generator=0))
    assert sorted(perm) == ds and perm == list(data.RandomSampler(ds, generator=0))
    long = list(data.RandomSampler(ds, num_samples=25, generator=1))
    assert len(long) == 25 and sorted(long[:20]) == sorted(ds * 2)
    rep = list(data.RandomSampler(ds, replacement=True, num_samples=50, generator=2))
    assert len(rep) == 50 and set(rep) <= set(ds)
    sub = list(data.SubsetRandomSampler([3, 5, 9], generator=3))
    assert sorted(sub) == [3, 5, 9]
    w = list(data.WeightedRandomSampler([0, 1, 0, 3], 100, generator=4))
    assert set(w) == {1, 3} and w.count(3) > w.count(1)
    with pytest.raises(RuntimeError, match="without replacement"):
        data.WeightedRandomSampler([0, 1, 1], 3, replacement=False)
    with pytest.raises(ValueError, match="batch_size"):
        data.BatchSampler(ds, 0, False)
    with pytest.raises(ValueError, match="num_samples"):
        data.RandomSampler(ds, num_samples=0)


@requires_torch
def test_subset_concat_and_random_split_match_torch():
    a = data.TensorDataset(tg.arange(5))
    b = data.TensorDataset(tg.arange(10, 13))
    cat = a + b
    assert isinstance(cat, data.ConcatDataset) and len(cat) == 8
    assert [int(cat[i][0]) for i in range(8)] == [0, 1, 2, 3, 4, 10, 11, 12]
    assert int(cat[-1][0]) == 12
    with pytest.raises(IndexError):
        cat[8]
    sub = data.Subset(cat, [7, 0, 5])
    assert [int(sub[i][0]) for i in range(3)] == [12, 0, 10]
    for lengths in ([3, 5], [0.5, 0.3, 0.2], [0.33, 0.33, 0.34], [0.1, 0.9]):
        ours = data.random_split(cat, lengths, generator=0)
        ref = TD.random_split(list(range(8)), lengths)
        assert [len(s) for s in ours] == [len(s) for s in ref]
        assert sorted(i for s in ours for i in s.indices) == list(range(8))
    with pytest.raises(ValueError, match="sum of input lengths"):
        data.random_split(cat, [3, 3])


class _Squares(data.Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": tg.tensor([float(i)]), "y": i * i}


class _Stream(data.IterableDataset):
    def __iter__(self):
        return iter(range(5))


@requires_torch
def test_loader_keeps_pin_memory_device_and_in_order_as_torch():
    ds = data.TensorDataset(tg.arange(6).float())
    ref_ds = torch.utils.data.TensorDataset(torch.arange(6).float())
    for kw in (dict(), dict(pin_memory=True, pin_memory_device="cuda", in_order=False)):
        ours, ref = data.DataLoader(ds, **kw), torch.utils.data.DataLoader(ref_ds, **kw)
        for name in ("pin_memory", "pin_memory_device", "in_order"):
            assert getattr(ours, name) == getattr(ref, name), (kw, name)
        assert [b[0].tolist() for b in ours] == [b[0].tolist() for b in ref]


def test_loader_keywords_work_or_are_refused_by_name():
    ds = data.TensorDataset(tg.arange(10).float(), tg.arange(10))
    base = [b[1].tolist() for b in data.DataLoader(ds, batch_size=4)]
    calls = []
    multi = data.DataLoader(ds, batch_size=4, num_workers=3, worker_init_fn=calls.append,
                            pin_memory=True, timeout=5, prefetch_factor=2,
                            persistent_workers=True)
    for _ in range(2):
        assert [b[1].tolist() for b in multi] == base  # same batches as in-process loading
    assert calls == [0]  # persistent workers start once
    assert isinstance(next(iter(data.DataLoader(ds, batch_size=4))), list)  # as torch
    sampler = data.SubsetRandomSampler([1, 3, 5], generator=0)
    got = [b[1].tolist() for b in data.DataLoader(ds, batch_size=2, sampler=sampler)]
    assert sorted(sum(got, [])) == [1, 3, 5]
    bs = data.BatchSampler(data.SequentialSampler(ds), 6, drop_last=True)
    assert [b[1].tolist() for b in data.DataLoader(ds, batch_sampler=bs)] == [list(range(6))]
    unbatched = list(data.DataLoader(ds, batch_size=None))
    assert len(unbatched) == 10 and unbatched[3][1].item() == 3 and unbatched[3][1].shape == ()
    dl = data.DataLoader(_Squares(), batch_size=3, drop_last=True,
                         collate_fn=lambda s: [d["y"] for d in s])
    assert list(dl) == [[0, 1, 4], [9, 16, 25]] and len(dl) == 2
    dicts = list(data.DataLoader(_Squares(), batch_size=4))
    assert dicts[0]["x"].shape == (4, 1) and dicts[1]["y"].tolist() == [16, 25, 36]
    stream = list(data.DataLoader(_Stream(), batch_size=2))
    assert [b.tolist() for b in stream] == [[0, 1], [2, 3], [4]]
    g1 = [b[1].tolist() for b in data.DataLoader(ds, batch_size=5, shuffle=True, generator=7)]
    assert sorted(sum(g1, [])) == list(range(10))
    refused = [
        (dict(sampler=sampler, shuffle=True), "mutually exclusive with shuffle"),
        (dict(batch_sampler=bs, batch_size=2), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "disables auto-batching"),
        (dict(timeout=3), "timeout"), (dict(worker_init_fn=print), "worker_init_fn"),
        (dict(persistent_workers=True), "persistent_workers"),
        (dict(prefetch_factor=2), "prefetch_factor"), (dict(num_workers=-1), "num_workers"),
        (dict(batch_size=0), "batch_size"), (dict(generator=1, seed=2), "generator or seed"),
    ]
    for kw, msg in refused:
        with pytest.raises(ValueError, match=msg):
            data.DataLoader(ds, **kw)
    with pytest.raises(ValueError, match="IterableDataset"):
        data.DataLoader(_Stream(), shuffle=True)
