"""Op families. Importing this package registers every op in :data:`registry`.

=============  ==========================================================
module         ops
=============  ==========================================================
arithmetic     add sub mul div floor_divide remainder pow maximum minimum, comparisons
elementwise    neg abs sign exp log sqrt sin cos tanh sigmoid relu clamp where
reduce         sum mean prod var std logsumexp amax amin max min argmax argmin
shape          reshape squeeze unsqueeze permute expand sum_to contiguous clone flip
               cat stack (split and chunk are slices)
indexing       getitem, its adjoint index_add, index_put (item assignment)
linalg         matmul; mm bmm dot outer t (checked forms of matmul)
einsum         einsum (and tensordot on it)
selection      gather scatter scatter_add; index_select masked_fill masked_select
sorting        sort argsort topk (a gather at a computed order)
repeat         repeat tile repeat_interleave (reshape/expand compositions)
conversion     to (dtype and device)
conv, pool     convolutions 1-3-D and transposed, max/avg pooling and their adjoints
resample       upsample downsample pad
inplace        the in-place machinery (writes into storage, version counter)
=============  ==========================================================
"""
from . import (arithmetic, conv, conversion, einsum, elementwise, indexing,  # noqa: F401
               linalg, loss, pool, reduce, repeat, resample, selection, shape, sorting)
from .op_registry import OpDef, register, registry, rules_table

__all__ = ["registry", "register", "OpDef", "rules_table"]
