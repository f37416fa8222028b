"""Convolution and transposed convolution vs PyTorch, forward and backward, over a grid of
options; second derivatives; bad arguments."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import assert_close, check_op, rand, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def _f(name):
    """The same functional op from whichever library the tensor belongs to."""
    return lambda *a, **k: getattr(F if isinstance(a[0], tg.Tensor) else TF, name)(*a, **k)


# (input shape, weight shape, options): non-square everything, odd sizes, 1x1 kernels,
# kernel = input size, depthwise, padding >= kernel/2
CONV2D = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ((1, 4, 9, 8), (6, 2, 3, 3), dict(stride=(2, 1), padding=(2, 1), groups=2)),
    ((2, 3, 9, 10), (2, 3, 2, 3), dict(dilation=2, padding=(1, 2))),
    ((2, 4, 6, 7), (4, 1, 3, 3), dict(groups=4, padding=1)),                 # depthwise
    ((2, 3, 5, 4), (2, 3, 5, 4), {}),                                        # kernel = input
    ((2, 3, 5, 4), (5, 3, 1, 1), dict(stride=2)),                            # 1x1
    ((1, 2, 6, 5), (3, 2, 3, 3), dict(padding=3)),                           # padding > k/2
    ((2, 2, 8, 7), (3, 2, 3, 2), dict(stride=3, dilation=(1, 2), padding=1)),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding="same")),
    ((2, 3, 7, 6), (4, 3, 4, 2), dict(padding="same", dilation=2)),          # odd total pad
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding="valid")),
    ((3, 7, 6), (4, 3, 3, 3), dict(padding=1)),                              # unbatched
]


@requires_torch
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("xs,ws,kw", CONV2D, ids=lambda v: str(v).replace(" ", ""))
def test_conv2d_matches_torch(xs, ws, kw, bias):
    inputs = [rand(*xs, seed=1), rand(*ws, seed=2)] + ([rand(ws[0], seed=3)] if bias else [])
    check_op(lambda x, w, *b: _f("conv2d")(x, w, *b, **kw), inputs=inputs,
             gradcheck=np.prod(xs) <= 200)


CONV1D3D = [
    ("conv1d", (2, 3, 11), (4, 3, 3), dict(stride=2, padding=1)),
    ("conv1d", (2, 4, 9), (4, 2, 2), dict(dilation=3, groups=2)),
    ("conv1d", (3, 9), (2, 3, 4), {}),
    ("conv3d", (1, 2, 5, 6, 4), (3, 2, 3, 2, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1))),
    ("conv3d", (2, 2, 4, 5, 3), (2, 1, 2, 2, 2), dict(groups=2, dilation=(1, 2, 1))),
]


@requires_torch
@pytest.mark.parametrize("name,xs,ws,kw", CONV1D3D, ids=lambda v: str(v).replace(" ", ""))
def test_conv1d_conv3d_match_torch(name, xs, ws, kw):
    check_op(lambda x, w, b: _f(name)(x, w, b, **kw),
             inputs=[rand(*xs, seed=1), rand(*ws, seed=2), rand(ws[0], seed=3)],
             gradcheck=np.prod(xs) <= 120)


CONV_T = [
    ("conv_transpose2d", (2, 4, 4, 5), (4, 3, 3, 3), dict(stride=2)),
    ("conv_transpose2d", (2, 4, 4, 5), (4, 3, 3, 2), dict(stride=2, padding=1,
                                                          output_padding=1)),
    ("conv_transpose2d", (1, 4, 3, 4), (4, 1, 3, 3), dict(stride=(1, 2), groups=2, dilation=2)),
    ("conv_transpose2d", (2, 3, 5, 4), (3, 2, 3, 3), dict(padding=1)),
    ("conv_transpose2d", (3, 5, 4), (3, 2, 2, 2), dict(stride=2)),            # unbatched
    ("conv_transpose1d", (2, 3, 6), (3, 2, 4), dict(stride=3, padding=1, output_padding=2)),
    ("conv_transpose3d", (1, 2, 3, 3, 2), (2, 2, 2, 3, 2), dict(stride=2, padding=(0, 1, 0))),
]


@requires_torch
@pytest.mark.parametrize("name,xs,ws,kw", CONV_T, ids=lambda v: str(v).replace(" ", ""))
def test_conv_transpose_matches_torch(name, xs, ws, kw):
    out_c = ws[1] * kw.get("groups", 1)
    check_op(lambda x, w, b: _f(name)(x, w, b, **kw),
             inputs=[rand(*xs, seed=1), rand(*ws, seed=2), rand(out_c, seed=3)],
             gradcheck=np.prod(xs) <= 60)


@requires_torch
@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1), dict(groups=2),
                                dict(dilation=2)], ids=str)
def test_conv2d_second_derivatives_match_torch(kw):
    x, w = rand(2, 4, 6, 5, seed=1), rand(4, 4 // kw.get("groups", 1), 3, 2, seed=2)
    ours = [tg.tensor(v, requires_grad=True) for v in (x, w)]
    ref = [torch.from_numpy(v).requires_grad_() for v in (x, w)]

    def second(lib, fn, args, grad):
        y = fn(*args, **kw)
        gx, gw = grad((y * y).sum(), args, create_graph=True)
        return grad((gx * gx).sum() + (gw ** 3).sum(), args)

    a = second(tg, F.conv2d, ours, tg.autograd.grad)
    b = second(torch, TF.conv2d, ref, torch.autograd.grad)
    for u, v in zip(a, b):
        assert_close(u.numpy(), v.numpy(), atol=1e-7, rtol=1e-7)


def test_conv_gradgradcheck_small():
    x = tg.tensor(rand(1, 2, 4, 3, seed=1), requires_grad=True)
    w = tg.tensor(rand(2, 1, 2, 2, seed=2), requires_grad=True)
    assert tg.gradgradcheck(lambda a, b: F.conv2d(a, b, stride=(2, 1), padding=1, groups=2),
                            [x, w])
    assert tg.gradgradcheck(lambda a, b: F.conv_transpose2d(a, b, stride=2), [x, w])


def test_float32_conv_keeps_dtype():
    x = tg.randn(2, 3, 8, 8, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == tg.float32
    assert y.grad_fn.name == "conv2d"


@pytest.mark.parametrize("call,error,message", [
    (lambda x, w: F.conv2d(x, tg.ones(4, 2, 3, 3)), ValueError,
     r"conv2d: input has 3 channels but weight \(4, 2, 3, 3\) with groups=1 expects 2"),
    (lambda x, w: F.conv2d(x[0, 0], w), ValueError, r"conv2d: expected a 4-D input"),
    (lambda x, w: F.conv2d(x, w[0]), ValueError, r"conv2d: weight must be 4-D"),
    (lambda x, w: F.conv2d(x, tg.ones(4, 3, 9, 3)), ValueError,
     r"conv2d: kernel extent 9 .* larger than the padded input size 8"),
    (lambda x, w: F.conv2d(x, w, stride=0), ValueError, r"conv2d: stride must be positive"),
    (lambda x, w: F.conv2d(x, w, dilation=(1, -1)), ValueError,
     r"conv2d: dilation must be positive, got \(1, -1\)"),
    (lambda x, w: F.conv2d(x, w, padding=-1), ValueError, r"padding must be non-negative"),
    (lambda x, w: F.conv2d(x, w, padding=1.5), TypeError, r"conv2d: padding must be an int"),
    (lambda x, w: F.conv2d(x, w, padding="full"), ValueError, r"padding must be an int, a tuple"),
    (lambda x, w: F.conv2d(x, w, padding="same", stride=2), ValueError, r"not supported for "
     r"strided"),
    (lambda x, w: F.conv2d(x, tg.ones(4, 1, 3, 3), groups=3), ValueError,
     r"groups=3 must divide .* output channels \(4\)"),
    (lambda x, w: F.conv2d(x, w, groups=0), ValueError, r"groups must be a positive int"),
    (lambda x, w: F.conv2d(x, w, tg.ones(3)), ValueError, r"bias must have shape \(4,\)"),
    (lambda x, w: F.conv2d(x, w.double()), RuntimeError, r"float32 and weight dtype float64"),
    (lambda x, w: F.conv2d(x.long(), w), TypeError, r"expected a floating point input"),
    (lambda x, w: F.conv2d(x, w, stride=(1, 1, 1)), ValueError, r"stride must have 2 entries"),
    (lambda x, w: F.conv_transpose2d(x, tg.ones(3, 2, 3, 3), stride=2, output_padding=2),
     ValueError, r"output_padding \(2, 2\) must be smaller than either stride \(2, 2\) or "
     r"dilation \(1, 1\)"),
    (lambda x, w: F.conv_transpose2d(x, tg.ones(4, 2, 3, 3)), ValueError,
     r"conv_transpose2d: input has 3 channels but weight"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    x, w = tg.ones(2, 3, 8, 8), tg.ones(4, 3, 3, 3)
    with pytest.raises(error, match=message):
        call(x, w)


@requires_torch
@pytest.mark.parametrize("xs,ws,kw", [((8, 16, 28, 28), (32, 16, 3, 3), dict(padding=1)),
                                      ((4, 8, 20, 18), (8, 1, 3, 3), dict(groups=8, stride=2)),
                                      ((4, 16, 14, 14), (16, 8, 3, 3),
                                       dict(stride=2, padding=1, output_padding=1))],
                         ids=["A-like", "depthwise", "transpose"])
def test_float32_on_benchmark_like_shapes(xs, ws, kw):
    name = "conv_transpose2d" if "output_padding" in kw else "conv2d"
    x = rand(*xs, seed=1).astype(np.float32)
    w = (rand(*ws, seed=2) * 0.2).astype(np.float32)
    # the weight gradient sums n·oh·ow (~6k) float32 products of size ~1: its entries are
    # ~1e2, so 1e-3 absolute is float32 round-off (1e-5 relative), not a loose tolerance
    check_op(lambda a, b: _f(name)(a, b, **kw), inputs=[x, w], atol=1e-3, rtol=1e-4,
             gradcheck=False)


# The batch is processed in chunks (the backend's cols_budget, NumPy's COLS_BUDGET, which the
# fake device shares); with a budget of one element
# every sample is its own chunk, so the chunk bookkeeping (kept columns, per-chunk writes,
# summed weight gradients) is exercised on both column layouts.
CHUNKED = [
    ("conv2d", (3, 2, 6, 5), (4, 2, 3, 3), dict(padding=1)),                  # grid, f > c
    ("conv2d", (3, 4, 6, 5), (2, 4, 3, 2), dict(padding="same", dilation=2)),  # grid, f < c
    ("conv2d", (3, 2, 7, 6), (4, 2, 3, 3), dict(stride=2, padding=1)),        # strided
    ("conv3d", (3, 2, 4, 5, 3), (2, 1, 2, 3, 2), dict(groups=2, padding=(1, 0, 1))),
    ("conv_transpose2d", (3, 4, 4, 5), (4, 2, 3, 3), dict(padding=1)),        # grid col2im
    ("conv_transpose2d", (3, 4, 4, 5), (4, 2, 3, 3), dict(stride=2, output_padding=1)),
]


@requires_torch
@pytest.mark.parametrize("name,xs,ws,kw", CHUNKED, ids=lambda v: str(v).replace(" ", ""))
def test_one_sample_chunks_match_torch(monkeypatch, name, xs, ws, kw):
    from tinygrad_cnn.backend.kernels import conv_numpy
    from tinygrad_cnn.ops import conv as conv_ops
    monkeypatch.setattr(conv_numpy, "COLS_BUDGET", 1)
    monkeypatch.setattr(conv_ops, "KEEP_COLS_MAX_RATIO", 16)  # the kept chunks, both layouts
    check_op(lambda x, w: _f(name)(x, w, **kw), inputs=[rand(*xs, seed=1), rand(*ws, seed=2)],
             gradcheck=False)


@pytest.mark.parametrize("stride", [1, 2], ids=["grid", "strided"])
def test_weight_gradient_reuses_the_forward_chunks_when_the_budget_changes(monkeypatch, stride):
    """A GPU's budget follows its free memory, so the backward may cut the batch differently
    from the forward: the kept columns carry their own batch slices."""
    from tinygrad_cnn.backend.kernels import conv_numpy
    from tinygrad_cnn.ops import conv as conv_ops
    monkeypatch.setattr(conv_ops, "KEEP_COLS_MAX_RATIO", 16)  # 3×3 columns kept at stride 1

    def grads(budget_before, budget_after):
        x = tg.tensor(rand(5, 2, 7, 6, seed=1), requires_grad=True)
        w = tg.tensor(rand(3, 2, 3, 3, seed=2), requires_grad=True)
        monkeypatch.setattr(conv_numpy, "COLS_BUDGET", budget_before)
        y = F.conv2d(x, w, stride=stride, padding=1)
        monkeypatch.setattr(conv_numpy, "COLS_BUDGET", budget_after)
        y.backward(tg.tensor(rand(*y.shape, seed=3)))
        return x.grad.numpy(), w.grad.numpy()

    whole = grads(1 << 20, 1 << 20)
    for a, b in zip(grads(200, 1 << 20), whole):     # 1-sample chunks, then one chunk
        assert_close(a, b, 1e-12, 1e-12, "forward chunked, backward whole")
    for a, b in zip(grads(1 << 20, 200), whole):
        assert_close(a, b, 1e-12, 1e-12, "forward whole, backward chunked")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_grid_layout_agrees_with_strided_layout(nd, seed):
    """At stride 1 the two column layouts, each with its own NumPy im2col/col2im algorithm,
    are independent implementations of the same three maps (conv, its weight adjoint, its
    input adjoint): drawn geometries must agree. (_use_grid is switched off too: where the
    grid's rows equal the output, e.g. in 1-D, the strided layout would take it.)"""
    from unittest import mock

    from tinygrad_cnn.backend.kernels import conv_numpy
    from tinygrad_cnn.ops import conv as conv_ops
    from tinygrad_cnn.ops.conv_columns import StridedLayout
    rng = np.random.default_rng(seed)
    k = tuple(rng.integers(1, 4, nd))
    d = tuple(rng.integers(1, 3, nd))
    pad = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(nd))
    s = tuple(int(dd * (kk - 1) + rng.integers(1, 5)) for kk, dd in zip(k, d))
    g = int(rng.choice([1, 2]))
    n, c, f = 3, 2 * g, 3 * g
    x = rng.standard_normal((n, c) + s)
    w = rng.standard_normal((f, c // g) + k)
    st = (1,) * nd

    def run():
        y = conv_ops.conv_forward(x, w, st, pad, d, g)
        gw = conv_ops.conv_weight_forward(x, y, k, st, pad, d, g)
        gx = conv_ops.conv_transpose_forward(y, w, st, pad, d, g, s)
        return y, gw, gx

    grid = run()
    with mock.patch.object(conv_ops, "layout_for", lambda shape, k, st, pad, d, g:
                           StridedLayout(shape, k, st, pad, d, g)), \
            mock.patch.object(conv_numpy, "_use_grid", lambda *a: False):
        strided = run()
    for a, b, what in zip(grid, strided, ["forward", "weight adjoint", "input adjoint"]):
        assert_close(a, b, 1e-10, 1e-10, what)


# ---------------------------------------------------------------- non-finite inputs
def _edge_cells(shape, where):
    """Index tuples of the cells of a (n, c, *s) input on one edge of the image."""
    nd = len(shape) - 2
    last = [s - 1 for s in shape[2:]]
    mid = [s // 2 for s in shape[2:]]
    first_dim = {"top": 0, "bottom": last[0]}
    if where in first_dim:
        cell = [first_dim[where]] + mid[1:]
    elif where == "left":
        cell = mid[:-1] + [0]
    elif where == "right":
        cell = mid[:-1] + [last[-1]]
    elif where == "corner":
        cell = [0] * (nd - 1) + [last[-1]] if nd > 1 else [0]
    else:
        cell = last[:-1] + [0]   # the far corner's row start
    return [(shape[0] - 1, 1) + tuple(cell)]


NONFINITE = [
    ("conv2d", (2, 3, 6, 7), (4, 3, 3, 3), dict(padding=1)),
    ("conv2d", (2, 3, 7, 6), (4, 3, 2, 3), dict(padding=(1, 2), dilation=(1, 2))),
    ("conv2d", (2, 4, 6, 7), (2, 4, 3, 3), dict(padding=1)),                  # f < c
    ("conv2d", (2, 3, 6, 7), (6, 1, 3, 3), dict(padding=1, groups=3)),        # depthwise
    ("conv2d", (2, 3, 7, 7), (3, 1, 3, 3), dict(padding=1, stride=2, groups=3)),
    ("conv3d", (1, 2, 4, 5, 6), (3, 2, 2, 3, 3), dict(padding=1)),
    ("conv_transpose2d", (2, 3, 6, 7), (3, 4, 3, 3), dict(padding=1)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 2, 3, 3), dict(padding=1)),        # f > cg·g
    ("conv_transpose2d", (2, 3, 5, 6), (3, 1, 3, 3), dict(padding=1, groups=3)),
    ("conv_transpose2d", (2, 3, 5, 6), (3, 2, 3, 3), dict(stride=2, padding=1)),
]


@requires_torch
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan], ids=["inf", "-inf", "nan"])
@pytest.mark.parametrize("where", ["top", "bottom", "left", "right", "corner", "rowstart"])
@pytest.mark.parametrize("name,xs,ws,kw", NONFINITE, ids=lambda v: str(v).replace(" ", ""))
def test_nonfinite_pixel_at_every_edge_matches_torch(name, xs, ws, kw, where, value):
    """An Inf/NaN pixel reaches exactly the outputs and gradient entries PyTorch's does
    (the grid layout once multiplied the zero gradient of its dropped row-end positions
    with the next row's pixels: 0 · Inf = NaN in the filter gradient)."""
    x = rand(*xs, seed=1)
    for cell in _edge_cells(xs, where):
        x[cell] = value
    check_op(lambda a, b: _f(name)(a, b, **kw), inputs=[x, rand(*ws, seed=2)],
             gradcheck=False, devices=())


# ---------------------------------------------------------------- depthwise fast path
DEPTHWISE = [
    ("conv2d", (2, 3, 7, 6), (3, 1, 3, 3), dict(padding=1)),
    ("conv2d", (2, 3, 7, 6), (6, 1, 3, 3), dict(padding=1)),                  # multiplier 2
    ("conv2d", (2, 3, 9, 8), (9, 1, 3, 2), dict(stride=2, padding=(1, 0))),  # multiplier 3
    ("conv2d", (1, 4, 9, 7), (4, 1, 3, 3), dict(stride=(3, 2), dilation=2, padding=2)),
    ("conv2d", (2, 3, 7, 6), (3, 1, 4, 3), dict(padding="same")),
    ("conv2d", (2, 3, 7, 6), (6, 1, 2, 3), dict(padding="same", dilation=(2, 1))),
    ("conv2d", (2, 3, 5, 5), (3, 1, 5, 5), {}),                               # kernel = input
    ("conv2d", (3, 7, 6), (6, 1, 3, 3), dict(padding=1, stride=2)),           # unbatched
    ("conv1d", (2, 3, 11), (3, 1, 3), dict(stride=2, padding=1)),
    ("conv1d", (2, 3, 10), (6, 1, 4), dict(dilation=2, padding="same")),
    ("conv3d", (1, 2, 5, 6, 4), (4, 1, 3, 2, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1))),
    ("conv3d", (2, 2, 4, 5, 5), (2, 1, 2, 3, 3), dict(stride=2, dilation=(1, 1, 2),
                                                    padding=1)),
]


@requires_torch
@pytest.mark.parametrize("name,xs,ws,kw", DEPTHWISE, ids=lambda v: str(v).replace(" ", ""))
def test_depthwise_matches_torch(name, xs, ws, kw):
    c = xs[-len(ws) + 1]
    check_op(lambda x, w, b: _f(name)(x, w, b, groups=c, **kw),
             inputs=[rand(*xs, seed=1), rand(*ws, seed=2), rand(ws[0], seed=3)],
             gradcheck=np.prod(xs) <= 300)


@requires_torch
@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(padding=1),
                                dict(stride=2, dilation=2, output_padding=1)], ids=str)
def test_depthwise_conv_transpose_matches_torch(kw):
    check_op(lambda x, w: _f("conv_transpose2d")(x, w, groups=3, **kw),
             inputs=[rand(2, 3, 4, 5, seed=1), rand(3, 1, 3, 3, seed=2)], gradcheck=True)


def test_depthwise_takes_the_tap_path_and_agrees_with_grouped_gemm():
    """The depthwise path and the per-group GEMM path are independent implementations of
    the same three maps: they must agree (and the tap path must be the one taken)."""
    from unittest import mock

    from tinygrad_cnn.ops import conv as conv_ops
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4, 9, 8)), rng.standard_normal((8, 1, 3, 2))
    args = ((2, 1), ((1, 0), (2, 1)), (1, 2), 4)

    def run():
        y = conv_ops.conv_forward(x, w, *args)
        gw = conv_ops.conv_weight_forward(x, y, (3, 2), *args)
        gx = conv_ops.conv_transpose_forward(y, w, *args, (9, 8))
        return y, gw, gx

    fast = run()
    with mock.patch.object(conv_ops, "is_depthwise", lambda *a: False):
        slow = run()
    with mock.patch.object(conv_ops, "depthwise_forward", side_effect=AssertionError):
        with pytest.raises(AssertionError):
            run()
    for a, b, what in zip(fast, slow, ["forward", "weight adjoint", "input adjoint"]):
        assert_close(a, b, 1e-10, 1e-10, what)


def test_depthwise_gradgradcheck():
    x = tg.tensor(rand(1, 2, 5, 4, seed=1), requires_grad=True)
    w = tg.tensor(rand(4, 1, 3, 2, seed=2), requires_grad=True)
    assert tg.gradgradcheck(lambda a, b: F.conv2d(a, b, stride=2, padding=1, groups=2), [x, w])


@requires_torch
@pytest.mark.parametrize("name,xs,ws,kw", [
    ("conv2d", (0, 3, 6, 5), (4, 3, 3, 3), dict(padding=1)),
    ("conv2d", (0, 3, 6, 5), (4, 3, 3, 3), dict(stride=2)),
    ("conv2d", (0, 3, 6, 5), (3, 1, 3, 3), dict(groups=3)),
    ("conv1d", (0, 2, 7), (3, 2, 2), {}),
    ("conv_transpose2d", (0, 3, 4, 5), (3, 2, 3, 3), dict(stride=2)),
    ("conv_transpose2d", (0, 3, 4, 5), (3, 2, 3, 3), {}),
], ids=str)
def test_empty_batch_forward_and_backward_match_torch(name, xs, ws, kw):
    check_op(lambda x, w: _f(name)(x, w, **kw), inputs=[rand(*xs, seed=1), rand(*ws, seed=2)],
             gradcheck=False)


@requires_torch
@pytest.mark.parametrize("kw", [dict(stride=1, dilation=2, output_padding=1),
                                dict(stride=(1, 2), dilation=(3, 1), output_padding=(2, 1))],
                         ids=str)
def test_conv_transpose_output_padding_below_dilation_matches_torch(kw):
    """PyTorch's rule: output_padding must be smaller than the stride *or* the dilation."""
    check_op(lambda x, w: _f("conv_transpose2d")(x, w, **kw),
             inputs=[rand(2, 3, 4, 5, seed=1), rand(3, 2, 3, 3, seed=2)], gradcheck=False)


@requires_torch
def test_wide_kernels_rebuild_their_columns_in_the_backward(monkeypatch):
    """A 9×9 conv's columns are 81× its input, a stride-1 3×3 conv's 9×: they are not kept
    for the weight gradient (memory), which rebuilds them instead, with the same numbers; a
    stride-2 3×3 conv's (2.25×) are kept."""
    from tinygrad_cnn.ops import conv as conv_ops
    seen = []
    original = conv_ops.conv_weight_forward

    def spy(*args, **kwargs):
        seen.append(args[7] if len(args) > 7 else kwargs.get("cols"))
        return original(*args, **kwargs)

    monkeypatch.setattr(conv_ops, "conv_weight_forward", spy)
    check_op(lambda x, w: _f("conv2d")(x, w, padding=4), inputs=[rand(2, 3, 10, 9, seed=1),
                                                            rand(4, 3, 9, 9, seed=2)],
             gradcheck=False)
    assert seen and all(cols is None for cols in seen)
    seen.clear()
    x = tg.tensor(rand(2, 3, 10, 9, seed=1))
    w = tg.tensor(rand(4, 3, 3, 3, seed=2), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()   # 3×3: 9× the input, rebuilt
    assert seen and seen[0] is None
    seen.clear()
    F.conv2d(x, w, stride=2, padding=1).sum().backward()   # 2.25× the input, kept
    assert seen and seen[0] is not None
