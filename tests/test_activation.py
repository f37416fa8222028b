"""Activations vs PyTorch, at their kinks too; ``inplace=True`` really writes in place; F.*
refuse non-tensors with a TypeError naming the function."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import assert_close, check_op, rand, requires_torch, torch

TF = torch.nn.functional if torch is not None else None
# every kink of relu/relu6/hardtanh/hardsigmoid/hardswish/leaky_relu/elu, exactly
KINKS = np.array([-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 7.0, -0.5, 2.5])

ACTIVATIONS = {
    "relu": ((), {}), "relu6": ((), {}), "hardtanh": ((-1.0, 2.0), {}),
    "leaky_relu": ((0.2,), {}), "elu": ((0.7,), {}), "hardsigmoid": ((), {}),
    "hardswish": ((), {}), "silu": ((), {}), "mish": ((), {}), "softplus": ((), {}),
    "gelu": ((), {"approximate": "tanh"}), "sigmoid": ((), {}), "tanh": ((), {}),
}
INPLACE = ["relu", "relu6", "hardtanh", "leaky_relu", "elu", "hardsigmoid", "hardswish",
           "silu", "mish"]


def _call(lib, name):
    args, kw = ACTIVATIONS[name]
    return lambda x, **more: getattr(lib, name)(x, *args, **kw, **more)


@requires_torch
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_torch_at_kinks_and_gradchecks(name):
    check_op(_call(F, name), _call(TF, name), inputs=[KINKS], gradcheck=False)
    # finite differences away from the kinks
    check_op(_call(F, name), _call(TF, name), inputs=[rand(3, 5, seed=2, low=-5, high=7)])


@requires_torch
@pytest.mark.parametrize("beta,threshold", [(1.0, 20.0), (2.0, 5.0), (0.5, 1.0)])
def test_softplus_beta_threshold_match_torch(beta, threshold):
    x = rand(4, 6, low=-12, high=12)
    check_op(lambda t: F.softplus(t, beta, threshold),
             lambda t: TF.softplus(t, beta, threshold), inputs=[x])


@requires_torch
@pytest.mark.parametrize("name", INPLACE)
def test_inplace_writes_into_a_non_leaf_and_gradients_match_torch(name):
    x = rand(3, 4, seed=5, low=-5, high=7)
    w = rand(4, 4, seed=6)
    ours_x, ours_w = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    ref_x, ref_w = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    h, th = ours_x @ ours_w, ref_x @ ref_w
    view = h[0]  # a view sees the in-place write, as in PyTorch
    version = h._version
    out = _call(F, name)(h, inplace=True)
    tout = _call(TF, name)(th, inplace=True)
    assert out is h and tout is th and h._version > version
    assert_close(h.numpy(), th.detach().numpy(), what="in-place result")
    assert_close(view.numpy(), th.detach().numpy()[0], what="view of the tensor")
    g = rand(3, 4, seed=7)
    (h * tg.tensor(g)).sum().backward()
    (th * torch.from_numpy(g)).sum().backward()
    assert_close(ours_x.grad.numpy(), ref_x.grad.numpy(), what="grad of x")
    assert_close(ours_w.grad.numpy(), ref_w.grad.numpy(), what="grad of w")


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_on_a_leaf_that_requires_grad_raises_like_torch(name):
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        _call(F, name)(x, inplace=True)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_without_grad_changes_the_tensor(name):
    x = tg.tensor(KINKS.copy())
    expected = _call(F, name)(tg.tensor(KINKS.copy())).numpy()
    assert _call(F, name)(x, inplace=True) is x
    np.testing.assert_array_equal(x.numpy(), expected)


def test_inplace_must_be_a_bool():
    with pytest.raises(TypeError, match=r"F.relu: inplace must be a bool"):
        F.relu(tg.ones(2), inplace="yes")


@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh", "leaky_relu", "elu", "gelu",
                                  "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu",
                                  "mish", "softplus", "softmax", "log_softmax", "linear"])
def test_functional_refuses_a_nested_list_with_a_type_error(name):
    args = {"softmax": (0,), "log_softmax": (0,), "linear": (tg.ones(2, 2),)}.get(name, ())
    with pytest.raises(TypeError, match=rf"F.{name}: expected a Tensor, got list"):
        getattr(F, name)([[1.0, 2.0]], *args)


@requires_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_methods_match_torch(name, dim):
    check_op(lambda t: getattr(t, name)(dim), inputs=[rand(3, 4)])


@requires_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((2, 0), 1), ((0, 3), 0), ((2, 0), 0), ((), 0),
                                       ((), -1)], ids=str)
def test_softmax_over_empty_and_zero_dim_tensors_like_torch(name, shape, dim):
    x = rand(*shape)
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    y, ty = getattr(F, name)(ours, dim), getattr(TF, name)(ref, dim)
    assert y.shape == tuple(ty.shape)
    assert_close(y.numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    assert_close(ours.grad.numpy(), ref.grad.numpy())
