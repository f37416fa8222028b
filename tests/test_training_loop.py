"""The idioms of a standard PyTorch training loop, each run here and in PyTorch on the same
weights and data (float32): DataLoader batches, SGD with momentum, a StepLR schedule,
gradient clipping, eval under no_grad with accuracy, and a checkpoint of model, optimizer and
scheduler saved with tg.save and resumed with tg.load."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from tinygrad_cnn.utils.data import DataLoader, TensorDataset
from helpers import requires_torch, torch

pytestmark = requires_torch


def _model(lib):
    return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4),
                          lib.ReLU(inplace=True), lib.MaxPool2d(2), lib.Flatten(),
                          lib.Dropout(0.0), lib.Linear(64, 3))


def _setup():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    ours, ref = _model(nn), _model(torch.nn)
    ours.load_state_dict({k: tg.tensor(v.numpy().copy()) for k, v in ref.state_dict().items()})
    loaders = (DataLoader(TensorDataset(tg.tensor(x), tg.tensor(y)), batch_size=8),
               torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
                   torch.from_numpy(x), torch.from_numpy(y)), batch_size=8))
    return ours, ref, loaders


def _opt(lib, model):
    o = lib.SGD(model.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-3)
    return o, lib.lr_scheduler.StepLR(o, step_size=1, gamma=0.5)


def _epoch(model, opt, sched, loader, clip_fn, ce):
    model.train()
    norms = []
    for xb, yb in loader:
        opt.zero_grad()
        loss = ce(model(xb), yb)
        loss.backward()
        norms.append(float(clip_fn(model.parameters(), max_norm=0.5)))
        opt.step()
    sched.step()
    return norms


def _evaluate(model, loader, no_grad, argmax):
    model.eval()
    correct, total = 0, 0
    with no_grad():
        for xb, yb in loader:
            out = model(xb)
            assert not out.requires_grad
            correct += int((argmax(out) == yb).sum())
            total += len(yb)
    return correct / total


def _assert_same(ours, ref):
    for (n, p), (_, r) in zip(ours.state_dict().items(), ref.state_dict().items()):
        np.testing.assert_allclose(p.numpy(), r.numpy(), atol=2e-5, rtol=1e-4, err_msg=n)


def test_train_eval_clip_and_checkpoint_resume_match_torch(tmp_path):
    ours, ref, (dl, tdl) = _setup()
    opt, sched = _opt(optim, ours)
    topt, tsched = _opt(torch.optim, ref)
    run = (lambda: _epoch(ours, opt, sched, dl, nn.utils.clip_grad_norm_, F.cross_entropy),
           lambda: _epoch(ref, topt, tsched, tdl, torch.nn.utils.clip_grad_norm_,
                          torch.nn.functional.cross_entropy))
    np.testing.assert_allclose(run[0](), run[1](), rtol=1e-4)
    _assert_same(ours, ref)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr())
    acc = _evaluate(ours, dl, tg.no_grad, lambda o: o.argmax(1))
    tacc = _evaluate(ref, tdl, torch.no_grad, lambda o: o.argmax(1))
    assert acc == tacc

    path = tmp_path / "ckpt.safetensors"
    tg.save({"model": ours.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": 1}, path)
    ck = tg.load(path)
    model2 = _model(nn)
    model2.load_state_dict(ck["model"])
    opt2, sched2 = _opt(optim, model2)
    opt2.load_state_dict(ck["optimizer"])
    sched2.load_state_dict(ck["scheduler"])
    assert ck["epoch"] == 1 and sched2.get_last_lr() == sched.get_last_lr()
    for _ in range(2):  # the resumed run continues exactly like torch's uninterrupted one
        np.testing.assert_allclose(
            _epoch(model2, opt2, sched2, dl, nn.utils.clip_grad_norm_, F.cross_entropy),
            run[1](), rtol=2e-4)
    _assert_same(model2, ref)
    assert opt2.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"])


def test_accuracy_with_max_dim_matches_torch():
    ours, ref, (dl, tdl) = _setup()

    def by_max(o):
        _, pred = o.max(1)
        return pred

    assert _evaluate(ours, dl, tg.no_grad, by_max) == _evaluate(ref, tdl, torch.no_grad, by_max)
