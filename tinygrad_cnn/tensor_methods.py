"""Tensor's op methods and operators, PyTorch-style, each forwarding to its op family.

Kept apart from ``tensor.py`` so that file is about the tensor itself (data, graph,
conversions); the op modules reach ``Tensor`` through ``tinygrad_cnn.tensor`` at call time.
"""
from __future__ import annotations

from .ops import arithmetic as _ar
from .ops import elementwise as _ew
from .ops import indexing as _ix
from .ops import inplace as _ip
from .ops import linalg as _la
from .ops import reduce as _rd
from .ops import shape as _sh


def _scaled(other, alpha):
    """``alpha * other`` for add/sub(alpha=): a number stays a number (its dtype rules)."""
    if alpha == 1:
        return other
    if isinstance(other, (int, float, bool)) and not isinstance(alpha, TensorMethods):
        return other * alpha
    return _ar.mul(other, alpha)


class TensorMethods:
    """Arithmetic, math, reductions, shape ops and indexing as Tensor methods."""

    __slots__ = ()

    # arithmetic (reflected forms let Python numbers and arrays sit on the left)
    def __add__(self, other): return _ar.add(self, other)
    def __radd__(self, other): return _ar.add(other, self)
    def __sub__(self, other): return _ar.sub(self, other)
    def __rsub__(self, other): return _ar.sub(other, self)
    def __mul__(self, other): return _ar.mul(self, other)
    def __rmul__(self, other): return _ar.mul(other, self)
    def __truediv__(self, other): return _ar.div(self, other)
    def __rtruediv__(self, other): return _ar.div(other, self)
    def __floordiv__(self, other): return _ar.floor_divide(self, other)
    def __rfloordiv__(self, other): return _ar.floor_divide(other, self)
    def __mod__(self, other): return _ar.remainder(self, other)
    def __rmod__(self, other): return _ar.remainder(other, self)
    def __pow__(self, other): return _ar.pow(self, other)
    def __rpow__(self, other): return _ar.pow(other, self)
    def __matmul__(self, other): return _la.matmul(self, other)
    def __rmatmul__(self, other): return _la.matmul(other, self)
    def __neg__(self): return _ew.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ew.abs(self)
    def __eq__(self, other): return _ar.eq(self, other)
    def __ne__(self, other): return _ar.ne(self, other)
    def __lt__(self, other): return _ar.lt(self, other)
    def __le__(self, other): return _ar.le(self, other)
    def __gt__(self, other): return _ar.gt(self, other)
    def __ge__(self, other): return _ar.ge(self, other)

    def add(self, other, alpha=1):
        """``self + alpha * other``."""
        return _ar.add(self, _scaled(other, alpha))

    def sub(self, other, alpha=1):
        """``self - alpha * other``."""
        return _ar.sub(self, _scaled(other, alpha))

    def mul(self, other): return _ar.mul(self, other)
    def div(self, other): return _ar.div(self, other)
    def pow(self, exponent): return _ar.pow(self, exponent)
    def maximum(self, other): return _ar.maximum(self, other)
    def minimum(self, other): return _ar.minimum(self, other)
    def eq(self, other): return _ar.eq(self, other)
    def ne(self, other): return _ar.ne(self, other)
    def lt(self, other): return _ar.lt(self, other)
    def le(self, other): return _ar.le(self, other)
    def gt(self, other): return _ar.gt(self, other)
    def ge(self, other): return _ar.ge(self, other)

    # in-place (version-counted; see ops/inplace.py)
    # (``x.mul_(x)``: the other operand is the old value too)
    def add_(self, other, alpha=1):
        return _ip.apply_inplace(self, "add_", lambda t: t.add(t if other is self else other,
                                                                alpha))

    def sub_(self, other, alpha=1):
        return _ip.apply_inplace(self, "sub_", lambda t: t.sub(t if other is self else other,
                                                                alpha))

    def mul_(self, other):
        return _ip.apply_inplace(self, "mul_", lambda t: _ar.mul(t, t if other is self else other))

    def div_(self, other):
        return _ip.apply_inplace(self, "div_", lambda t: _ar.div(t, t if other is self else other))

    def pow_(self, other):
        return _ip.apply_inplace(self, "pow_", lambda t: _ar.pow(t, t if other is self else other))
    def neg_(self): return _ip.apply_inplace(self, "neg_", _ew.neg)
    def relu_(self): return _ip.apply_inplace(self, "relu_", _ew.relu)

    def clamp_(self, min=None, max=None):
        return _ip.apply_inplace(self, "clamp_", lambda t: _ew.clamp(t, min, max))

    def zero_(self): return _ip.apply_inplace(self, "zero_", lambda t: t * 0)
    def fill_(self, value): return _ip.apply_inplace(self, "fill_", lambda t: t * 0 + value)

    def copy_(self, src):
        return _ip.apply_inplace(self, "copy_", lambda t: t * 0 + _sh.broadcast_to(
            src.to(device=t.device, dtype=t.dtype), t.shape))

    # elementwise math
    def neg(self): return _ew.neg(self)
    def abs(self): return _ew.abs(self)
    def sign(self): return _ew.sign(self)
    def exp(self): return _ew.exp(self)
    def log(self): return _ew.log(self)
    def sqrt(self): return _ew.sqrt(self)
    def sin(self): return _ew.sin(self)
    def cos(self): return _ew.cos(self)
    def tanh(self): return _ew.tanh(self)
    def sigmoid(self): return _ew.sigmoid(self)
    def relu(self): return _ew.relu(self)
    def clamp(self, min=None, max=None): return _ew.clamp(self, min, max)
    clip = clamp

    # reductions
    def sum(self, dim=None, keepdim=False): return _rd.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return _rd.mean(self, dim, keepdim)
    def prod(self, dim=None, keepdim=False): return _rd.prod(self, dim, keepdim)
    def max(self, dim=None, keepdim=False): return _rd.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return _rd.min(self, dim, keepdim)
    def amax(self, dim=(), keepdim=False): return _rd.amax(self, dim, keepdim)
    def amin(self, dim=(), keepdim=False): return _rd.amin(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return _rd.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return _rd.argmin(self, dim, keepdim)
    def logsumexp(self, dim, keepdim=False): return _rd.logsumexp(self, dim, keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return _rd.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return _rd.std(self, dim, unbiased, keepdim, correction=correction)

    # bool tensors, as torch (a Python bool was returned once; `if x.any():` still works)
    def any(self, dim=None, keepdim=False):
        from .ops import logical
        return logical.any(self, dim, keepdim)

    def all(self, dim=None, keepdim=False):
        from .ops import logical
        return logical.all(self, dim, keepdim)

    # shape
    def reshape(self, *shape): return _sh.reshape(self, *shape)
    def view(self, *shape): return _sh.reshape(self, *shape)
    def view_as(self, other): return _sh.reshape(self, other.shape)
    def reshape_as(self, other): return _sh.reshape(self, other.shape)
    def flatten(self, start_dim=0, end_dim=-1): return _sh.flatten(self, start_dim, end_dim)
    def transpose(self, dim0, dim1): return _sh.transpose(self, dim0, dim1)
    def permute(self, *dims): return _sh.permute(self, *dims)
    def squeeze(self, dim=None): return _sh.squeeze(self, dim)
    def unsqueeze(self, dim): return _sh.unsqueeze(self, dim)
    def expand(self, *sizes): return _sh.expand(self, *sizes)
    def expand_as(self, other): return _sh.expand(self, *other.shape)
    def broadcast_to(self, shape): return _sh.broadcast_to(self, shape)
    def contiguous(self): return _sh.contiguous(self)
    def clone(self): return _sh.clone(self)
    def flip(self, dims): return _sh.flip(self, dims)
    def split(self, split_size, dim=0): return _sh.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return _sh.chunk(self, chunks, dim)
    def matmul(self, other): return _la.matmul(self, other)
    def __getitem__(self, index): return _ix.index(self, index)
    def __setitem__(self, index, value): _ix.setitem(self, index, value)

    @property
    def T(self):
        """Dims reversed (the transpose of a matrix)."""
        return self if self.ndim < 2 else _sh.permute(self, *range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        """The last two dims swapped (a batch of transposed matrices)."""
        return _sh.transpose(self, -2, -1)

    # --- tensorops ---
    # (imports inside the methods: these op modules load after the Tensor class)
    def mm(self, mat2):
        from .ops import linalg
        return linalg.mm(self, mat2)

    def bmm(self, mat2):
        from .ops import linalg
        return linalg.bmm(self, mat2)

    def dot(self, other):
        from .ops import linalg
        return linalg.dot(self, other)

    def outer(self, vec2):
        from .ops import linalg
        return linalg.outer(self, vec2)

    def t(self):
        from .ops import linalg
        return linalg.t(self)

    def gather(self, dim, index, *, sparse_grad=False):
        from .ops import selection
        return selection.gather(self, dim, index, sparse_grad=sparse_grad)

    def take_along_dim(self, indices, dim=None):
        from .ops import selection
        return selection.take_along_dim(self, indices, dim)

    def index_select(self, dim, index):
        from .ops import selection
        return selection.index_select(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        from .ops import selection
        return selection.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        from .ops import selection
        return _ip.apply_inplace(self, "scatter_", lambda t: selection.scatter(
            t, dim, index, t if src is self else src, value=value, reduce=reduce))

    def scatter_add(self, dim, index, src):
        from .ops import selection
        return selection.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src):
        from .ops import selection
        return _ip.apply_inplace(self, "scatter_add_", lambda t: selection.scatter_add(
            t, dim, index, t if src is self else src))

    def masked_fill(self, mask, value):
        from .ops import selection
        return selection.masked_fill(self, mask, value)

    def masked_fill_(self, mask, value):
        from .ops import selection
        return _ip.apply_inplace(self, "masked_fill_", lambda t: selection.masked_fill(
            t, mask, t if value is self else value))

    def masked_select(self, mask):
        from .ops import selection
        return selection.masked_select(self, mask)

    def sort(self, dim=-1, descending=False, stable=False):
        from .ops import sorting
        return sorting.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        from .ops import sorting
        return sorting.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        from .ops import sorting
        return sorting.topk(self, k, dim, largest, sorted)

    def repeat(self, *sizes):
        from .ops import repeat
        return repeat.repeat(self, *sizes)

    def tile(self, dims):
        from .ops import repeat
        return repeat.tile(self, dims)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        from .ops import repeat
        return repeat.repeat_interleave(self, repeats, dim, output_size=output_size)

    # --- numerics ---
    def softmax(self, dim, dtype=None):
        from .functional.activation import softmax
        return softmax(self, dim, dtype)

    def log_softmax(self, dim, dtype=None):
        from .functional.activation import log_softmax
        return log_softmax(self, dim, dtype)

    def cumsum(self, dim, *, dtype=None):
        from .ops.cumulative import cumsum
        return cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, *, dtype=None):
        from .ops.cumulative import cumprod
        return cumprod(self, dim, dtype=dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        from .ops.norm import norm
        return norm(self, p, dim, keepdim, dtype)

    def square(self): return _ew.square(self)
    def rsqrt(self): return _ew.rsqrt(self)
    def reciprocal(self): return _ew.reciprocal(self)
    def log1p(self): return _ew.log1p(self)
    def expm1(self): return _ew.expm1(self)
    def floor(self): return _ew.floor(self)
    def ceil(self): return _ew.ceil(self)
    def trunc(self): return _ew.trunc(self)
    def round(self, decimals=0): return _ew.round(self, decimals)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ar.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ar.allclose(self, other, rtol, atol, equal_nan)

    # --- longtail ---
    # (imports inside the methods: these op modules load after the Tensor class)
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
        if isinstance(data, TensorMethods):
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
