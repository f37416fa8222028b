"""Conformance-table entries (see op_table.py) for the fused ops of branch fused:
``cross_entropy`` (log-softmax + NLL + reduction in one op) and ``relu_backward``. Imported at
the end of op_table.py; it adds to ``op_table.SPECS``."""
from __future__ import annotations

import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import torch
from op_table import REG, SPECS, Spec, _generic_errors, r

TF = torch.nn.functional if torch is not None else None


def _ce(**kw):
    """F.cross_entropy and torch's with the same keywords (weight given as an array)."""
    w = kw.pop("weight", None)

    def ours(x, t):
        wo = None if w is None else tg.tensor(w, dtype=x.dtype, device=x.device)
        return F.cross_entropy(x, t, weight=wo, **kw)

    def theirs(x, t):
        return TF.cross_entropy(x, t, weight=None if w is None else
                                torch.from_numpy(w).to(x.dtype), **kw)
    return ours, theirs


_W = np.linspace(0.5, 2.0, 5)
SPECS["cross_entropy"] = Spec(
    [(*_ce(), [r(4, 5), np.array([0, 4, 2, 1])]),
     (*_ce(reduction="sum", ignore_index=2), [r(3, 5, seed=1), np.array([2, 0, 3])]),
     (*_ce(reduction="none", weight=_W), [r(2, 5, 3, seed=2), np.array([[0, 1, 4], [3, 3, 2]])]),
     (*_ce(weight=_W, label_smoothing=0.2, ignore_index=1),
      [r(4, 5, seed=3), np.array([1, 0, 4, 2])]),
     (*_ce(reduction="none", label_smoothing=0.1), [r(5, seed=4), np.array(3)])],
    [(lambda: F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 3])), ValueError,
      r"cross_entropy: target values must lie in \[0, 3\)"),
     (lambda: F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1, 2])), ValueError,
      r"cross_entropy: expected input \(n, c, \*d\) and target \(n, \*d\)"),
     (lambda: F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1]), reduction="avg"), ValueError,
      r"cross_entropy: reduction must be"),
     (lambda: REG["cross_entropy"]("not a tensor"), TypeError, r"cross_entropy: ")])

SPECS["relu_backward"] = Spec(
    [(lambda g, x: REG["relu_backward"](g, x),
      lambda g, x: torch.ops.aten.threshold_backward(g, x, 0), [r(3, 4), r(3, 4, seed=1)]),
     (lambda g, x: REG["relu_backward"](g, x.T),
      lambda g, x: torch.ops.aten.threshold_backward(g, x.T, 0), [r(4, 3, seed=2),
                                                                  r(3, 4, seed=3)]),
     (lambda g, x: REG["relu_backward"](g[:, ::2], x),
      lambda g, x: torch.ops.aten.threshold_backward(g[:, ::2], x, 0), [r(2, 6, seed=4),
                                                                        r(2, 3, seed=5)]),
     (lambda g, x: REG["relu_backward"](g, x),
      lambda g, x: torch.ops.aten.threshold_backward(g, x, 0), [r(seed=6), r(seed=7)])],
    _generic_errors("relu_backward", lambda v: REG["relu_backward"](v, v)))
