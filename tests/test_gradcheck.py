"""tg.gradcheck itself: it passes right gradients and names the element of a wrong one."""
import pytest

import tinygrad_cnn as tg
from helpers import rand


class WrongAt2(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, gy):
        return gy * tg.tensor([2.0, 2.0, 2.5, 2.0], dtype=tg.float64)


def test_passes_correct_gradients():
    x = tg.tensor(rand(2, 3), requires_grad=True)
    w = tg.tensor(rand(3, 2, seed=1), requires_grad=True)
    assert tg.gradcheck(lambda a, b: (a @ b).tanh(), [x, w])
    assert tg.gradcheck(lambda a, b: (a @ b).tanh(), [x, w], fast_mode=True)


def test_names_input_and_element_of_a_wrong_gradient():
    x = tg.tensor(rand(4), requires_grad=True)
    with pytest.raises(tg.autograd.GradcheckError,
                       match=r"w.r.t. input 0 differs at input element \(2,\).*analytic 2.5, "
                             r"numerical 2"):
        tg.gradcheck(WrongAt2.apply, [x])
    assert tg.gradcheck(WrongAt2.apply, [x], raise_exception=False) is False
    with pytest.raises(tg.autograd.GradcheckError, match="directional derivative"):
        tg.gradcheck(WrongAt2.apply, [x], fast_mode=True)


def test_requires_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        tg.gradcheck(lambda a: a * 2, [tg.ones(2)])
