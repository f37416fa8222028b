"""Offline image datasets: scikit-learn's bundled 8×8 digits, and MNIST from IDX files."""
from __future__ import annotations

import gzip
import os
import struct

import numpy as _np

from ..tensor import Tensor
from .loader import TensorDataset

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


def load_digits(split="train", device=None):
    """The 1,797 8×8 handwritten digits that scikit-learn ships, as a TensorDataset of
    images (n, 1, 8, 8) float32 in [0, 1] and labels (n,) int64.

    The split is fixed: a permutation with seed 0 puts 20 % (359 images) in "test".
    Needs scikit-learn (``pip install "tinygrad_cnn[examples]"``); nothing is downloaded.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"load_digits: split must be 'train', 'test' or 'all', got {split!r}")
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ImportError('load_digits needs scikit-learn: pip install "tinygrad_cnn[examples]"'
                          ) from None
    d = sk_load_digits()
    images = (d.images / 16.0).astype(_np.float32)[:, None]
    labels = d.target.astype(_np.int64)
    order = _np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(labels))
    n_test = int(round(len(labels) * DIGITS_TEST_FRACTION))
    pick = {"test": order[:n_test], "train": order[n_test:], "all": _np.arange(len(labels))}
    idx = pick[split]
    return TensorDataset(Tensor(images[idx], device=device), Tensor(labels[idx], device=device))


_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than this (RFC 1951 blocks)


def _read_exact(f, n, path, what):
    raw = f.read(n)
    if len(raw) != n:
        raise ValueError(f"read_idx: {path} is truncated in its {what} (needs {n} bytes, "
                         f"got {len(raw)})")
    return raw


def read_idx(path):
    """A NumPy array from an IDX file (MNIST's format), gzipped or not, in native byte
    order (IDX stores big endian; conv and the rest of the engine want native arrays).

    Refuses, with a ValueError: non-regular files (a FIFO would block), a bad magic number,
    a truncated header, data longer or shorter than the header's shape, a shape larger
    than the file could hold (so a gzip bomb is never inflated past what the header
    claims), and a corrupted gzip stream.
    """
    import zlib

    from ..safetensors_io import open_regular
    path = os.fspath(path)
    raw_file = open_regular(path, "read_idx")
    size = os.fstat(raw_file.fileno()).st_size
    gz = path.endswith(".gz")
    try:
        with (gzip.GzipFile(fileobj=raw_file, mode="rb") if gz else raw_file) as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
                raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number)")
            ndim = head[3]
            if ndim > 32:  # NumPy's portable limit
                raise ValueError(f"read_idx: {path} claims {ndim} dimensions (at most 32)")
            dims = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "shape"))
            dtype = _np.dtype(_IDX_DTYPES[head[2]])
            expected = int(_np.prod(dims, dtype=object)) * dtype.itemsize
            if not gz and expected > size - 4 - 4 * ndim:
                raise ValueError(f"read_idx: {path} holds {size - 4 - 4 * ndim} data bytes, "
                                 f"its header says {expected} (shape {dims})")
            if expected > size * _DEFLATE_MAX_RATIO:
                raise ValueError(f"read_idx: {path} claims shape {dims}, more than a "
                                 f"{size}-byte gzip file can hold")
            body = f.read(expected + 1)  # one more: data past the shape is an error too
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"read_idx: {path} is not a valid gzip file: {exc}") from None
    finally:
        raw_file.close()
    if len(body) != expected:
        say = f"{len(body)}" if len(body) < expected else "more"
        raise ValueError(f"read_idx: {path} holds {say} data bytes, its header says "
                         f"{expected} (shape {dims})")
    return _np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


class MNIST(TensorDataset):
    """MNIST (or Fashion-MNIST) from the four IDX files in ``root`` (``.gz`` or plain):
    images (n, 1, 28, 28) float32 in [0, 1], labels int64. Nothing is downloaded."""

    FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def __init__(self, root, train=True, device=None):
        paths = []
        for name in self.FILES[bool(train)]:
            for cand in (name, name + ".gz"):
                p = os.path.join(root, cand)
                if os.path.exists(p):
                    paths.append(p)
                    break
            else:
                raise FileNotFoundError(f"MNIST: {name}[.gz] not found in {root!r} (this "
                                        "loader never downloads; put the IDX files there)")
        images = read_idx(paths[0])
        labels = read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"MNIST: images {images.shape} and labels {labels.shape} do not "
                             "form a dataset")
        x = (images.astype(_np.float32) / 255.0)[:, None]
        super().__init__(Tensor(x, device=device), Tensor(labels.astype(_np.int64),
                                                          device=device))
