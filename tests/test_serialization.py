"""tg.save / tg.load: safetensors round trips, nested structures, and refusing pickles."""
import pickle

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn


def test_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    model(tg.randn(2, 1, 4, 4))  # moves the running stats
    path = tmp_path / "model.safetensors"
    tg.save(model.state_dict(), path)
    loaded = tg.load(path)
    assert list(loaded) == list(model.state_dict())
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    other.load_state_dict(loaded)
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k


def test_nested_structures_dtypes_and_plain_values(tmp_path):
    obj = {"a": tg.arange(3), "b": [tg.ones(2, dtype=tg.float64), {"c": tg.tensor(True)}],
           "n": 3, "s": "text", "f": 0.5, "none": None, 7: (tg.zeros(1), 2)}
    tg.save(obj, tmp_path / "x.safetensors")
    back = tg.load(tmp_path / "x.safetensors")
    assert back["a"].tolist() == [0, 1, 2] and back["a"].dtype == tg.int64
    assert back["b"][0].dtype == tg.float64 and back["b"][1]["c"].item() is True
    assert (back["n"], back["s"], back["f"], back["none"]) == (3, "text", 0.5, None)
    assert isinstance(back[7], tuple) and back[7][1] == 2


def test_pickle_files_are_refused_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Boom(), protocol=2))
    with pytest.raises(ValueError, match="pickle/zip file .* refused without being unpickled"):
        tg.load(path)
    zip_path = tmp_path / "torch.pt"
    zip_path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(ValueError, match="refused"):
        tg.load(zip_path)


def test_corrupted_and_truncated_files_raise_clear_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    tg.save({"w": tg.randn(100)}, path)
    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted|corrupted or truncated"):
        tg.load(tmp_path / "trunc.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"hello world, not a tensor file")
    with pytest.raises(ValueError, match="not a safetensors file"):
        tg.load(tmp_path / "junk.safetensors")


def test_unsupported_objects_are_rejected(tmp_path):
    with pytest.raises(TypeError, match="save: cannot store a object"):
        tg.save({"x": object()}, tmp_path / "bad.safetensors")
