"""Autograd semantics: graph shapes, retain/create_graph, hooks, grad modes, memory."""
import gc
import weakref

import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import assert_close, rand, requires_torch, torch


def leaf(v, **kw):
    return tg.tensor(v, dtype=tg.float64, requires_grad=True, **kw)


def test_diamond_graph_sums_both_paths():
    x = leaf(3.0)
    a = x * 2
    b = x ** 2
    (a * b).backward()  # d/dx 2x^3 = 6x^2
    assert x.grad.item() == pytest.approx(54.0)


def test_shared_leaf_used_many_times():
    x = leaf([1.0, 2.0])
    y = x * x * x + x
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 13.0]


def test_gradients_accumulate_across_backward_calls_and_reset():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_two_leaves_never_share_one_gradient_object():
    a, b = leaf([1.0]), leaf([1.0])
    (a + b).sum().backward()
    assert a.grad is not b.grad
    a.grad.array[0] = 5.0
    assert b.grad.item() == 1.0


def test_non_scalar_backward_needs_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for outputs with "
                                           r"one element; output 0 has shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(tg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]
    with pytest.raises(RuntimeError, match=r"gradient of shape \(3,\) does not match output 0 of "
                                           r"shape \(2,\)"):
        (x * 2).backward(tg.ones(3))


def test_backward_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        tg.ones(2).sum().backward()


def test_second_backward_raises_unless_retained():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match=r"backward through 'sum' a second time.*"
                                           r"retain_graph=True"):
        y.backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match=r"only floating point tensors can require gradients, "
                                           r"got dtype int64 \(shape \(2,\)\)"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="got dtype bool"):
        tg.tensor([True]).requires_grad_()


def test_no_grad_and_enable_grad_nest_and_decorate():
    x = leaf(2.0)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn.name == "mul"

    @tg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert tg.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            raise ZeroDivisionError("raised inside no_grad")
    assert tg.is_grad_enabled()


def test_detach_and_requires_grad_():
    x = leaf([1.0])
    d = (x * 2).detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.array, (d).array)
    y = tg.ones(2)
    y.requires_grad_()
    (y * 2).sum().backward()
    assert y.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="only change requires_grad of leaf"):
        (x * 2).requires_grad_(False)


def test_graph_structure_is_introspectable():
    x = leaf([1.0])
    w = leaf([2.0])
    y = (x * w).exp()
    assert y.grad_fn.name == "exp" and y.grad_fn.rule == "gx = gy * y"
    (mul_node, nr), = y.grad_fn.next_functions
    assert mul_node.name == "mul" and nr == 0
    assert [e[0] for e in mul_node.next_functions] == [x, w]
    assert "gy * x1" in tg.ops.registry["mul"].rule


def test_every_registered_op_states_its_backward_rule():
    assert len(tg.ops.registry) >= 40
    for name, op in tg.ops.registry.items():
        assert op.name == name and op.rule and op.__doc__ is not None or op.forward, name
        assert len(op.rule) > 5, name


def test_retain_grad_on_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    assert x.grad.tolist() == [18.0, 36.0]
    assert (x * 2).grad is None


def test_hooks_see_and_replace_gradients():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    h = x * 2
    handle = h.register_hook(lambda g: g * 10)
    h.sum().backward()
    assert seen == [[20.0, 20.0]]
    assert x.grad.tolist() == [20.0, 20.0]
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_autograd_grad_does_not_touch_dot_grad():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    y = (x * w).sum()
    gx, = tg.autograd.grad(y, x)
    assert gx.tolist() == [3.0, 4.0] and x.grad is None and w.grad is None
    with pytest.raises(RuntimeError, match="was not used to compute the outputs"):
        tg.autograd.grad((x * 2).sum(), [x, leaf([0.0])])
    gx, gz = tg.autograd.grad((x * 2).sum(), [x, leaf([0.0])], allow_unused=True)
    assert gz is None and gx.tolist() == [2.0, 2.0]


def test_autograd_grad_of_intermediate():
    x = leaf([1.0, 2.0])
    h = x * x
    y = (h * 3).sum()
    gh, = tg.autograd.grad(y, h)
    assert gh.tolist() == [3.0, 3.0]


def test_backward_inputs_restricts_accumulation():
    x, w = leaf([1.0]), leaf([2.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1.0]


@requires_torch
def test_higher_order_derivatives_match_torch():
    v = rand(4, seed=3)
    x = leaf(v)
    tx = torch.from_numpy(v).requires_grad_()

    def f(lib_x, lib):
        return (lib_x.sin() * lib_x.exp() + lib_x ** 3 / (1 + lib_x * lib_x)).tanh().sum()

    g1, = tg.autograd.grad(f(x, tg), x, create_graph=True)
    g2, = tg.autograd.grad(g1.sum(), x, create_graph=True)
    g3, = tg.autograd.grad(g2.sum(), x)
    t1, = torch.autograd.grad(f(tx, torch), tx, create_graph=True)
    t2, = torch.autograd.grad(t1.sum(), tx, create_graph=True)
    t3, = torch.autograd.grad(t2.sum(), tx)
    for ours, ref in ((g1, t1), (g2, t2), (g3, t3)):
        assert_close(ours.numpy(), ref.detach().numpy())


@requires_torch
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_backward_accumulates_differentiable_grad():
    v = rand(3, seed=4)
    x = leaf(v)
    tx = torch.from_numpy(v).requires_grad_()
    (x ** 3).sum().backward(create_graph=True)
    (tx ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    x.grad.sum().backward()
    tx.grad.sum().backward()
    assert_close(x.grad.numpy(), tx.grad.detach().numpy())


def test_gradgradcheck_through_reductions_and_matmul():
    a = leaf(rand(2, 3, seed=1))
    b = leaf(rand(3, 2, seed=2))
    assert tg.gradgradcheck(lambda p, q: (p @ q).logsumexp(1), [a, b])
    assert tg.gradgradcheck(lambda p: p.var(0) + p.std(1).sum(), [a])


def test_deep_chain_of_100k_ops_has_no_recursion_limit():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # dropping a 100k-node graph must not overflow the C stack either
    gc.collect()


def test_graph_is_freed_after_backward_and_drop():
    x = leaf(rand(3))
    h = x.exp()
    y = (h * h).sum()
    ref_h, ref_node = weakref.ref(h), weakref.ref(h.grad_fn)
    del h
    y.backward()
    assert ref_node() is not None  # the structure stays while y lives
    del y
    assert ref_h() is None and ref_node() is None  # no cycles: freed without gc


def test_intermediates_not_saved_are_freed_during_forward():
    x = leaf(rand(1000))
    h = x + 1  # add's rule saves nothing: its output need not outlive the next op
    ref = weakref.ref(h)
    y = (h + 1).sum()
    del h
    assert ref() is None
    y.backward()
    assert x.grad.tolist() == [1.0] * 1000


def test_saved_tensors_released_after_backward():
    x = leaf(rand(3))
    h = x.exp()
    y = (h * 2).sum()
    node = y.grad_fn
    ref = weakref.ref(h)
    del h
    assert ref() is not None  # mul saved it
    y.backward()
    assert ref() is None  # freed with the closure
    assert node.freed


def test_backward_on_a_leaf_itself():
    x = leaf([1.0, 2.0])
    x.backward(tg.tensor([3.0, 4.0]))
    assert x.grad.tolist() == [3.0, 4.0]


SECOND_ORDER = {
    "exp": lambda a, b: a.exp(), "log": lambda a, b: (a * a + 1).log(),
    "sqrt": lambda a, b: (a * a + 1).sqrt(), "sin": lambda a, b: a.sin(),
    "cos": lambda a, b: a.cos(), "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(), "relu": lambda a, b: a.relu() * a,
    "abs": lambda a, b: abs(a) * a, "clamp": lambda a, b: a.clamp(-0.5, 0.5) * a,
    "div": lambda a, b: a / (b * b + 1), "pow": lambda a, b: (a * a + 1) ** b,
    "maximum": lambda a, b: a.maximum(b) * a, "where": lambda a, b: tg.where(a > b, a * a, b),
    "sum_mean": lambda a, b: a.sum(0) * b.mean(), "prod": lambda a, b: a.prod(1),
    "var_std": lambda a, b: a.var(1).sum() * b.std(0), "logsumexp": lambda a, b: a.logsumexp(0),
    "amax": lambda a, b: a.amax(1) * b.max(), "max_dim": lambda a, b: (a * b).max(1).values,
    "shape": lambda a, b: (a.T.reshape(6).unsqueeze(0).expand(2, 6) * b.flatten()).flip(1),
    "cat_stack": lambda a, b: tg.stack([tg.cat([a, b], 1) ** 2, tg.cat([b, a], 1)]),
    "index": lambda a, b: (a[[0, 0, 1]] * b[[1, 0, 1]][:, None, 1]) ** 2,
    "matmul": lambda a, b: (a @ b.T) ** 2,
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_second_derivatives_by_gradgradcheck(name):
    a = leaf(rand(2, 3, seed=1))
    b = leaf(rand(2, 3, seed=2))
    assert tg.gradgradcheck(SECOND_ORDER[name], [a, b])


def test_autograd_grad_leaves_retained_grads_alone():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (g,) = tg.autograd.grad((h * h).sum(), x)
    assert h.grad is None and x.grad is None and g.tolist() == [18.0, 36.0]


def test_the_engine_tells_a_backward_which_gradients_are_wanted():
    # autograd.grad for x only: matmul's backward must not compute w's gradient at all
    calls = []
    real = tg.ops.registry["matmul"]
    x = tg.randn(3, 4, requires_grad=True)
    w = tg.randn(4, 2, requires_grad=True)
    y = (x @ w).sum()
    node = y.grad_fn.next_functions[0][0]
    fn = node.backward_fn

    def spy(gy, needs):
        calls.append(needs)
        return fn(gy, needs=needs)

    node.backward_fn = spy
    (gx,) = tg.autograd.grad(y, x)
    assert calls == [(True, False)] and real.needs_mask
    np.testing.assert_allclose(gx.numpy(), np.ones((3, 2)) @ w.numpy().T, rtol=1e-6)
