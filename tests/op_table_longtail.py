"""Conformance-table entries (see op_table.py) for the ops of branch longtail: the
predicates (isnan, isinf, isfinite), logic (logical_*), any/all and fmod. Imported at the end
of op_table.py; it adds to ``op_table.SPECS``."""
from __future__ import annotations

import numpy as np

import tinygrad_cnn as tg
from helpers import torch
from op_table import REG, SPECS, Spec, _generic_errors, pos, r

_SPECIAL = np.array([[1.5, np.nan, -np.inf], [np.inf, -0.0, 3.0]])


def _floats_with_specials(seed):
    a = r(3, 4, seed=seed)
    a[0, 1], a[1, 2], a[2, 0] = np.nan, np.inf, -np.inf
    return a


for _n in ("isnan", "isinf", "isfinite"):
    _t = (lambda x, n=_n: getattr(torch, n)(x)) if torch else None
    SPECS[_n] = Spec(
        [(lambda x, n=_n: REG[n](x), _t, [_SPECIAL]),
         (lambda x, n=_n: REG[n](x.T), lambda x, t=_t: t(x.T), [_floats_with_specials(1)]),
         (lambda x, n=_n: REG[n](x), _t, [np.array([1, -2, 3])]),      # integers: no NaN
         (lambda x, n=_n: REG[n](x), _t, [np.array(np.nan)]),          # 0-d
         (lambda x, n=_n: REG[n](x[:, ::2]), lambda x, t=_t: t(x[:, ::2]),
          [_floats_with_specials(2)])],
        _generic_errors(_n, REG[_n]), differentiable=False)

SPECS["logical_not"] = Spec(
    [(lambda x: REG["logical_not"](x), torch.logical_not if torch else None, [r(3, 4) > 0]),
     (lambda x: REG["logical_not"](x), torch.logical_not if torch else None,
      [np.array([0.0, 2.5, -1.0, np.nan])]),                          # NaN is nonzero: True
     (lambda x: REG["logical_not"](x), torch.logical_not if torch else None,
      [np.array([[0, 3], [-1, 0]])]),
     (lambda x: REG["logical_not"](x.T), lambda x: torch.logical_not(x.T), [r(2, 3) > 0])],
    _generic_errors("logical_not", REG["logical_not"]), differentiable=False)

for _n in ("logical_and", "logical_or", "logical_xor"):
    _t = getattr(torch, _n) if torch else None
    SPECS[_n] = Spec(
        [(lambda a, b, n=_n: REG[n](a, b), _t, [r(3, 4) > 0, r(3, 4, seed=1) > 0]),
         (lambda a, b, n=_n: REG[n](a, b), _t, [r(2, 1, 4) > 0, r(3, 1, seed=2) > 0]),
         (lambda a, b, n=_n: REG[n](a, b), _t,                        # mixed dtypes
          [np.array([0.0, 1.5, 0.0, -2.0]), np.array([0, 0, 7, 1])]),
         (lambda a, b, n=_n: REG[n](a.T, b), lambda a, b, t=_t: t(a.T, b),
          [r(4, 3) > 0, r(3, 4, seed=4) > 0])],
        _generic_errors(_n, lambda v, n=_n: REG[n](v, v)) + [
            (lambda n=_n: REG[n](tg.ones(2, 3), tg.ones(4)), ValueError,
             rf"{_n}: .*\(2, 3\), \(4,\)"),
            (lambda n=_n: REG[n](tg.ones(2), tg.ones(2, device="fake")), RuntimeError,
             rf"{_n}: expected all tensors on one device")],
        differentiable=False)

for _n in ("any", "all"):
    SPECS[_n] = Spec(
        [(lambda x, n=_n: REG[n](x), lambda x, n=_n: getattr(torch, n)(x), [r(3, 4) > 1]),
         (lambda x, n=_n: REG[n](x, dim=1), lambda x, n=_n: getattr(torch, n)(x, 1),
          [r(3, 4, seed=1) > 0.5]),
         (lambda x, n=_n: REG[n](x, dim=0, keepdim=True),
          lambda x, n=_n: getattr(torch, n)(x, 0, keepdim=True), [np.array([[0.0, 1], [2, 3]])]),
         (lambda x, n=_n: REG[n](x.T, dim=-1), lambda x, n=_n: getattr(torch, n)(x.T, -1),
          [np.array([[0, 1, 2], [0, 0, 3]])]),
         (lambda x, n=_n: REG[n](x, dim=(0, 2)), lambda x, n=_n: getattr(torch, n)(x, (0, 2)),
          [r(2, 3, 2, seed=5) > 0])],
        _generic_errors(_n, REG[_n]) + [
            (lambda n=_n: getattr(tg, n)(tg.ones(2, 3), dim=2), IndexError,
             rf"{_n}: dim 2 is out of range for a tensor with 2 dims"),
            (lambda n=_n: getattr(tg, n)(tg.ones(2), keepdim=1), TypeError,
             rf"{_n}: keepdim must be a bool")],
        differentiable=False)

# dividends and divisors chosen so that x0 / x1 stays away from integers (where trunc jumps
# and the finite differences would straddle the jump)
_A = np.array([[-3.3, 2.7, 5.1], [0.4, -1.6, 7.7]])
_B = np.array([[1.5, -1.2, 2.2], [0.7, 0.9, -2.5]])
SPECS["fmod"] = Spec(
    [(lambda a, b: REG["fmod"](a, b), torch.fmod if torch else None, [_A, _B]),
     (lambda a, b: REG["fmod"](a, b), torch.fmod if torch else None, [_A, np.array([1.3])]),
     (lambda a, b: REG["fmod"](a.T, b.T), lambda a, b: torch.fmod(a.T, b.T), [_A, _B]),
     (lambda a, b: REG["fmod"](a, b), torch.fmod if torch else None,
      [r(3, 1, seed=3) * 3.1, pos(4, seed=4) + 0.05]),
     (lambda a, b: REG["fmod"](a[:, ::2], b), lambda a, b: torch.fmod(a[:, ::2], b),
      [_A, np.array(0.75)])],
    _generic_errors("fmod", lambda v: REG["fmod"](v, v)) + [
        (lambda: tg.fmod(tg.tensor([3, 4]), tg.tensor([1, 0])), RuntimeError,
         r"fmod: integer division by zero"),
        (lambda: REG["fmod"](tg.ones(2, 3), tg.ones(4)), ValueError,
         r"fmod: .*\(2, 3\), \(4,\)")])
