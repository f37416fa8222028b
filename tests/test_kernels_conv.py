"""The conv backend kernels (im2col, col2im, cols_budget) against independent oracles.

* CPU: NumPy's kernels against PyTorch (``unfold``/``fold`` in 2-D; in 1-3-D a conv and a
  transposed conv with one-hot filters, which gather and scatter exactly the windows), on
  drawn geometries: strides, dilation, padding larger than the kernel, asymmetric padding,
  every column layout (``rows``).
* CPU: an emulation of the CUDA kernels: their index arithmetic, re-implemented line by line
  in NumPy and run on the exact scalar arguments ``conv_cuda`` would launch them with, must
  reproduce NumPy's kernels (so the CUDA index math is checked with no GPU).
* GPU (``-m cuda``, skipped without one): each CUDA kernel against NumPy's, edge cases,
  float16/32/64, non-contiguous inputs, indices past 2³¹.
* The column budget of each backend, and the chunks it cuts.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import requires_torch, torch
from tinygrad_cnn.backend import numpy_backend
from tinygrad_cnn.backend.kernels import conv_cuda, conv_numpy


def _geometry(seed, nd=None, layout=None):
    """A drawn conv geometry: x shape, k, st, pad ((before, after), ...), d, rows."""
    rng = np.random.default_rng(seed)
    nd = nd or int(rng.integers(1, 4))
    k = tuple(int(v) for v in rng.integers(1, 4, nd))
    d = tuple(int(v) for v in rng.integers(1, 3, nd))
    st = (1,) * nd if layout == "grid" else tuple(int(v) for v in rng.integers(1, 4, nd))
    pad = tuple((int(rng.integers(0, 5)), int(rng.integers(0, 5))) for _ in range(nd))
    s = tuple(max(int(rng.integers(1, 7)), dd * (kk - 1) + 1 - pb - pa)
              for kk, dd, (pb, pa) in zip(k, d, pad))
    o = conv_numpy.conv_out_size(s, k, st, pad, d)
    padded = tuple(si + pb + pa for si, (pb, pa) in zip(s, pad))
    if layout == "grid":
        rows = (o[0],) + padded[1:]
    elif layout == "wide":       # more positions than the output: the general fallback
        rows = tuple(oo + int(rng.integers(0, 3)) for oo in o)
    else:
        rows = o
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) + s
    return shape, k, st, pad, d, rows


CASES = [(seed, layout) for seed in range(12) for layout in ("strided", "grid", "wide")]
CASE_IDS = [f"{layout}-{seed}" for seed, layout in CASES]


def _x(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _valid(a, o):
    """The positions a < o of an (..., *rows) array."""
    return a[(Ellipsis,) + tuple(slice(0, oo) for oo in o)]


# ------------------------------------------------------------------ NumPy vs PyTorch
def _torch_cols(x, k, st, pad, d):
    """(c, *k, m, *o) by a conv with one one-hot filter per tap (torch, float64)."""
    nd, (m, c) = len(k), x.shape[:2]
    tf = torch.nn.functional
    xt = torch.from_numpy(x).reshape((m * c, 1) + x.shape[2:])
    xt = tf.pad(xt, [p for pair in reversed(pad) for p in pair])   # asymmetric: pad first
    kp = math.prod(k)
    w = torch.eye(kp, dtype=torch.float64).reshape((kp, 1) + k)
    y = getattr(tf, f"conv{nd}d")(xt, w, stride=st, dilation=d).numpy()   # (m·c, kp, *o)
    y = y.reshape((m, c) + k + y.shape[2:])
    return y.transpose((1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd)))


def _torch_spread(g, s, k, st, pad, d):
    """(m, c, *s) from gcols (c, *k, m, *o) by the transposed one-hot conv, then a crop."""
    nd, c, m = len(k), g.shape[0], g.shape[len(k) + 1]
    o = g.shape[2 + nd:]
    gt = g.transpose((nd + 1, 0) + tuple(range(1, nd + 1)) + tuple(range(nd + 2, 2 * nd + 2)))
    gt = torch.from_numpy(np.ascontiguousarray(gt)).reshape((m * c, math.prod(k)) + o)
    padded = [si + pb + pa for si, (pb, pa) in zip(s, pad)]
    extra = [p - ((oo - 1) * ss + dd * (kk - 1) + 1)      # output_padding: up to st - 1
             for p, oo, ss, dd, kk in zip(padded, o, st, d, k)]
    w = torch.eye(math.prod(k), dtype=torch.float64).reshape((math.prod(k), 1) + k)
    z = getattr(torch.nn.functional, f"conv_transpose{nd}d")(
        gt, w, stride=st, dilation=d, output_padding=tuple(extra)).numpy()
    z = z.reshape((m, c) + tuple(padded))
    return z[(slice(None), slice(None)) + tuple(slice(pb, pb + si) for si, (pb, _) in zip(s, pad))]


@requires_torch
@pytest.mark.parametrize("seed,layout", CASES, ids=CASE_IDS)
def test_numpy_im2col_matches_torch_one_hot_conv(seed, layout):
    shape, k, st, pad, d, rows = _geometry(seed, layout=layout)
    x = _x(shape, seed)
    cols = numpy_backend.im2col(x, k, st, pad, d, rows)
    o = conv_numpy.conv_out_size(shape[2:], k, st, pad, d)
    assert cols.shape == (shape[1],) + k + (shape[0],) + rows and cols.flags.c_contiguous
    np.testing.assert_array_equal(_valid(cols, o), _torch_cols(x, k, st, pad, d))
    extra = cols.copy()
    _valid(extra, o)[...] = 0
    assert not extra.any(), "positions beyond the output must be zero"


@requires_torch
@pytest.mark.parametrize("seed,layout", CASES, ids=CASE_IDS)
def test_numpy_col2im_matches_torch_transposed_one_hot_conv(seed, layout):
    shape, k, st, pad, d, rows = _geometry(seed, layout=layout)
    o = conv_numpy.conv_out_size(shape[2:], k, st, pad, d)
    g = _x((shape[1],) + k + (shape[0],) + rows, seed + 100)
    want = _torch_spread(np.ascontiguousarray(_valid(g, o)), shape[2:], k, st, pad, d)
    junk = g.copy()
    junk[...] = np.nan
    _valid(junk, o)[...] = _valid(g, o)       # NaN where the columns are not read
    z = numpy_backend.col2im(junk, shape[2:], k, st, pad, d)
    assert z.shape == shape
    np.testing.assert_allclose(z, want, rtol=1e-12, atol=1e-12)


@requires_torch
@pytest.mark.parametrize("seed", range(6))
def test_numpy_kernels_match_torch_unfold_and_fold(seed):
    """2-D with symmetric padding: exactly torch's unfold (im2col) and fold (col2im)."""
    rng = np.random.default_rng(seed)
    k, st, d = (tuple(int(v) for v in rng.integers(1, hi, 2)) for hi in (4, 3, 3))
    p = tuple(int(v) for v in rng.integers(0, 4, 2))
    s = tuple(int(dd * (kk - 1) + rng.integers(1, 6)) for kk, dd in zip(k, d))
    x = _x((2, 3) + s, seed)
    pad = tuple((pp, pp) for pp in p)
    o = conv_numpy.conv_out_size(s, k, st, pad, d)
    cols = numpy_backend.im2col(x, k, st, pad, d, o)               # (c, kh, kw, n, oh, ow)
    tf = torch.nn.functional
    want = tf.unfold(torch.from_numpy(x), k, dilation=d, padding=p, stride=st).numpy()
    np.testing.assert_array_equal(cols.reshape(3 * math.prod(k), 2, -1).transpose(1, 0, 2), want)
    g = _x(cols.shape, seed + 1)
    z = numpy_backend.col2im(g.copy(), s, k, st, pad, d)
    gt = torch.from_numpy(np.ascontiguousarray(g.reshape(3 * math.prod(k), 2, -1)
                                               .transpose(1, 0, 2)))
    want = tf.fold(gt, s, k, dilation=d, padding=p, stride=st).numpy()
    np.testing.assert_allclose(z, want, rtol=1e-12, atol=1e-12)


def test_kernels_refuse_bad_geometry():
    x = _x((1, 2, 5, 5))
    with pytest.raises(ValueError, match=r"im2col: rows \(2, 5\) .* output size \(3, 3\)"):
        numpy_backend.im2col(x, (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), (2, 5))
    with pytest.raises(ValueError, match="one entry per spatial dim"):
        numpy_backend.im2col(x, (3,), (1,), ((0, 0),), (1,), (3,))
    with pytest.raises(ValueError, match=r"col2im: columns of shape .* kernel \(3, 3\)"):
        numpy_backend.col2im(_x((2, 3, 2, 1, 3, 3)), (5, 5), (3, 3), (1, 1),
                             ((0, 0), (0, 0)), (1, 1))


# ------------------------------------------------- the CUDA kernels' index math, in NumPy
def _emulate_im2col(base, x, args):
    """tg_im2col's body for every thread i at once; x is a view into the contiguous ``base``
    (the kernel's pointer is x's first element, its strides x's element strides)."""
    (total, C, M, xsm, xsc, xs0, xs1, xs2, S0, S1, S2, K0, K1, K2, ST0, ST1, ST2,
     PB0, PB1, PB2, D0, D1, D2, O0, O1, O2, R0, R1, R2) = (int(a) for a in args)
    r = np.arange(total, dtype=np.int64)
    a2 = r % R2; r = r // R2      # noqa: E702  (one statement per kernel line)
    a1 = r % R1; r = r // R1      # noqa: E702
    a0 = r % R0; r = r // R0      # noqa: E702
    j = r % M; r = r // M         # noqa: E702
    t2 = r % K2; r = r // K2      # noqa: E702
    t1 = r % K1; r = r // K1      # noqa: E702
    t0 = r % K0
    c = r // K0
    h0, h1, h2 = a0 * ST0 + t0 * D0 - PB0, a1 * ST1 + t1 * D1 - PB1, a2 * ST2 + t2 * D2 - PB2
    ok = ((a0 < O0) & (a1 < O1) & (a2 < O2) & (h0 >= 0) & (h0 < S0) & (h1 >= 0) & (h1 < S1)
          & (h2 >= 0) & (h2 < S2))
    start = (x.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // x.itemsize
    at = start + j * xsm + c * xsc + h0 * xs0 + h1 * xs1 + h2 * xs2
    return np.where(ok, base.ravel()[np.where(ok, at, 0)], 0).astype(x.dtype)


def _emulate_col2im(g, args):
    """tg_col2im's body for every thread at once; the tap loops stay loops, ``break`` as a
    mask that stays off."""
    (total, C, M, S0, S1, S2, K0, K1, K2, ST0, ST1, ST2, PB0, PB1, PB2, D0, D1, D2,
     O0, O1, O2, R0, R1, R2) = (int(a) for a in args)
    flat = g.ravel()
    r = np.arange(total, dtype=np.int64)
    h2 = r % S2; r = r // S2      # noqa: E702
    h1 = r % S1; r = r // S1      # noqa: E702
    h0 = r % S0; r = r // S0      # noqa: E702
    c = r % C
    j = r // C
    acc = np.zeros(total, dtype=g.dtype)
    on0 = np.ones(total, dtype=bool)
    for t0 in range(K0):
        p0 = h0 + PB0 - t0 * D0
        on0 &= p0 >= 0
        ok0 = on0 & (np.where(on0, p0, 0) % ST0 == 0) & (p0 // ST0 < O0)
        on1 = np.ones(total, dtype=bool)
        for t1 in range(K1):
            p1 = h1 + PB1 - t1 * D1
            on1 &= p1 >= 0
            ok1 = ok0 & on1 & (np.where(on1, p1, 0) % ST1 == 0) & (p1 // ST1 < O1)
            on2 = np.ones(total, dtype=bool)
            for t2 in range(K2):
                p2 = h2 + PB2 - t2 * D2
                on2 &= p2 >= 0
                ok = ok1 & on2 & (np.where(on2, p2, 0) % ST2 == 0) & (p2 // ST2 < O2)
                row = ((c * K0 + t0) * K1 + t1) * K2 + t2
                at = (((row * M + j) * R0 + p0 // ST0) * R1 + p1 // ST1) * R2 + p2 // ST2
                acc = np.where(ok, acc + flat[np.where(ok, at, 0)], acc)
    return acc


@pytest.mark.parametrize("seed,layout", CASES, ids=CASE_IDS)
def test_cuda_index_math_emulated_reproduces_numpy_kernels(seed, layout):
    shape, k, st, pad, d, rows = _geometry(seed, layout=layout)
    base = _x((shape[0] + 2, shape[1] * 2) + shape[2:], seed)
    x = base[1:1 + shape[0], ::-2]               # a strided, reversed view: strides matter
    cshape, _, args = conv_cuda.im2col_args(x.shape, [v // x.itemsize for v in x.strides],
                                            k, st, pad, d, rows)
    want = numpy_backend.im2col(x, k, st, pad, d, rows)
    assert cshape == want.shape
    np.testing.assert_array_equal(_emulate_im2col(base, x, args).reshape(cshape), want)
    g = _x(want.shape, seed + 1)
    zshape, _, args = conv_cuda.col2im_args(g.shape, shape[2:], k, st, pad, d)
    want = numpy_backend.col2im(g.copy(), shape[2:], k, st, pad, d)
    # the same additions in the same (tap) order as NumPy's: bitwise equal
    np.testing.assert_array_equal(_emulate_col2im(g, args).reshape(zshape), want)


def test_cuda_scalar_arguments_match_the_signatures_and_pick_64_bit_past_2_to_the_31():
    import re
    _, ext_a, a = conv_cuda.im2col_args((2, 3, 4, 5), (60, 20, 5, 1), (3, 3), (1, 1),
                                        ((1, 1), (1, 1)), (1, 1), (4, 7))
    _, ext_b, b = conv_cuda.col2im_args((3, 3, 3, 2, 4, 7), (4, 5), (3, 3), (1, 1),
                                        ((1, 1), (1, 1)), (1, 1))
    assert ext_a == 3 * 9 * 2 * 4 * 7 and ext_b == ext_a      # the columns are the largest
    for args, kernel in ((a, "tg_im2col"), (b, "tg_col2im")):
        sig = re.search(kernel + r"\(([^)]*)\)", conv_cuda.SOURCE.code).group(1)
        assert sig.count("const I ") == len(args), kernel       # all after the pointers
    assert conv_cuda.index_type(ext_a) == ("int", np.int32)
    # columns of 2³¹ elements, an x whose strides reach 2³¹ past its start, an image of 2³¹
    big = [conv_cuda.im2col_args((1, 1, 1 << 16, 1 << 15), (1 << 31, 1 << 31, 1 << 15, 1),
                                 (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), (1 << 16, 1 << 15)),
           conv_cuda.im2col_args((2, 1, 3), (1 << 31, 1, 1), (1,), (1,), ((0, 0),), (1,), (3,)),
           conv_cuda.col2im_args((1, 1, 1, 1 << 31), (1 << 31,), (1,), (1,), ((0, 0),), (1,))]
    for _, extent, _ in big:
        assert extent >= 1 << 31 and conv_cuda.index_type(extent) == ("long long", np.int64)


# ------------------------------------------------------------------ the column budgets
def _chunks(be, n, xs, ws, st, pad):
    from tinygrad_cnn.ops import conv as conv_ops
    from tinygrad_cnn.ops.conv_columns import layout_for
    lay = layout_for((n,) + xs, ws[2:], st, pad, (1, 1), 1)
    return conv_ops._batch_chunks(be, n, lay.per_sample, np.float32)


# ResNet-18's convs at batch 256 (x (c, h, w), w, stride, padding): the largest, layer1's
# 3×3, holds 479 M column elements (1.9 GB of float32) on the grid layout
RESNET18 = [((3, 224, 224), (64, 3, 7, 7), (2, 2), ((3, 3), (3, 3))),
            ((64, 56, 56), (64, 64, 3, 3), (1, 1), ((1, 1), (1, 1))),
            ((64, 56, 56), (128, 64, 3, 3), (2, 2), ((1, 1), (1, 1))),
            ((128, 28, 28), (128, 128, 3, 3), (1, 1), ((1, 1), (1, 1))),
            ((256, 14, 14), (256, 256, 3, 3), (1, 1), ((1, 1), (1, 1))),
            ((512, 7, 7), (512, 512, 3, 3), (1, 1), ((1, 1), (1, 1))),
            ((256, 14, 14), (512, 256, 1, 1), (2, 2), ((0, 0), (0, 0)))]


def test_numpy_budget_is_cache_sized_and_the_fake_device_shares_it():
    import fake_backend
    assert numpy_backend.cols_budget(np.float32) == conv_numpy.COLS_BUDGET == 1 << 20
    assert fake_backend.cols_budget(np.float32) == 1 << 20
    # conv A (N32 16->32 28², k3 p1): 121k column elements a sample, 8 samples a chunk
    for be in (numpy_backend, fake_backend):
        parts = _chunks(be, 32, (16, 28, 28), (32, 16, 3, 3), (1, 1), ((1, 1), (1, 1)))
        assert [(p.start, p.stop) for p in parts] == [(0, 8), (8, 16), (16, 24), (24, 32)]


@pytest.mark.parametrize("xs,ws,st,pad", RESNET18, ids=lambda v: str(v).replace(" ", ""))
def test_cupy_budget_makes_a_resnet18_layer_one_chunk(monkeypatch, xs, ws, st, pad):
    cupy_like = SimpleNamespace(cols_budget=conv_cuda.cols_budget)
    monkeypatch.setattr(conv_cuda, "_free_bytes", lambda: 139 << 30)        # an H200
    assert _chunks(cupy_like, 256, xs, ws, st, pad) == [slice(0, 256)]
    assert len(_chunks(numpy_backend, 256, xs, ws, st, pad)) > 3            # the CPU's


def test_cupy_budget_is_a_quarter_of_free_memory_capped_at_2_gib(monkeypatch):
    monkeypatch.setattr(conv_cuda, "_free_bytes", lambda: 139 << 30)
    assert conv_cuda.cols_budget(np.float32) == (2 << 30) // 4
    assert conv_cuda.cols_budget(np.float64) == (2 << 30) // 8
    monkeypatch.setattr(conv_cuda, "_free_bytes", lambda: 4 << 30)          # a busy GPU
    assert conv_cuda.cols_budget(np.float16) == (1 << 30) // 2
    cupy_like = SimpleNamespace(cols_budget=conv_cuda.cols_budget)
    parts = _chunks(cupy_like, 256, *RESNET18[1])
    assert len(parts) == 2 and parts[0] == slice(0, 143)   # 1.87 M elements a sample
    monkeypatch.setattr(conv_cuda, "_free_bytes", lambda: 0)
    assert conv_cuda.cols_budget(np.float32) == 1          # still one sample a chunk


def test_ops_gather_and_scatter_through_the_backend_kernels(monkeypatch):
    """On the fake device (which delegates to NumPy's kernels) conv and its input gradient
    call the backend's im2col and col2im: no op computes windows itself."""
    import tinygrad_cnn.functional as F
    calls = []
    for name in ("im2col", "col2im"):
        real = getattr(numpy_backend, name)
        monkeypatch.setattr(numpy_backend, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name)
                            or _real(*a, **k))
    x = tg.tensor(_x((2, 3, 6, 5)), device="fake", requires_grad=True)
    w = tg.tensor(_x((4, 3, 3, 3), 1), device="fake", requires_grad=True)
    F.conv2d(x, w, stride=2, padding=1).sum().backward()
    assert calls.count("im2col") == 1 and calls.count("col2im") == 1, calls


# ------------------------------------------------------------------ the CUDA kernels
gpu = pytest.mark.skipif(not tg.cuda.is_available(), reason="needs a CUDA GPU and CuPy")


def _cuda():
    from tinygrad_cnn.backend import cupy_backend
    return cupy_backend


@pytest.mark.cuda
@gpu
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("seed,layout", CASES, ids=CASE_IDS)
def test_cuda_kernels_match_numpy(seed, layout, dtype):
    be = _cuda()
    shape, k, st, pad, d, rows = _geometry(seed, layout=layout)
    base = _x((shape[0] + 1, 2 * shape[1]) + shape[2:], seed, dtype)
    x = base[1:, ::2]                                    # a non-contiguous batch and channels
    cols = be.im2col(be.xp.asarray(base)[1:, ::2], k, st, pad, d, rows)
    np.testing.assert_array_equal(cols.get(), numpy_backend.im2col(x, k, st, pad, d, rows))
    g = _x(cols.shape, seed + 1, dtype)
    z = be.col2im(be.xp.asarray(g), shape[2:], k, st, pad, d).get()
    want = numpy_backend.col2im(g.copy(), shape[2:], k, st, pad, d)
    if dtype == np.float16:   # the GPU sums in float and rounds once; NumPy rounds per tap
        np.testing.assert_allclose(z, want, rtol=5e-3, atol=5e-3 * math.prod(k))
    else:                     # the same additions in the same order
        np.testing.assert_array_equal(z, want)


@pytest.mark.cuda
@gpu
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_cuda_kernels_match_numpy_per_dimensionality(nd, seed):
    be = _cuda()
    for layout in ("strided", "grid"):
        shape, k, st, pad, d, rows = _geometry(100 + seed, nd=nd, layout=layout)
        x = _x(shape, seed)
        cols = be.im2col(be.xp.asarray(x), k, st, pad, d, rows)
        np.testing.assert_array_equal(cols.get(), numpy_backend.im2col(x, k, st, pad, d, rows))
        z = be.col2im(cols, shape[2:], k, st, pad, d).get()
        np.testing.assert_array_equal(z, numpy_backend.col2im(
            numpy_backend.im2col(x, k, st, pad, d, rows), shape[2:], k, st, pad, d))


@pytest.mark.cuda
@gpu
def test_cuda_kernels_past_2_to_the_31_elements():
    """Column and image indices past 2³¹ (8 GiB of float32 each): a 1×1 kernel makes the
    columns x itself, so both kernels must be exact copies up to the last element."""
    be = _cuda()
    xp = be.xp
    shape = (1, 1, 1 << 15, (1 << 16) + 1)                       # 2³¹ + 2¹⁵ elements
    x = xp.arange(math.prod(shape), dtype=xp.float32).reshape(shape) % 8191
    cols = be.im2col(x, (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), shape[2:])
    assert cols.size > 2 ** 31 and bool(xp.array_equal(cols.ravel(), x.ravel()))
    del cols
    z = be.col2im(x.reshape((1, 1, 1) + shape[2:]), shape[2:], (1, 1), (1, 1),
                  ((0, 0), (0, 0)), (1, 1))
    assert bool(xp.array_equal(z, x))
    # a 2-tap kernel whose taps sit 2³¹ elements apart in the columns
    cols = be.im2col(x[:, :, :1 << 14], (2, 1), (1, 1), ((0, 1), (0, 0)), (1, 1),
                     (1 << 14, shape[3]))
    last = cols[0, 1, 0, -1, -4:]
    assert bool(xp.array_equal(last, xp.zeros(4, dtype=xp.float32)))   # the bottom pad
    assert bool(xp.array_equal(cols[0, 1, 0, -2, -4:], x[0, 0, (1 << 14) - 1, -4:]))


@pytest.mark.cuda
@gpu
def test_cuda_kernels_refuse_integer_dtypes():
    be = _cuda()
    with pytest.raises(TypeError, match="im2col: CUDA kernel for dtype int64"):
        be.im2col(be.xp.zeros((1, 1, 3), dtype=be.xp.int64), (1,), (1,), ((0, 0),), (1,), (3,))
