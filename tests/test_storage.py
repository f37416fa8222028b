"""PyTorch's storage model: ``.data`` and views share storage and one version counter,
in-place ops and item assignment write through it, and graphs that saved a changed tensor
refuse to run backward. Also what ``tg.tensor`` accepts. Checked against torch where it runs."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import requires_torch, torch


def test_data_is_a_tensor_sharing_storage_that_does_not_require_grad():
    w = tg.ones(3, requires_grad=True)
    d = w.data
    assert isinstance(d, tg.Tensor) and not d.requires_grad and d.is_leaf
    d.mul_(2)                                   # allowed while recording: d needs no grad
    assert w.tolist() == [2.0, 2.0, 2.0] and w._version == d._version == 1
    assert isinstance(w.array, np.ndarray)


def test_tutorial_updates_through_data_and_dcgan_init():
    f = tg.tensor([1.0, 2.0], requires_grad=True)
    (f * f).sum().backward()
    f.data.sub_(f.grad.data * 0.5)              # the PyTorch tutorial's manual SGD step
    assert f.tolist() == [0.0, 0.0]
    conv = tg.nn.Conv2d(2, 3, 3)
    tg.nn.init.normal_(conv.weight.data, 0.0, 0.02)   # DCGAN's weights_init
    assert abs(float(conv.weight.numpy().std()) - 0.02) < 0.015


def test_views_write_through_and_share_the_version():
    x = tg.arange(6.0).reshape(2, 3)
    x.detach().zero_()
    assert x.tolist() == [[0.0] * 3] * 2
    with tg.no_grad():
        x[0].add_(5)
        x.view(3, 2)[2].fill_(7)
        x.T[0].mul_(2)
    assert x.tolist() == [[10.0, 5.0, 5.0], [0.0, 7.0, 7.0]]
    assert x._version == x[1]._version == 4


def test_a_graph_that_saved_a_view_refuses_after_a_write_through_the_base():
    a = tg.randn(3, 4, requires_grad=True)
    x = a * 1
    v = x[0]
    y = v * v                                    # saves v, a view of x
    with tg.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_in_place_on_a_view_of_a_tensor_requiring_grad_is_refused_while_recording():
    x = tg.randn(3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match=r"mul_: in-place change of a view.*base requires grad"):
        x[0:2].mul_(2)
    buf = tg.zeros(3)
    with pytest.raises(RuntimeError, match=r"copy_: in-place change of a view.*require grad"):
        buf[0:2].copy_(tg.ones(2, requires_grad=True))


def test_in_place_on_an_expanded_view_is_refused():
    with pytest.raises(RuntimeError, match="expanded or read-only view"):
        tg.ones(1).expand(3).add_(1)


@requires_torch
def test_item_assignment_forward_and_gradients_match_torch():
    rng = np.random.default_rng(0)
    a0, v0 = rng.standard_normal((4, 3)), rng.standard_normal(3)
    mask = np.array([True, False, True, False])

    def run(lib, tensor):
        a = tensor(a0.copy(), requires_grad=True)
        v = tensor(v0.copy(), requires_grad=True)
        x = a * 2
        x[1] = v                         # a row
        x[mask] = v * 3                  # a bool mask, broadcast value
        x[:, 0] = 0.5                    # a number
        out = (x * x).sum()
        out.backward()
        return x.detach().numpy(), a.grad.numpy(), v.grad.numpy()

    ours = run(tg, lambda d, requires_grad: tg.tensor(d, requires_grad=requires_grad))
    ref = run(torch, lambda d, requires_grad: torch.tensor(d, requires_grad=requires_grad))
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o, r, rtol=1e-12, atol=1e-12)


def test_item_assignment_bumps_the_version_and_refuses_a_stale_graph():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    x = a * 1
    y = x * x
    x[0] = 5.0
    assert x._version == 1 and x.tolist() == [5.0, 2.0]
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: a leaf tensor that requires grad"):
        w[0] = 2.0
    with tg.no_grad():
        w[0] = 2.0
    assert w.tolist() == [2.0, 1.0] and w.is_leaf


@requires_torch
def test_in_place_op_keeps_a_saved_input_valid_as_torch_does():
    a0, b0 = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])
    out = []
    for lib in (tg, torch):
        a = lib.tensor(a0, requires_grad=True)
        b = lib.tensor(b0, requires_grad=True)
        h = a * 1
        h.mul_(b)                        # b's gradient needs the old h
        h.sum().backward()
        out.append((a.grad.numpy(), b.grad.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][1], out[1][1])


def test_add_and_sub_with_a_number_and_alpha():
    x = tg.tensor([1.0, 2.0])
    assert x.add(3.0, alpha=2).tolist() == [7.0, 8.0]
    assert x.sub(1, alpha=2).tolist() == [-1.0, 0.0]
    assert x.add(tg.tensor([1.0, 1.0]), alpha=0.5).tolist() == [1.5, 2.5]
    y = tg.tensor([1.0, 2.0])
    y.add_(3.0, alpha=2)
    y.sub_(1.0, alpha=3)
    assert y.tolist() == [4.0, 5.0]


@pytest.mark.parametrize("arr", [np.ones(2, dtype=np.complex64), np.ones(2, dtype=np.longdouble),
                                 np.array([1, "a"], dtype=object),
                                 np.array(["2020-01-01"], dtype="datetime64[D]"),
                                 np.array(["ab"]), np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])],
                         ids=["complex", "float128", "object", "datetime", "str", "structured"])
def test_tensor_refuses_dtypes_ops_would_turn_into_nonsense(arr):
    if arr.dtype == np.float64:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="tensor: cannot make a tensor"):
        tg.tensor(arr)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_tensor_takes_numpy_subclasses_as_plain_arrays_and_big_endian_as_native():
    m = tg.tensor(np.matrix([[1.0, 2.0], [3.0, 4.0]]))
    assert type(m.array) is np.ndarray and (m * m).tolist() == [[1.0, 4.0], [9.0, 16.0]]
    with pytest.raises(TypeError, match="masked arrays"):
        tg.tensor(np.ma.array([1.0, 2.0], mask=[False, True]))
    be = tg.tensor(np.arange(4, dtype=">f4"))
    assert be.dtype == np.float32 and be.dtype.isnative
    w = tg.ones(1, 1, 2, 2)
    assert tg.functional.conv2d(be.reshape(1, 1, 2, 2), w).item() == 6.0
    with pytest.raises(TypeError, match="from_numpy: dtype >f4 is not in native byte order"):
        tg.from_numpy(np.arange(4, dtype=">f4"))


def test_device_objects_as_torch():
    assert tg.device("cuda", 1) == "cuda:1" and tg.device(0) == "cuda:0"
    assert tg.device("cpu").type == "cpu" and tg.device("cuda:2").index == 2
    assert tg.ones(1).is_cuda is False and tg.ones(1, device=tg.device("cpu")).device == "cpu"


def test_fill_zero_and_copy_replace_inf_and_nan():
    inf, nan = float("inf"), float("nan")
    assert tg.tensor([inf, nan, 1.0]).fill_(2.0).tolist() == [2.0, 2.0, 2.0]
    assert tg.tensor([inf, nan]).zero_().tolist() == [0.0, 0.0]
    assert tg.tensor([[inf], [nan]]).copy_(tg.tensor([3.0])).tolist() == [[3.0], [3.0]]
    a = tg.tensor([inf, 1.0], requires_grad=True)
    h = a * 1
    src = tg.tensor([5.0, 6.0], requires_grad=True)
    h.copy_(src)
    h.sum().backward()
    assert a.grad.tolist() == [0.0, 0.0] and src.grad.tolist() == [1.0, 1.0]
