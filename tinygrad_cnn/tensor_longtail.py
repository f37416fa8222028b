"""Tensor methods of branch longtail (PyTorch's long tail: ``new_*``, ``type``, ``stride``,
predicates, logic, triangles, ``roll``/``narrow``/``unbind``/``unfold``, ``fmod``/``lerp``/
``addc*``, ``index_add``/``index_fill``, in-place unary ops and random fills).

Plain functions taking ``self``: ``TensorMethods`` binds them in its ``# --- longtail ---``
block, so this file keeps tensor_methods.py small. The op modules are imported inside the
functions: they load after the Tensor class.
"""
from __future__ import annotations

from .ops import elementwise as _ew
from .ops import inplace as _ip
from .ops import shape as _sh


def _new(self, factory, size, dtype, device, requires_grad):
    from .ops.checks import size_args
    return factory(size_args(f"new_{factory.__name__}", size),
                   dtype=self.dtype if dtype is None else dtype,
                   device=self.device if device is None else device,
                   requires_grad=requires_grad)

def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
    from .factories import zeros
    return self._new(zeros, size, dtype, device, requires_grad)

def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    from .factories import ones
    return self._new(ones, size, dtype, device, requires_grad)

def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    from .factories import empty
    return self._new(empty, size, dtype, device, requires_grad)

def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    from .factories import full
    return full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                device=self.device if device is None else device,
                requires_grad=requires_grad)

def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` (detached) with this tensor's dtype and device unless given."""
    from .factories import tensor
    if isinstance(data, _tensor_type()):
        data = data.detach()
    return tensor(data, dtype=self.dtype if dtype is None else dtype,
                  device=self.device if device is None else device,
                  requires_grad=requires_grad)

def type(self, dtype=None):
    """No argument: the type name (``'tinygrad_cnn.FloatTensor'``, or
    ``'tinygrad_cnn.cuda.FloatTensor'``); else this tensor cast to ``dtype`` (a dtype or
    such a name)."""
    from .dtypes import as_dtype
    names = _TYPE_NAMES
    if dtype is None:
        prefix = "tinygrad_cnn.cuda." if self.is_cuda else "tinygrad_cnn."
        return prefix + names[self.dtype.name]
    if isinstance(dtype, str) and dtype.startswith("tinygrad_cnn."):
        short = dtype.rsplit(".", 1)[-1]
        by_name = {v: k for k, v in names.items()}
        if short not in by_name:
            raise ValueError(f"type: unknown tensor type {dtype!r}")
        dev = "cuda" if ".cuda." in dtype else "cpu"
        out = self.to(dtype=by_name[short])
        return out if (dev == "cuda") == out.is_cuda else out.to(dev)
    return self.to(as_dtype(dtype))

def stride(self, dim=None):
    """Steps in elements between neighbours along each dim (NumPy's strides / itemsize;
    an expanded dim has stride 0)."""
    st = tuple(s // self.array.itemsize for s in self.array.strides)
    if dim is None:
        return st
    from .ops.checks import canonical_dim
    return st[canonical_dim("stride", dim, self.ndim, self.shape)]

def is_contiguous(self): return bool(self.array.flags.c_contiguous)
def element_size(self): return int(self.array.itemsize)
def nelement(self): return self.numel()
def is_floating_point(self): return self.dtype.kind == "f"

def isnan(self):
    from .ops import logical
    return logical.isnan(self)

def isinf(self):
    from .ops import logical
    return logical.isinf(self)

def isfinite(self):
    from .ops import logical
    return logical.isfinite(self)

def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
    from .ops import pointwise
    return pointwise.nan_to_num(self, nan, posinf, neginf)

def logical_not(self):
    from .ops import logical
    return logical.logical_not(self)

def logical_and(self, other):
    from .ops import logical
    return logical.logical_and(self, other)

def logical_or(self, other):
    from .ops import logical
    return logical.logical_or(self, other)

def logical_xor(self, other):
    from .ops import logical
    return logical.logical_xor(self, other)

def nonzero(self, *, as_tuple=False):
    from .ops import logical
    return logical.nonzero(self, as_tuple=as_tuple)

def argwhere(self):
    from .ops import logical
    return logical.argwhere(self)

def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
    from .ops import logical
    return logical.unique(self, sorted, return_inverse, return_counts, dim)

def unbind(self, dim=0):
    from .ops import rearrange
    return rearrange.unbind(self, dim)

def narrow(self, dim, start, length):
    from .ops import rearrange
    return rearrange.narrow(self, dim, start, length)

def roll(self, shifts, dims=None):
    from .ops import rearrange
    return rearrange.roll(self, shifts, dims)

def unfold(self, dimension, size, step):
    from .ops import rearrange
    return rearrange.unfold(self, dimension, size, step)

def tril(self, diagonal=0):
    from .ops import triangular
    return triangular.tril(self, diagonal)

def triu(self, diagonal=0):
    from .ops import triangular
    return triangular.triu(self, diagonal)

def diag(self, diagonal=0):
    from .ops import triangular
    return triangular.diag(self, diagonal)

def fmod(self, other):
    from .ops import pointwise
    return pointwise.fmod(self, other)

def lerp(self, end, weight):
    from .ops import pointwise
    return pointwise.lerp(self, end, weight)

def addcmul(self, tensor1, tensor2, *, value=1):
    from .ops import pointwise
    return pointwise.addcmul(self, tensor1, tensor2, value=value)

def addcdiv(self, tensor1, tensor2, *, value=1):
    from .ops import pointwise
    return pointwise.addcdiv(self, tensor1, tensor2, value=value)

def index_add(self, dim, index, source, *, alpha=1):
    from .ops import index_update
    return index_update.index_add(self, dim, index, source, alpha=alpha)

def index_fill(self, dim, index, value):
    from .ops import index_update
    return index_update.index_fill(self, dim, index, value)

def sum_to_size(self, *size):
    """Sum down to ``size``, which must broadcast to this tensor's shape."""
    from .ops.checks import size_args
    size = size_args("sum_to_size", size)
    lead = self.ndim - len(size)
    if lead < 0 or any(s not in (1, d) for s, d in zip(size, self.shape[lead:])):
        from .errors import OpRuntimeError
        raise OpRuntimeError(f"sum_to_size: size {size} is not expandable to the tensor's "
                             f"size {self.shape}")
    return _sh.sum_to(self, shape=size)

# in place (see ops/inplace.py); the other operand may be self: then its old value
def abs_(self): return _ip.apply_inplace(self, "abs_", _ew.abs)
def exp_(self): return _ip.apply_inplace(self, "exp_", _ew.exp)
def sqrt_(self): return _ip.apply_inplace(self, "sqrt_", _ew.sqrt)
def sigmoid_(self): return _ip.apply_inplace(self, "sigmoid_", _ew.sigmoid)
def tanh_(self): return _ip.apply_inplace(self, "tanh_", _ew.tanh)
def floor_(self): return _ip.apply_inplace(self, "floor_", _ew.floor)
def log_(self): return _ip.apply_inplace(self, "log_", _ew.log)
def sin_(self): return _ip.apply_inplace(self, "sin_", _ew.sin)
def cos_(self): return _ip.apply_inplace(self, "cos_", _ew.cos)

def clip_(self, min=None, max=None):
    return _ip.apply_inplace(self, "clip_", lambda t: _ew.clamp(t, min, max))

def _random_fill(self, name, draw):
    """Overwrite with backend random draws (float64, cast): no gradient reaches the old
    values (``where`` on an all-True mask, not ``t * 0``, which turns inf into NaN)."""
    from .ops.op_registry import const
    if self.dtype.kind != "f":
        from .errors import OpTypeError
        raise OpTypeError(f"{name}: expected a floating point tensor, got {self.dtype}")
    arr = draw(self.backend.rng()).astype(self.dtype)
    everywhere = const(self.xp.ones((), dtype=bool))
    return _ip.apply_inplace(self, name, lambda t: _ew.where(everywhere, const(arr), t))

def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with N(mean, std²) samples (``tg.manual_seed`` seeds them)."""
    _no_generator("normal_", generator)
    if std < 0:
        from .errors import OpValueError
        raise OpValueError(f"normal_: expects std >= 0.0, got std={std}")
    return self._random_fill("normal_", lambda g: g.normal(mean, std, size=self.shape))

def uniform_(self, a=0.0, b=1.0, *, generator=None, **kw):
    """Fill with U(a, b) samples; torch's keyword names ``from=``/``to=`` work too."""
    _no_generator("uniform_", generator)
    a, b = kw.pop("from", a), kw.pop("to", b)
    if kw:
        from .errors import OpTypeError
        raise OpTypeError(f"uniform_: unexpected keyword arguments {sorted(kw)}")
    if a > b:
        from .errors import OpValueError
        raise OpValueError(f"uniform_: expects from <= to, got from={a}, to={b}")
    return self._random_fill("uniform_", lambda g: g.uniform(a, b, size=self.shape))

def index_add_(self, dim, index, source, *, alpha=1):
    from .ops import index_update
    return _ip.apply_inplace(self, "index_add_", lambda t: index_update.index_add(
        t, dim, index, t if source is self else source, alpha=alpha))

def index_fill_(self, dim, index, value):
    from .ops import index_update
    return _ip.apply_inplace(self, "index_fill_", lambda t: index_update.index_fill(
        t, dim, index, value))

def lerp_(self, end, weight):
    from .ops import pointwise
    return _ip.apply_inplace(self, "lerp_", lambda t: pointwise.lerp(
        t, t if end is self else end, t if weight is self else weight))

def addcmul_(self, tensor1, tensor2, *, value=1):
    from .ops import pointwise
    return _ip.apply_inplace(self, "addcmul_", lambda t: pointwise.addcmul(
        t, t if tensor1 is self else tensor1, t if tensor2 is self else tensor2,
        value=value))

def addcdiv_(self, tensor1, tensor2, *, value=1):
    from .ops import pointwise
    return _ip.apply_inplace(self, "addcdiv_", lambda t: pointwise.addcdiv(
        t, t if tensor1 is self else tensor1, t if tensor2 is self else tensor2,
        value=value))


def _no_generator(name, generator):
    if generator is not None:
        from .errors import OpTypeError
        raise OpTypeError(f"{name}: generator= is not supported; seed with tg.manual_seed")


# Tensor.type()'s names (PyTorch's legacy tensor type names)
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _tensor_type():
    from .tensor import Tensor
    return Tensor

