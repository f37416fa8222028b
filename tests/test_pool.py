"""Pooling vs PyTorch: max (ties, NaN, ceil_mode, dilation, indices), unpool, average
(padding counted or not, divisor_override), adaptive; second derivatives; bad arguments."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import assert_close, check_op, rand, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def _f(name):
    return lambda *a, **k: getattr(F if isinstance(a[0], tg.Tensor) else TF, name)(*a, **k)


MAX2D = [
    dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=(3, 2), stride=(2, 1)),
    dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, dilation=2, stride=1, padding=(1, 0)),
    dict(kernel_size=(2, 3), stride=(3, 2), dilation=(2, 1), padding=1, ceil_mode=True),
    dict(kernel_size=(7, 6)),                                               # kernel = input
]


@requires_torch
@pytest.mark.parametrize("kw", MAX2D, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 7, 6)], ids=["batched", "unbatched"])
def test_max_pool2d_matches_torch(kw, shape):
    check_op(lambda x: _f("max_pool2d")(x, **kw), inputs=[rand(*shape)], gradcheck=False)


@requires_torch
def test_max_pool_gradcheck_and_indices():
    x = rand(1, 2, 5, 4)
    check_op(lambda t: _f("max_pool2d")(t, 3, 1, 1), inputs=[x])
    ours = F.max_pool2d(tg.tensor(x), 3, 2, 1, return_indices=True)[1]
    ref = TF.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)[1]
    assert ours.dtype == tg.int64 and ours.tolist() == ref.tolist()


@requires_torch
def test_max_pool_ties_go_to_the_first_maximum_and_nan_propagates():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 2] = np.nan
    check_op(lambda t: _f("max_pool2d")(t, 2, 1), inputs=[x], gradcheck=False)
    check_op(lambda t: _f("max_pool2d")(t, 3, 1, 1), inputs=[np.ones((1, 2, 4, 5))],
             gradcheck=False)


@requires_torch
@pytest.mark.parametrize("name,shape,kw", [
    ("max_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool1d", (3, 8), dict(kernel_size=2)),
    ("max_pool3d", (1, 2, 5, 4, 6), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=1)),
    ("avg_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool3d", (1, 2, 5, 4, 6), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=1,
                                         count_include_pad=False)),
], ids=str)
def test_1d_3d_pooling_matches_torch(name, shape, kw):
    check_op(lambda x: _f(name)(x, **kw), inputs=[rand(*shape)], gradcheck=False)


AVG2D = [
    dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=(3, 2), stride=(2, 1)),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), ceil_mode=True, divisor_override=4),
]


@requires_torch
@pytest.mark.parametrize("kw", AVG2D, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 7, 6)], ids=["batched", "unbatched"])
def test_avg_pool2d_matches_torch(kw, shape):
    check_op(lambda x: _f("avg_pool2d")(x, **kw), inputs=[rand(*shape)],
             gradcheck=len(shape) == 3)


@requires_torch
@pytest.mark.parametrize("name,out", [("adaptive_avg_pool2d", (3, 4)),
                                      ("adaptive_avg_pool2d", (7, 1)),
                                      ("adaptive_avg_pool2d", 2),
                                      ("adaptive_max_pool2d", (3, 4)),
                                      ("adaptive_max_pool2d", (4, 6)),
                                      ("adaptive_avg_pool1d", 4)], ids=str)
def test_adaptive_pooling_matches_torch(name, out):
    shape = (2, 3, 9) if name.endswith("1d") else (2, 3, 7, 9)
    check_op(lambda x: _f(name)(x, out), inputs=[rand(*shape)], gradcheck=False)


@requires_torch
def test_max_unpool2d_matches_torch():
    x = rand(2, 3, 6, 8)
    y, idx = F.max_pool2d(tg.tensor(x), 2, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    check_op(lambda t: F.max_unpool2d(t, idx, 2) if isinstance(t, tg.Tensor)
             else TF.max_unpool2d(t, tidx, 2), inputs=[y.numpy()])
    assert F.max_unpool2d(y, idx, 2, output_size=(7, 9)).shape == (2, 3, 7, 9)


@requires_torch
@pytest.mark.parametrize("name,kw", [("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
                                     ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1))])
def test_pool_second_derivatives_match_torch(name, kw):
    x = rand(2, 2, 7, 6)
    a = tg.tensor(x, requires_grad=True)
    b = torch.from_numpy(x).requires_grad_()
    ga, = tg.autograd.grad((getattr(F, name)(a, **kw) ** 2).sum(), a, create_graph=True)
    gb, = torch.autograd.grad((getattr(TF, name)(b, **kw) ** 2).sum(), b, create_graph=True)
    gga, = tg.autograd.grad((ga ** 2).sum(), a)
    ggb, = torch.autograd.grad((gb ** 2).sum(), b)
    assert_close(gga.numpy(), ggb.numpy())


def test_pool_gradgradcheck():
    x = tg.tensor(rand(1, 2, 5, 4), requires_grad=True)
    assert tg.gradgradcheck(lambda t: F.avg_pool2d(t, 2, 1, 1, count_include_pad=False), [x])
    assert tg.gradgradcheck(lambda t: F.max_pool2d(t, 2, 1) ** 2, [x])


@pytest.mark.parametrize("call,error,message", [
    (lambda x: F.max_pool2d(x, 3, padding=2), ValueError,
     r"max_pool2d: padding should be at most half of the kernel size, got padding=\(2, 2\)"),
    (lambda x: F.max_pool2d(x, 0), ValueError, r"kernel_size must be positive"),
    (lambda x: F.max_pool2d(x, 2, stride=0), ValueError, r"stride must be positive"),
    (lambda x: F.max_pool2d(x, 9), ValueError, r"kernel extent 9 .* larger than the padded"),
    (lambda x: F.max_pool2d(x[0, 0, 0], 2), ValueError, r"expected a 4-D input"),
    (lambda x: F.max_pool2d(x, 2.0), TypeError, r"kernel_size must be an int"),
    (lambda x: F.max_pool2d(x.long(), 2), TypeError, r"expected a floating point input"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError,
     r"divisor_override must not be zero"),
    (lambda x: F.avg_pool2d(x, 3, padding=(1, 2)), ValueError, r"padding should be at most"),
    (lambda x: F.adaptive_avg_pool2d(x, (0, 2)), ValueError, r"output_size must be positive"),
    (lambda x: F.max_unpool2d(x, tg.ones(2, 3, 8, 8), 2), TypeError,
     r"indices must be an integer Tensor"),
])
def test_bad_pool_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(tg.ones(2, 3, 8, 8))


# ---------------------------------------------------------------- edges
@requires_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, dilation=2),
                                dict(kernel_size=3, stride=1, padding=1, ceil_mode=True)],
                         ids=str)
def test_all_minus_inf_window_sends_the_gradient_where_the_index_says(kw):
    """A padded window whose real cells are all -inf: PyTorch names the first real cell
    and sends the gradient there (a padded cell once won the tie and the gradient was lost)."""
    x = rand(2, 2, 5, 5)
    x[:, :, :2, :] = -np.inf
    x[1, 1] = -np.inf
    check_op(lambda t: _f("max_pool2d")(t, **kw), inputs=[x], gradcheck=False, devices=())
    _, ours = F.max_pool2d(tg.tensor(x), return_indices=True, **kw)
    _, ref = TF.max_pool2d(torch.from_numpy(x), return_indices=True, **kw)
    assert ours.tolist() == ref.tolist()


@requires_torch
def test_max_pool_with_more_than_32767_taps():
    """The winning tap was stored as int16: 40,000 taps overflowed it."""
    x = rand(1, 2, 40000, seed=3)
    check_op(lambda t: _f("max_pool1d")(t, 40000), inputs=[x], gradcheck=False, devices=())
    check_op(lambda t: _f("max_pool1d")(t, 40000, return_indices=True)[1], inputs=[x],
             grad=False, gradcheck=False, devices=())


CEIL_BIG = [(4, 0, None), (4, 1, None), (4, 2, None), (5, 2, None), (4, 1, 2), (4, 2, 4),
            ((4, 2), (0, 1), (3, 1))]


@requires_torch
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("k,p,s", CEIL_BIG, ids=str)
def test_ceil_mode_kernel_larger_than_input_matches_torch(name, k, p, s):
    check_op(lambda t: _f(name)(t, k, s, p, ceil_mode=True), inputs=[rand(2, 2, 3, 3)],
             gradcheck=False, devices=())


@requires_torch
def test_ceil_mode_kernel_larger_than_input_1d_avg_counts():
    for kw in (dict(count_include_pad=False), dict(count_include_pad=True)):
        check_op(lambda t, kw=kw: _f("avg_pool1d")(t, 4, 4, 1, ceil_mode=True, **kw),
                 inputs=[rand(2, 2, 3)], gradcheck=False, devices=())


@requires_torch
@pytest.mark.parametrize("div", [-1, -3, 5])
def test_avg_pool_accepts_any_nonzero_divisor_override(div):
    check_op(lambda t: _f("avg_pool2d")(t, 2, divisor_override=div), inputs=[rand(2, 2, 4, 5)],
             gradcheck=False, devices=())


@requires_torch
@pytest.mark.parametrize("name", ["adaptive_max_pool2d", "adaptive_avg_pool2d",
                                  "max_pool2d", "avg_pool2d"])
def test_empty_batch_pooling_matches_torch(name):
    arg = (2, 3) if name.startswith("adaptive") else 2
    check_op(lambda t: _f(name)(t, arg), inputs=[rand(0, 3, 4, 6)], gradcheck=False)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("shape", [(2, 0, 4, 4), (2, 3, 0, 4), (3, 4, 0)], ids=str)
def test_pooling_refuses_empty_non_batch_dims(name, shape):
    with pytest.raises(ValueError, match=rf"{name}: expected an input with non-empty channel "
                                         r"and spatial dims"):
        getattr(F, name)(tg.zeros(*shape), 2)


@pytest.mark.parametrize("call,error,message", [
    (lambda x: F.avg_pool2d(x, 2, divisor_override=1.5), TypeError,
     r"avg_pool2d: divisor_override must be an int, got float"),
    (lambda x: F.max_pool2d(x, 4), ValueError, r"max_pool2d: kernel extent 4"),
])
def test_more_bad_pool_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(tg.ones(1, 1, 3, 3))


# ---------------------------------------------------------------- no host syncs
HOST_CONVERSIONS = ("__bool__", "__float__", "__int__", "__index__", "item", "tolist")
SYNC_FREE = [
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 3, 1, 1, return_indices=True)[0],
    lambda x: F.max_pool1d(x.flatten(2), 3, 2, 1), lambda x: F.max_pool3d(x[:, :, None], 1),
    lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    lambda x: F.adaptive_avg_pool2d(x, (3, 4)), lambda x: F.adaptive_max_pool2d(x, (3, 4)),
]


@pytest.mark.parametrize("fn", SYNC_FREE, ids=range(len(SYNC_FREE)))
def test_pooling_never_waits_for_the_device(fn, monkeypatch):
    """Forward, backward and the backward's backward on the fake device with every host conversion
    of its arrays refused: the NaN/-inf rules are decided by the kernels, not by the op."""
    from fake_backend import FakeArray
    x = tg.tensor(rand(2, 3, 7, 6), device="fake", requires_grad=True)
    gy = tg.tensor(rand(*fn(x).shape, seed=1), device="fake", requires_grad=True)

    def refuse(name):
        def conversion(self, *args, **kwargs):
            raise AssertionError(f"host sync: FakeArray.{name} called")
        return conversion

    for name in HOST_CONVERSIONS:
        monkeypatch.setattr(FakeArray, name, refuse(name), raising=False)
    gx, = tg.autograd.grad(fn(x), x, gy, create_graph=True)
    ggy, = tg.autograd.grad(gx, gy, gx.detach())  # through the adjoint ops
    assert type(gx.array) is FakeArray and type(ggy.array) is FakeArray
