"""tg.save / tg.load, second round: memory layouts, exact keys, checkpoints that restore
training, and files built to hurt the reader (amplification, deep nesting, duplicate names,
FIFOs, unsupported dtypes)."""
import json
import os
import struct
import threading
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn import serialization as ser


def _round_trip(obj, tmp_path, **kw):
    path = tmp_path / "x.safetensors"
    tg.save(obj, path)
    return tg.load(path, **kw)


def _file(tmp_path, header, body=b"", name="h.safetensors"):
    """A safetensors file with exactly this header (a dict, or raw JSON text)."""
    raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)
    return path


def _with_structure(tmp_path, structure, arrays=None):
    """A file holding ``arrays`` and a hand-written structure tree."""
    meta = {"tinygrad_cnn.format": "2",
            "tinygrad_cnn.structure": structure if isinstance(structure, str) else
            json.dumps(structure)}
    path = tmp_path / "s.safetensors"
    ser.io.write(os.fspath(path), arrays or {}, meta)
    return path


# ------------------------------------------------------------------ memory layouts
def _layouts():
    a = np.arange(24.0).reshape(2, 3, 4)
    return {"transpose": a.T, "fortran": np.asfortranarray(a),
            "broadcast": np.broadcast_to(np.arange(4.0), (3, 4)),
            "negative stride": a[::-1, :, ::-2], "big endian": a.astype(">f8"),
            "read-only": np.frombuffer(a.tobytes(), dtype=np.float64).reshape(2, 3, 4)}


@pytest.mark.parametrize("name", list(_layouts()))
def test_any_memory_layout_round_trips_in_logical_order(tmp_path, name):
    arr = _layouts()[name]
    # from_numpy refuses a non-native byte order (as torch does): that one is copied
    t = tg.from_numpy(arr) if arr.dtype.isnative else tg.tensor(arr)
    back = _round_trip({"t": t, "a": arr}, tmp_path)
    for got in (back["t"].numpy(), back["a"]):
        assert got.shape == arr.shape and np.array_equal(got, arr) and got.dtype.isnative
    assert type(back["a"]) is np.ndarray and back["a"].flags.writeable


def test_tensor_views_round_trip(tmp_path):
    x = tg.arange(24.0).reshape(2, 3, 4)
    views = {"T": x.permute(2, 0, 1), "expand": tg.arange(3.0).reshape(3, 1).expand(3, 5),
             "flip": x.flip((0, 2)), "slice": x[:, 1:, ::2]}
    back = _round_trip(views, tmp_path)
    for k, v in views.items():
        assert np.array_equal(back[k].numpy(), v.numpy()), k


def test_linear_with_a_transposed_weight_saves_its_trained_values(tmp_path):
    lin = nn.Linear(3, 2)
    lin.weight = nn.Parameter(tg.tensor(np.arange(6.0, dtype=np.float32).reshape(3, 2)).T)
    assert not lin.weight.array.flags.c_contiguous  # the layout that used to scramble
    opt = tg.optim.SGD(lin.parameters(), lr=0.1)
    lin(tg.ones(1, 3)).sum().backward()
    opt.step()
    back = _round_trip(lin.state_dict(), tmp_path)
    assert np.array_equal(back["weight"].numpy(), lin.weight.numpy())


# ------------------------------------------------------------------ keys and leaves
def test_keys_that_used_to_collide_stay_apart(tmp_path):
    x, y, z, w = (tg.full((1,), float(i)) for i in range(4))
    obj = {"a": {"b": x}, "a.b": y, 1: z, "1": w, "": tg.ones(1), "__metadata__": tg.zeros(2)}
    back = _round_trip(obj, tmp_path)
    assert list(back) == ["a", "a.b", 1, "1", "", "__metadata__"]
    assert [type(k) for k in back] == [str, str, int, str, str, str]
    assert back["a"]["b"].item() == 0 and back["a.b"].item() == 1
    assert back[1].item() == 2 and back["1"].item() == 3


def test_checkpoint_leaves_keep_their_types(tmp_path):
    leaves = {"epoch": 3, "loss": 0.25, "best": True, "name": "run-é-🙂", "none": None,
              "big": 2 ** 70, "neg0": -0.0, "nan": float("nan"), "inf": -float("inf"),
              "betas": (0.9, 0.999), "milestones": [30, 60], "empty": ((), [], {}),
              "nested": {"a": [1, (2, {"b": None})]}, "od": OrderedDict(z=1, a=2),
              "f32": np.float32(0.1), "f16": np.float16(-2.5), "i64": np.int64(-7),
              "u8": np.uint8(200), "b": np.bool_(True), "i8": np.int8(-128)}
    back = _round_trip(leaves, tmp_path)
    assert list(back) == list(leaves)
    for k, v in leaves.items():
        got = back[k]
        assert type(got) is type(v), k
        if k == "nan":
            assert np.isnan(got)
        elif isinstance(v, np.generic):
            assert got.dtype == v.dtype and got.tobytes() == v.tobytes(), k
        else:
            assert got == v, k
    assert str(back["neg0"]) == "-0.0" and list(back["od"]) == ["z", "a"]
    assert type(back["empty"][0]) is tuple and type(back["nested"]["a"][1]) is tuple


@pytest.mark.parametrize("key", [True, 1.5, (1, 2), None, b"x"], ids=repr)
def test_keys_that_cannot_round_trip_are_refused(tmp_path, key):
    with pytest.raises(TypeError, match="save: dict keys must be str or int"):
        tg.save({key: tg.ones(1)}, tmp_path / "k.safetensors")


@pytest.mark.parametrize("obj", [object(), {1, 2}, np.array([1 + 2j]), np.complex64(1),
                                 np.array(["a"]), np.longdouble(1), bytearray(b"x")],
                         ids=lambda o: type(o).__name__)
def test_objects_that_cannot_round_trip_are_refused(tmp_path, obj):
    with pytest.raises(TypeError, match="save: (cannot store|dtype)"):
        tg.save({"x": [obj]}, tmp_path / "o.safetensors")


def test_strings_that_are_not_unicode_are_refused(tmp_path):
    for obj in ({"\ud800": 1}, {"s": "a\udc00"}):
        with pytest.raises(ValueError, match="lone surrogate"):
            tg.save(obj, tmp_path / "u.safetensors")


def test_a_failed_save_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    tg.save({"w": tg.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        tg.save({"w": tg.zeros(3), "bad": object()}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_paths_must_be_paths(tmp_path):
    import io
    with pytest.raises(TypeError, match="save: path must be a str or os.PathLike"):
        tg.save({"a": tg.ones(1)}, io.BytesIO())
    with pytest.raises(TypeError, match="load: path must be"):
        tg.load(io.BytesIO())
    with pytest.raises(ValueError, match="save: .* not a regular file"):
        tg.save({"a": tg.ones(1)}, tmp_path)
    with pytest.raises(FileNotFoundError, match="save: the folder .* does not exist"):
        tg.save({"a": tg.ones(1)}, tmp_path / "nope" / "x.safetensors")
    as_bytes = os.fsencode(tmp_path / "b.safetensors")
    tg.save([tg.ones(2), 3], as_bytes)  # bytes paths work, and a top-level list
    back = tg.load(as_bytes)
    assert type(back) is list and back[0].tolist() == [1.0, 1.0] and back[1] == 3
    assert os.listdir(tmp_path) == ["b.safetensors"]
    tg.save(tg.arange(3), tmp_path / "t.safetensors")  # a bare tensor comes back bare
    assert tg.load(tmp_path / "t.safetensors").tolist() == [0, 1, 2]


# ------------------------------------------------------------------ tensors and devices
def test_tensor_kinds_round_trip(tmp_path):
    w = tg.randn(3, 2, requires_grad=True)
    obj = {"w": w, "w_again": w, "zero_d": tg.tensor(2.5), "empty": tg.zeros(0, 3),
           "fake": tg.arange(4, device="fake"), "bool": tg.tensor([True, False]),
           "i8": tg.tensor([-1, 2], dtype=tg.int8), "u8": tg.tensor([255], dtype=tg.uint8),
           "f16": tg.tensor([1.5], dtype=tg.float16)}
    path = tmp_path / "k.safetensors"
    tg.save(obj, path)
    back = tg.load(path)
    assert back["w"] is back["w_again"] and back["w"].requires_grad and back["w"].is_leaf
    assert not back["zero_d"].requires_grad and back["zero_d"].shape == ()
    for k, v in obj.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        assert np.array_equal(back[k].numpy(), v.detach().numpy()), k
        assert back[k].device == tg.tensor([0]).device, k
    from safetensors import safe_open
    with safe_open(path, framework="numpy") as f:  # the one shared tensor is stored once
        assert sorted(f.keys()) == sorted(set(obj) - {"w_again"})
    fake = tg.load(path, map_location="fake")
    assert all(t.device == tg.tensor([0], device="fake").device
               for k, t in fake.items() if k != "w_again")
    with pytest.raises(TypeError, match="not both"):
        tg.load(path, device="cpu", map_location="cpu")
    with pytest.raises(TypeError, match="map_location must be a device"):
        tg.load(path, map_location=lambda s, loc: s)


def _train(model, opt, steps, x, y):
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("make_opt", [
    lambda ps: tg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: tg.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), amsgrad=True),
], ids=["sgd-momentum", "adam"])
def test_checkpoint_restores_training_exactly(tmp_path, make_opt):
    def make_model(seed):
        tg.manual_seed(seed)
        return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))

    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((8, 4)), dtype=tg.float32)
    y = tg.tensor(rng.standard_normal((8, 2)), dtype=tg.float32)
    straight = make_model(0)
    opt = make_opt(straight.parameters())
    _train(straight, opt, 6, x, y)

    first = make_model(0)
    opt1 = make_opt(first.parameters())
    _train(first, opt1, 3, x, y)
    path = tmp_path / "ckpt.safetensors"
    tg.save({"model": first.state_dict(), "optimizer": opt1.state_dict(), "epoch": 3,
             "loss": 0.25}, path)
    ckpt = tg.load(path)
    assert ckpt["epoch"] == 3 and ckpt["loss"] == 0.25
    resumed = make_model(1)  # different initial weights: all must come from the file
    opt2 = make_opt(resumed.parameters())
    resumed.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0].keys() == opt1.param_groups[0].keys()
    assert all(type(opt2.param_groups[0][k]) is type(v)
               for k, v in opt1.param_groups[0].items())
    _train(resumed, opt2, 3, x, y)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), k


# ------------------------------------------------------------------ hostile files
def test_many_references_to_one_tensor_share_it(tmp_path):
    path = _with_structure(tmp_path, {"list": [{"tensor": "t"}] * 4000},
                           {"t": np.zeros(2 ** 17, dtype=np.float64)})  # a 1 MB tensor
    assert path.stat().st_size < 1.2e6
    back = tg.load(path)
    assert len(back) == 4000 and all(t is back[0] for t in back)


def test_structure_node_and_depth_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(ser, "MAX_NODES", 100)
    path = _with_structure(tmp_path, {"list": [{"value": 1}] * 100})
    with pytest.raises(ValueError, match="load: .*more than 100 nodes"):
        tg.load(path)
    monkeypatch.undo()
    deep = '{"list":[' * 100_000 + ']}' * 100_000
    with pytest.raises(ValueError, match="load: .*nested too deeply"):
        tg.load(_with_structure(tmp_path, deep))
    medium = '{"list":[' * (ser.MAX_DEPTH + 5) + ']}' * (ser.MAX_DEPTH + 5)
    with pytest.raises(ValueError, match="load: .*deeper than"):
        tg.load(_with_structure(tmp_path, medium))
    nested = []
    for _ in range(50_000):
        nested = [nested]
    with pytest.raises(ValueError, match="save: nesting deeper than"):
        tg.save(nested, tmp_path / "deep.safetensors")


def test_deeply_nested_header_is_a_value_error(tmp_path):
    path = _file(tmp_path, '{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValueError, match="load: .*nested too deeply"):
        tg.load(path)


@pytest.mark.parametrize("structure, match", [
    ({"tensor": "nope"}, "does not hold"),
    ({"list": []}, "not in its structure"),  # the file's tensor would be dropped silently
    ({"dict": [["a", {"tensor": "t"}], ["a", {"value": 1}]]}, "repeated dict entry"),
    ({"dict": [[True, {"tensor": "t"}]]}, "bad or repeated"),
    ({"list": [{"tensor": "t"}], "tuple": []}, "unknown node"),
    ({"tensor": "t", "requires_grad": 1}, "requires_grad"),
    ({"list": [{"tensor": "t"}, {"numpy": ["int8", 300]}]}, "out of range"),
    ({"list": [{"tensor": "t"}, {"numpy": ["object", 1]}]}, "bad NumPy scalar"),
    ({"list": [{"tensor": "t"}, {"value": [1]}]}, "bad value"),
    ([1], "must be an object"),
    ('{"tensor": "t"} x', "not valid JSON"),
    ('{"list": [{"tensor": "t"}], "list": []}', "twice"),
])
def test_bad_structures_are_refused(tmp_path, structure, match):
    path = _with_structure(tmp_path, structure, {"t": np.ones(2, dtype=np.float32)})
    with pytest.raises(ValueError, match="load: .*structure metadata.*" + match):
        tg.load(path)


def test_header_naming_a_tensor_twice_is_refused(tmp_path):
    body = np.arange(2, dtype="<f4").tobytes()
    def entry(code):
        return f'"dtype":"{code}","shape":[2],"data_offsets":[0,8]'

    path = _file(tmp_path, f'{{"a":{{{entry("F32")}}},"a":{{{entry("I32")}}}}}', body)
    from safetensors import safe_open
    with safe_open(path, framework="numpy") as f:  # the package silently keeps the last one
        assert f.get_tensor("a").dtype == np.int32
    with pytest.raises(ValueError, match="load: .*names 'a' twice"):
        tg.load(path)
    dup_field = _file(tmp_path, f'{{"a":{{{entry("F32")},"dtype":"I32"}}}}', body)
    with pytest.raises(ValueError, match="names 'dtype' twice"):
        tg.load(dup_field)


@pytest.mark.parametrize("header, match", [
    ('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":NaN}', "not JSON"),
    ('{"\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', "lone surrogate"),
    ('{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', "integer"),
    ('{"a":{"dtype":"F32","shape":[true,2],"data_offsets":[0,8]}}', "integer"),
    ('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', "integer"),
    ('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', "exactly the fields"),
    ('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}', r"\[start, end\]"),
    ('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', "overlap or hole"),
    ('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', "trailing bytes"),
    ('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}', "truncated"),
    (('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'), "overlap or hole"),
    (('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
      '"b":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[8,8]}}'),
     "too large"),
    ('{"a":{"dtype":"F32","shape":' + str([1] * 65) + ',"data_offsets":[0,8]}}', "at most 64"),
    ('{"__metadata__":{"x":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
     "object of strings"),
    ('{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}', "unknown dtype"),
    ('{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}', "BF16, which is not supported"),
    ('{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}', "F8_E4M3, which is not"),
    ('[{"a":1}]', "not a JSON object"),
    (' {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', "not a JSON object"),
])
def test_bad_headers_are_refused_by_name(tmp_path, header, match):
    path = _file(tmp_path, header, np.arange(2, dtype="<f4").tobytes())
    with pytest.raises(ValueError, match="load: .*" + match):
        tg.load(path)


@pytest.mark.parametrize("code", ["BF16", "F8_E5M2", "F8_E4M3"])
def test_valid_files_of_unsupported_dtypes_say_so(tmp_path, code):
    n = 2 if code == "BF16" else 4
    path = _file(tmp_path, {"a": {"dtype": code, "shape": [n], "data_offsets": [0, 4]}},
                 bytes(4))
    with pytest.raises(ValueError) as info:
        tg.load(path)
    assert f"dtype {code}, which is not supported" in str(info.value)
    assert "corrupted" not in str(info.value) and str(info.value).startswith("load:")


def test_bool_bytes_other_than_0_and_1_are_refused(tmp_path):
    path = _file(tmp_path, {"a": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}},
                 b"\x01\x02")
    with pytest.raises(ValueError, match="load: .*BOOL but holds bytes other than 0 and 1"):
        tg.load(path)


def test_a_valid_header_whose_length_starts_like_a_pickle_loads(tmp_path):
    for n in range(200):  # a key length that makes the header length 0x80 mod 256
        path = tmp_path / "p.safetensors"
        tg.save({"k" * n: tg.ones(1)}, path)
        if path.read_bytes()[0] == 0x80:
            assert tg.load(path)["k" * n].item() == 1
            return
    raise AssertionError("no key length gave a header length of 0x80 mod 256")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifos_and_devices_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    result = []

    def run():
        try:
            tg.load(fifo)
        except ValueError as exc:
            result.append(str(exc))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the open so the test process can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load blocked on a FIFO")
    assert result and "not a regular file" in result[0]
    with pytest.raises(ValueError, match="load: .*not a regular file"):
        tg.load(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ValueError, match="load: .*not a regular file"):
            tg.load("/dev/zero")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "nope.safetensors")


def test_first_format_files_still_load(tmp_path):
    structure = {"__dict__": {"w": {"__tensor__": "w"}, "1": {"__list__": [
        {"__value__": 2}, {"__value__": "s"}], "__tuple__": True}}, "__int_keys__": ["1"]}
    path = tmp_path / "old.safetensors"
    ser.io.write(os.fspath(path), {"w": np.arange(3.0)},
                 {"tinygrad_cnn.structure": json.dumps(structure)})
    back = tg.load(path)
    assert back["w"].tolist() == [0.0, 1.0, 2.0] and back[1] == (2, "s")


def test_plain_safetensors_files_from_elsewhere_load_flat(tmp_path):
    from safetensors.numpy import save_file
    path = tmp_path / "other.safetensors"
    save_file({"x": np.arange(6, dtype=np.int32).reshape(2, 3), "y": np.ones(0)}, str(path))
    back = tg.load(path)
    assert back["x"].tolist() == [[0, 1, 2], [3, 4, 5]] and back["y"].shape == (0,)
