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
    for i in range(60):
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

    for proto in range(0, 6):
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
