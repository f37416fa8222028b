"""Property tests (hypothesis): drawn shapes and CNN hyper-parameters, each checked against
PyTorch forward and backward. Profiles: "ci" (default, 100 examples per test) and "heavy"
(HYPOTHESIS_PROFILE=heavy)."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402
import tinygrad_cnn.functional as F  # noqa: E402
from helpers import assert_close, requires_torch, torch  # noqa: E402

settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("heavy", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _compare(fn_ours, fn_ref, arrays, seed=0):
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    refs = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    y, ty = fn_ours(*ours), fn_ref(*refs)
    assert_close(y.numpy(), ty.detach().numpy(), 1e-8, 1e-6, "forward")
    g = np.random.default_rng(seed).standard_normal(ty.shape)
    y.backward(tg.tensor(g))
    ty.backward(torch.from_numpy(g))
    for i, (a, b) in enumerate(zip(ours, refs)):
        assert_close(a.grad.numpy(), b.grad.numpy(), 1e-8, 1e-6, f"grad {i}")


@st.composite
def broadcastable(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))
    other = [draw(st.sampled_from([s, 1])) for s in shape]
    cut = draw(st.integers(0, len(other)))
    return tuple(shape), tuple(other[cut:])


@requires_torch
@given(shapes=broadcastable(), op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]),
       seed=st.integers(0, 2 ** 16))
def test_binary_ops_on_broadcast_shapes(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, shapes[0])
    b = rng.uniform(0.5, 2, shapes[1])
    _compare(lambda x, y: getattr(tg, op)(x, y), lambda x, y: getattr(torch, op)(x, y), [a, b])


@st.composite
def conv_case(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    st_ = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    g = draw(st.sampled_from([1, 2]))
    c = g * draw(st.integers(1, 2))
    f = g * draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    assume(all(s + 2 * pp >= dd * (kk - 1) + 1 for s, pp, dd, kk in zip((h, w), p, d, k)))
    return dict(n=draw(st.integers(1, 2)), c=c, f=f, h=h, w=w, k=k, stride=st_, dilation=d,
                padding=p, groups=g, seed=draw(st.integers(0, 2 ** 16)))


@requires_torch
@given(case=conv_case(), bias=st.booleans())
def test_conv2d_drawn_parameters(case, bias):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    w = rng.standard_normal((case["f"], case["c"] // case["groups"]) + case["k"])
    arrays = [x, w] + ([rng.standard_normal(case["f"])] if bias else [])
    kw = {k: case[k] for k in ("stride", "dilation", "padding", "groups")}
    _compare(lambda *t: F.conv2d(*t, **kw), lambda *t: torch.nn.functional.conv2d(*t, **kw),
             arrays)


@requires_torch
@given(case=conv_case(), op=st.integers(0, 2))
def test_conv_transpose2d_drawn_parameters(case, op):
    out_pad = tuple(min(op, s - 1) for s in case["stride"])
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    w = rng.standard_normal((case["c"], case["f"] // case["groups"]) + case["k"])
    kw = dict(stride=case["stride"], padding=case["padding"], output_padding=out_pad,
              groups=case["groups"], dilation=case["dilation"])
    size = [(i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, s, p, d, k, o in
            zip((case["h"], case["w"]), case["stride"], case["padding"], case["dilation"],
                case["k"], out_pad)]
    assume(all(v > 0 for v in size))
    _compare(lambda *t: F.conv_transpose2d(*t, **kw),
             lambda *t: torch.nn.functional.conv_transpose2d(*t, **kw), [x, w])


@st.composite
def pool_case(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    ceil = draw(st.booleans())
    assume(all(ss + 2 * pp >= dd * (kk - 1) + 1 for ss, pp, dd, kk in zip((h, w), p, d, k)))
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), k=k, s=s, p=p,
                d=d, ceil=ceil, seed=draw(st.integers(0, 2 ** 16)))


def _every_window_sees_the_input(case):
    """False when some dilated window holds only padding: its max is -inf whatever the
    input (gradient 0 here; PyTorch then routes the gradient outside the plane)."""
    from tinygrad_cnn.ops.cnn_args import out_size
    for size, k, s, p, d in zip(case["shape"][2:], case["k"], case["s"], case["p"], case["d"]):
        for o in range(out_size("t", size, k, s, p, p, d, case["ceil"])):
            if not any(0 <= o * s - p + t * d < size for t in range(k)):
                return False
    return True


@requires_torch
@given(case=pool_case())
def test_max_pool2d_drawn_parameters(case):
    assume(_every_window_sees_the_input(case))
    x = np.random.default_rng(case["seed"]).permutation(
        np.prod(case["shape"])).reshape(case["shape"]).astype(np.float64)  # no ties
    kw = dict(kernel_size=case["k"], stride=case["s"], padding=case["p"], dilation=case["d"],
              ceil_mode=case["ceil"])
    _compare(lambda t: F.max_pool2d(t, **kw), lambda t: torch.nn.functional.max_pool2d(t, **kw),
             [x])


@requires_torch
@given(case=pool_case(), include=st.booleans())
def test_avg_pool2d_drawn_parameters(case, include):
    x = np.random.default_rng(case["seed"]).standard_normal(case["shape"])
    kw = dict(kernel_size=case["k"], stride=case["s"], padding=case["p"],
              ceil_mode=case["ceil"], count_include_pad=include)
    _compare(lambda t: F.avg_pool2d(t, **kw), lambda t: torch.nn.functional.avg_pool2d(t, **kw),
             [x])


UNARY = ["exp", "tanh", "sigmoid", "relu", "abs", "sin", "cos", "neg"]


@requires_torch
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3), op=st.sampled_from(UNARY),
       seed=st.integers(0, 2 ** 16))
def test_unary_ops_on_drawn_shapes(shape, op, seed):
    x = np.random.default_rng(seed).uniform(-3, 3, shape)
    _compare(lambda t: getattr(t, op)(), lambda t: getattr(t, op)(), [x])


@requires_torch
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data(),
       op=st.sampled_from(["sum", "mean", "amax", "logsumexp", "var"]),
       keepdim=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_reductions_on_drawn_dims(shape, data, op, keepdim, seed):
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                              unique_by=lambda d: d % ndim))
    if op == "var":
        assume(np.prod([shape[d % ndim] for d in dims]) > 1)
    x = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 3.0
    _compare(lambda t: getattr(t, op)(tuple(dims), keepdim=keepdim),
             lambda t: getattr(t, op)(tuple(dims), keepdim=keepdim), [x])
