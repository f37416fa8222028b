"""Loss functions against PyTorch at the points where naive formulas go wrong: logits exactly
0, probabilities exactly 0 or 1, unbatched inputs; and F.one_hot."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import assert_close, check_op, rand, requires_torch, torch

TF = torch.nn.functional if torch is not None else None
REDUCTIONS = ["mean", "sum", "none"]


def _grads(fn_ours, fn_theirs, arrays, n_grad=None):
    """Forward and input gradients (under a random upstream gradient) of both libraries;
    the first ``n_grad`` inputs (default: all) require grad."""
    n_grad = len(arrays) if n_grad is None else n_grad
    ours = [tg.tensor(a, requires_grad=i < n_grad) for i, a in enumerate(arrays)]
    theirs = [torch.from_numpy(a.copy()).requires_grad_(i < n_grad) for i, a in enumerate(arrays)]
    y, ty = fn_ours(*ours), fn_theirs(*theirs)
    g = rand(*ty.shape, seed=9)
    y.backward(tg.tensor(g, dtype=y.dtype))
    ty.backward(torch.from_numpy(g).to(ty.dtype))
    assert_close(y.numpy(), ty.detach().numpy(), what="loss")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert (a.grad is None) == (b.grad is None), f"input {i}: got a gradient where torch not"
        if b.grad is not None:
            assert_close(a.grad.numpy(), b.grad.numpy(), what=f"grad of input {i}")
    return ours


@requires_torch
def test_bce_with_logits_gradient_at_zero_logits_is_half_minus_target():
    # a zero-initialised head gives logits exactly 0 on the first step
    t = np.array([0.0, 1.0, 0.25, 1.0])
    x = tg.zeros(4, dtype=tg.float64, requires_grad=True)
    F.binary_cross_entropy_with_logits(x, tg.tensor(t), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5 - t, atol=1e-12)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch_with_exact_zeros(reduction, weights):
    x = rand(3, 4, seed=1, low=-30, high=30)
    x[0] = 0.0
    t = rand(3, 4, seed=2, low=0, high=1)
    w = rand(3, 4, seed=3, low=0.1, high=2)
    pw = rand(4, seed=4, low=0.5, high=3)
    kw = {"weight": "weight" in weights or weights == "both",
          "pos_weight": "pos_weight" in weights or weights == "both"}

    def run(lib, f):
        def fn(x, t, w, pw):
            return f(x, t, weight=w if kw["weight"] else None, reduction=reduction,
                     pos_weight=pw if kw["pos_weight"] else None)
        return fn

    # x and t get gradients (torch refuses weights that require grad)
    _grads(run(tg, F.binary_cross_entropy_with_logits),
           run(torch, TF.binary_cross_entropy_with_logits), [x, t, w, pw], n_grad=2)


def test_bce_with_logits_gradcheck_through_zero():
    x = tg.tensor(np.array([-1.0, 0.0, 0.0, 2.0]), requires_grad=True)
    t = tg.tensor(np.array([0.0, 1.0, 0.3, 1.0]), requires_grad=True)
    pw = tg.tensor(np.array([2.0, 0.5, 1.5, 1.0]), requires_grad=True)
    assert tg.gradcheck(lambda x, t, p: F.binary_cross_entropy_with_logits(x, t, pos_weight=p),
                        [x, t, pw])
    assert tg.gradgradcheck(lambda x, t: F.binary_cross_entropy_with_logits(x, t), [x, t])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_at_probabilities_zero_and_one_matches_torch(reduction):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 0.7])
    w = rand(6, seed=1, low=0.5, high=2)
    ours = _grads(lambda p, t, w: F.binary_cross_entropy(p, t, w, reduction=reduction),
                  lambda p, t, w: TF.binary_cross_entropy(p, t, w, reduction=reduction),
                  [p, t, w], n_grad=2)  # torch refuses a weight that requires grad
    assert np.isfinite(ours[0].grad.numpy()).all()


@requires_torch
def test_bce_after_saturated_float32_sigmoid_has_finite_gradient_like_torch():
    # float32 sigmoid(x) == 1 for x > ~17: the gradient must not be 0/0
    x = np.array([20.0, -20.0, 17.5, 0.0, 3.0], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype=np.float32)
    ours = tg.tensor(x, requires_grad=True)
    ref = torch.from_numpy(x).requires_grad_()
    loss = F.binary_cross_entropy(ours.sigmoid(), tg.tensor(t))
    tloss = TF.binary_cross_entropy(ref.sigmoid(), torch.from_numpy(t))
    loss.backward()
    tloss.backward()
    assert np.isfinite(ours.grad.numpy()).all()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-7)


@requires_torch
def test_bce_matches_torch_inside_and_gradchecks():
    check_op(lambda p, t: F.binary_cross_entropy(p, t),
             lambda p, t: TF.binary_cross_entropy(p, t),
             inputs=[rand(3, 4, low=0.05, high=0.95), rand(3, 4, seed=2, low=0, high=1)])


@requires_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_unbatched_class_losses_have_torch_shapes(fn, reduction, smoothing):
    if fn == "nll_loss" and smoothing:
        pytest.skip("nll_loss has no label smoothing")
    kw = {"label_smoothing": smoothing} if smoothing else {}
    x = rand(5, seed=3)
    ours = getattr(F, fn)(tg.tensor(x), tg.tensor(2), reduction=reduction, **kw)
    ref = getattr(TF, fn)(torch.from_numpy(x), torch.tensor(2), reduction=reduction, **kw)
    assert ours.shape == tuple(ref.shape)
    assert_close(ours.numpy(), ref.numpy())


@requires_torch
@pytest.mark.parametrize("num_classes", [-1, 6])
def test_one_hot_matches_torch(num_classes):
    t = np.array([[0, 3], [2, 1], [3, 3]])
    ours = F.one_hot(tg.tensor(t), num_classes)
    ref = TF.one_hot(torch.from_numpy(t), num_classes)
    assert ours.dtype == tg.int64 and not ours.requires_grad
    assert ours.tolist() == ref.tolist()


@pytest.mark.parametrize("call,exc,message", [
    (lambda: F.one_hot(tg.tensor([1.0])), TypeError, r"one_hot: .*index tensors"),
    (lambda: F.one_hot(tg.tensor([3]), 3), RuntimeError, r"smaller than num_classes=3"),
    (lambda: F.one_hot(tg.tensor([-1])), RuntimeError, r"non-negative"),
    (lambda: F.one_hot(tg.tensor([], dtype=tg.int64)), RuntimeError, r"empty tensor"),
    (lambda: F.one_hot([1, 2]), TypeError, r"F.one_hot: expected a Tensor"),
])
def test_one_hot_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "mse_loss", "l1_loss",
                                  "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_losses_refuse_a_nested_list_with_a_type_error(name):
    with pytest.raises(TypeError, match=rf"F.{name}: expected a Tensor"):
        getattr(F, name)([[0.5, 0.5]], tg.tensor([[0.5, 0.5]]))
