"""dtypes (NumPy dtypes) and PyTorch's type-promotion rules.

PyTorch and NumPy disagree on promotion (``int64 + float32`` is float64 in NumPy, float32 in
PyTorch; a Python float with an int tensor gives float64 in NumPy, float32 in PyTorch). The
engine follows PyTorch, so :func:`result_type` implements its rule:

* categories are ordered bool < integer < floating;
* operands come in three priorities: tensors with dims, zero-dim tensors, Python scalars;
* a lower-priority operand changes the result only when its category is higher, and then a
  zero-dim tensor brings its own dtype while a Python scalar brings the default dtype of its
  category (float32, int64).
"""
from __future__ import annotations

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

default_float = float32
default_int = int64

_BOOL, _INT, _FLOAT = 0, 1, 2


def category(dtype) -> int:
    kind = dtype.kind
    if kind == "f":
        return _FLOAT
    if kind in "iu":
        return _INT
    if kind == "b":
        return _BOOL
    raise TypeError(f"unsupported dtype {dtype}")


def is_floating(dtype) -> bool:
    return dtype.kind == "f"


def as_dtype(dtype):
    """Normalise anything NumPy accepts (``"float32"``, ``np.float32``, ``float``) to np.dtype."""
    if dtype is None:
        return None
    if dtype is float:
        return default_float
    if dtype is int:
        return default_int
    if dtype is bool:
        return bool_
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None
    category(d)  # rejects complex, strings, objects
    return d


def scalar_dtype(value):
    """dtype a Python scalar takes when it becomes a tensor on its own."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return default_int
    if isinstance(value, (float, np.floating)):
        return default_float
    raise TypeError(f"expected a number, got {type(value).__name__}")


def promote_types(a, b):
    """PyTorch's pairwise rule: across categories the higher category's dtype wins
    (int32 with float32 is float32, where NumPy says float64); within one, NumPy's rule."""
    if a == b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _promote_many(dtypes):
    out = dtypes[0]
    for d in dtypes[1:]:
        out = promote_types(out, d)
    return out


def result_type(*operands):
    """PyTorch's result dtype for tensors (anything with ``.dtype``/``.ndim``) and scalars."""
    dims, zeros, scalars = [], [], []
    for o in operands:
        dt = getattr(o, "dtype", None)
        if dt is None:
            scalars.append(scalar_dtype(o))
        elif o.ndim == 0:
            zeros.append(dt)
        else:
            dims.append(dt)
    result = None
    for level in (dims, zeros):
        if not level:
            continue
        cat = max(category(d) for d in level)
        if result is None:
            result = _promote_many(level)
        elif cat > category(result):
            result = _promote_many([d for d in level if category(d) == cat])
    if scalars:
        cat = max(category(d) for d in scalars)
        if result is None or cat > category(result):
            result = {_BOOL: bool_, _INT: default_int, _FLOAT: default_float}[cat]
    return result
