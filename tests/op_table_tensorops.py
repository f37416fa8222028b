"""Conformance-table entries (see op_table.py) for the ops of branch tensorops: gather,
scatter, scatter_add and einsum. Kept in their own file so that op_table.py only needs one
import line at its end; it adds to ``op_table.SPECS`` when imported."""
from __future__ import annotations

import numpy as np

import tinygrad_cnn as tg
from helpers import torch
from op_table import REG, SPECS, Spec, _generic_errors, r

# indices without repeats where scatter writes (its result with repeats is unspecified)
_I23 = np.array([[2, 0], [1, 2]])                 # (2, 2) into dim 1 of a (2, 3)
_I_COL = np.array([[1], [0], [1]])                # (3, 1) into dim 1 of a (3, 2)
_I_ROWS = np.array([[1, 0, 2], [0, 2, 1]])        # (2, 3) into dim 0 of a (3, 3)
_I_3D = np.array([[[0, 3]], [[2, 1]]])            # (2, 1, 2) into dim -1 of a (2, 2, 4)
_DUP = np.array([[0, 0, 1], [2, 2, 2]])           # repeated positions: they accumulate

SPECS["gather"] = Spec([
    (lambda x, i: REG["gather"](x, i, dim=1), lambda x, i: torch.gather(x, 1, i),
     [r(2, 3), _I23]),
    (lambda x, i: REG["gather"](x, i, dim=0), lambda x, i: torch.gather(x, 0, i),
     [r(3, 3, seed=1), _I_ROWS]),
    (lambda x, i: REG["gather"](x.T, i, dim=1), lambda x, i: torch.gather(x.T, 1, i),
     [r(2, 3, seed=2), _I_COL]),
    (lambda x, i: REG["gather"](x, i, dim=2), lambda x, i: torch.gather(x, 2, i),
     [r(2, 2, 4, seed=3), _I_3D]),
    (lambda x, i: REG["gather"](x, i, dim=1), lambda x, i: torch.gather(x, 1, i),
     [r(3, 3, seed=4), _DUP])],
    _generic_errors("gather", lambda v: REG["gather"](v, v, dim=0)) + [
        (lambda: tg.gather(tg.ones(2, 3), 1, tg.tensor([[0], [3]])), IndexError,
         r"gather: index 3 is out of bounds for dimension 1 with size 3"),
        (lambda: tg.gather(tg.ones(2, 3), 1, tg.tensor([[0.0]])), TypeError,
         r"gather: expected an int64 index tensor, got float"),
        (lambda: tg.gather(tg.ones(2, 3), 0, tg.tensor([[0, 1, 1, 1]])), RuntimeError,
         r"gather: index \(1, 4\) must be no larger than the input \(2, 3\) apart from "
         r"dimension 0")])


def _scatter_ref(x, i, s, d, add):
    return x.scatter_add(d, i, s) if add else x.scatter(d, i, s)


for _name, _add in (("scatter", False), ("scatter_add", True)):
    _cases = [((2, 3), _I23, 1, (2, 2)), ((3, 3), _I_ROWS, 0, (2, 3)),
              ((3, 2), _I_COL, 1, (3, 1)), ((2, 2, 4), _I_3D, 2, (2, 1, 2))]
    if _add:
        _cases.append(((3, 3), _DUP, 1, (2, 3)))
    SPECS[_name] = Spec(
        [(lambda x, i, s, d=d, n=_name: REG[n](x, i, s, dim=d),
          lambda x, i, s, d=d, a=_add: _scatter_ref(x, i, s, d, a),
          [r(*xs, seed=k), idx, r(*ss, seed=k + 10)])
         for k, (xs, idx, d, ss) in enumerate(_cases)],
        _generic_errors(_name, lambda v, n=_name: REG[n](v, v, v, dim=0)) + [
            (lambda n=_name: getattr(tg, n)(tg.ones(2, 3), 1, tg.tensor([[5]]), tg.ones(1, 1)),
             IndexError, rf"{_name}: index 5 is out of bounds for dimension 1 with size 3"),
            (lambda n=_name: getattr(tg, n)(tg.ones(2, 3), 1, tg.tensor([[0, 1]]),
                                            tg.ones(1, 1)),
             RuntimeError, rf"{_name}: index \(1, 2\) must be no larger than src \(1, 1\)"),
            (lambda n=_name: getattr(tg, n)(tg.ones(2, 3), 1, tg.tensor([[0]]),
                                            tg.ones(1, 1, dtype=tg.float64)),
             RuntimeError, rf"{_name}: expected src of the input's dtype float32")])

SPECS["einsum"] = Spec([
    (lambda a, b: tg.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b),
     [r(2, 3), r(3, 4, seed=1)]),
    (lambda a, b: tg.einsum("bij,bkj->bik", a, b),
     lambda a, b: torch.einsum("bij,bkj->bik", a, b), [r(2, 3, 4, seed=2), r(2, 5, 4, seed=3)]),
    (lambda a: tg.einsum("ii->i", a), lambda a: torch.einsum("ii->i", a), [r(3, 3, seed=4)]),
    (lambda a, b: tg.einsum("...i,...i", a, b), lambda a, b: torch.einsum("...i,...i", a, b),
     [r(4, 1, 3, seed=5), r(5, 3, seed=6)]),
    (lambda a: REG["einsum"](a, equation="ijk->j"), lambda a: a.sum((0, 2)),
     [r(2, 3, 4, seed=7)])],
    _generic_errors("einsum", lambda v: REG["einsum"](v, equation="i->i")) + [
        (lambda: tg.einsum("ij,jk->ik", tg.ones(2, 3), tg.ones(4, 4)), ValueError,
         r"einsum: subscript j has size 4 for operand 1 .* previously seen size 3"),
        (lambda: tg.einsum("ij->k", tg.ones(2, 3)), ValueError,
         r"einsum: output subscript k does not appear"),
        (lambda: tg.einsum("ij", tg.ones(2, 3), tg.ones(2)), ValueError,
         r"einsum: more operands were provided")])
