"""``tg.save`` / ``tg.load``: tensors, state dicts and whole checkpoints (nested dicts, lists
and tuples of tensors and plain values) in the safetensors format, which stores raw arrays
plus a JSON header and never executes code on load. A pickle (``torch.save``'s format) is
refused without being unpickled.

**Format.** The file's tensors are named by their path (``"model.0.weight"``; a name
already taken gets a ``#n`` suffix), so a flat state dict reads the same in any safetensors
reader. ``__metadata__`` holds ``"tinygrad_cnn.format": "2"`` and
``"tinygrad_cnn.structure"``, a JSON tree that is the source of truth for the layout; each
node is an object with one key:

* ``{"tensor": name}`` (plus ``"requires_grad": true`` when set), ``{"ndarray": name}``;
* ``{"value": v}`` for None, bool, int, float (NaN and ±inf included) and str;
* ``{"numpy": [dtype, v]}`` for NumPy scalars (``np.float32(0.5)`` comes back a float32);
* ``{"list": [...]}``, ``{"tuple": [...]}`` (tuples stay tuples: Adam's ``betas``);
* ``{"dict": [[key, node], ...]}`` and ``{"odict": ...}`` (an OrderedDict, as
  ``state_dict()`` returns); keys are str or int and come back with their type and order.

Other keys (bool, float, tuple ...) and other objects are refused by ``save`` with a
TypeError. Tensors come back as leaf Tensors on ``device``, requires_grad kept (a Parameter
comes back a plain Tensor). The same Tensor object saved twice is stored once and comes
back as one object; distinct tensors that shared storage come back as separate copies.
Files without this metadata (from other tools) load as a flat ``{name: Tensor}`` dict;
files from the first version of this format (``__tensor__`` nodes) still load.

**Limits.** A hostile file gets a ValueError starting ``load:``, never a hang, a
RecursionError, or an allocation beyond the file's size: the header is at most 100 MB and
strictly parsed (see ``safetensors_io``); tensor bytes must tile the data exactly; the
structure is at most ``MAX_DEPTH`` deep with at most ``MAX_NODES`` nodes, must use every
tensor of the file, and a tensor it names several times is made once and shared (4,000
references to one tensor cost one tensor). Only regular files are opened.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict

import numpy as np

from . import safetensors_io as io
from .tensor import Tensor

_FORMAT_KEY, _STRUCTURE_KEY, _FORMAT = "tinygrad_cnn.format", "tinygrad_cnn.structure", "2"
MAX_DEPTH = 200
MAX_NODES = 1_000_000
_PLAIN = (type(None), bool, int, float, str)
_SCALAR_KINDS = "biuf"
_SCALAR_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float16", "float32", "float64")


def _fspath(path, op):
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"{op}: path must be a str or os.PathLike, got {type(path).__name__} "
                        "(file objects are not supported)") from None


def _check_str(s, where):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"save: {where} {s!r} is not valid Unicode (a lone surrogate)") \
            from None


class _Writer:
    """Turns an object into (structure node, {name: host array}), without recursion."""

    def __init__(self):
        self.arrays = OrderedDict()
        self.seen = {}  # id(Tensor or ndarray) -> name: one copy per object
        self.keep = []  # keeps those objects alive, so their ids stay unique

    def _name(self, path):
        base = ".".join(path) or "tensor"
        name, n = base, 0
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        return name

    def _leaf(self, obj, path):
        if type(obj) in _PLAIN:
            if type(obj) is str:
                _check_str(obj, "the string")
            return {"value": obj}
        if isinstance(obj, Tensor) or type(obj) is np.ndarray:
            if id(obj) not in self.seen:
                arr = obj.detach().numpy() if isinstance(obj, Tensor) else obj
                io.dtype_code(arr.dtype)
                name = self.seen[id(obj)] = self._name(path)
                self.arrays[name] = arr
                self.keep.append(obj)
            if type(obj) is np.ndarray:
                return {"ndarray": self.seen[id(obj)]}
            node = {"tensor": self.seen[id(obj)]}
            if obj.requires_grad:
                node["requires_grad"] = True
            return node
        if isinstance(obj, np.generic) and obj.dtype.kind in _SCALAR_KINDS and \
                obj.dtype.itemsize <= 8:
            return {"numpy": [obj.dtype.name, obj.item()]}
        raise TypeError(f"save: cannot store a {type(obj).__name__} at {'.'.join(path) or 'top'} "
                        "(tensors, NumPy arrays and scalars, dicts, lists, tuples, None, bool, "
                        "int, float and str only)")

    def run(self, obj):
        root = [None]
        stack = [(obj, root, 0, ())]
        while stack:
            obj, parent, slot, path = stack.pop()
            if len(path) > MAX_DEPTH:
                raise ValueError(f"save: nesting deeper than {MAX_DEPTH} levels (or a container "
                                 "that holds itself)")
            kind = {dict: "dict", OrderedDict: "odict", list: "list", tuple: "tuple"}.get(type(obj))
            if kind is None:
                parent[slot] = self._leaf(obj, path)
                continue
            if kind in ("list", "tuple"):
                items = list(enumerate(obj))
                kids = [None] * len(items)
                parent[slot] = {kind: kids}
                stack.extend((v, kids, i, path + (str(i),)) for i, v in reversed(items))
                continue
            pairs = []
            for k in obj:
                if type(k) not in (str, int):
                    raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__}"
                                    f" {k!r} at {'.'.join(path) or 'top'}")
                if type(k) is str:
                    _check_str(k, "the key")
                pairs.append([k, None])
            parent[slot] = {kind: pairs}
            stack.extend((v, pair, 1, path + (str(pair[0]),))
                         for pair, v in reversed(list(zip(pairs, obj.values()))))
        return root[0]


def save(obj, path):
    """Write a tensor, a state dict or a checkpoint (nested dicts/lists/tuples of tensors,
    NumPy arrays and plain values) to ``path`` in the safetensors format."""
    path = _fspath(path, "save")
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(f"save: {path} exists and is not a regular file")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder} does not exist")
    w = _Writer()
    structure = w.run(obj)
    meta = {_FORMAT_KEY: _FORMAT,
            _STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"))}
    io.write(path, w.arrays, meta)


def _legacy(node):
    """A first-format node as (kind, payload) in this format's terms."""
    if "__tensor__" in node:
        return "tensor", node["__tensor__"]
    if "__dict__" in node:
        ints = set(node.get("__int_keys__", ()))
        return "dict", [[int(k) if k in ints else k, v] for k, v in node["__dict__"].items()]
    if "__list__" in node:
        return ("tuple" if node.get("__tuple__") else "list"), node["__list__"]
    if "__value__" in node:
        return "value", node["__value__"]
    raise ValueError(f"unknown node {node!r:.100}")


def _kind(node, legacy):
    if not isinstance(node, dict):
        raise ValueError(f"a node must be an object, got {node!r:.100}")  # noqa: TRY004
    if legacy:
        return _legacy(node)
    keys = set(node) - {"requires_grad"}
    if len(keys) != 1 or (len(node) == 2 and "tensor" not in node):
        raise ValueError(f"unknown node {node!r:.100}")
    (kind,) = keys
    return kind, node[kind]


def _scalar(payload):
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], str)):
        raise ValueError(f"bad NumPy scalar {payload!r:.100}")
    dtype = np.dtype(payload[0]) if payload[0] in _SCALAR_NAMES else None
    if dtype is None or type(payload[1]) is not {"b": bool, "i": int, "u": int,
                                                 "f": float}[dtype.kind]:
        raise ValueError(f"bad NumPy scalar {payload!r:.100}")
    try:
        return np.array(payload[1], dtype=dtype)[()]
    except OverflowError:
        raise ValueError(f"NumPy scalar {payload!r:.100} is out of range") from None


def _tensor(arr, device):
    t = Tensor._make(arr)
    return t.to(device=device) if device is not None else t


def _build(root, arrays, device, legacy):
    """The object a structure tree describes, without recursion; ``arrays`` maps names to
    host arrays, each made a Tensor once however often the tree names it (never copied)."""
    out, count, tensors, used = [None], 0, {}, set()
    stack = [(root, out, 0, 0)]
    while stack:
        node, parent, slot, depth = stack.pop()
        if node is _TUPLE:  # all of a tuple's items are built: freeze it
            parent[slot] = tuple(parent[slot])
            continue
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise ValueError(f"the structure has more than {MAX_NODES} nodes or nesting deeper"
                             f" than {MAX_DEPTH}")
        kind, payload = _kind(node, legacy)
        if kind in ("tensor", "ndarray"):
            if not isinstance(payload, str) or payload not in arrays:
                raise ValueError(f"it names a tensor {payload!r:.100} the file does not hold")
            if kind == "ndarray":
                value = arrays[payload]
            else:
                value = tensors.get(payload)
                if value is None:
                    value = tensors[payload] = _tensor(arrays[payload], device)
                grad = node.get("requires_grad", False)
                if grad is not False and (grad is not True or value.dtype.kind != "f"):
                    raise ValueError(f"tensor {payload!r} has a bad requires_grad {grad!r}")
                if grad:
                    value.requires_grad_()
            used.add(payload)
        elif kind == "value":
            if type(payload) not in _PLAIN:
                raise ValueError(f"bad value {payload!r:.100}")
            value = payload
        elif kind == "numpy":
            value = _scalar(payload)
        elif kind in ("list", "tuple") and isinstance(payload, list):
            value = [None] * len(payload)
            if kind == "tuple":
                stack.append((_TUPLE, parent, slot, depth))
            stack.extend((v, value, i, depth + 1) for i, v in enumerate(payload))
        elif kind in ("dict", "odict") and isinstance(payload, list):
            value = {} if kind == "dict" else OrderedDict()
            for pair in payload:
                if not (isinstance(pair, list) and len(pair) == 2 and
                        type(pair[0]) in (str, int)) or pair[0] in value:
                    raise ValueError(f"bad or repeated dict entry {pair!r:.100}")
                value[pair[0]] = None  # keeps the saved order
                stack.append((pair[1], value, pair[0], depth + 1))
        else:
            raise ValueError(f"unknown node {node!r:.100}")
        parent[slot] = value
    unused = set(arrays) - used
    if unused:
        raise ValueError(f"tensor {min(unused)!r} is in the file but not in its structure")
    return out[0]


_TUPLE = object()  # stack marker: turn the list just built into a tuple


def load(path, device=None, *, map_location=None):
    """Read what :func:`save` wrote (or any safetensors file, as a flat dict); tensors go to
    ``device`` (default: CPU). ``map_location`` (a device string or Device, as in
    ``torch.load``) is the same as ``device``."""
    from .backend.device import parse_device
    if map_location is not None:
        if device is not None:
            raise TypeError("load: pass device or map_location, not both")
        if callable(map_location) or isinstance(map_location, dict):
            raise TypeError("load: map_location must be a device (str or Device); functions "
                            "and dicts are not supported")
        device = map_location
    device = parse_device(device) if device is not None else None
    path = _fspath(path, "load")
    with io.open_regular(path, "load") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            entries, meta, start = io.read_header(f, size)
            arrays = {name: io.read_array(f, start, name, e) for name, e in entries.items()}
        except io.UnsupportedDtype as exc:
            raise ValueError(f"load: {path}: {exc}") from None
        except ValueError as exc:
            f.seek(0)
            head = f.read(2)
            if head[:2] == b"PK" or head[:1] == b"\x80":  # only now: a valid header can too
                raise ValueError(f"load: {path} is a pickle/zip file (e.g. written by "
                                 "torch.save), not a safetensors file; it is refused without "
                                 "being unpickled") from None
            raise ValueError(f"load: {path} is not a safetensors file, or is corrupted or "
                             f"truncated: {exc}") from None
    if _STRUCTURE_KEY not in meta:  # a plain safetensors file from elsewhere: a flat dict
        return {name: _tensor(arr, device) for name, arr in arrays.items()}
    legacy = meta.get(_FORMAT_KEY) != _FORMAT
    if legacy and _FORMAT_KEY in meta:
        raise ValueError(f"load: {path} has format {meta[_FORMAT_KEY]!r:.20}; this version "
                         f"reads {_FORMAT}")
    try:
        tree = io.parse_json(meta[_STRUCTURE_KEY], "its structure", allow_nan=True)
        return _build(tree, arrays, device, legacy)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"load: {path} has corrupted structure metadata: {exc}") from None

