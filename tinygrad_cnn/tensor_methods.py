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


def _replaced(t, value):
    """``value`` in t's place, as a recorded op whose gradient to t is zero: a ``where`` with
    a true condition, not ``t * 0 + value`` (which turns an Inf or NaN already in t into NaN)."""
    from .ops.op_registry import const
    true = const(t.xp.ones((), dtype=bool))
    return _ew.where(true, value, t)


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

    def zero_(self): return _ip.apply_inplace(self, "zero_", lambda t: _replaced(t, 0))
    def fill_(self, value): return _ip.apply_inplace(self, "fill_", lambda t: _replaced(t, value))

    def copy_(self, src):
        return _ip.apply_inplace(self, "copy_", lambda t: _replaced(t, _sh.broadcast_to(
            src.to(device=t.device, dtype=t.dtype), t.shape)))

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
    # (implemented in tensor_longtail.py, bound here as methods)
    from .tensor_longtail import (  # noqa: E402,I001
        _new, new_zeros, new_ones, new_empty, new_full, new_tensor, type, stride, is_contiguous,
        element_size, nelement, is_floating_point, isnan, isinf, isfinite, nan_to_num,
        logical_not, logical_and, logical_or, logical_xor, nonzero, argwhere, unique, unbind,
        narrow, roll, unfold, tril, triu, diag, fmod, lerp, addcmul, addcdiv, index_add,
        index_fill, sum_to_size, abs_, exp_, sqrt_, sigmoid_, tanh_, floor_, log_, sin_, cos_,
        clip_, _random_fill, normal_, uniform_, index_add_, index_fill_, lerp_, addcmul_,
        addcdiv_)
