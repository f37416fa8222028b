"""Process-wide settings PyTorch code sets: the default float dtype, the deterministic-
algorithms flag and the print options of ``repr(tensor)``; plus the small top-level helpers
``is_tensor``, ``is_floating_point``, ``as_tensor``, ``numel``, ``clone``, ``detach`` and
``randperm``.

The default dtype lives in :mod:`tinygrad_cnn.dtypes` (``default_float``), which every
factory, ``tg.tensor`` and the type-promotion rule read at call time, so setting it really
changes what Python floats become.
"""
from __future__ import annotations

import math
import operator

from . import dtypes as _dt
from .backend import backend_for, parse_device
from .factories import _backend, _finish, _on
from .tensor import Tensor

# repr's NumPy options (array2string's names); the defaults are the ones repr always used
_PRINT_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "max_line_width": 75,
                   "suppress_small": False, "formatter": None}
print_options = dict(_PRINT_DEFAULTS)
_PROFILES = {"default": {"precision": 4, "threshold": 1000, "edgeitems": 3},
             "short": {"precision": 2, "threshold": 1000, "edgeitems": 2},
             "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3}}
_deterministic = {"mode": False, "warn_only": False}


def get_default_dtype():
    """The dtype Python floats and float factories give (float32 unless set)."""
    return _dt.default_float


def set_default_dtype(d):
    """Make ``d`` (float32 or float64) the dtype of Python floats, ``tg.zeros`` & co., and of
    float results of integer tensors."""
    try:
        d = _dt.as_dtype(d)
    except TypeError:
        d = None
    if d not in (_dt.float32, _dt.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported as the "
                        f"default dtype, got {d!r}")
    _dt.default_float = d


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Store PyTorch's determinism flag. Every CPU (NumPy) op here is deterministic already,
    so on the CPU the flag changes nothing; it does not make CUDA kernels deterministic."""
    if not isinstance(mode, bool) or not isinstance(warn_only, bool):
        raise TypeError(f"use_deterministic_algorithms: mode and warn_only must be bools, got "
                        f"{mode!r}, {warn_only!r}")
    _deterministic["mode"], _deterministic["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled():
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic["warn_only"]


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """``torch.set_printoptions``: how ``repr(tensor)`` prints (through NumPy's
    ``array2string``). ``profile`` ("default", "short", "full") sets the first three;
    ``sci_mode`` True forces scientific notation, False suppresses it, None decides."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        print_options.update(_PROFILES[profile])
    for name, v, key in (("precision", precision, "precision"),
                         ("threshold", threshold, "threshold"),
                         ("edgeitems", edgeitems, "edgeitems"),
                         ("linewidth", linewidth, "max_line_width")):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ValueError(f"set_printoptions: {name} must be a non-negative number, got "
                             f"{v!r}")
        print_options[key] = v if key == "threshold" else int(v)
    if sci_mode is not None and not isinstance(sci_mode, bool):
        raise TypeError(f"set_printoptions: sci_mode must be a bool or None, got {sci_mode!r}")
    print_options["suppress_small"] = sci_mode is False
    p = print_options["precision"]
    print_options["formatter"] = {"float_kind": lambda v: f"{v:.{p}e}"} if sci_mode else None


def is_tensor(obj):
    """True for a tinygrad_cnn Tensor (and its subclasses, e.g. Parameter)."""
    return isinstance(obj, Tensor)


def is_floating_point(input):
    """True for a float16/32/64 tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_floating_point: expected a Tensor, got {type(input).__name__}")
    return input.dtype.kind == "f"


def numel(input):
    if not isinstance(input, Tensor):
        raise TypeError(f"numel: expected a Tensor, got {type(input).__name__}")
    return input.numel()


def clone(input):
    """A copy of ``input`` that stays in the graph (the gradient flows back)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"clone: expected a Tensor, got {type(input).__name__}")
    return input.clone()


def detach(input):
    """``input.detach()``: the same storage, cut from the graph."""
    if not isinstance(input, Tensor):
        raise TypeError(f"detach: expected a Tensor, got {type(input).__name__}")
    return input.detach()


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor without a copy where possible: a Tensor already of that dtype and
    device is returned itself (else converted, recorded, as ``.to``); a NumPy array of that
    dtype on the CPU shares its memory; anything else is copied."""
    dtype = _dt.as_dtype(dtype)
    if isinstance(data, Tensor):
        return data.to(*(a for a in (device, dtype) if a is not None))
    dev = parse_device(device) if device is not None else None
    be_cpu = backend_for("cpu")
    if type(data) is be_cpu.array_type and (dev is None or dev.type == "cpu") and \
            (dtype is None or dtype == data.dtype) and data.dtype.kind in "biuf":
        return Tensor._make(data)
    return Tensor(data, dtype=dtype, device=device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype``), from the backend's
    generator (seeded by ``tg.manual_seed``)."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"randperm: n must be an int, got {n!r}") from None
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    if generator is not None:
        raise TypeError("randperm: generator= is not supported; seed with tg.manual_seed")
    dtype = _dt.as_dtype(dtype) or _dt.int64
    be, dev = _backend(device)
    with _on(be, dev):
        arr = be.rng().permutation(n).astype(dtype)
    return _finish(arr, requires_grad)
