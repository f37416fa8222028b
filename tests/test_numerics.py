"""Numerics policy (as PyTorch) and long-run behaviour (no leaks, no cycles)."""
import gc
import resource
import weakref

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from helpers import requires_torch, torch


@requires_torch
def test_special_values_match_torch():
    x = np.array([0.0, -1.0, 1.0, np.inf, -np.inf, np.nan])
    ours, ref = tg.tensor(x), torch.from_numpy(x)
    for name in ("log", "sqrt", "exp", "tanh", "sigmoid", "relu", "abs"):
        np.testing.assert_array_equal(getattr(ours, name)().numpy(),
                                      getattr(ref, name)().numpy(), err_msg=name)
    np.testing.assert_array_equal((ours / tg.tensor(np.zeros(6))).numpy(),
                                  (ref / torch.zeros(6, dtype=torch.float64)).numpy())


@requires_torch
def test_large_logits_stay_finite_like_torch():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1e4, -1e4, -1e4], [88.0, 89.0, 90.0]],
                      dtype=np.float32)
    target = np.array([0, 1, 2])
    x = tg.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor(target))
    t = torch.from_numpy(logits).requires_grad_()
    tloss = torch.nn.functional.cross_entropy(t, torch.from_numpy(target))
    assert np.isfinite(loss.item()) and abs(loss.item() - tloss.item()) < 1e-4
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-6)
    for fn in ("softmax", "log_softmax"):
        np.testing.assert_allclose(getattr(F, fn)(tg.tensor(logits), 1).numpy(),
                                   getattr(torch.nn.functional, fn)(torch.from_numpy(logits),
                                                                     1).numpy(), atol=1e-5)


@requires_torch
def test_overlapping_max_pool_windows_accumulate_and_nan_propagates():
    x = np.array([[[[1.0, 5.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, np.nan]]]])
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    y = F.max_pool2d(ours, 2, stride=1)
    ty = torch.nn.functional.max_pool2d(ref, 2, stride=1)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), ref.grad.numpy())
    assert ours.grad.numpy()[0, 0, 0, 1] == 2.0  # the 5 is the max of two windows


def _model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 4 * 4, 10))


def test_long_training_run_keeps_objects_and_memory_flat():
    tg.manual_seed(0)
    model = _model()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = tg.randn(16, 1, 8, 8), tg.randint(0, 10, (16,))

    def steps(n):
        for _ in range(n):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

    steps(50)  # warm up: optimizer state, allocator pools
    gc.collect()
    objects, rss = len(gc.get_objects()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    steps(1000)
    gc.collect()
    assert len(gc.get_objects()) <= objects + 50
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss <= rss * 1.05 + 2048


def test_graphs_are_freed_without_the_cycle_collector():
    model = _model()
    gc.collect()
    gc.disable()
    try:
        loss = F.cross_entropy(model(tg.randn(4, 1, 8, 8)), tg.tensor([1, 2, 3, 4]))
        node = weakref.ref(loss.grad_fn)
        loss.backward()
        del loss
        assert node() is None  # freed by reference counting alone
        loss = F.cross_entropy(model(tg.randn(4, 1, 8, 8)), tg.tensor([1, 2, 3, 4]))
        node = weakref.ref(loss.grad_fn)
        del loss  # dropped without backward: also freed
        assert node() is None
    finally:
        gc.enable()


def test_detect_anomaly_names_the_op_and_where_it_was_called():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with tg.autograd.detect_anomaly():
        y = x.sqrt()          # d sqrt(x)/dx at 0 is inf
        loss = (y * 0.0 + y).sum()
        with pytest.raises(RuntimeError, match=r"backward of 'sqrt' produced NaN or Inf .*"
                                               r"input 0(.|\n)*test_numerics.py"):
            loss.backward()
    x.grad = None
    (x.sqrt()).sum().backward()   # outside the context: PyTorch's inf, no error
    assert np.isinf(x.grad.numpy()[0])

    @tg.autograd.detect_anomaly()
    def f():
        return tg.autograd.grad.__name__

    assert f() == "grad"
