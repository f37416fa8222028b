"""Module mechanics vs torch.nn.Module (names, order, hooks, state dicts, versions), and the
bugs fixed on the way: inplace= ignored, persistent=False buffers saved, BatchNorm without
num_batches_tracked, writes that did not bump the version."""
import copy

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from helpers import assert_close, rand, requires_torch, torch

TNN = torch.nn if torch is not None else None


def _net(lib):
    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.Conv2d(2, 3, 3, padding=1)
            self.bn = lib.BatchNorm2d(3)
            self.register_buffer("scratch", (tg if lib is nn else torch).zeros(2),
                                 persistent=False)

        def forward(self, x):
            return self.bn(self.conv(x)).relu()

    net = lib.Sequential(Block(), lib.ModuleDict({"act": lib.ReLU(), "pool": lib.MaxPool2d(2)}),
                         lib.ModuleList([lib.Flatten(), lib.Linear(12, 2)]))
    net.extra = lib.ParameterList([lib.Parameter((tg if lib is nn else torch).ones(2))])
    return net


@requires_torch
def test_names_and_orders_match_torch():
    ours, ref = _net(nn), _net(TNN)
    for fn in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, fn)()] == [n for n, _ in getattr(ref, fn)()], fn
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert "0.scratch" not in ours.state_dict() and "0.bn.num_batches_tracked" in ours.state_dict()
    seen, tseen = [], []
    ours.apply(lambda m: seen.append(type(m).__name__))
    ref.apply(lambda m: tseen.append(type(m).__name__))
    assert seen == tseen  # children before parents
    for m, r in ((nn.Conv2d(2, 4, 3, padding=1, bias=False), TNN.Conv2d(2, 4, 3, padding=1,
                                                                        bias=False)),
                 (nn.BatchNorm2d(4), TNN.BatchNorm2d(4)), (nn.MaxPool2d(2), TNN.MaxPool2d(2)),
                 (nn.Linear(3, 2), TNN.Linear(3, 2)), (nn.ReLU(inplace=True), TNN.ReLU(True)),
                 (nn.Dropout(0.2), TNN.Dropout(0.2)), (nn.GroupNorm(2, 4), TNN.GroupNorm(2, 4)),
                 (nn.LayerNorm(3), TNN.LayerNorm(3)), (nn.Hardtanh(), TNN.Hardtanh())):
        assert repr(m) == repr(r)
    assert repr(nn.Sequential(nn.Linear(3, 2), nn.ReLU())) == \
        repr(TNN.Sequential(TNN.Linear(3, 2), TNN.ReLU()))


@requires_torch
def test_torch_batchnorm_state_dict_loads_strictly_and_momentum_none_matches():
    ref = TNN.BatchNorm2d(3, momentum=None).double()
    ours = nn.BatchNorm2d(3, momentum=None).double()
    for seed in range(4):  # cumulative moving average over 4 batches
        x = rand(4, 3, 2, 2, seed=seed)
        ours(tg.tensor(x))
        ref(torch.from_numpy(x))
    for k, v in ref.state_dict().items():
        assert_close(ours.state_dict()[k].numpy(), v.numpy(), what=k)
    assert ours.num_batches_tracked.item() == 4 and ours.num_batches_tracked.dtype == np.int64
    fresh = nn.BatchNorm2d(3).double()
    fresh.load_state_dict({k: tg.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    assert fresh.num_batches_tracked.item() == 4


def test_buffer_writes_are_seen_by_views_and_bump_versions():
    bn = nn.BatchNorm1d(3)
    view = bn.running_mean.data
    v0 = bn.running_mean._version
    bn(tg.tensor(rand(5, 3, dtype=np.float32)))
    assert bn.running_mean._version > v0
    assert np.array_equal(view.numpy(), bn.running_mean.numpy()) and view.numpy().any()


def _graph_then(write):
    w = nn.Parameter(tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    y = (w * w).sum()
    write(w)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


@pytest.mark.parametrize("write", [
    lambda w: nn.init.zeros_(w), lambda w: nn.init.normal_(w.data),
    lambda w: nn.init.kaiming_uniform_(w), lambda w: nn.init.orthogonal_(w.data),
    lambda w: nn.init.eye_(w), lambda w: nn.init.trunc_normal_(w),
], ids=["zeros_", "normal_ on .data", "kaiming_uniform_", "orthogonal_ on .data", "eye_",
        "trunc_normal_"])
def test_init_bumps_the_version_so_a_stale_graph_refuses_backward(write):
    _graph_then(write)


def test_load_state_dict_and_to_bump_the_version():
    lin = nn.Linear(2, 2)
    y = (lin.weight * lin.weight).sum()
    lin.load_state_dict({"weight": tg.zeros(2, 2), "bias": tg.zeros(2)})
    assert lin.weight.numpy().sum() == 0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
    lin2 = nn.Linear(2, 2)
    y2 = (lin2.weight * lin2.weight).sum()
    lin2.double()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y2.backward()


def test_load_state_dict_errors_and_incompatible_keys():
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for bias.*\(3,\).*\(2,\)"):
        lin.load_state_dict({"weight": tg.zeros(2, 3), "bias": tg.zeros(3)})
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        lin.load_state_dict({"weight": tg.zeros(2, 3), "bias": tg.zeros(2), "extra": tg.ones(1)})
    res = lin.load_state_dict({"weight": tg.zeros(2, 3), "extra": tg.ones(1)}, strict=False)
    assert res == (["bias"], ["extra"]) and res.missing_keys == ["bias"]
    assert repr(lin.load_state_dict(lin.state_dict())) == "<All keys matched successfully>"
    with pytest.raises(NotImplementedError, match="assign"):
        lin.load_state_dict(lin.state_dict(), assign=True)


@requires_torch
def test_forward_hooks_match_torch():
    for lib, T in ((nn, tg), (TNN, torch)):
        lin = lib.Linear(2, 2)
        calls = []
        h1 = lin.register_forward_pre_hook(lambda m, a: (a[0] * 2,))
        h2 = lin.register_forward_hook(lambda m, a, out: out + 100)
        h3 = lin.register_forward_hook(lambda m, a, out, c=calls: c.append("first"), prepend=True)
        h4 = lin.register_forward_pre_hook(lambda m, a, kw: ((a[0] + 1,), kw), with_kwargs=True)
        x = T.ones(1, 2)
        y1 = lin(x)
        for h in (h1, h2, h3, h4):
            h.remove()
        y0 = lin(x)
        expected = lin((x * 2 + 1)) + 100
        assert np.allclose(y1.detach().numpy(), expected.detach().numpy()) and calls == ["first"]
        assert np.allclose(y0.detach().numpy(), lin(x).detach().numpy())


def test_module_mode_grad_and_helpers():
    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)

        def train(self, mode=True):  # a child's own train() is honoured (torch recurses)
            super().train(mode)
            self.bn.eval()
            return self

        def forward(self, x):
            return self.bn(x)

    net = nn.Sequential(nn.Linear(2, 2), Frozen())
    net.train()
    assert net.training and net[0].training and not net[1].bn.training
    with pytest.raises(ValueError, match="bool"):
        net.train("yes")
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    net(tg.ones(3, 2)).sum().backward()
    g = net[0].weight.grad
    net.zero_grad(set_to_none=False)
    assert net[0].weight.grad is g and not g.numpy().any()  # zeroed in place, as torch
    net.zero_grad()
    assert net[0].weight.grad is None
    assert nn.functional is tg.functional and nn.functional.relu is tg.functional.relu
    assert net.get_submodule("1.bn") is net[1].bn
    clone = copy.deepcopy(net)
    assert clone[0].weight is not net[0].weight
    assert np.array_equal(clone[0].weight.numpy(), net[0].weight.numpy())
    with pytest.raises(KeyError, match="can't contain"):
        net.register_buffer("a.b", tg.ones(1))
    with pytest.raises(TypeError, match="Parameter or None"):
        net.register_parameter("p", tg.ones(1))


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0:2], nn.Sequential) and len(seq[0:2]) == 2
    assert seq[-1].out_features == 1
    del seq[1]
    assert len(seq) == 2 and list(dict(seq.named_children())) == ["0", "2"]
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Linear(1, 2)
    assert list(md.keys()) == ["a", "b"] and "b" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    pl = nn.ParameterList([tg.ones(2), nn.Parameter(tg.zeros(1))])
    assert isinstance(pl[0], nn.Parameter) and [n for n, _ in pl.named_parameters()] == ["0", "1"]
    with pytest.raises(IndexError):
        pl[5]


@requires_torch
def test_data_parallel_wraps_like_torch_and_ddp_needs_a_process_group():
    lin = nn.Linear(3, 2)
    dp = nn.parallel.DataParallel(lin)
    assert dp.module is lin
    assert list(dp.state_dict()) == list(TNN.DataParallel(TNN.Linear(3, 2)).state_dict())
    x = tg.ones(4, 3)
    assert np.array_equal(dp(x).numpy(), lin(x).numpy())
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(lin)
    with pytest.raises(NotImplementedError, match="device_ids"):
        nn.parallel.DataParallel(lin, device_ids=[0, 1])


def test_backends_and_utils_aliases():
    import tinygrad_cnn.utils.data as ud
    from tinygrad_cnn.utils.data import DataLoader
    assert ud is tg.data and DataLoader is tg.data.DataLoader
    cudnn = tg.backends.cudnn
    cudnn.benchmark = True
    cudnn.deterministic = True
    assert cudnn.benchmark and isinstance(cudnn.is_available(), bool)
    assert cudnn.enabled in (True, False) and hasattr(cudnn, "allow_tf32")


def test_non_persistent_buffer_stays_out_of_the_state_dict():
    m = nn.Module()
    m.register_buffer("kept", tg.ones(2))
    m.register_buffer("scratch", tg.zeros(2), persistent=False)
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]
    m.load_state_dict({"kept": tg.zeros(2)})  # strict: scratch is not expected either
    m.double()
    assert m.scratch.dtype == np.float64  # but it moves and casts with the module
