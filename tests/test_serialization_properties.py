"""Property tests (hypothesis) for tg.save / tg.load: drawn checkpoints round-trip exactly
(keys, types, order, values, bytes), and drawn structure metadata is either loaded or
refused with one ValueError, never another exception."""
import json
import math
import os
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import serialization as ser

hypothesis = pytest.importorskip("hypothesis")
HealthCheck, given, settings = hypothesis.HealthCheck, hypothesis.given, hypothesis.settings
st = pytest.importorskip("hypothesis.strategies")

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
DTYPES = ["float16", "float32", "float64", "int8", "int64", "uint8", "bool"]


@st.composite
def tensors(draw):
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    dtype = draw(st.sampled_from(DTYPES))
    raw = draw(st.binary(min_size=int(np.prod(shape)) * np.dtype(dtype).itemsize,
                         max_size=int(np.prod(shape)) * np.dtype(dtype).itemsize))
    arr = np.frombuffer(raw, dtype="u1").astype(bool) if dtype == "bool" else \
        np.frombuffer(raw, dtype=dtype)
    arr = arr.reshape(shape)
    if draw(st.booleans()) and arr.ndim >= 2:
        arr = arr.T  # a non-C-contiguous layout
    return tg.from_numpy(arr)


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 80, 2 ** 80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), tensors(),
    st.builds(np.float32, st.floats(width=32)), st.builds(np.int16, st.integers(-300, 300)))
keys = st.one_of(st.text(max_size=5), st.integers(-5, 5))
trees = st.recursive(leaves, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.lists(kids, max_size=4).map(tuple),
    st.dictionaries(keys, kids, max_size=4),
    st.dictionaries(keys, kids, max_size=4).map(OrderedDict)), max_leaves=20)


def _same(a, b):
    """Exact equality: types, key order, float bits, tensor dtype/shape/bytes."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        assert type(x) is type(y), (x, y)
        if isinstance(x, tg.Tensor):
            assert x.dtype == y.dtype and x.shape == y.shape
            assert x.numpy().tobytes() == y.numpy().tobytes()
        elif isinstance(x, dict):
            assert list(x) == list(y) and [type(k) for k in x] == [type(k) for k in y]
            stack.extend(zip(x.values(), y.values()))
        elif isinstance(x, (list, tuple)):
            assert len(x) == len(y)
            stack.extend(zip(x, y))
        elif isinstance(x, (float, np.floating)):
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes() or \
                (math.isnan(x) and math.isnan(y))
        else:
            assert x == y


@SETTINGS
@given(obj=trees)
def test_drawn_checkpoints_round_trip_exactly(tmp_path, obj):
    path = tmp_path / "p.safetensors"
    tg.save(obj, path)
    _same(obj, tg.load(path))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(), st.text(max_size=3),
              st.sampled_from(["t", "tensor", "list", "dict", "value", "numpy", "int8"])),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(
        st.sampled_from(["tensor", "ndarray", "list", "tuple", "dict", "odict", "value",
                         "numpy", "requires_grad", "x"]), kids, max_size=2)), max_leaves=12)


@SETTINGS
@given(tree=json_values)
def test_drawn_structures_load_or_are_refused_cleanly(tmp_path, tree):
    path = tmp_path / "s.safetensors"
    ser.io.write(os.fspath(path), {"t": np.arange(3.0)},
                 {"tinygrad_cnn.format": "2", "tinygrad_cnn.structure": json.dumps(tree)})
    try:
        tg.load(path)
    except ValueError as exc:
        assert str(exc).startswith("load:")
