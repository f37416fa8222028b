"""Every registered op through its conformance-table entry (tests/op_table.py): forward and
backward vs PyTorch (and on the fake device), gradcheck in float64 (full Jacobian up to 256
elements, random directions above), gradgradcheck, float32 in -> float32 out and gradients,
and its error inputs with their messages. Plain-loop references for conv, pooling and
resampling."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import check_op, torch
from op_table import SPECS

SAMPLES = [(name, i) for name in sorted(SPECS) for i in range(len(SPECS[name].samples))]
ERRORS = [(name, j) for name in sorted(SPECS) for j in range(len(SPECS[name].errors))]


def test_every_registered_op_has_a_complete_entry():
    assert set(tg.ops.registry) == set(SPECS), set(tg.ops.registry) ^ set(SPECS)
    for name, spec in SPECS.items():
        assert len(spec.samples) >= 4, name
        assert len(spec.errors) >= 3, name
        assert spec.dtypes and len(tg.ops.registry[name].rule) > 5, name


def _tensors(arrays, dtype=None):
    out = []
    for a in arrays:
        if a.dtype.kind == "f":
            out.append(tg.tensor(a.astype(dtype or a.dtype), requires_grad=True))
        else:
            out.append(tg.tensor(a))
    return out


@pytest.mark.parametrize("name,i", SAMPLES, ids=[f"{n}-{i}" for n, i in SAMPLES])
def test_sample_matches_torch_and_finite_differences(name, i):
    spec = SPECS[name]
    ours, theirs, arrays = spec.samples[i]
    check_op(ours, theirs if torch is not None else None, inputs=arrays,
             grad=spec.differentiable, gradcheck=False, check_dtype=False)
    if not spec.differentiable:
        return
    ts = _tensors(arrays)
    big = sum(a.size for a in arrays) > 256
    assert tg.gradcheck(ours, ts, fast_mode=big)


@pytest.mark.parametrize("name,i", SAMPLES, ids=[f"{n}-{i}" for n, i in SAMPLES])
def test_sample_second_derivatives(name, i):
    spec = SPECS[name]
    if not (spec.differentiable and spec.gradgrad):
        pytest.skip("not differentiable twice by design (see the table)")
    ours, _, arrays = spec.samples[i]
    big = sum(a.size for a in arrays) > 120  # then one random direction, not the full Jacobian
    assert tg.gradgradcheck(ours, _tensors(arrays), fast_mode=big)


@pytest.mark.parametrize("name,i", SAMPLES, ids=[f"{n}-{i}" for n, i in SAMPLES])
def test_float32_in_float32_out(name, i):
    spec = SPECS[name]
    ours, _, arrays = spec.samples[i]
    ts = _tensors(arrays, np.float32)
    out = ours(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        if o.dtype.kind == "f":
            assert o.dtype == tg.float32, (name, o.dtype)
    if spec.differentiable:
        tg.autograd.backward([o for o in outs if o.requires_grad],
                             [tg.ones(*o.shape) for o in outs if o.requires_grad])
        for t in ts:
            if t.requires_grad and t.grad is not None:
                assert t.grad.dtype == tg.float32, name


@pytest.mark.parametrize("name,j", ERRORS, ids=[f"{n}-{j}" for n, j in ERRORS])
def test_error_input(name, j):
    call, exc, message = SPECS[name].errors[j]
    with pytest.raises(exc, match=message):
        call()


# ---------------------------------------------------------------- plain loop references
def _conv2d_loops(x, w, stride, padding, dilation):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, f, oh, ow))
    for b in range(n):
        for o in range(f):
            for i in range(oh):
                for j in range(ow):
                    for cc in range(c):
                        for a in range(kh):
                            for e in range(kw):
                                y[b, o, i, j] += xp[b, cc, i * stride + a * dilation,
                                                    j * stride + e * dilation] * w[o, cc, a, e]
    return y


def _pool2d_loops(x, k, stride, reduce):
    n, c, h, w = x.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    y = np.zeros((n, c, oh, ow))
    for b in range(n):
        for cc in range(c):
            for i in range(oh):
                for j in range(ow):
                    y[b, cc, i, j] = reduce(x[b, cc, i * stride:i * stride + k,
                                              j * stride:j * stride + k])
    return y


def test_conv_and_pooling_against_plain_loops():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    for s, p, d in [(1, 0, 1), (2, 1, 1), (1, 2, 2)]:
        np.testing.assert_allclose(F.conv2d(tg.tensor(x), tg.tensor(w), stride=s, padding=p,
                                            dilation=d).numpy(),
                                   _conv2d_loops(x, w, s, p, d), atol=1e-12)
    for k, s in [(2, 2), (3, 1), (2, 1)]:
        np.testing.assert_allclose(F.max_pool2d(tg.tensor(x), k, s).numpy(),
                                   _pool2d_loops(x, k, s, np.max))
        np.testing.assert_allclose(F.avg_pool2d(tg.tensor(x), k, s).numpy(),
                                   _pool2d_loops(x, k, s, np.mean), atol=1e-12)


def test_upsample_and_downsample_against_plain_loops():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 3, 4))
    up = np.zeros((1, 2, 5, 10))
    for i in range(3):
        for j in range(4):
            up[:, :, 2 * i, 3 * j] = x[:, :, i, j]
    assert np.array_equal(F.upsample(tg.tensor(x), (2, 3)).numpy(), up)
    down = np.array([[[[x[0, c, i, j] for j in range(0, 4, 3)] for i in range(0, 3, 2)]
                      for c in range(2)]])
    assert np.array_equal(F.downsample(tg.tensor(x), (2, 3)).numpy(), down)
