"""Bad-input fuzz: hundreds of drawn invalid argument sets per CNN op. Each must raise a
ValueError, TypeError or RuntimeError whose message starts with the op's name; an
IndexError, an AssertionError or a bare NumPy error escaping is a failure."""
import math

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F

N_CASES = 220


def _bad_int(rng):
    return [0, -1, -3, 1.5, "2", None, float("nan"), True][int(rng.integers(0, 8))]


def _conv_case(rng, name):
    """A valid call, then one field spoiled."""
    x = tg.ones(2, 4, 6, 5)
    w = tg.ones(6, 2, 3, 3) if name == "conv2d" else tg.ones(4, 3, 3, 3)
    kw = dict(stride=1, padding=1, dilation=1, groups=2 if name == "conv2d" else 1)
    spoil = int(rng.integers(0, 9))
    if spoil == 0:
        kw["stride"] = _bad_int(rng)
    elif spoil == 1:
        kw["dilation"] = _bad_int(rng)
    elif spoil == 2:
        kw["padding"] = [-1, -2, 1.5, "full", (1, 2, 3), None][int(rng.integers(0, 6))]
    elif spoil == 3:
        kw["groups"] = [0, 3, 5, -1, 2.0][int(rng.integers(0, 5))]
    elif spoil == 4:  # channel mismatch
        w = tg.ones(6, 3, 3, 3) if name == "conv2d" else tg.ones(5, 3, 3, 3)
    elif spoil == 5:  # wrong ndim
        x = tg.ones(*([2] * int(rng.choice([1, 2, 5, 6]))))
    elif spoil == 6:
        if name == "conv2d":  # kernel larger than the padded input
            w = tg.ones(6, 2, 9, 3)
            kw["padding"] = 0
        elif rng.random() < 0.5:  # output_padding not smaller than stride
            kw["output_padding"] = 1
        else:  # padding that leaves no output
            kw["padding"] = 6
    elif spoil == 7:  # dtype mismatch, or an integer input
        x = x.double() if rng.random() < 0.5 else x.long()
    else:  # device mismatch
        x = x.to("fake")
    return (lambda: getattr(F, name)(x, w, **kw)), spoil


def _pool_case(rng, name):
    x = tg.ones(2, 3, 7, 6)
    kw = dict(kernel_size=3, stride=2, padding=1)
    spoil = int(rng.integers(0, 7))
    if spoil == 0:
        kw["kernel_size"] = _bad_int(rng)
    elif spoil == 1:
        kw["stride"] = [0, -2, 1.5, "x"][int(rng.integers(0, 4))]
    elif spoil == 2:
        kw["padding"] = [2, 3, -1, 0.5][int(rng.integers(0, 4))]   # > kernel/2, negative
    elif spoil == 3:
        kw["kernel_size"] = (9, 9)
        kw["padding"] = 0
    elif spoil == 4:
        x = tg.ones(*([3] * int(rng.choice([1, 2, 5]))))
    elif spoil == 5:
        x = x.long()
    else:
        kw["kernel_size"] = (3, 3, 3)
    return (lambda: getattr(F, name)(x, **kw)), spoil


def _resample_case(rng, name):
    x = tg.ones(1, 2, 4, 5)
    spoil = int(rng.integers(0, 4))
    if name in ("upsample", "downsample"):
        factor = [0, -1, 1.5, "2", (2, 0), (2, 2, 2, 2), float("nan")][int(rng.integers(0, 7))]
        return (lambda: getattr(F, name)(x, factor)), spoil
    kw = [dict(scale_factor=float("nan")), dict(scale_factor=-1.0), dict(size=0),
          dict(size=(2, 2), scale_factor=2), dict(), dict(size=3, mode="bicubic"),
          dict(size=3, mode="linear"), dict(size=3, align_corners=True),
          dict(scale_factor=math.inf)][int(rng.integers(0, 9))]
    return (lambda: F.interpolate(x, **kw)), spoil


CASES = {"conv2d": _conv_case, "conv_transpose2d": _conv_case, "max_pool2d": _pool_case,
         "avg_pool2d": _pool_case, "upsample": _resample_case, "downsample": _resample_case,
         "interpolate": _resample_case}


@pytest.mark.parametrize("name", list(CASES))
def test_invalid_arguments_raise_clear_errors(name):
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    for i in range(N_CASES):
        call, spoil = CASES[name](rng, name)
        try:
            call()
        except (ValueError, TypeError, RuntimeError) as exc:
            msg = str(exc)
            assert msg.startswith(name + ":") or msg.startswith("add:"), \
                f"case {i} (spoil {spoil}): message does not name {name}: {msg!r}"
            assert not isinstance(exc, (IndexError, AssertionError))
        else:
            pytest.fail(f"{name} case {i} (spoil {spoil}) did not raise")


# every F.* of the CNN families, given a nested list instead of a Tensor
NESTED = {
    "conv1d": (tg.ones(2, 2, 2),), "conv2d": (tg.ones(2, 2, 2, 2),),
    "conv3d": (tg.ones(2, 2, 2, 2, 2),), "conv_transpose1d": (tg.ones(2, 2, 2),),
    "conv_transpose2d": (tg.ones(2, 2, 2, 2),), "conv_transpose3d": (tg.ones(2, 2, 2, 2, 2),),
    "max_pool1d": (2,), "max_pool2d": (2,), "max_pool3d": (2,), "avg_pool1d": (2,),
    "avg_pool2d": (2,), "avg_pool3d": (2,), "adaptive_avg_pool1d": (2,),
    "adaptive_avg_pool2d": (2,), "adaptive_max_pool2d": (2,),
    "max_unpool2d": (tg.zeros(1, 1, 2, 2, dtype=tg.int64), 2),
    "upsample": (2,), "downsample": (2,), "interpolate": (4,), "pad": ((1, 1),),
    "pixel_shuffle": (2,), "pixel_unshuffle": (2,),
}


@pytest.mark.parametrize("name", list(NESTED))
def test_nested_list_input_raises_type_error_naming_the_function(name):
    data = [[[[1.0, 2.0], [3.0, 4.0]]]]
    with pytest.raises(TypeError, match=rf"^{name}: input must be a Tensor, got list"):
        getattr(F, name)(data, *NESTED[name])
