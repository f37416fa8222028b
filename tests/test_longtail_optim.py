"""Adamax, NAdam, RAdam (20-step trajectories) and the long-tail schedulers (learning-rate
trajectories, state-dict round trips) against torch.optim."""
import copy

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from helpers import requires_torch, torch

pytestmark = requires_torch

CASES = [
    ("Adamax", dict(lr=1e-2)),
    ("Adamax", dict(lr=2e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("Adamax", dict(lr=1e-2, maximize=True)),
    ("NAdam", dict(lr=1e-2)),
    ("NAdam", dict(lr=1e-2, weight_decay=1e-2, momentum_decay=1e-2)),
    ("NAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=1e-2)),                      # rho_t > 5 from step 6 on: both branches
    ("RAdam", dict(lr=1e-2, betas=(0.9, 0.9), weight_decay=1e-2)),
    ("RAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
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


def _train(ours, ref, opt, topt, steps, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.standard_normal((16, 5)).astype(np.float32)
        y = rng.integers(0, 3, 16)
        opt.zero_grad()
        F.cross_entropy(ours(tg.tensor(x)), tg.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()


def _assert_same(ours, ref):
    for p, tp in zip(ours.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("name,kw", CASES, ids=lambda v: str(v))
def test_20_steps_match_torch(name, kw):
    ours, ref = _pair()
    opt = getattr(optim, name)(ours.parameters(), **kw)
    topt = getattr(torch.optim, name)(ref.parameters(), **kw)
    _train(ours, ref, opt, topt, 20)
    _assert_same(ours, ref)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam"])
def test_state_dict_resumes_the_trajectory(name):
    ours, ref = _pair()
    opt = getattr(optim, name)(ours.parameters(), lr=1e-2)
    topt = getattr(torch.optim, name)(ref.parameters(), lr=1e-2)
    _train(ours, ref, opt, topt, 8)
    assert set(opt.state_dict()["state"][0]) == set(topt.state_dict()["state"][0])
    fresh = getattr(optim, name)(ours.parameters(), lr=1e-2)
    fresh.load_state_dict(copy.deepcopy(opt.state_dict()))
    _train(ours, ref, fresh, topt, 8, seed=2)
    _assert_same(ours, ref)


def test_refused_options():
    p = [nn.Parameter(tg.zeros(2))]
    with pytest.raises(NotImplementedError, match="Adamax: capturable=True"):
        optim.Adamax(p, capturable=True)
    with pytest.raises(ValueError, match="NAdam: invalid momentum_decay"):
        optim.NAdam(p, momentum_decay=-1)
    with pytest.raises(ValueError, match="RAdam: invalid betas"):
        optim.RAdam(p, betas=(1.0, 0.9))


# ---------------------------------------------------------------- schedulers
def _opts(kind="SGD", **kw):
    ours, ref = _pair()
    groups = lambda m: [{"params": list(m[0].parameters())},          # noqa: E731
                        {"params": list(m[2].parameters()), "lr": 0.05}]
    return (getattr(optim, kind)(groups(ours), lr=0.1, **kw),
            getattr(torch.optim, kind)(groups(ref), lr=0.1, **kw))


def _make(mod, name, opt, kw):
    kw = {k: (v(opt, mod) if callable(v) and k in ("schedulers",) else v)
          for k, v in kw.items()}
    return getattr(mod.optim.lr_scheduler if mod is torch else optim.lr_scheduler, name)(
        opt, **kw)


class _Half:
    """A callable object: its attributes go into the state dict (a lambda's do not)."""

    def __init__(self):
        self.factor = 0.9

    def __call__(self, epoch):
        return self.factor


SCHEDULES = [
    ("CosineAnnealingWarmRestarts", {"T_0": 3}),
    ("CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 2, "eta_min": 1e-3}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3}),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": 0.1, "step_size_up": 2,
                  "step_size_down": 3, "mode": "triangular2"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "exp_range",
                  "gamma": 0.9, "base_momentum": 0.7, "max_momentum": 0.95}),
    ("PolynomialLR", {"total_iters": 6, "power": 2.0}),
    ("PolynomialLR", {}),
    ("MultiplicativeLR", {"lr_lambda": lambda e: 0.95}),
    ("MultiplicativeLR", {"lr_lambda": _Half()}),
]


def _trajectory(s, opt, steps=25, momentum=False):
    out = []
    for _ in range(steps):
        opt.step()
        s.step()
        g = opt.param_groups[0]
        out.append(tuple(s.get_last_lr()) + ((g.get("momentum"),) if momentum else ()))
    return out


@pytest.mark.parametrize("name,kw", SCHEDULES, ids=lambda v: str(v)[:40])
def test_schedule_trajectory_matches_torch(name, kw):
    opt, topt = _opts()
    s, ts = _make(tg, name, opt, kw), _make(torch, name, topt, kw)
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), abs=1e-12)
    np.testing.assert_allclose(_trajectory(s, opt, momentum=name == "CyclicLR"),
                               _trajectory(ts, topt, momentum=name == "CyclicLR"),
                               atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("name,kw", SCHEDULES, ids=lambda v: str(v)[:40])
def test_schedule_state_dict_round_trip(name, kw):
    opt, topt = _opts()
    s, ts = _make(tg, name, opt, kw), _make(torch, name, topt, kw)
    _trajectory(s, opt, 7)
    _trajectory(ts, topt, 7)
    opt2, _ = _opts()
    s2 = _make(tg, name, opt2, kw)      # build, then load both (constructors move the lr)
    opt2.load_state_dict(opt.state_dict())
    s2.load_state_dict(copy.deepcopy(s.state_dict()))
    assert set(s.state_dict()) == set(ts.state_dict()) - {"verbose", "_get_lr_called_within_step"}
    np.testing.assert_allclose(_trajectory(s2, opt2, 10), _trajectory(ts, topt, 10),
                               atol=1e-12, rtol=1e-12)


def test_cyclic_lr_drives_adams_beta1():
    opt, topt = _opts("Adam")
    kw = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2}
    s, ts = _make(tg, "CyclicLR", opt, kw), _make(torch, "CyclicLR", topt, kw)
    for _ in range(6):
        opt.step()
        topt.step()
        s.step()
        ts.step()
        assert opt.param_groups[0]["betas"] == pytest.approx(topt.param_groups[0]["betas"])
    with pytest.raises(ValueError, match="CyclicLR: optimizer must support momentum"):
        optim.lr_scheduler.CyclicLR(optim.Adagrad([nn.Parameter(tg.zeros(1))]), 0.1, 1.0)


def test_warm_restarts_fractional_epochs_match_torch():
    opt, topt = _opts()
    kw = {"T_0": 2, "T_mult": 2}
    s, ts = _make(tg, "CosineAnnealingWarmRestarts", opt, kw), \
        _make(torch, "CosineAnnealingWarmRestarts", topt, kw)
    for e in np.arange(0, 9, 0.25):
        s.step(float(e))
        ts.step(float(e))
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), abs=1e-12)


def _members(mod, opt):
    ls = mod.optim.lr_scheduler if mod is torch else optim.lr_scheduler
    return [ls.LinearLR(opt, start_factor=0.2, total_iters=3),
            ls.ExponentialLR(opt, gamma=0.8),
            ls.CosineAnnealingLR(opt, T_max=5)]


@pytest.mark.parametrize("composite", ["SequentialLR", "ChainedScheduler"])
def test_composites_match_torch_and_round_trip(composite):
    opt, topt = _opts()

    def build(mod, o):
        ls = mod.optim.lr_scheduler if mod is torch else optim.lr_scheduler
        members = _members(mod, o)
        if composite == "SequentialLR":
            return ls.SequentialLR(o, members, milestones=[3, 7])
        return ls.ChainedScheduler(members[:2])

    s, ts = build(tg, opt), build(torch, topt)
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), abs=1e-12)
    np.testing.assert_allclose(_trajectory(s, opt, 12), _trajectory(ts, topt, 12),
                               atol=1e-12, rtol=1e-12)
    opt2, _ = _opts()
    s2 = build(tg, opt2)
    opt2.load_state_dict(opt.state_dict())
    s2.load_state_dict(copy.deepcopy(s.state_dict()))
    np.testing.assert_allclose(_trajectory(s2, opt2, 8), _trajectory(ts, topt, 8),
                               atol=1e-12, rtol=1e-12)


def test_composite_errors():
    opt, _ = _opts()
    other, _ = _opts()
    ls = optim.lr_scheduler
    a = ls.ExponentialLR(opt, 0.9)
    with pytest.raises(ValueError, match="SequentialLR expects one more scheduler"):
        ls.SequentialLR(opt, [a], milestones=[2])
    with pytest.raises(ValueError, match="same optimizer"):
        ls.ChainedScheduler([a, ls.ExponentialLR(other, 0.9)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        ls.SequentialLR(opt, [a, ls.ReduceLROnPlateau(opt)], milestones=[2])
