"""``tg.save`` / ``tg.load``: tensors and nested dicts/lists of them in the safetensors
format, which stores raw arrays plus a JSON header and never executes code on load.

Nesting is flattened to dotted keys; the structure (and any plain numbers, strings, bools
or None among the leaves, as in an optimizer's state dict) goes in the file's metadata as
JSON. A file that is not safetensors is refused without being read further, so a pickle
(``torch.save``'s format, say) is never unpickled.
"""
from __future__ import annotations

import json
import os
import struct

from .tensor import Tensor

_MAGIC_KEY = "tinygrad_cnn.structure"


def _flatten(obj, prefix, arrays):
    """JSON-able description of obj; tensors are replaced by {"__tensor__": key}."""
    if isinstance(obj, Tensor):
        key = prefix or "tensor"
        arrays[key] = obj.numpy()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        items = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__}")
            items[str(k)] = _flatten(v, f"{prefix}.{k}" if prefix else str(k), arrays)
        return {"__dict__": items, "__int_keys__": [str(k) for k in obj if isinstance(k, int)]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [_flatten(v, f"{prefix}.{i}" if prefix else str(i), arrays)
                             for i, v in enumerate(obj)], "__tuple__": isinstance(obj, tuple)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"__value__": obj}
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:  # NumPy scalars
        return {"__value__": obj.item()}
    raise TypeError(f"save: cannot store a {type(obj).__name__} (tensors, dicts, lists, tuples "
                    "and plain numbers/strings only)")


def _build(desc, arrays, device):
    if "__tensor__" in desc:
        return Tensor(arrays[desc["__tensor__"]], device=device)
    if "__dict__" in desc:
        ints = set(desc.get("__int_keys__", ()))
        return {(int(k) if k in ints else k): _build(v, arrays, device)
                for k, v in desc["__dict__"].items()}
    if "__list__" in desc:
        items = [_build(v, arrays, device) for v in desc["__list__"]]
        return tuple(items) if desc.get("__tuple__") else items
    return desc["__value__"]


def save(obj, path):
    """Write a tensor, or a nested dict/list of tensors (a state dict), to ``path``."""
    from collections import OrderedDict
    from safetensors.numpy import save_file
    arrays = OrderedDict()
    structure = _flatten(obj, "", arrays)
    save_file(dict(arrays), os.fspath(path), metadata={_MAGIC_KEY: json.dumps(structure)})


def _check_header(path):
    """Recognise a safetensors file from its first bytes (an 8-byte little-endian header
    length, then a JSON object) before anything parses it; name pickles and zips."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        (n,) = struct.unpack("<Q", head[:8])
        if n <= size - 8:
            return
        raise ValueError(f"load: {path} is truncated or corrupted (its header claims {n} bytes, "
                         f"the file has {size - 8} after the length)")
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise ValueError(f"load: {path} is a pickle/zip file (e.g. written by torch.save), not "
                         "a safetensors file; it is refused without being unpickled")
    raise ValueError(f"load: {path} is not a safetensors file (bad or missing header)")


def load(path, device=None):
    """Read what :func:`save` wrote; tensors go to ``device`` (default: CPU)."""
    from safetensors import safe_open
    path = os.fspath(path)
    _check_header(path)
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors reports corruption with its own error types
        raise ValueError(f"load: {path} is corrupted or truncated: {exc}") from None
    if _MAGIC_KEY not in meta:  # a plain safetensors file from elsewhere: a flat dict
        return {k: Tensor(v, device=device) for k, v in arrays.items()}
    try:
        return _build(json.loads(meta[_MAGIC_KEY]), arrays, device)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"load: {path} has corrupted structure metadata ({exc})") from None
