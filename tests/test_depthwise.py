"""The depthwise conv's per-channel BLAS path (NumPy + SciPy, long channels), forced on the
small shapes of tests/test_conv.py: the same PyTorch parity, Inf/NaN placement included."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F

from tinygrad_cnn.ops import conv_depthwise as dw
from tinygrad_cnn.ops import conv_depthwise_blas as dwb

from test_conv import DEPTHWISE, NONFINITE, _edge_cells, _f
from helpers import assert_close, check_op, rand, requires_torch

pytest.importorskip("scipy")


@pytest.fixture(autouse=True)
def blas_path(monkeypatch):
    """Every depthwise call takes the per-channel path, and it is checked that it did."""
    calls = []
    real = dw.axpy_for

    def spy(xp, dtype, length):
        f = real(xp, dtype, max(length, dwb.BLAS_MIN_LENGTH))
        calls.append(f is not None)
        return f
    monkeypatch.setattr(dw, "axpy_for", spy)
    yield calls
    assert any(calls), "the per-channel BLAS path was never taken"


@requires_torch
@pytest.mark.parametrize("name,xs,ws,kw", DEPTHWISE, ids=lambda v: str(v).replace(" ", ""))
def test_blas_path_matches_torch(name, xs, ws, kw):
    c = xs[-len(ws) + 1]
    check_op(lambda x, w, b: _f(name)(x, w, b, groups=c, **kw),
             inputs=[rand(*xs, seed=1), rand(*ws, seed=2), rand(ws[0], seed=3)],
             gradcheck=np.prod(xs) <= 300, devices=())


@requires_torch
@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(padding=1),
                                dict(stride=2, dilation=2, output_padding=1)], ids=str)
def test_blas_path_conv_transpose_matches_torch(kw):
    check_op(lambda x, w: _f("conv_transpose2d")(x, w, groups=3, **kw),
             inputs=[rand(2, 3, 4, 5, seed=1), rand(3, 1, 3, 3, seed=2)], gradcheck=True,
             devices=())


DW_NONFINITE = [case for case in NONFINITE if case[2][1] == 1]


@requires_torch
@pytest.mark.parametrize("value", [np.inf, np.nan], ids=["inf", "nan"])
@pytest.mark.parametrize("where", ["top", "bottom", "left", "right", "corner", "rowstart"])
@pytest.mark.parametrize("name,xs,ws,kw", DW_NONFINITE, ids=lambda v: str(v).replace(" ", ""))
def test_blas_path_nonfinite_pixel_matches_torch(name, xs, ws, kw, where, value):
    x = rand(*xs, seed=1)
    for cell in _edge_cells(xs, where):
        x[cell] = value
    check_op(lambda a, b: _f(name)(a, b, **kw), inputs=[x, rand(*ws, seed=2)],
             gradcheck=False, devices=())


def _run(lib, fn, x, w, g, stride):
    a, b = (lib.tensor(v, requires_grad=True) for v in (x, w))
    y = fn(a, b, stride=stride, padding=1, groups=3)
    y.backward(lib.tensor(g))
    return [t.detach().numpy() for t in (y, a.grad, b.grad)]


def _nonfinite_case(stride, value, dtype, weight_value):
    x = rand(2, 3, 7, 6, seed=1, dtype=dtype)
    x[0, 1, 3, 2] = value
    w = rand(3, 1, 3, 3, seed=2, dtype=dtype)
    w[1, 0, 1, 1] = 0.0   # reads the Inf/NaN pixel: 0 · Inf is NaN, BLAS axpy would skip it
    w[2, 0, 0, 2] = weight_value
    g = rand(2, 3, *((7, 6) if stride == 1 else (4, 3)), seed=3, dtype=dtype)
    g[1, 1, 2, 1] = np.inf
    g[1, 1, 0, 0] = 0.0
    return x, w, g


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("value", [np.inf, np.nan], ids=["inf", "nan"])
def test_blas_path_zero_weight_on_nonfinite_values_matches_torch(stride, value, dtype):
    import torch

    import tinygrad_cnn as tg
    x, w, g = _nonfinite_case(stride, value, dtype, 0.5)
    ours = _run(tg, _f("conv2d"), x, w, g, stride)
    ref = _run(torch, torch.nn.functional.conv2d, x, w, g, stride)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for o, r, what in zip(ours, ref, ["forward", "input grad", "weight grad"]):
        assert_close(o, r, tol, tol, what)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("value", [np.inf, np.nan], ids=["inf", "nan"])
def test_blas_path_nonfinite_weight_agrees_with_chunk_path(stride, value, monkeypatch):
    """An Inf/NaN weight: the per-channel path gives what the chunk path gives (the spread
    must keep w · 0 off the row ends' cells)."""
    import tinygrad_cnn as tg
    x, w, g = _nonfinite_case(stride, value, np.float64, value)
    fast = _run(tg, _f("conv2d"), x, w, g, stride)
    monkeypatch.setattr(dw, "axpy_for", lambda *a: None)
    chunk = _run(tg, _f("conv2d"), x, w, g, stride)
    for o, r, what in zip(fast, chunk, ["forward", "input grad", "weight grad"]):
        assert_close(o, r, 1e-12, 1e-12, what)


@requires_torch
@pytest.mark.parametrize("kw,gathers", [(dict(padding=1), 2), (dict(padding="same", dilation=2), 2),
                                        (dict(padding=0), 3), (dict(stride=2, padding=1), 2)],
                         ids=str)
def test_one_gather_of_x_and_of_gy_per_step(kw, gathers, monkeypatch):
    """The forward's phase buffers of x serve the weight gradient, and with "same" padding at
    stride 1 one gather of gy serves both gradients (its padded grid is x's), as do gy's grid
    rows at other strides; the numbers are PyTorch's either way."""
    count = []

    def spy(real):
        def gather(*args):
            count.append(real.__name__)
            return real(*args)
        return gather
    for name in ("channel_phases", "channel_rows"):
        monkeypatch.setattr(dw, name, spy(getattr(dw, name)))
    check_op(lambda x, w: _f("conv2d")(x, w, groups=3, **kw),
             inputs=[rand(2, 3, 7, 6, seed=1), rand(6, 1, 3, 3, seed=2)], gradcheck=False,
             devices=())
    count.clear()
    x = tg.tensor(rand(2, 3, 7, 6, seed=1), requires_grad=True)
    w = tg.tensor(rand(6, 1, 3, 3, seed=2), requires_grad=True)
    F.conv2d(x, w, groups=3, **kw).sum().backward()
    assert len(count) == gathers, count
