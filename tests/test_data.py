"""Datasets and the DataLoader; the example's training loop end to end (a few seconds)."""
import gzip
import os
import struct
import sys

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.data import MNIST, DataLoader, Dataset, TensorDataset, load_digits, read_idx

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def test_tensor_dataset_batches_in_order_with_drop_last():
    ds = TensorDataset(tg.arange(10), tg.arange(10) * 2)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][1].tolist() == [0, 2, 4, 6]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [len(b[0]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]


def test_shuffle_is_seeded_and_changes_each_epoch():
    ds = TensorDataset(tg.arange(20))
    a = DataLoader(ds, batch_size=20, shuffle=True, seed=3)
    b = DataLoader(ds, batch_size=20, shuffle=True, seed=3)
    e1, e2 = next(iter(a))[0].tolist(), next(iter(a))[0].tolist()
    assert e1 == next(iter(b))[0].tolist() and e1 != e2 and sorted(e1) == list(range(20))
    tg.manual_seed(1)
    g1 = next(iter(DataLoader(ds, batch_size=20, shuffle=True)))[0].tolist()
    tg.manual_seed(1)
    assert g1 == next(iter(DataLoader(ds, batch_size=20, shuffle=True)))[0].tolist()


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return tg.tensor([float(i)]), i * i

    x, y = next(iter(DataLoader(Squares(), batch_size=3)))
    assert x.shape == (3, 1) and y.tolist() == [0, 1, 4]


def test_bad_loader_arguments():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(TensorDataset(tg.ones(3)), batch_size=0)
    with pytest.raises(ValueError, match="tensor 1 has 2 rows, tensor 0 has 3"):
        TensorDataset(tg.ones(3), tg.ones(2))


def test_digits_split_is_fixed():
    pytest.importorskip("sklearn")
    train, test = load_digits("train"), load_digits("test")
    assert len(train) == 1438 and len(test) == 359
    x, y = train.tensors
    assert x.shape == (1438, 1, 8, 8) and x.dtype == tg.float32 and y.dtype == tg.int64
    assert 0.0 <= x.min().item() and x.max().item() <= 1.0
    assert load_digits("test").tensors[1].tolist() == test.tensors[1].tolist()


def _write_idx(path, array, code):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                         *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


def test_mnist_reads_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 6, dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels, 0x08)
    ds = MNIST(tmp_path, train=True)
    x, y = ds.tensors
    assert x.shape == (6, 1, 28, 28) and np.allclose(x.numpy()[:, 0] * 255, images)
    assert y.tolist() == labels.tolist() and y.dtype == tg.int64
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        MNIST(tmp_path, train=False)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((2, 3), np.uint8), 0x08)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="holds 5 data bytes, its header says 6"):
        read_idx(tmp_path / "short")


def test_example_training_loss_falls_and_prints_the_result_line(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("tqdm")
    sys.path.insert(0, EXAMPLES)
    try:
        import train_cnn
    finally:
        sys.path.remove(EXAMPLES)
    acc = train_cnn.main(["--epochs", "2", "--out", str(tmp_path), "--seed", "0"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("test_accuracy=") and " wall_s=" in last
    assert acc > 0.8  # two epochs already learn most digits (the full run reaches > 0.97)
    assert (tmp_path / "model.safetensors").exists()
    model = train_cnn.make_model()
    model.load_state_dict(tg.load(tmp_path / "model.safetensors"))
