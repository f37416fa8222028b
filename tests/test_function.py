"""User-defined ops through tg.autograd.Function, PyTorch-style."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import rand


class Cube(tg.autograd.Function):
    """y = x**3"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, gy):
        """gx = 3 x**2 gy"""
        (x,) = ctx.saved_tensors
        return 3 * x * x * gy


class ScaleAndShift(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, shift):
        ctx.scale = scale
        assert ctx.needs_input_grad == (True, False, True)
        return x * scale + shift

    @staticmethod
    def backward(ctx, gy):
        return gy * ctx.scale, None, gy


class SplitHalves(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        return x[:n] * 1, x[n:] * 2

    @staticmethod
    def backward(ctx, ga, gb):
        return tg.cat([ga, gb * 2])


def test_custom_function_gradient_and_graph_node():
    x = tg.tensor(rand(4), requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube" and y.grad_fn.rule == "gx = 3 x**2 gy"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * rand(4) ** 2)
    assert tg.gradcheck(Cube.apply, [tg.tensor(rand(3), dtype=tg.float64, requires_grad=True)])


def test_custom_function_is_twice_differentiable():
    x = tg.tensor(rand(3), requires_grad=True)
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * rand(3))


def test_non_tensor_arguments_and_needs_input_grad():
    x = tg.tensor(rand(3), requires_grad=True)
    b = tg.tensor(rand(3, seed=2), requires_grad=True)
    ScaleAndShift.apply(x, 4.0, b).sum().backward()
    assert x.grad.tolist() == [4.0] * 3 and b.grad.tolist() == [1.0] * 3


def test_multiple_outputs_with_one_unused():
    x = tg.tensor(rand(4), requires_grad=True)
    a, b = SplitHalves.apply(x)
    assert a.grad_fn is b.grad_fn and b._output_nr == 1
    b.sum().backward()  # a gets no gradient: backward sees zeros for it
    assert x.grad.tolist() == [0.0, 0.0, 2.0, 2.0]


def test_function_without_grad_records_nothing():
    x = tg.tensor(rand(2))
    assert Cube.apply(x).grad_fn is None
    with tg.no_grad():
        assert Cube.apply(tg.tensor(rand(2), requires_grad=True)).grad_fn is None


def test_wrong_number_of_gradients_is_reported():
    class Bad(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, gy):
            return gy

    with pytest.raises(RuntimeError, match="Bad.backward returned 1 gradients, forward took 2"):
        Bad.apply(tg.ones(2, requires_grad=True), tg.ones(2)).sum().backward()


def test_a_saved_tensor_changed_in_place_makes_backward_raise():
    class Square(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return 2 * x * gy

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Square.apply(h)
    with tg.no_grad():
        h.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_a_saved_output_changed_in_place_makes_backward_raise():
    class Exp(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, gy):
            (y,) = ctx.saved_tensors
            return y * gy

    x = tg.tensor([0.0, 1.0], requires_grad=True)
    y = Exp.apply(x)
    with tg.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
