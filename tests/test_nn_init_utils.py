"""nn.init vs torch.nn.init (exact where deterministic, moments and bounds where random) and
nn.utils vs torch.nn.utils (gradient clipping, parameter vectors)."""
import math

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from helpers import assert_close, rand, requires_torch, torch

TI = torch.nn.init if torch is not None else None
SHAPES = [(300, 200), (64, 32, 3, 3), (40, 8, 5)]


@requires_torch
def test_gain_and_fans_match_torch_exactly():
    for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                  ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                  ("conv_transpose3d", None)]:
        assert nn.init.calculate_gain(nl, p) == TI.calculate_gain(nl, p), nl
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    for shape in SHAPES + [(5, 3)]:
        assert nn.init.calculate_fan_in_and_fan_out(tg.empty(*shape)) == \
            TI._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dims"):
        nn.init.calculate_fan_in_and_fan_out(tg.empty(4))


def _both(name, shape, *args, **kw):
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours = getattr(nn.init, name)(nn.Parameter(tg.empty(*shape)), *args, **kw)
    ref = getattr(TI, name)(torch.empty(*shape), *args, **kw)
    return ours.numpy().astype(np.float64), ref.numpy().astype(np.float64)


RANDOM = [("uniform_", (-0.3, 0.7), {}), ("normal_", (0.5, 2.0), {}),
          ("xavier_uniform_", (), dict(gain=1.5)), ("xavier_normal_", (), dict(gain=0.5)),
          ("kaiming_uniform_", (), dict(a=0.1, mode="fan_out", nonlinearity="leaky_relu")),
          ("kaiming_uniform_", (), dict(nonlinearity="relu")),
          ("kaiming_normal_", (), dict(mode="fan_out", nonlinearity="relu")),
          ("kaiming_normal_", (), dict(a=math.sqrt(5))),
          ("trunc_normal_", (), dict(mean=0.2, std=0.5, a=-0.3, b=1.0))]


@requires_torch
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,args,kw", RANDOM, ids=[f"{n}{k}" for n, _, k in RANDOM])
def test_random_inits_match_torch_in_distribution(name, args, kw, shape):
    ours, ref = _both(name, shape, *args, **kw)
    n = ours.size
    # two samples of one distribution: means within 5 standard errors, stds within 5 %
    se = ref.std() / math.sqrt(n)
    assert abs(ours.mean() - ref.mean()) < 5 * se + 1e-12
    assert abs(ours.std() / ref.std() - 1) < 0.05
    if "uniform" in name:  # same support: the extremes sit at the same bound
        assert abs(ours.max() - ref.max()) < 0.02 * (ref.max() - ref.min())
        assert abs(ours.min() - ref.min()) < 0.02 * (ref.max() - ref.min())
    if name == "trunc_normal_":
        assert ours.min() >= -0.3 and ours.max() <= 1.0


@requires_torch
def test_orthogonal_eye_dirac_constant_match_torch():
    for shape in [(6, 4), (4, 6), (8, 3, 2, 2)]:
        ours, _ = _both("orthogonal_", shape, gain=2.0)
        flat = ours.reshape(shape[0], -1)
        gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        assert_close(gram, 4 * np.eye(gram.shape[0]), atol=1e-5, what="orthogonal")
    for name, shape, args in [("eye_", (3, 5), ()), ("dirac_", (4, 2, 3, 3), ()),
                              ("dirac_", (6, 2, 3), (2,)), ("constant_", (2, 3), (0.25,)),
                              ("ones_", (2, 2), ()), ("zeros_", (3,), ())]:
        ours, ref = _both(name, shape, *args)
        assert np.array_equal(ours, ref), name
    with pytest.raises(ValueError, match="2-D"):
        nn.init.eye_(tg.empty(2, 2, 2))
    with pytest.raises(ValueError, match="mode"):
        nn.init.kaiming_normal_(tg.empty(2, 2), mode="fan_avg")


def test_init_accepts_a_parameter_view_and_works_under_grad():
    p = nn.Parameter(tg.ones(3, 4))
    out = nn.init.zeros_(p.data)
    assert not p.numpy().any() and out.shape == (3, 4)
    nn.init.constant_(p, 2.0)  # a leaf that requires grad: init runs under no_grad
    assert p.requires_grad and p.grad_fn is None and (p.numpy() == 2).all()


def _grads(lib, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    T = tg if lib == "tg" else torch
    ps = []
    for s in shapes:
        p = (nn.Parameter(tg.ones(*s)) if lib == "tg" else
             torch.nn.Parameter(torch.ones(*s)))
        g = rng.standard_normal(s).astype(np.float32)
        p.grad = T.tensor(g) if lib == "tg" else torch.from_numpy(g)
        ps.append(p)
    return ps


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf], ids=str)
@pytest.mark.parametrize("max_norm", [0.5, 100.0], ids=["clipped", "unclipped"])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, ref = _grads("tg"), _grads("torch")
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    for p, r in zip(ours, ref):
        np.testing.assert_allclose(p.grad.numpy(), r.grad.numpy(), rtol=1e-6, atol=1e-7)


@requires_torch
def test_clip_grad_value_and_nonfinite_and_vectors_match_torch():
    ours, ref = _grads("tg", 1), _grads("torch", 1)
    nn.utils.clip_grad_value_(ours, 0.4)
    torch.nn.utils.clip_grad_value_(ref, 0.4)
    for p, r in zip(ours, ref):
        assert np.array_equal(p.grad.numpy(), r.grad.numpy())
    ours[0].grad.array[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    ref[0].grad[0, 0] = float("inf")
    total = nn.utils.clip_grad_norm_(ours, 1.0)  # as torch: inf norm, grads become 0 / nan
    ttotal = torch.nn.utils.clip_grad_norm_(ref, 1.0)
    assert np.isinf(total.item()) and np.isinf(ttotal.item())
    for p, r in zip(ours, ref):
        np.testing.assert_array_equal(p.grad.numpy(), r.grad.numpy())
    assert nn.utils.clip_grad_norm_([nn.Parameter(tg.ones(2))], 1.0).item() == 0.0
    lin, tlin = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    vec = rand(8, seed=3, dtype=np.float32)
    nn.utils.vector_to_parameters(tg.tensor(vec), lin.parameters())
    torch.nn.utils.vector_to_parameters(torch.from_numpy(vec), tlin.parameters())
    for p, r in zip(lin.parameters(), tlin.parameters()):
        assert np.array_equal(p.numpy(), r.detach().numpy())
    v = nn.utils.parameters_to_vector(lin.parameters())
    assert np.array_equal(v.numpy(), torch.nn.utils.parameters_to_vector(
        tlin.parameters()).detach().numpy())
    v.sum().backward()  # differentiable, as torch's
    assert (lin.weight.grad.numpy() == 1).all()
    with pytest.raises(ValueError, match="does not hold"):
        nn.utils.vector_to_parameters(tg.ones(3), lin.parameters())
    with pytest.raises(TypeError, match="foreach"):
        nn.utils.clip_grad_norm_(lin.parameters(), 1.0, foreach="yes")
