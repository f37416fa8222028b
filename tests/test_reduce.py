"""Reductions: dims as None/int/tuple/negative, keepdim, ties, empty and degenerate cases."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import check_op, rand, requires_torch, torch

DIMS = [None, 0, -1, (0, 2), (1,)]
SHAPE = (3, 4, 2)


def _ours_or_torch(name):
    return lambda x, *a, **k: getattr(x, name)(*a, **k)


@requires_torch
@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "var", "std"])
def test_reduction_matches_torch(name, dim, keepdim):
    if dim is None and name in ("logsumexp", "amax", "amin"):
        dim = (0, 1, 2)
    x = rand(*SHAPE)
    check_op(lambda t: getattr(t, name)(dim, keepdim=keepdim), inputs=[x])


@requires_torch
@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_prod_matches_torch(dim, keepdim):
    x = rand(3, 4, low=0.5, high=1.5)
    if dim is None:
        check_op(lambda t: t.prod(), inputs=[x])
    else:
        check_op(lambda t: t.prod(dim, keepdim=keepdim), inputs=[x])


@requires_torch
def test_prod_gradient_is_exact_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    check_op(lambda t: t.prod(1), inputs=[x], gradcheck=False)
    check_op(lambda t: t.prod(), inputs=[x], gradcheck=False)


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_along_dim_route_to_first_extreme_like_torch(name, dim):
    x = rand(4, 5)
    x[1, :] = 1.0  # a row of ties
    x[:, 2] = 1.0  # a column of ties
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    y, i = getattr(ours, name)(dim)
    r, ri = getattr(ref, name)(dim)
    assert i.dtype == tg.int64 and not i.requires_grad and i.tolist() == ri.tolist()
    g = rand(*r.shape, seed=3)
    y.backward(tg.tensor(g))
    r.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y.numpy(), r.detach().numpy())
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy())


@requires_torch
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_full_reductions_share_ties_like_torch(name):
    x = np.array([[1.0, 3.0], [3.0, -2.0], [-2.0, 0.0]])
    check_op(lambda t: getattr(t, name)(), inputs=[x], gradcheck=False)


@requires_torch
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_torch_with_ties(name, dim):
    x = np.array([[1.0, 3.0, 3.0], [3.0, -2.0, -2.0]])
    ours = getattr(tg.tensor(x), name)(dim)
    ref = getattr(torch.from_numpy(x), name)(dim)
    assert ours.dtype == tg.int64 and ours.tolist() == ref.tolist()


@requires_torch
def test_var_std_correction_and_unbiased():
    x = rand(4, 3)
    check_op(lambda t: t.var(0, unbiased=False), inputs=[x])
    check_op(lambda t: t.std(1, correction=0) if isinstance(t, tg.Tensor)
             else t.std(1, correction=0), inputs=[x])


def test_std_of_constant_has_zero_gradient_like_torch():
    x = tg.ones(4, dtype=tg.float64, requires_grad=True)
    x.std().backward()
    assert x.grad.tolist() == [0.0] * 4


@requires_torch
def test_logsumexp_is_stable_and_handles_minus_inf():
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [0.0, -np.inf]])
    check_op(lambda t: t.logsumexp(1), inputs=[x], gradcheck=False)


@requires_torch
def test_integer_sum_is_int64_and_mean_refuses_ints():
    assert tg.tensor([1, 2], dtype=tg.int32).sum().dtype == tg.int64
    with pytest.raises(TypeError, match="mean: expected a floating point tensor, got int64"):
        tg.tensor([1, 2]).mean()


@requires_torch
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "var", "std", "logsumexp", "prod"])
def test_float32_reductions_keep_dtype(name):
    x = rand(3, 4).astype(np.float32)
    check_op(lambda t: getattr(t, name)(1), inputs=[x], atol=1e-5, rtol=1e-5, gradcheck=False)


@requires_torch
def test_reductions_over_empty_dims_match_torch():
    x = rand(2, 0)
    check_op(lambda t: t.sum(1), inputs=[x])
    check_op(lambda t: t.sum(0), inputs=[x])
    check_op(lambda t: t.prod(1), inputs=[x], gradcheck=False)


def test_sum_of_scalar_and_empty():
    assert tg.tensor(3.0).sum().item() == 3.0
    assert tg.zeros(0, 3).sum(0).tolist() == [0.0, 0.0, 0.0]


def test_reduction_dim_errors_name_op_and_shape():
    x = tg.ones(2, 3)
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range .*2 dims \(shape \(2, 3\)\)"):
        x.sum(2)
    with pytest.raises(ValueError, match="mean: dim .* names a dimension twice"):
        x.mean((0, -2))
    with pytest.raises(RuntimeError, match="max: cannot reduce over an empty dimension"):
        tg.ones(0, 2).max()
    with pytest.raises(TypeError, match="sum: dim must be an int, got float"):
        x.sum(1.5)
