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


# ---------------------------------------------------------------- prod with zeros, twice
@pytest.mark.parametrize("values", [[1.5, 0.0, 3.0, -2.0], [0.0, 2.0, 0.0, 5.0],
                                    [0.0, 0.0, 0.0, 2.0], [0.5, 2.0, 3.0, -1.5]],
                         ids=["one-zero", "two-zeros", "three-zeros", "no-zero"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_second_derivative_with_zeros_by_gradgradcheck(values, dim):
    x = tg.tensor(np.array(values).reshape(2, 2), requires_grad=True)
    flat = tg.tensor(np.array(values), requires_grad=True)
    fn = (lambda t: t.prod()) if dim is None else (lambda t: t.prod(dim, keepdim=dim == 1))
    assert tg.gradgradcheck(fn, [x])
    assert tg.gradgradcheck(lambda t: t.prod(), [flat])


@requires_torch
def test_prod_second_derivative_with_zeros_matches_torch():
    x = np.array([[1.5, 0.0, 3.0, 2.0], [0.0, 2.0, 0.0, 5.0], [0.5, -1.0, 2.0, 3.0]])
    w = rand(3, 4, seed=4)
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    g, = tg.autograd.grad(ours.prod(1).sum(), ours, create_graph=True)
    tgr, = torch.autograd.grad(ref.prod(1).sum(), ref, create_graph=True)
    h, = tg.autograd.grad((g * tg.tensor(w)).sum(), ours)
    th, = torch.autograd.grad((tgr * torch.from_numpy(w)).sum(), ref)
    np.testing.assert_allclose(h.numpy(), th.numpy(), atol=1e-12)


def test_prod_third_derivative_at_zeros_is_refused_not_wrong():
    x = tg.tensor([1.5, 0.0, 3.0], dtype=tg.float64, requires_grad=True)
    g, = tg.autograd.grad(x.prod(), x, create_graph=True)
    h, = tg.autograd.grad(g.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="third derivative of prod"):
        tg.autograd.grad(h.sum(), x)


# ---------------------------------------------------------------- max/min named tuples
@requires_torch
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_dim_return_torch_named_tuple(name, keepdim):
    x = rand(3, 4)
    ours = getattr(tg.tensor(x), name)(1, keepdim=keepdim)
    ref = getattr(torch.from_numpy(x), name)(1, keepdim=keepdim)
    assert isinstance(ours, tuple) and len(ours) == 2
    values, indices = ours
    assert values is ours.values and indices is ours.indices and ours[1] is indices
    assert indices.dtype == tg.int64 and indices.tolist() == ref.indices.tolist()
    np.testing.assert_array_equal(values.numpy(), ref.values.numpy())
    _, pred = getattr(tg, name)(tg.tensor(x), 1)  # the classic accuracy line
    assert pred.tolist() == ref.indices.reshape(-1).tolist() or keepdim


@requires_torch
@pytest.mark.parametrize("name,pair", [("max", "maximum"), ("min", "minimum")])
def test_max_min_of_two_tensors_is_the_elementwise_extreme(name, pair):
    a, b = rand(3, 4), rand(4, seed=1)
    check_op(lambda s, t: getattr(tg, name)(s, t), lambda s, t: getattr(torch, name)(s, t),
             inputs=[a, b])
    np.testing.assert_array_equal(getattr(tg, name)(tg.tensor(a), tg.tensor(b)).numpy(),
                                  getattr(tg, pair)(tg.tensor(a), tg.tensor(b)).numpy())


def test_max_without_dim_is_one_tensor_and_keepdim_needs_a_dim():
    y = tg.tensor([[1.0, 3.0], [2.0, 0.0]]).max()
    assert isinstance(y, tg.Tensor) and y.item() == 3.0
    with pytest.raises(TypeError, match="max: keepdim=True needs a dim"):
        tg.ones(2).max(keepdim=True)


# ---------------------------------------------------------------- cumsum, cumprod, norm
@requires_torch
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_ops_match_torch(name, dim):
    check_op(lambda t: getattr(t, name)(dim), inputs=[rand(3, 4, 2)])


@requires_torch
@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradient_is_exact_with_zeros(dim):
    x = rand(4, 5, seed=2)
    x[0, 1] = x[2, 0] = x[2, 3] = x[3, 4] = 0.0
    check_op(lambda t: t.cumprod(dim), inputs=[x], gradcheck=False)
    assert tg.gradcheck(lambda t: t.cumprod(dim), [tg.tensor(x, requires_grad=True)])


def test_cumsum_of_integers_is_int64_like_torch():
    assert tg.tensor([1, 2, 3], dtype=tg.int32).cumsum(0).dtype == tg.int64
    assert tg.tensor([1.0, 2.0]).cumsum(0, dtype=tg.float64).dtype == tg.float64


NORMS = ["fro", 2, 1, float("inf"), float("-inf"), 3, 1.5, 0.5]


@requires_torch
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 1), True), (-1, True)])
@pytest.mark.parametrize("p", NORMS, ids=str)
def test_norm_matches_torch_including_zero_rows(p, dim, keepdim):
    x = rand(3, 4, seed=5)
    x[1] = 0.0  # a zero row: torch's gradient is 0 there, not NaN
    x[2, 1] = 0.0
    x[0, 2] = -x[0, 0]  # a tie in |x| for the inf norms
    check_op(lambda t: tg.norm(t, p, dim, keepdim), lambda t: torch.norm(t, p, dim, keepdim),
             inputs=[x], gradcheck=False)
    if p not in (float("inf"), float("-inf")):  # |x| ties are kinks for finite differences
        y = rand(3, 4, seed=6)
        check_op(lambda t: t.norm(p, dim, keepdim), inputs=[y])


@requires_torch
def test_norm_zero_counts_non_zeros():
    x = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(tg.tensor(x).norm(0, dim=1).numpy(),
                                  torch.from_numpy(x).norm(0, dim=1).numpy())


# ---------------------------------------------------------------- isclose, allclose
@requires_torch
@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_allclose_match_torch(equal_nan):
    a = np.array([1.0, 2.0, np.nan, np.inf, 0.0, 1e-9])
    b = np.array([1.0 + 1e-6, 2.1, np.nan, np.inf, 1e-9, 0.0])
    ours = tg.isclose(tg.tensor(a), tg.tensor(b), equal_nan=equal_nan)
    ref = torch.isclose(torch.from_numpy(a), torch.from_numpy(b), equal_nan=equal_nan)
    assert ours.dtype == tg.bool and ours.tolist() == ref.tolist()
    assert tg.allclose(tg.tensor(a[:2]), tg.tensor(a[:2]) + 1e-9) is True
    assert tg.tensor(a).allclose(tg.tensor(b), equal_nan=equal_nan) == \
        torch.from_numpy(a).allclose(torch.from_numpy(b), equal_nan=equal_nan)
