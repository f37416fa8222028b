"""Optimisers and schedules vs PyTorch: 20 steps on the same float32 model and data."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from helpers import requires_torch, torch

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
]


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    ref = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    for p, tp in zip(ours.parameters(), ref.parameters()):
        v = rng.standard_normal(tp.shape).astype(np.float32) * 0.5
        p.array = v.copy()
        tp.data = torch.from_numpy(v.copy())
    return ours, ref


@requires_torch
@pytest.mark.parametrize("name,kw", CASES, ids=lambda v: str(v))
def test_20_steps_match_torch(name, kw):
    ours, ref = _pair()
    opt = getattr(optim, name)(ours.parameters(), **kw)
    topt = getattr(torch.optim, name)(ref.parameters(), **kw)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.standard_normal((16, 5)).astype(np.float32)
        y = rng.integers(0, 3, 16)
        opt.zero_grad()
        F.cross_entropy(ours(tg.tensor(x)), tg.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()
    for p, tp in zip(ours.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), atol=2e-6, rtol=1e-5)


@requires_torch
@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=3, gamma=0.5)),
                                     ("CosineAnnealingLR", dict(T_max=7, eta_min=1e-3))])
def test_schedules_match_torch(name, kw):
    ours, ref = _pair()
    opt = optim.SGD(ours.parameters(), lr=0.1)
    topt = torch.optim.SGD(ref.parameters(), lr=0.1)
    s = getattr(optim.lr_scheduler, name)(opt, **kw)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for _ in range(12):
        opt.step()
        topt.step()
        s.step()
        ts.step()
        assert abs(s.get_last_lr()[0] - ts.get_last_lr()[0]) < 1e-12


def test_param_groups_and_zero_grad():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    opt = optim.SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    (a(tg.ones(1, 2)).sum() + b(tg.ones(1, 2)).sum()).backward()
    opt.zero_grad(set_to_none=False)
    assert a.weight.grad.tolist() == [[0.0, 0.0]] * 2
    opt.zero_grad()
    assert a.weight.grad is None
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.SGD(a.parameters(), lr=-1)


def test_optimizer_state_dict_round_trip(tmp_path):
    ours, _ = _pair() if torch is not None else (nn.Linear(5, 3), None)
    opt = optim.Adam(ours.parameters(), lr=1e-2)
    x = tg.randn(4, 5)
    for _ in range(3):
        opt.zero_grad()
        ours(x).sum().backward()
        opt.step()
    tg.save(opt.state_dict(), tmp_path / "opt.safetensors")
    fresh = optim.Adam(ours.parameters(), lr=1.0)
    fresh.load_state_dict(tg.load(tmp_path / "opt.safetensors"))
    assert fresh.param_groups[0]["lr"] == 1e-2
    p0 = next(iter(ours.parameters()))
    assert fresh.state[p0]["step"] == 3
    np.testing.assert_array_equal(fresh.state[p0]["exp_avg"], opt.state[p0]["exp_avg"])
