"""The safetensors container, read and written here in plain Python (no pickle, no code run).

Layout: an 8-byte little-endian header length ``n``, ``n`` bytes of UTF-8 JSON (an object:
``{name: {"dtype": "F32", "shape": [..], "data_offsets": [start, end]}, ...,
"__metadata__": {str: str}}``, padded with spaces), then the tensors' bytes, C order, little
endian, offsets relative to the end of the header.

The reader is stricter than the ``safetensors`` package, never more lenient, so that a file
this module accepts loads the same there (a parser differential is how a file shows one
thing to a checker and another to a loader). It refuses, with a ``ValueError`` naming the
file: a header over 100 MB or longer than the file, JSON that is not an object, duplicate
names or fields (the package keeps the last, silently), NaN/Infinity, lone surrogates,
numbers that are not plain non-negative integers, unknown fields, offsets that overlap,
leave holes or do not end at the end of the file, byte counts that disagree with
dtype × shape, BOOL bytes other than 0/1, and non-regular files (a FIFO or a device would
block or never end). Tensor bytes come from the file, so a file can never make the reader
allocate more than its own size. Known dtypes NumPy has no type for (BF16, F8_*, ...) are
refused by name.
"""
from __future__ import annotations

import json
import os
import stat
import struct
import threading

import numpy as np

MAX_HEADER_BYTES = 100_000_000  # the safetensors package's own limit
MAX_NDIM = 64  # NumPy's
_NUMPY_CODES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2",
                "F16": "<f2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "F64": "<f8",
                "I64": "<i8", "U64": "<u8"}
# dtypes of the format with no NumPy counterpart: named when refused
_NO_NUMPY = ("BF16", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64")
_CODE_OF = {np.dtype(v).newbyteorder("="): k for k, v in _NUMPY_CODES.items()}
_FIELDS = {"dtype", "shape", "data_offsets"}


class UnsupportedDtype(ValueError):
    """A well-formed file with a dtype NumPy cannot hold (not a corrupted one)."""


def dtype_code(dtype):
    """The safetensors name of a NumPy dtype; TypeError for one the format cannot hold."""
    code = _CODE_OF.get(np.dtype(dtype).newbyteorder("="))
    if code is None:
        raise TypeError(f"save: dtype {dtype} cannot be stored (safetensors holds "
                        f"{', '.join(str(np.dtype(v)) for v in _NUMPY_CODES.values())})")
    return code


def write(path, arrays, metadata):
    """Write ``arrays`` ({name: host ndarray}, in order) and ``metadata`` ({str: str}).

    Any memory layout is written in C order and little endian (transposes, Fortran order,
    broadcast and negative-stride views included). The file is written next to ``path`` and
    renamed over it, so a failed save leaves an existing checkpoint whole.
    """
    header, offset, parts = {}, 0, []
    for name, arr in arrays.items():
        code = dtype_code(arr.dtype)
        c = np.asarray(arr, dtype=np.dtype(_NUMPY_CODES[code]), order="C")  # keeps 0-d
        header[name] = {"dtype": code, "shape": list(c.shape),
                        "data_offsets": [offset, offset + c.nbytes]}
        offset += c.nbytes
        parts.append(c)
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # tensor data starts 8-byte aligned
    tmp = f"{path}.tmp{os.getpid()}-{threading.get_ident()}"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(raw)))
            f.write(raw)
            for c in parts:
                if c.size:
                    f.write(c.reshape(-1).view(np.uint8).data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def open_regular(path, op):
    """An open binary file for ``path``, refusing anything but a regular file: checked
    before opening (a FIFO would block the open) and again on the open descriptor (the
    path could have been swapped in between; O_NONBLOCK keeps that open from blocking)."""
    st = os.stat(path)  # FileNotFoundError / PermissionError as they are
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{op}: {path} is not a regular file (a directory, FIFO, socket or "
                         "device); refused before reading")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{op}: {path} stopped being a regular file while it was opened")
    return os.fdopen(fd, "rb")


def _pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"names {dup!r} twice (readers disagree on which one counts)")
    return dict(pairs)


def _no_constant(name):
    raise ValueError(f"holds {name}, which is not JSON")


def parse_json(text, what, allow_nan=False):
    """Strict JSON: duplicate keys and lone surrogates refused (and NaN/Infinity unless
    ``allow_nan``); too deep a nesting is a ValueError, not a RecursionError."""
    try:
        obj = json.loads(text, object_pairs_hook=_pairs,
                         **({} if allow_nan else {"parse_constant": _no_constant}))
        if "\\u" in text:  # only an escape can make a lone surrogate; UTF-8 refuses those
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except UnicodeEncodeError:
        raise ValueError(f"{what} holds an invalid \\u escape (a lone surrogate)") from None
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    return obj


def _uint(v, what):
    if type(v) is not int or not 0 <= v < 2 ** 64:
        raise ValueError(f"{what} must be an integer in [0, 2**64), got {v!r}")
    return v


def _too_big(shape):
    """Whether NumPy would refuse the shape (it bounds the product of the nonzero sizes)."""
    n = 1
    for d in shape:
        n *= max(d, 1)
    return n > 2 ** 62


def _entry(name, info):
    """(numpy dtype, shape, start, end) of one header entry, checked."""
    if not isinstance(info, dict) or set(info) != _FIELDS:
        raise ValueError(f"tensor {name!r} must have exactly the fields dtype, shape, "
                         f"data_offsets; got {info!r:.200}")
    code = info["dtype"]
    if code in _NO_NUMPY:
        raise UnsupportedDtype(f"tensor {name!r} has dtype {code}, which is not supported "
                               "(NumPy has no such type; convert it to float32 before saving)")
    if not isinstance(code, str) or code not in _NUMPY_CODES:
        raise ValueError(f"tensor {name!r} has an unknown dtype {code!r}")
    shape, offs = info["shape"], info["data_offsets"]
    if not isinstance(shape, list) or len(shape) > MAX_NDIM:
        raise ValueError(f"tensor {name!r}: shape must be a list of at most {MAX_NDIM} sizes, "
                         f"got {shape!r:.200}")
    shape = tuple(_uint(d, f"tensor {name!r}: each size in its shape") for d in shape)
    if not isinstance(offs, list) or len(offs) != 2:
        raise ValueError(f"tensor {name!r}: data_offsets must be [start, end], got {offs!r}")
    start, end = (_uint(o, f"tensor {name!r}: data_offsets") for o in offs)
    dtype = np.dtype(_NUMPY_CODES[code])
    nbytes = dtype.itemsize
    for d in shape:
        nbytes *= d
    if nbytes and nbytes // dtype.itemsize > 2 ** 62 or not nbytes and _too_big(shape):
        raise ValueError(f"tensor {name!r}: shape {list(shape)} is too large")
    if end < start or end - start != nbytes:
        raise ValueError(f"tensor {name!r}: data_offsets [{start}, {end}] hold {end - start} "
                         f"bytes, dtype {code} and shape {list(shape)} need {nbytes}")
    return dtype, shape, start, end


def read_header(f, size):
    """(entries {name: (dtype, shape, start, end)} in header order, metadata, data start)."""
    head = f.read(8)
    if len(head) < 8:
        raise ValueError(f"{size} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER_BYTES or n > size - 8:
        raise ValueError(f"the header claims {n} bytes; the file has {size - 8} after the "
                         f"length (and headers are at most {MAX_HEADER_BYTES})")
    raw = f.read(n)
    if len(raw) != n or raw[:1] != b"{":
        raise ValueError("the header is not a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the header is not UTF-8") from None
    header = parse_json(text, "the header")
    if not isinstance(header, dict):  # a hostile file: ValueError like every other
        raise ValueError("the header is not a JSON object")  # noqa: TRY004
    meta = header.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(
            isinstance(v, str) for v in meta.values())):
        raise ValueError("__metadata__ must be an object of strings")
    entries = {name: _entry(name, info) for name, info in header.items()}
    body = size - 8 - n
    at = 0  # the package's rule: sorted by offset, the tensors tile the data exactly
    for name, (_, _, start, end) in sorted(entries.items(), key=lambda e: e[1][2:]):
        if start != at:
            raise ValueError(f"tensor {name!r} starts at byte {start} of the data; the "
                             f"previous tensor ends at {at} (overlap or hole)")
        at = end
    if at != body:
        raise ValueError(f"the tensors cover {at} bytes, the file holds {body} after the "
                         "header (truncated, or trailing bytes)")
    return entries, meta or {}, 8 + n


def read_array(f, data_start, name, entry):
    """One tensor's bytes as a writable native-byte-order ndarray (a fresh allocation the
    size of its slice of the file)."""
    dtype, shape, start, end = entry
    arr = np.empty(shape, dtype=dtype)
    if arr.size:
        f.seek(data_start + start)
        view = memoryview(arr.reshape(-1).view(np.uint8))
        got = 0
        while got < end - start:
            k = f.readinto(view[got:])
            if not k:
                raise ValueError(f"tensor {name!r}: the file ended early (changed while read?)")
            got += k
    if dtype.kind == "b" and arr.size and int(arr.view(np.uint8).max()) > 1:
        raise ValueError(f"tensor {name!r} is BOOL but holds bytes other than 0 and 1")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr
