"""The optimizers and schedules added to match torch.optim: 20-step float32 trajectories
(parameters, learning rates and cycled momenta) against PyTorch, the keyword options, the
in-place/version contract, and scheduler state dicts."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from helpers import requires_torch, torch

OPTIMIZERS = [
    ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
    ("Adam", dict(lr=1e-2, maximize=True, foreach=True)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=1e-2, amsgrad=True, weight_decay=0.05)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, eps=1e-6, weight_decay=1e-2, momentum=0.8,
                     centered=True)),
    ("RMSprop", dict(lr=1e-3, centered=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=1e-2)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=1e-2, initial_accumulator_value=0.1,
                     eps=1e-8)),
]


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    ref = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    for p, tp in zip(ours.parameters(), ref.parameters()):
        v = rng.standard_normal(tp.shape).astype(np.float32) * 0.5
        nn.init.constant_(p, 0.0)
        p._assign(v)
        tp.data = torch.from_numpy(v.copy())
    return ours, ref


def _run(ours, ref, opt, topt, sched=None, tsched=None, steps=20, metric=False):
    rng = np.random.default_rng(1)
    lrs = []
    for _ in range(steps):
        x = rng.standard_normal((16, 5)).astype(np.float32)
        y = rng.integers(0, 3, 16)
        opt.zero_grad()
        loss = F.cross_entropy(ours(tg.tensor(x)), tg.tensor(y))
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        topt.step()
        if sched is not None:
            if metric:
                sched.step(round(loss.item(), 1))
                tsched.step(round(tloss.item(), 1))
            else:
                sched.step()
                tsched.step()
            lrs.append((sched.get_last_lr(), tsched.get_last_lr()))
            for g, tg_ in zip(opt.param_groups, topt.param_groups):
                for key in ("momentum", "betas"):
                    if key in g:
                        np.testing.assert_allclose(g[key], tg_[key], rtol=1e-12)
    for p, tp in zip(ours.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), atol=3e-6, rtol=2e-5)
    for a, b in lrs:
        np.testing.assert_allclose(a, b, rtol=1e-12)
    return lrs


@requires_torch
@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=lambda v: str(v))
def test_20_steps_match_torch(name, kw):
    ours, ref = _pair()
    _run(ours, ref, getattr(optim, name)(ours.parameters(), **kw),
         getattr(torch.optim, name)(ref.parameters(), **kw))


SCHEDULES = [
    ("SGD", dict(lr=0.1, momentum=0.9), "MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.5)),
    ("SGD", dict(lr=0.1), "ExponentialLR", dict(gamma=0.9)),
    ("Adam", dict(lr=0.01), "LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e))),
    ("SGD", dict(lr=0.1, momentum=0.9), "OneCycleLR", dict(max_lr=0.3, total_steps=20)),
    ("SGD", dict(lr=0.1, momentum=0.9), "OneCycleLR",
     dict(max_lr=0.3, epochs=4, steps_per_epoch=5, anneal_strategy="linear", three_phase=True)),
    ("Adam", dict(lr=0.01), "OneCycleLR", dict(max_lr=0.02, total_steps=25, pct_start=0.4,
                                               div_factor=10.0, final_div_factor=100.0)),
    ("AdamW", dict(lr=0.01), "OneCycleLR", dict(max_lr=0.02, total_steps=20,
                                                cycle_momentum=False)),
    ("SGD", dict(lr=0.1), "CosineAnnealingLR", dict(T_max=6, eta_min=0.01)),
    ("SGD", dict(lr=0.1), "StepLR", dict(step_size=4, gamma=0.3)),
    ("SGD", dict(lr=0.1), "LinearLR", dict(start_factor=0.1, total_iters=6)),
    ("Adam", dict(lr=0.01), "LinearLR", dict(start_factor=0.5, end_factor=0.2, total_iters=9)),
    ("SGD", dict(lr=0.1), "ConstantLR", dict(factor=0.25, total_iters=4)),
]


@requires_torch
@pytest.mark.parametrize("oname,okw,sname,skw", SCHEDULES,
                         ids=[f"{s}-{o}-{k}" for o, _, s, k in SCHEDULES])
def test_schedule_trajectories_match_torch(oname, okw, sname, skw):
    ours, ref = _pair()
    opt = getattr(optim, oname)(ours.parameters(), **okw)
    topt = getattr(torch.optim, oname)(ref.parameters(), **okw)
    s = getattr(optim.lr_scheduler, sname)(opt, **skw)
    ts = getattr(torch.optim.lr_scheduler, sname)(topt, **skw)
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    _run(ours, ref, opt, topt, s, ts, steps=19 if sname == "OneCycleLR" else 20)


@requires_torch
@pytest.mark.parametrize("kw", [dict(), dict(mode="max", factor=0.5, patience=1,
                                            threshold=0.1, threshold_mode="abs", cooldown=2,
                                            min_lr=0.02),
                                dict(patience=2, threshold=0.05, cooldown=1, eps=1e-3)],
                         ids=str)
def test_reduce_on_plateau_matches_torch(kw):
    ours, ref = _pair()
    opt, topt = optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(ref.parameters(), lr=0.1)
    s = optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    lrs = _run(ours, ref, opt, topt, s, ts, metric=True)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.7] * 3
    for m in metrics:  # a scripted metric exercises patience, cooldown and min_lr
        s.step(m)
        ts.step(m)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    assert len(lrs) == 20


@requires_torch
def test_scheduler_state_dict_resumes_where_it_left_off():
    def make(lib):
        ps = [(tg if lib is optim else torch).zeros(2, requires_grad=True)]
        o = lib.SGD(ps, lr=0.1, momentum=0.9)
        return o, lib.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=30)

    o, s = make(optim)
    for _ in range(7):
        o.step()
        s.step()
    o2, s2 = make(optim)
    s2.load_state_dict(s.state_dict())
    o2.load_state_dict(o.state_dict())
    to, ts = make(torch.optim)
    for _ in range(7):
        to.step()
        ts.step()
    for _ in range(10):
        s2.step()
        ts.step()
        assert s2.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
        assert o2.param_groups[0]["momentum"] == pytest.approx(to.param_groups[0]["momentum"])
    lam = optim.lr_scheduler.LambdaLR(optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0),
                                      lambda e: 0.5 ** e)
    assert lam.state_dict()["lr_lambdas"] == [None]
    with pytest.raises(ValueError, match="total steps"):
        for _ in range(30):
            s.step()
    with pytest.raises(KeyError, match="initial_lr"):
        optim.lr_scheduler.StepLR(optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0), 2,
                                  last_epoch=3)


def test_refused_and_checked_keywords():
    ps = [nn.Parameter(tg.ones(2))]
    for name, kw in [("Adagrad", dict(fused=True)), ("Adam", dict(capturable=True)),
                     ("AdamW", dict(differentiable=True)), ("RMSprop", dict(capturable=True)),
                     ("Adagrad", dict(fused=True))]:
        with pytest.raises(NotImplementedError, match=next(iter(kw))):
            getattr(optim, name)(ps, **kw)
    for name in ("SGD", "Adam", "AdamW"):  # their steps are fused kernels: fused=True is a no-op
        assert getattr(optim, name)(ps, lr=0.1, fused=True).param_groups[0]["fused"] is True
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(ps, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="invalid eps"):
        optim.RMSprop(ps, eps=-1)
    with pytest.raises(ValueError, match="rho"):
        optim.Adadelta(ps, rho=1.5)
    with pytest.raises(TypeError, match="foreach"):
        optim.SGD(ps, lr=0.1, foreach="yes")
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": ps}, {"params": ps}], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum"):
        optim.lr_scheduler.OneCycleLR(optim.Adagrad(ps), max_lr=1.0, total_steps=3)
    with pytest.raises(ValueError, match="factor"):
        optim.lr_scheduler.ReduceLROnPlateau(optim.SGD(ps, lr=0.1), factor=1.0)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad"])
def test_step_writes_in_place_once_per_parameter(name):
    p = nn.Parameter(tg.ones(3))
    view = p.data
    opt = getattr(optim, name)([p], lr=0.1)
    y = (p * p).sum()
    y.backward(retain_graph=True)
    v0, arr = p._version, p.array
    opt.step()
    assert p.array is arr and p._version == v0 + 1, "one in-place write per step"
    assert np.array_equal(view.numpy(), p.numpy()) and (p.numpy() != 1).all()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
    closure_calls = []

    def closure():
        closure_calls.append(tg.is_grad_enabled())
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        assert isinstance(opt.step(closure), tg.Tensor) and closure_calls == [True]


@requires_torch
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=3)),
                                     ("MultiStepLR", dict(milestones=[2, 5])),
                                     ("ExponentialLR", dict(gamma=0.8)),
                                     ("LinearLR", dict(total_iters=4)),
                                     ("ConstantLR", dict(total_iters=4))])
def test_step_with_an_explicit_epoch_uses_the_closed_form_as_torch(name, kw):
    o = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
    to = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    s, ts = getattr(optim.lr_scheduler, name)(o, **kw), \
        getattr(torch.optim.lr_scheduler, name)(to, **kw)
    for epoch in (5, 2, 7):
        s.step(epoch)
        ts.step(epoch)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
