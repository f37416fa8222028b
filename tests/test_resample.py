"""upsample/downsample (zero insertion, the lecture notes' uSample/dSample), interpolate, pad."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import assert_close, check_op, rand, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def test_upsample_inserts_zeros_as_the_notes_define():
    x = tg.tensor([[[1.0, 2.0, 3.0]]])
    assert F.upsample(x, 2).tolist() == [[[1.0, 0.0, 2.0, 0.0, 3.0]]]
    assert F.upsample(x, 3).shape == (1, 1, 7)
    y = F.upsample(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), (2, 1))
    assert y.tolist() == [[[[1.0, 2.0], [0.0, 0.0], [3.0, 4.0]]]]


def test_downsample_keeps_every_factor_th_sample():
    x = tg.arange(7.0).reshape(1, 1, 7)
    assert F.downsample(x, 2).tolist() == [[[0.0, 2.0, 4.0, 6.0]]]   # ceil(7/2) = 4
    assert F.downsample(x, 3).tolist() == [[[0.0, 3.0, 6.0]]]


def test_upsample_and_downsample_are_each_others_backward():
    x = tg.tensor(rand(2, 3, 4, 5), requires_grad=True)
    y = F.upsample(x, (2, 3))
    g = tg.tensor(rand(*y.shape, seed=2))
    y.backward(g)
    assert y.grad_fn.name == "upsample"
    assert_close(x.grad.numpy(), F.downsample(g, (2, 3)).numpy())
    x.grad = None
    z = F.downsample(x, 2)
    h = tg.tensor(rand(*z.shape, seed=3))
    z.backward(h)
    expected = np.zeros((2, 3, 4, 5))
    expected[:, :, ::2, ::2] = h.numpy()
    assert_close(x.grad.numpy(), expected)


def test_resampling_gradients_and_second_derivatives():
    x = tg.tensor(rand(1, 2, 3, 4), requires_grad=True)
    for fn in (lambda t: F.upsample(t, 2) ** 2, lambda t: F.downsample(t, (2, 3)) ** 2,
               lambda t: F.upsample(t, (1, 3))):
        assert tg.gradcheck(fn, [x]) and tg.gradgradcheck(fn, [x])


def test_unbatched_only_with_a_tuple_of_ndim_minus_1_entries():
    x = tg.ones(3, 4, 5)                         # batched 1-D (n=3, c=4, l=5) by default
    assert F.upsample(x, 2).shape == (3, 4, 9)
    assert F.upsample(x, (2, 2)).shape == (3, 7, 9)   # unbatched (c=3, 4, 5)


@pytest.mark.parametrize("call,error,message", [
    (lambda x: F.upsample(x, 0), ValueError, r"upsample: factor must be >= 1, got 0"),
    (lambda x: F.downsample(x, 1.5), TypeError, r"factor must be an int"),
    (lambda x: F.upsample(x, (2, 2, 2, 2)), ValueError, r"factor \(2, 2, 2, 2\) must have one "
     r"entry per spatial dim"),
    (lambda x: F.interpolate(x, scale_factor=float("nan")), ValueError,
     r"scale_factor must be 2 positive finite numbers"),
    (lambda x: F.interpolate(x), ValueError, r"exactly one of size and scale_factor"),
    (lambda x: F.interpolate(x, size=4, mode="linear"), ValueError, r"needs a 3-D input"),
    (lambda x: F.interpolate(x, size=4, align_corners=True), ValueError,
     r"align_corners can only be set with the linear modes"),
    (lambda x: F.pad(x, (1,)), TypeError, r"even number of ints"),
    (lambda x: F.pad(x, (4, 4), mode="reflect"), ValueError, r"reflect padding .* smaller"),
    (lambda x: F.pad(x, (-3, -2)), ValueError, r"leaves no elements"),
])
def test_bad_resample_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(tg.ones(1, 2, 4, 4))


INTERP = [dict(size=(8, 11)), dict(scale_factor=2), dict(scale_factor=(1.5, 0.7)),
          dict(size=(3, 4)), dict(size=(1, 1))]


@requires_torch
@pytest.mark.parametrize("kw", INTERP, ids=str)
@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False),
                                        ("bilinear", True)])
def test_interpolate_2d_matches_torch(kw, mode, align):
    check_op(lambda x: _interp(x, mode=mode, align_corners=align, **kw),
             inputs=[rand(2, 3, 5, 7)], gradcheck=False)


def _interp(x, **kw):
    return (F if isinstance(x, tg.Tensor) else TF).interpolate(x, **kw)


@requires_torch
@pytest.mark.parametrize("shape,mode,kw", [
    ((2, 3, 5), "linear", dict(size=9)), ((2, 3, 5), "linear", dict(scale_factor=0.5)),
    ((2, 3, 5), "nearest", dict(size=12)),
    ((1, 2, 3, 4, 5), "trilinear", dict(scale_factor=(2, 1.5, 0.6))),
    ((1, 2, 3, 4, 5), "nearest", dict(size=(5, 2, 7))),
], ids=str)
def test_interpolate_1d_3d_matches_torch(shape, mode, kw):
    align = False if mode != "nearest" else None
    check_op(lambda x: _interp(x, mode=mode, align_corners=align, **kw), inputs=[rand(*shape)],
             gradcheck=False)


@requires_torch
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 1, 3), (-1, 2, 0, -2), (0, 0, 3, 3)], ids=str)
def test_pad_matches_torch(mode, pad):
    shape = (2, 3, 5, 7) if len(pad) == 4 else (2, 3, 7)
    kw = dict(value=1.5) if mode == "constant" else {}
    check_op(lambda x: (F if isinstance(x, tg.Tensor) else TF).pad(x, pad, mode=mode, **kw),
             inputs=[rand(*shape)], gradcheck=False)


def test_pad_gradients_by_finite_differences():
    x = tg.tensor(rand(1, 2, 3, 4), requires_grad=True)
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert tg.gradcheck(lambda t, mode=mode: F.pad(t, (2, 1, -1, 2), mode=mode) ** 2, [x])


# ---------------------------------------------------------------- NaN/Inf locality
def _poisoned(shape, cells, value, seed=0):
    x = rand(*shape, seed=seed)
    for cell in cells:
        x[cell] = value
    return x


LINEAR_CASES = [
    ((1, 2, 5, 7), "bilinear", dict(scale_factor=2, align_corners=False)),
    ((1, 2, 5, 7), "bilinear", dict(scale_factor=2, align_corners=True)),
    ((1, 2, 6, 7), "bilinear", dict(size=(4, 3), align_corners=False)),
    ((1, 2, 6, 7), "bilinear", dict(size=(11, 3), align_corners=True)),
    ((2, 2, 9), "linear", dict(size=4, align_corners=False)),
    ((1, 2, 4, 5, 6), "trilinear", dict(scale_factor=(2, 0.5, 1.5), align_corners=False)),
]


@requires_torch
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("shape,mode,kw", LINEAR_CASES, ids=str)
def test_interpolate_nonfinite_pixel_stays_local_like_torch(shape, mode, kw, value):
    """One NaN/Inf pixel reaches only the outputs whose neighbours include it (it once
    spread over whole rows and columns through a dense interpolation matrix)."""
    nd = len(shape) - 2
    cells = [(0, 1) + tuple(s // 2 for s in shape[2:]), (0, 0) + (0,) * nd,
             (0, 0) + tuple(s - 1 for s in shape[2:])]
    x = _poisoned(shape, cells, value)
    check_op(lambda t: _interp(t, mode=mode, **kw), inputs=[x], gradcheck=False, devices=())


@requires_torch
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("name,shape,out", [
    ("adaptive_avg_pool2d", (1, 2, 7, 9), (3, 4)),      # overlapping, uneven windows
    ("adaptive_avg_pool2d", (1, 2, 6, 8), (3, 4)),      # tiling windows
    ("adaptive_avg_pool2d", (1, 2, 7, 9), (5, 1)),
    ("adaptive_avg_pool2d", (1, 2, 5, 5), (7, 8)),      # more outputs than inputs
    ("adaptive_avg_pool1d", (2, 2, 10), 3),
], ids=str)
def test_adaptive_avg_nonfinite_pixel_stays_local_like_torch(name, shape, out, value):
    nd = len(shape) - 2
    x = _poisoned(shape, [(0, 1) + tuple(s // 2 for s in shape[2:]), (0, 0) + (0,) * nd],
                  value)
    fn = lambda t: (F if isinstance(t, tg.Tensor) else TF).__dict__[name](t, out)  # noqa: E731
    check_op(fn, inputs=[x], gradcheck=False, devices=())


@pytest.mark.parametrize("out", [(3, 4), (6, 8), (5, 2), 1])
def test_adaptive_avg_gradcheck(out):
    x = tg.tensor(rand(1, 2, 6, 8), requires_grad=True)
    assert tg.gradcheck(lambda t: F.adaptive_avg_pool2d(t, out), [x])


def test_linear_interpolate_gradcheck():
    x = tg.tensor(rand(1, 2, 4, 5), requires_grad=True)
    for align in (False, True):
        assert tg.gradcheck(lambda t, a=align: F.interpolate(t, scale_factor=(1.5, 0.6),
                                                             mode="bilinear", align_corners=a),
                            [x])


# ---------------------------------------------------------------- U-Net usage
UNET = [
    dict(scale_factor=2, mode="bilinear", align_corners=False),
    dict(scale_factor=2, mode="bilinear", align_corners=True),
    dict(size=(9, 13), mode="bilinear", align_corners=False),
    dict(scale_factor=2, mode="nearest"),
    dict(size=(11, 6), mode="nearest"),
    dict(scale_factor=1.7, mode="bilinear", align_corners=False, recompute_scale_factor=True),
    dict(scale_factor=1.7, mode="bilinear", align_corners=False, recompute_scale_factor=False),
    dict(scale_factor=1.7, mode="nearest", recompute_scale_factor=True),
    dict(scale_factor=0.45, mode="nearest", recompute_scale_factor=False),
]


@requires_torch
@pytest.mark.parametrize("kw", UNET, ids=str)
def test_interpolate_unet_usage_matches_torch(kw):
    check_op(lambda t: _interp(t, **kw), inputs=[rand(2, 3, 5, 7)],
             gradcheck=kw.get("size") == (9, 13))


@pytest.mark.parametrize("kw,error,message", [
    (dict(scale_factor=2, mode="bilinear", antialias=True), ValueError,
     r"interpolate: antialias=True is not supported"),
    (dict(size=(4, 4), recompute_scale_factor=True), ValueError,
     r"interpolate: recompute_scale_factor is only meaningful with scale_factor"),
    (dict(scale_factor=2, recompute_scale_factor="yes"), TypeError,
     r"interpolate: recompute_scale_factor must be None, True or False"),
])
def test_interpolate_refuses_unsupported_options(kw, error, message):
    with pytest.raises(error, match=message):
        F.interpolate(tg.ones(1, 1, 3, 3), **kw)


# ---------------------------------------------------------------- pixel shuffle
@requires_torch
@pytest.mark.parametrize("name,shape,r", [
    ("pixel_shuffle", (2, 8, 3, 4), 2), ("pixel_shuffle", (18, 2, 3), 3),
    ("pixel_shuffle", (2, 1, 4, 3, 2), 2), ("pixel_shuffle", (1, 3, 2, 2), 1),
    ("pixel_unshuffle", (2, 3, 4, 6), 2), ("pixel_unshuffle", (2, 6, 9), 3),
    ("pixel_unshuffle", (2, 1, 2, 4, 2), 2),
], ids=str)
def test_pixel_shuffle_matches_torch(name, shape, r):
    check_op(lambda t: getattr(F if isinstance(t, tg.Tensor) else TF, name)(t, r),
             inputs=[rand(*shape)], gradcheck=True)


def test_pixel_shuffle_round_trip_and_bad_arguments():
    x = tg.tensor(rand(2, 12, 3, 5))
    assert np.array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).numpy(), x.numpy())
    with pytest.raises(ValueError, match=r"pixel_shuffle: the channels \(12\) must be "
                                         r"divisible by upscale_factor² \(9\)"):
        F.pixel_shuffle(x, 3)
    with pytest.raises(ValueError, match=r"pixel_unshuffle: the height \(3\) and width \(5\)"):
        F.pixel_unshuffle(x, 2)
    with pytest.raises(ValueError, match=r"pixel_shuffle: upscale_factor must be a positive"):
        F.pixel_shuffle(x, 0)
    with pytest.raises(ValueError, match=r"at least 3 dims"):
        F.pixel_shuffle(tg.ones(4, 4), 2)


# ---------------------------------------------------------------- reflect / nearest fast ops
@requires_torch
@pytest.mark.parametrize("shape,pad", [((2, 3, 7), (3, 2)), ((1, 2, 5, 6), (4, 1, 0, 4)),
                                       ((1, 2, 4, 5, 3), (1, 2, 2, 0, 3, 1))], ids=str)
def test_reflect_pad_op_matches_torch_and_is_the_path_taken(shape, pad):
    from unittest import mock

    from tinygrad_cnn.ops import resample as rs
    check_op(lambda x: (F if isinstance(x, tg.Tensor) else TF).pad(x, pad, mode="reflect"),
             inputs=[rand(*shape)], gradcheck=True)
    with mock.patch.object(rs, "pad_reflect", side_effect=AssertionError("taken")):
        with pytest.raises(AssertionError, match="taken"):
            F.pad(tg.tensor(rand(*shape)), pad, mode="reflect")


def test_reflect_pad_second_derivatives():
    x = tg.tensor(rand(1, 2, 4, 5), requires_grad=True)
    assert tg.gradgradcheck(lambda t: F.pad(t, (3, 1, 2, 3), mode="reflect") ** 2, [x])


@requires_torch
@pytest.mark.parametrize("shape,kw", [((2, 3, 4, 5), dict(scale_factor=2)),
                                      ((2, 3, 4, 5), dict(scale_factor=(3, 1))),
                                      ((2, 3, 4, 5), dict(size=(8, 15))),
                                      ((2, 3, 5), dict(scale_factor=3.0)),
                                      ((1, 2, 3, 2, 4), dict(scale_factor=(1, 2, 2)))], ids=str)
def test_integer_nearest_upsample_matches_torch_and_is_the_path_taken(shape, kw):
    from unittest import mock

    from tinygrad_cnn.ops import resample as rs
    check_op(lambda x: _interp(x, mode="nearest", **kw), inputs=[rand(*shape)], gradcheck=True)
    with mock.patch.object(rs, "repeat_nearest", side_effect=AssertionError("taken")):
        with pytest.raises(AssertionError, match="taken"):
            _interp(tg.tensor(rand(*shape)), mode="nearest", **kw)


def test_integer_nearest_upsample_second_derivatives():
    x = tg.tensor(rand(1, 2, 3, 4), requires_grad=True)
    assert tg.gradgradcheck(lambda t: F.interpolate(t, scale_factor=2) ** 2, [x])
