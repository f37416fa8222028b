"""save/load robustness: bit-exact round trips for every dtype and shape, and hundreds of
corrupted, truncated and hostile files that must each raise one clear error."""
import json
import pickle
import struct

import numpy as np
import pytest

import tinygrad_cnn as tg

DTYPES = [tg.float16, tg.float32, tg.float64, tg.int8, tg.int16, tg.int32, tg.int64,
          tg.uint8, tg.bool]
SHAPES = [(), (0,), (3,), (2, 0, 3), (2, 3, 4)]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_round_trip_is_bit_exact(tmp_path, dtype):
    rng = np.random.default_rng(0)
    obj = {}
    for i, shape in enumerate(SHAPES):
        a = (rng.standard_normal(shape) * 100).astype(dtype) if dtype != tg.bool else \
            rng.random(shape) > 0.5
        obj[f"t{i}"] = tg.tensor(a)
    obj["special"] = tg.tensor(np.array([np.nan, -np.inf, np.inf, -0.0], dtype=dtype)) \
        if dtype.kind == "f" else tg.tensor(np.zeros(1, dtype=dtype))
    tg.save(obj, tmp_path / "x.safetensors")
    back = tg.load(tmp_path / "x.safetensors")
    for k, t in obj.items():
        assert back[k].dtype == t.dtype and back[k].shape == t.shape
        assert back[k].numpy().tobytes() == t.numpy().tobytes(), k


def _valid_file(tmp_path):
    path = tmp_path / "ok.safetensors"
    tg.save({"a": tg.arange(12.0).reshape(3, 4), "b": tg.ones(5, dtype=tg.int64)}, path)
    return path.read_bytes()


def _hostile_variants(data):
    """(description, bytes): truncations, bit flips, bad header lengths and offsets,
    dtype/shape that do not match the bytes, pickles, junk."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    rng = np.random.default_rng(0)
    out = []
    for cut in sorted(set(rng.integers(0, len(data), 60).tolist()) | {0, 1, 7, 8, 9}):
        out.append((f"truncated at {cut}", data[:cut]))
    for _ in range(60):
        pos = int(rng.integers(0, len(data)))
        b = bytearray(data)
        b[pos] ^= 1 << int(rng.integers(0, 8))
        out.append((f"bit flip at {pos}", bytes(b)))
    for claim in (0, 1, n - 1, n + 1, len(data), 2 ** 40, 2 ** 63, 2 ** 64 - 1):
        out.append((f"header length {claim}", struct.pack("<Q", claim) + data[8:]))

    def with_header(h):
        raw = json.dumps(h).encode()
        return struct.pack("<Q", len(raw)) + raw + body

    for key in ("a", "b"):
        for field, values in (("data_offsets", ([0, 10 ** 12], [5, 2], [-1, 4], [0, 1],
                                                "x", None)),
                              ("shape", ([10 ** 9], [-1], [3, 5], "x", [0])),
                              ("dtype", ("F99", "I64X", "", 5, "BOGUS"))):
            for v in values:
                h = json.loads(json.dumps(header))
                h[key][field] = v
                out.append((f"{key}.{field}={v!r}", with_header(h)))
    h = json.loads(json.dumps(header))
    h["__metadata__"]["tinygrad_cnn.structure"] = '{"__tensor__": "missing"}'
    out.append(("structure points to a missing tensor", with_header(h)))
    h = json.loads(json.dumps(header))
    h["__metadata__"]["tinygrad_cnn.structure"] = "{not json"
    out.append(("structure not JSON", with_header(h)))
    h = json.loads(json.dumps(header))
    h["__metadata__"]["tinygrad_cnn.structure"] = json.dumps({"__weird__": 1})
    out.append(("structure of unknown shape", with_header(h)))

    class Evil:
        def __reduce__(self):
            return (exec, ("raise SystemExit('executed!')",))

    for proto in range(6):
        out.append((f"pickle protocol {proto}", pickle.dumps(Evil(), protocol=proto)))
    out.append(("zip (torch.save)", b"PK\x03\x04" + bytes(100)))
    for i in range(30):
        out.append((f"random junk {i}", rng.integers(0, 256, int(rng.integers(0, 300)),
                                                     dtype=np.uint8).tobytes()))
    out.append(("empty file", b""))
    out.append(("header not JSON", struct.pack("<Q", 5) + b"{abcd" + body))
    out.append(("header JSON not an object", with_header([1, 2, 3])))
    return out


def test_hostile_files_raise_one_clear_error(tmp_path):
    data = _valid_file(tmp_path)
    variants = _hostile_variants(data)
    assert len(variants) >= 200
    outcomes = {"rejected": 0, "loaded": 0}
    for desc, blob in variants:
        path = tmp_path / "bad.safetensors"
        path.write_bytes(blob)
        try:
            obj = tg.load(path)
        except ValueError as exc:
            assert str(exc).startswith("load:"), (desc, exc)
            outcomes["rejected"] += 1
            continue
        # a flip that keeps the file valid (inside the data, or a letter of a name) loads:
        # what comes back is still a dict of tensors
        outcomes["loaded"] += 1
        assert isinstance(obj, dict) and all(isinstance(v, tg.Tensor) for v in obj.values())
    assert outcomes["rejected"] > 150


def test_whatever_loads_here_loads_the_same_in_the_safetensors_package(tmp_path):
    """Parser differential: this reader is never more lenient than the reference one, and
    where both accept a file they read the same tensors."""
    from safetensors import safe_open
    data = _valid_file(tmp_path)
    loaded = 0
    for desc, blob in _hostile_variants(data):
        path = tmp_path / "d.safetensors"
        path.write_bytes(blob)
        try:
            ours = tg.load(path)
        except ValueError:
            continue
        loaded += 1
        with safe_open(path, framework="numpy") as f:  # raises if the package refuses it
            theirs = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        flat = {}
        stack = [ours]
        while stack:  # the tensors of the (maybe nested) structure, by file name order
            o = stack.pop()
            if isinstance(o, dict):
                stack.extend(o.values())
            elif isinstance(o, tg.Tensor):
                flat[id(o)] = o.numpy()
        assert sorted(a.tobytes() for a in flat.values()) == \
            sorted(a.tobytes() for a in theirs.values()), desc
    assert loaded > 0


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64"])
def test_unsigned_dtypes_round_trip(tmp_path, dtype):
    a = np.array([0, 1, np.iinfo(dtype).max], dtype=dtype)
    tg.save({"t": tg.from_numpy(a)}, tmp_path / "u.safetensors")
    back = tg.load(tmp_path / "u.safetensors")["t"]
    assert back.dtype == a.dtype and np.array_equal(back.numpy(), a)


def _idx_bytes(array, code):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("code, dtype", [(0x08, "u1"), (0x09, "i1"), (0x0B, "i2"),
                                         (0x0C, "i4"), (0x0D, "f4"), (0x0E, "f8")])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_read_idx_returns_native_byte_order(tmp_path, code, dtype, gz):
    import gzip

    from tinygrad_cnn.data import read_idx
    a = (np.arange(2 * 3 * 4 * 5) % 100 - 50).astype(dtype).reshape(2, 3, 4, 5) \
        if dtype != "u1" else np.arange(120, dtype=np.uint8).reshape(2, 3, 4, 5)
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    raw = _idx_bytes(a, code)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    got = read_idx(path)
    assert got.dtype.isnative and got.dtype == np.dtype(dtype) and np.array_equal(got, a)
    if dtype[0] == "f":  # the engine takes it as it is: conv refused big-endian arrays
        x = tg.tensor(got[:, :1])
        w = tg.ones(1, 1, 2, 2, dtype=x.dtype)
        ref = got[:, 0, :-1, :-1] + got[:, 0, 1:, :-1] + got[:, 0, :-1, 1:] + got[:, 0, 1:, 1:]
        np.testing.assert_allclose(tg.functional.conv2d(x, w).numpy()[:, 0], ref)


def test_read_idx_refuses_bad_files_clearly(tmp_path):
    import gzip
    import os

    from tinygrad_cnn.data import read_idx
    good = _idx_bytes(np.zeros((3, 4), np.uint8), 0x08)
    cases = {"truncated shape": good[:6], "extra data": good + b"\x00",
             "short data": good[:-1], "huge shape": good[:4] + struct.pack(">2I", 2**31, 2**31),
             "too many dims": bytes([0, 0, 8, 200]) + bytes(800)}
    for blob in cases.values():
        (tmp_path / "bad").write_bytes(blob)
        with pytest.raises(ValueError, match="read_idx: "):
            read_idx(tmp_path / "bad")
        (tmp_path / "bad.gz").write_bytes(gzip.compress(blob))
        with pytest.raises(ValueError, match="read_idx: "):
            read_idx(tmp_path / "bad.gz")
    (tmp_path / "junk.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="read_idx: .*not a valid gzip file"):
        read_idx(tmp_path / "junk.gz")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(good)[:-9])
    with pytest.raises(ValueError, match="read_idx: .*not a valid gzip file"):
        read_idx(tmp_path / "cut.gz")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(ValueError, match="read_idx: .*not a regular file"):
            read_idx(tmp_path / "fifo")
