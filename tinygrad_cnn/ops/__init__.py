"""Op families. Importing this package registers every op in :data:`registry`.

=============  ==========================================================
module         ops
=============  ==========================================================
arithmetic     add sub mul div floor_divide remainder pow maximum minimum, comparisons
elementwise    neg abs sign exp log sqrt sin cos tanh sigmoid relu clamp where
reduce         sum mean prod var std logsumexp amax amin max min argmax argmin
shape          reshape squeeze unsqueeze permute expand sum_to contiguous clone flip
               cat stack (split and chunk are slices)
indexing       getitem and its adjoint index_add
linalg         matmul
conversion     to (dtype and device)
=============  ==========================================================
"""
from . import (arithmetic, conv, conversion, elementwise, indexing, linalg, pool,  # noqa: F401
               loss, resample, reduce, shape)
from .op_registry import OpDef, register, registry, rules_table

__all__ = ["registry", "register", "OpDef", "rules_table"]
