"""In-place ops: results and gradients as PyTorch, version counters that stop a backward
through changed tensors, and the leaf rule."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim
from helpers import assert_close, rand, requires_torch, torch

CASES = {
    "add_": lambda t, o: t.add_(o, alpha=2),
    "sub_": lambda t, o: t.sub_(o),
    "mul_": lambda t, o: t.mul_(o),
    "div_": lambda t, o: t.div_(o),
    "clamp_": lambda t, o: t.clamp_(-0.5, 0.5),
    "relu_": lambda t, o: t.relu_(),
    "neg_": lambda t, o: t.neg_(),
}


@requires_torch
@pytest.mark.parametrize("name", list(CASES))
def test_inplace_on_a_non_leaf_matches_torch(name):
    x, o = rand(3, 4, seed=1), rand(3, 4, seed=2, low=0.5, high=2.0)
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    h = ours * 1.5
    th = ref * 1.5
    r = CASES[name](h, tg.tensor(o))
    tr = CASES[name](th, torch.from_numpy(o))
    assert r is h and h._version == 1 and tr is th  # in-place ops return their tensor
    assert_close(h.numpy(), th.detach().numpy())
    g = rand(3, 4, seed=3)
    (h * tg.tensor(g)).sum().backward()
    (th * torch.from_numpy(g)).sum().backward()
    assert_close(ours.grad.numpy(), ref.grad.numpy())


def test_self_multiplication_in_place_uses_the_old_value():
    # PyTorch raises here; the old value is the only sensible operand, so this engine uses it
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.5
    h.mul_(h)
    h.sum().backward()
    assert x.grad.tolist() == [4.5, 9.0]  # d/dx (1.5x)^2


def test_views_see_in_place_writes_as_in_pytorch():
    x = tg.arange(4.0).reshape(2, 2)
    v = x.T
    x.add_(10)
    assert v.tolist() == [[10.0, 12.0], [11.0, 13.0]] and x.tolist() == [[10.0, 11.0], [12.0, 13.0]]


def test_changing_a_saved_tensor_makes_backward_raise_naming_op_and_versions():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    c = (b * b).sum()          # mul saved b at version 0
    b.add_(1)
    with pytest.raises(RuntimeError, match=r"backward of 'mul'.*version 1, the op saw version 0"):
        c.backward()


def test_a_saved_output_changed_in_place_makes_backward_raise():
    a = tg.tensor([0.5, 1.0], requires_grad=True)
    y = a.exp()
    y.add_(1)                  # exp saved its output for backward: PyTorch raises here too
    with pytest.raises(RuntimeError, match=r"backward of 'exp': its output.*modified"):
        y.sum().backward()


def test_leaf_rule_and_no_grad():
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf tensor that requires grad"):
        w.add_(1)
    with tg.no_grad():
        w.add_(1).mul_(3).clamp_(max=5.0)
    assert w.tolist() == [5.0, 5.0] and w._version == 3 and w.is_leaf
    z = tg.zeros(2, 2)
    assert z.fill_(1.5).tolist() == [[1.5, 1.5]] * 2
    assert z.copy_(tg.tensor([1.0, 2.0])).tolist() == [[1.0, 2.0]] * 2
    assert z.zero_().tolist() == [[0.0, 0.0]] * 2
    with pytest.raises(RuntimeError, match="does not fit the tensor of shape"):
        tg.zeros(2).add_(tg.ones(3, 2))


def test_an_optimizer_step_invalidates_graphs_that_saved_the_parameters():
    conv = nn.Conv2d(1, 1, 2)
    opt = optim.SGD(conv.parameters(), lr=0.1)
    x = tg.ones(1, 1, 3, 3, requires_grad=True)
    loss = conv(x).sum()              # conv2d saves its weight for the input's gradient
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_a_weight_gradient_that_never_reads_the_weight_survives_an_optimizer_step():
    # conv's weight gradient reads only the input: with an input that needs no gradient, the
    # step does not invalidate the graph, and the second backward gives the same gradient
    conv = nn.Conv2d(1, 1, 2)
    opt = optim.SGD(conv.parameters(), lr=0.1)
    loss = conv(tg.arange(9.0).reshape(1, 1, 3, 3)).sum()
    loss.backward(retain_graph=True)
    first = conv.weight.grad.numpy().copy()
    opt.step()
    opt.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(conv.weight.grad.numpy(), first)
