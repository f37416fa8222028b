"""tinygrad_cnn: a PyTorch-like autodiff engine with first-class CNN ops, on NumPy or CuPy.

    import tinygrad_cnn as tg
    x = tg.randn(3, requires_grad=True)
    (x * x).sum().backward()
    x.grad  # 2 * x
"""
from .tensor import Tensor  # noqa: I001  (Tensor first: the op modules look it up)
from . import autograd, backend, data, distributed, functional, nn, ops, optim, viz
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.function import Function
from .autograd.gradcheck import gradcheck, gradgradcheck
from .backend import get_default_device, set_default_device
from .backend.device import Device as device
from .dtypes import bool_ as bool  # noqa: A001  (tg.bool, as torch.bool)
from .dtypes import float16, float32, float64, int8, int16, int32, int64, uint8
from .factories import (arange, empty, empty_like, eye, from_numpy, full, full_like, linspace,
                        manual_seed, ones, ones_like, rand, rand_like, randint, randn,
                        randn_like, tensor, zeros, zeros_like)
from .ops.arithmetic import (add, div, eq, floor_divide, ge, gt, le, lt, maximum, minimum, mul,
                             ne, pow, remainder, sub)
from .ops.elementwise import (abs, clamp, cos, exp, log, neg, relu, sigmoid, sign, sin, sqrt,
                              tanh, where)
from .ops.indexing import index
from .ops.linalg import matmul
from .ops.reduce import (amax, amin, argmax, argmin, logsumexp, max, mean, min, prod, std, sum,
                         var)
from .ops.shape import (broadcast_to, cat, chunk, contiguous, expand, flatten, flip, permute,
                        reshape, split, squeeze, stack, transpose, unsqueeze)
from . import cuda
from .serialization import load, save

# --- tensorops ---
from .ops.einsum import einsum, tensordot
from .ops.linalg import bmm, dot, mm, outer, t
from .ops.repeat import repeat_interleave, tile
from .ops.selection import (gather, index_select, masked_fill, masked_select,
                            scatter, scatter_add, take_along_dim)
from .ops.sorting import argsort, sort, topk

# --- nnlib ---
from . import backends, utils  # noqa: F401  (tg.backends.cudnn, tg.utils.data)

# --- numerics ---
from .ops.arithmetic import allclose, isclose
from .ops.cumulative import cumprod, cumsum
from .ops.elementwise import (ceil, expm1, floor, log1p, reciprocal, round, rsqrt,
                              square, trunc)
from .ops.norm import norm
from .functional.activation import log_softmax, softmax

__version__ = "0.1.0"
# torch's aliases
clip = clamp
concat = cat

# --- longtail ---
from .dtypes import float16 as half, float32 as float, float64 as double  # noqa: E402,A001
from .dtypes import int16 as short, int32 as int, int64 as long  # noqa: E402,A001
from .ops.index_update import index_add, index_fill  # noqa: E402
from .ops.logical import (all, any, argwhere, isfinite, isinf, isnan, logical_and,  # noqa: E402,A001
                          logical_not, logical_or, logical_xor, nonzero, unique)
from .ops.pointwise import addcdiv, addcmul, fmod, lerp, nan_to_num  # noqa: E402
from .ops.rearrange import narrow, roll, unbind  # noqa: E402
from .ops.triangular import diag, tril, triu  # noqa: E402
from .settings import (are_deterministic_algorithms_enabled, as_tensor, clone,  # noqa: E402
                       detach, get_default_dtype, is_deterministic_algorithms_warn_only_enabled,
                       is_floating_point, is_tensor, numel, randperm, set_default_dtype,
                       set_printoptions, use_deterministic_algorithms)
