"""Numerics policy (as PyTorch) and long-run behaviour (no leaks, no cycles)."""
import gc
import resource
import weakref

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from helpers import check_op, requires_torch, torch


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


# ---------------------------------------------------------------- integer results are constants
INT_RESULTS = {
    "to(int64)": lambda x: x.to(tg.int64), "long": lambda x: x.long(), "int": lambda x: x.int(),
    "bool": lambda x: x.bool(), "to(bool)": lambda x: x.to(dtype=tg.bool),
    "type_as(int)": lambda x: x.type_as(tg.tensor([1])), "eq": lambda x: x == 1.5,
    "gt": lambda x: x > 0, "argmax": lambda x: x.argmax(), "argmin": lambda x: x.argmin(0),
    "max(dim).indices": lambda x: x.max(0).indices, "min(dim).indices": lambda x: x.min(0)[1],
    "isclose": lambda x: tg.isclose(x, x), "one_hot": lambda x: F.one_hot(x.long().abs()),
    "floor_divide(long)": lambda x: x.long() // 2,
}


@pytest.mark.parametrize("name", list(INT_RESULTS))
def test_integer_and_bool_results_never_record_a_graph_edge(name):
    x = tg.tensor([1.5, -2.7, 3.2], requires_grad=True)
    y = INT_RESULTS[name](x)
    assert y.dtype.kind in "iub", y.dtype
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_a_cast_to_integer_is_a_constant_in_later_arithmetic():
    # PyTorch: d/dx (long(x) * x) = long(x); a truncated gradient must not flow back
    x = tg.tensor([1.5, -2.7, 3.2], dtype=tg.float64, requires_grad=True)
    (x.long() * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, -2.0, 3.0])


@requires_torch
@pytest.mark.parametrize("op", ["floor_divide", "remainder"])
@pytest.mark.parametrize("divisor", ["tensor", "scalar"])
def test_integer_division_by_zero_raises_like_torch(op, divisor):
    a = tg.tensor([3, -4, 5])
    b = tg.tensor([1, 0, 2]) if divisor == "tensor" else 0
    tb = torch.tensor([1, 0, 2]) if divisor == "tensor" else 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(torch, op)(torch.tensor([3, -4, 5]), tb)
    with pytest.raises(RuntimeError, match=rf"{op}: ZeroDivisionError"):
        getattr(tg, op)(a, b)


@requires_torch
def test_float_division_by_zero_still_gives_inf_and_nan_like_torch():
    x = np.array([3.0, -4.0, 0.0])
    for op in ("floor_divide", "remainder"):
        np.testing.assert_array_equal(getattr(tg, op)(tg.tensor(x), 0.0).numpy(),
                                      getattr(torch, op)(torch.from_numpy(x), 0.0).numpy())


# ---------------------------------------------------------------- 0-d tensors and empty dims
ZERO_D = {
    "sum": lambda t, d: t.sum(d), "mean": lambda t, d: t.mean(d),
    "prod": lambda t, d: t.prod(d), "amax": lambda t, d: t.amax(d),
    "amin": lambda t, d: t.amin(d), "logsumexp": lambda t, d: t.logsumexp(d),
    "var": lambda t, d: t.var(d), "std": lambda t, d: t.std(d),
    "var0": lambda t, d: t.var(d, unbiased=False), "std0": lambda t, d: t.std(d, unbiased=False),
    "max": lambda t, d: t.max(d)[0], "min": lambda t, d: t.min(d).values,
    "cumsum": lambda t, d: t.cumsum(d), "cumprod": lambda t, d: t.cumprod(d),
    "softmax": lambda t, d: t.softmax(d), "log_softmax": lambda t, d: t.log_softmax(d),
    "norm": lambda t, d: t.norm(dim=d),
}


@requires_torch
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("name", list(ZERO_D))
def test_zero_dim_tensors_accept_dim_0_and_minus_1_like_torch(name, dim):
    x = np.array(1.7)
    check_op(lambda t: ZERO_D[name](t, dim), inputs=[x], gradcheck=name not in ("var", "std"))


@requires_torch
@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [0, -1])
def test_zero_dim_argmax_like_torch(name, dim):
    assert getattr(tg.tensor(1.5), name)(dim).tolist() == getattr(torch.tensor(1.5), name)(dim)
    with pytest.raises(IndexError, match=rf"{name}: dim 1 is out of range"):
        getattr(tg.tensor(1.5), name)(1)


EMPTY = {
    "sum": lambda t: t.sum(1), "mean": lambda t: t.mean(1), "prod": lambda t: t.prod(1),
    "logsumexp": lambda t: t.logsumexp(1), "var": lambda t: t.var(1), "std": lambda t: t.std(1),
    "norm": lambda t: t.norm(dim=1), "cumsum": lambda t: t.cumsum(1),
    "sum_all": lambda t: t.sum(), "mean_all": lambda t: t.mean(),
}


@requires_torch
@pytest.mark.parametrize("name", list(EMPTY))
def test_reductions_over_an_empty_dim_follow_torch(name):
    # logsumexp -> -inf, sum -> 0, prod -> 1, mean/var/std -> nan, as PyTorch
    x = np.zeros((3, 0))
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    y, ty = EMPTY[name](ours), EMPTY[name](ref)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    assert ours.grad.shape == (3, 0)


@requires_torch
@pytest.mark.parametrize("name", ["amax", "amin", "max", "min", "argmax", "argmin"])
def test_extremes_over_an_empty_dim_raise_like_torch(name):
    with pytest.raises((RuntimeError, IndexError)):
        getattr(torch.zeros(3, 0), name)(1)
    with pytest.raises(RuntimeError, match=rf"{name}: cannot reduce over an empty dimension"):
        getattr(tg.zeros(3, 0), name)(1)


@requires_torch
@pytest.mark.filterwarnings("ignore::UserWarning")  # torch warns about dof <= 0
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std_without_degrees_of_freedom_give_nan_like_torch(name, correction):
    # one element with Bessel's correction: NaN forward and backward, not ZeroDivisionError
    x = np.array([2.0])
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    y = getattr(ours, name)(correction=correction)
    ty = getattr(ref, name)(correction=correction)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    y.backward()
    ty.backward()
    np.testing.assert_array_equal(ours.grad.numpy(), ref.grad.numpy())
