"""Tensor construction, dtype rules, factories, conversions and display."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import requires_torch, torch


@pytest.mark.parametrize("data,dtype", [
    (1.5, tg.float32), (3, tg.int64), (True, tg.bool), ([1.0, 2], tg.float32),
    ([[1, 2], [3, 4]], tg.int64), ([True, False], tg.bool),
    (np.arange(3, dtype=np.int32), tg.int32), (np.ones(2), tg.float64),
    (np.float16(1.0), tg.float16),
])
def test_construction_dtype_rules(data, dtype):
    t = tg.tensor(data)
    assert t.dtype == dtype
    assert tg.Tensor(data).dtype == dtype


@requires_torch
@pytest.mark.parametrize("data", [1.5, 3, True, [1.0, 2], [[1, 2]], [True]])
def test_python_data_dtypes_match_torch(data):
    assert str(tg.tensor(data).dtype) == str(torch.tensor(data).dtype).replace("torch.", "")


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    t, s = tg.tensor(a), tg.from_numpy(a)
    a[0] = 1.0
    assert t.tolist() == [0.0, 0.0, 0.0] and s.tolist() == [1.0, 0.0, 0.0]
    b = tg.tensor(t)
    assert not np.shares_memory(b.array, t.array)


def test_bad_data_is_a_clear_error():
    with pytest.raises((ValueError, TypeError), match="tensor: cannot make a tensor"):
        tg.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="tensor: cannot make a tensor from str"):
        tg.tensor("abc")
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray"):
        tg.from_numpy([1, 2])


def test_attributes():
    t = tg.zeros(2, 3)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.numel() == 6
    assert t.size() == (2, 3) and t.size(1) == 3 and t.size(-1) == 3 and len(t) == 2
    assert t.device == "cpu" and t.device.type == "cpu" and t.is_leaf and t.grad_fn is None
    assert isinstance(t.array, np.ndarray)
    assert tg.backend.get_array_module(t) is np
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(tg.tensor(1.0))


@pytest.mark.parametrize("factory,args,shape,dtype", [
    (tg.zeros, (2, 3), (2, 3), tg.float32), (tg.ones, ((4,),), (4,), tg.float32),
    (tg.empty, (2,), (2,), tg.float32), (tg.rand, (3, 2), (3, 2), tg.float32),
    (tg.randn, ([2, 2],), (2, 2), tg.float32), (tg.eye, (3,), (3, 3), tg.float32),
])
def test_shape_factories(factory, args, shape, dtype):
    t = factory(*args)
    assert t.shape == shape and t.dtype == dtype
    assert factory(*args, dtype=tg.float64).dtype == tg.float64
    assert factory(*args, requires_grad=True).requires_grad


def test_value_factories():
    assert tg.full((2,), 7).dtype == tg.int64 and tg.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert tg.arange(5).tolist() == [0, 1, 2, 3, 4] and tg.arange(5).dtype == tg.int64
    assert tg.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75]
    assert tg.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    r = tg.randint(0, 10, (100,))
    assert r.dtype == tg.int64 and 0 <= r.min().item() and r.max().item() < 10
    x = tg.ones(2, 3, dtype=tg.float64)
    for f in (tg.zeros_like, tg.ones_like, tg.randn_like):
        assert f(x).shape == (2, 3) and f(x).dtype == tg.float64
    assert tg.full_like(x, 2).tolist() == [[2.0] * 3] * 2
    with pytest.raises(ValueError, match="zeros: negative size in shape"):
        tg.zeros(-1)
    with pytest.raises(ValueError, match="randint: high \\(1\\) must be greater than low \\(1\\)"):
        tg.randint(1, 1, (2,))


def test_manual_seed_reproduces_random_tensors():
    tg.manual_seed(0)
    a = tg.randn(5)
    tg.manual_seed(0)
    assert tg.randn(5).tolist() == a.tolist()


def test_conversions():
    t = tg.tensor([[1.5, 2.0]], requires_grad=True)
    assert t.numpy().tolist() == [[1.5, 2.0]] and t.tolist() == [[1.5, 2.0]]
    assert np.asarray(t).shape == (1, 2)
    assert tg.tensor(2.5).item() == 2.5 and float(tg.tensor([3.0])) == 3.0
    assert int(tg.tensor(4)) == 4 and [10, 20, 30][tg.tensor(1)] == 20
    assert t.double().dtype == tg.float64 and t.long().dtype == tg.int64
    assert t.int().dtype == tg.int32 and t.bool().dtype == tg.bool and t.half().dtype == tg.float16
    assert t.float() is t and t.to("cpu") is t and t.cpu() is t
    assert t.to(tg.float64).dtype == tg.float64
    with pytest.raises(ValueError, match=r"item: a tensor with 2 elements \(shape \(1, 2\)\)"):
        t.item()
    with pytest.raises(RuntimeError, match="is ambiguous"):
        bool(t)


def test_cast_is_differentiable_and_returns_grad_in_input_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert y.grad_fn.next_functions[0][0].name == "to"
    y.sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [3.0, 3.0]


def test_cuda_without_cupy_or_gpu_says_what_to_install():
    if tg.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match=r"pip install cupy-cuda12x"):
        tg.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        tg.ones(2).cuda()
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.ones(2, device="tpu")
    assert tg.cuda.device_count() == 0


def test_default_device_round_trip():
    assert tg.get_default_device() == "cpu"
    tg.set_default_device("cpu")
    assert tg.zeros(1).device == "cpu"


def test_repr_reads_like_torch():
    assert repr(tg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    x = tg.tensor([1.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2.], grad_fn=<mul>)"
    assert "dtype=float64" in repr(tg.tensor([1.0], dtype=tg.float64))
    assert f"{tg.tensor(0.5):.2f}" == "0.50"


def test_numpy_array_on_the_left_defers_to_tensor():
    r = np.array([1.0, 2.0]) * tg.tensor([3.0, 4.0])
    assert isinstance(r, tg.Tensor) and r.tolist() == [3.0, 8.0]


def test_tensors_hash_by_identity():
    a, b = tg.ones(1), tg.ones(1)
    assert len({a, b}) == 2
