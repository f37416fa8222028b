"""Conformance-table entries (see op_table.py) for the resampling fast paths: reflection
padding and its adjoint (``pad_reflect`` / ``fold_reflect``) and integer nearest upsampling
and its adjoint (``repeat_nearest`` / ``block_sum``). Imported at the end of op_table.py."""
from __future__ import annotations

from helpers import torch
from op_table import REG, SPECS, Spec, _generic_errors, r

TF = torch.nn.functional if torch is not None else None


def _torch_pad(before, after):
    """torch's pad widths (last dim first) for our per-dim before/after."""
    return sum(((b, a) for b, a in zip(reversed(before), reversed(after))), ())


def _torch_fold(g, shape, before, after):
    """The adjoint of reflection padding, as torch's own gradient of F.pad(mode="reflect"):
    an independent oracle (create_graph, so it is differentiable in g)."""
    z = torch.zeros(shape, dtype=g.dtype, requires_grad=True)
    y = TF.pad(z, _torch_pad(before, after), mode="reflect")
    return torch.autograd.grad(y, z, g, create_graph=True)[0]


# (input shape, before, after): 1-D, 2-D, asymmetric, one side only, 3-D
_REFLECT = [((2, 3, 5), (2,), (1,)), ((1, 2, 4, 5), (1, 2), (3, 0)), ((2, 1, 3, 3), (0, 2), (2, 1)),
            ((1, 1, 3, 3, 4), (1, 2, 1), (2, 1, 0))]
SPECS["pad_reflect"] = Spec(
    [(lambda x, b=b, a=a: REG["pad_reflect"](x, before=b, after=a),
      lambda x, b=b, a=a: TF.pad(x, _torch_pad(b, a), mode="reflect"), [r(*sh, seed=i)])
     for i, (sh, b, a) in enumerate(_REFLECT)],
    _generic_errors("pad_reflect", lambda v: REG["pad_reflect"](v, before=(1,), after=(1,))))


def _padded(sh, b, a):
    return sh[:len(sh) - len(b)] + tuple(s + bb + aa for s, bb, aa in
                                         zip(sh[len(sh) - len(b):], b, a))


SPECS["fold_reflect"] = Spec(
    [(lambda g, b=b, a=a: REG["fold_reflect"](g, before=b, after=a),
      lambda g, sh=sh, b=b, a=a: _torch_fold(g, sh, b, a), [r(*_padded(sh, b, a), seed=i)])
     for i, (sh, b, a) in enumerate(_REFLECT)],
    _generic_errors("fold_reflect", lambda v: REG["fold_reflect"](v, before=(1,), after=(1,))))

# (input shape, factor): 1-D, 2-D, 3-D, unequal factors, a factor of 1
_NEAREST = [((2, 3, 4), (2,)), ((1, 2, 3, 2), (2, 3)), ((1, 1, 2, 2, 3), (2, 1, 2)),
            ((2, 1, 3, 3), (1, 2))]
SPECS["repeat_nearest"] = Spec(
    [(lambda x, f=f: REG["repeat_nearest"](x, factor=f),
      lambda x, f=f: TF.interpolate(x, scale_factor=f, mode="nearest"), [r(*sh, seed=i)])
     for i, (sh, f) in enumerate(_NEAREST)],
    _generic_errors("repeat_nearest", lambda v: REG["repeat_nearest"](v, factor=(2,))))


def _torch_block_sum(g, f):
    """The sum over each factor block, as torch's average pooling times the block size."""
    pool = {1: TF.avg_pool1d, 2: TF.avg_pool2d, 3: TF.avg_pool3d}[len(f)]
    size = 1
    for ff in f:
        size *= ff
    return pool(g, f, f) * size


SPECS["block_sum"] = Spec(
    [(lambda g, f=f: REG["block_sum"](g, factor=f),
      lambda g, f=f: _torch_block_sum(g, f),
      [r(*(sh[:2] + tuple(s * ff for s, ff in zip(sh[2:], f))), seed=i)])
     for i, (sh, f) in enumerate(_NEAREST)],
    _generic_errors("block_sum", lambda v: REG["block_sum"](v, factor=(2,))))
