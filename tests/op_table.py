"""The op conformance table: for every registered op, sample inputs (size-1 dims,
broadcasting, non-contiguous views, typical), error inputs with their messages, and dtypes.

A sample is ``(ours, theirs, inputs)``: ``ours`` maps tinygrad_cnn tensors to the op's
output, ``theirs`` the same for torch tensors (None where PyTorch has no counterpart; the
finite-difference checks still run), ``inputs`` NumPy arrays (floats require grad).
Internal ops (adjoints such as ``conv2d_weight`` or ``max_pool2d_scatter``) are called
through the registry, so each one is checked on its own, not only through its parent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import rand, torch

REG = tg.ops.registry
TF = torch.nn.functional if torch is not None else None
FLOATS = (np.float32, np.float64)


@dataclass
class Spec:
    samples: list
    errors: list            # (callable, exception type, message regex)
    dtypes: tuple = FLOATS
    differentiable: bool = True
    gradgrad: bool = True
    extra: dict = field(default_factory=dict)


SPECS: dict = {}


def r(*shape, seed=0, low=-2.0, high=2.0):
    return rand(*shape, seed=seed, low=low, high=high)


def pos(*shape, seed=0):
    return rand(*shape, seed=seed, low=0.3, high=2.0)


def _generic_errors(name, call):
    """Errors any op gives: a non-tensor input, an unknown keyword, a missing input."""
    return [(lambda: call("not a tensor"), TypeError, rf"{name}: "),
            (lambda: REG[name](tg.ones(2), not_a_parameter=1), TypeError, rf"{name}: "),
            (lambda: REG[name](), TypeError, rf"{name}: .*(missing|expected)")]


# ---------------------------------------------------------------- elementwise, unary
def _unary(name, tfn, make=r, **kw):
    samples = [(lambda x: REG[name](x), tfn, [make(3, 4)]),
               (lambda x: REG[name](x), tfn, [make(1, 1, seed=1)]),
               (lambda x: REG[name](x.T), lambda x: tfn(x.T), [make(4, 3, seed=2)]),
               (lambda x: REG[name](x[:, ::2]), lambda x: tfn(x[:, ::2]), [make(2, 6, seed=3)]),
               (lambda x: REG[name](x), tfn, [make(seed=4)])]
    SPECS[name] = Spec(samples, _generic_errors(name, REG[name]), **kw)


for _n, _t in [("neg", lambda x: -x), ("abs", lambda x: x.abs()), ("exp", lambda x: x.exp()),
               ("sin", lambda x: x.sin()), ("cos", lambda x: x.cos()),
               ("tanh", lambda x: x.tanh()), ("sigmoid", lambda x: x.sigmoid()),
               ("relu", lambda x: x.relu()),
               ("erf", lambda x: torch.erf(x))]:
    _unary(_n, _t)
_unary("log", lambda x: x.log(), make=pos)
_unary("sqrt", lambda x: x.sqrt(), make=pos)
_unary("sign", lambda x: x.sign())  # zero gradient, as PyTorch
_unary("clone", lambda x: x.clone())
_unary("contiguous", lambda x: x.contiguous())

SPECS["clamp"] = Spec(
    [(lambda x: REG["clamp"](x, min=-0.5, max=0.7), lambda x: x.clamp(-0.5, 0.7), [r(3, 4)]),
     (lambda x: REG["clamp"](x, min=0.1), lambda x: x.clamp(min=0.1), [r(1, 5, seed=1)]),
     (lambda x: REG["clamp"](x.T, max=0.2), lambda x: x.T.clamp(max=0.2), [r(4, 3, seed=2)]),
     (lambda x: REG["clamp"](x, min=-1.0, max=1.0), lambda x: x.clamp(-1, 1), [r(seed=3)])],
    [(lambda: tg.ones(2).clamp(), ValueError, r"clamp: at least one of min and max"),
     (lambda: tg.ones(2).clamp("a"), TypeError, r"clamp: min must be a number"),
     (lambda: REG["clamp"]("x", min=1), TypeError, r"clamp: expected at least one Tensor")])

for _n, _t in [("tanh_backward", lambda g, y: g * (1 - y * y)),
               ("sigmoid_backward", lambda g, y: g * y * (1 - y))]:
    SPECS[_n] = Spec(
        [(lambda g, y, n=_n: REG[n](g, y), _t, [r(3, 4), r(3, 4, seed=1, low=-0.9, high=0.9)]),
         (lambda g, y, n=_n: REG[n](g, y), _t, [r(1, 1), r(1, 1, seed=2, low=0.1, high=0.9)]),
         (lambda g, y, n=_n: REG[n](g, y), _t, [r(2, 3), r(3, seed=3, low=0.1, high=0.9)]),
         (lambda g, y, n=_n: REG[n](g.T, y.T), lambda g, y, t=_t: t(g.T, y.T),
          [r(4, 2), r(4, 2, seed=4, low=0.1, high=0.9)])],
        _generic_errors(_n, lambda v, n=_n: REG[n](v, v)))


# ---------------------------------------------------------------- elementwise, binary
def _binary(name, tfn, make_b=r, differentiable=True, dtypes=FLOATS):
    samples = [(lambda a, b: REG[name](a, b), tfn, [r(3, 4), make_b(3, 4, seed=1)]),
               (lambda a, b: REG[name](a, b), tfn, [r(2, 1, 4), make_b(3, 1, seed=2)]),
               (lambda a, b: REG[name](a, b), tfn, [r(1, 1), make_b(1, seed=3)]),
               (lambda a, b: REG[name](a.T, b), lambda a, b: tfn(a.T, b),
                [r(4, 3), make_b(3, 4, seed=4)]),
               (lambda a, b: REG[name](a, b), tfn, [r(seed=5), make_b(2, 2, seed=6)])]
    errors = [(lambda: REG[name](tg.ones(2, 3), tg.ones(4)), ValueError,
               rf"{name}: .*\(2, 3\), \(4,\)"),
              (lambda: REG[name](tg.ones(2), "a"), TypeError, rf"{name}: unsupported operand"),
              (lambda: REG[name](tg.ones(2), tg.ones(2, device="fake")), RuntimeError,
               rf"{name}: expected all tensors on one device")]
    SPECS[name] = Spec(samples, errors, differentiable=differentiable, dtypes=dtypes)


_binary("add", torch.add if torch else None)
_binary("sub", torch.sub if torch else None)
_binary("mul", torch.mul if torch else None)
_binary("div", torch.div if torch else None, make_b=pos)
_binary("pow", torch.pow if torch else None, make_b=pos)
SPECS["pow"].samples = [(lambda a, b: REG["pow"](a, b), torch.pow if torch else None,
                         [pos(*s1), r(*s2, seed=i)]) for i, (s1, s2) in
                        enumerate([((3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((1, 1), (1,)),
                                   ((4,), ())])]
_binary("maximum", torch.maximum if torch else None)
_binary("minimum", torch.minimum if torch else None)
_binary("remainder", torch.remainder if torch else None, make_b=pos)
_binary("floor_divide", torch.floor_divide if torch else None, make_b=pos,
        differentiable=False)
for _n in ("eq", "ne", "lt", "le", "gt", "ge"):
    _binary(_n, getattr(torch, _n) if torch else None, differentiable=False)


def _where_ref(a, b, c):
    return torch.where(c, a, b)


SPECS["where"] = Spec(
    [(lambda a, b, c: REG["where"](a, b, c), _where_ref, [r(3, 4), r(3, 4, seed=1),
                                                          r(3, 4, seed=2) > 0]),
     (lambda a, b, c: REG["where"](a, b, c), _where_ref, [r(2, 1), r(1, 3, seed=1),
                                                          r(2, 3, seed=2) > 0]),
     (lambda a, b, c: REG["where"](a, b, c), _where_ref, [r(1), r(1, seed=1),
                                                          np.array([True])]),
     (lambda a, b, c: REG["where"](a.T, b, c), lambda a, b, c: _where_ref(a.T, b, c),
      [r(4, 3), r(3, 4, seed=1), r(3, 4, seed=2) > 0])],
    [(lambda: tg.where(tg.ones(2), tg.ones(2), tg.ones(2)), TypeError,
      r"where: condition must be a bool tensor"),
     (lambda: tg.where(tg.ones(2) > 0, tg.ones(3), tg.ones(2)), ValueError, r"where: "),
     (lambda: tg.where(tg.ones(2) > 0, "a", tg.ones(2)), TypeError, r"where: unsupported")])


# ---------------------------------------------------------------- reductions
def _reduction(name, ours, theirs, make=r, differentiable=True):
    samples = [(lambda x: ours(x, 1, False), lambda x: theirs(x, 1, False), [make(3, 4)]),
               (lambda x: ours(x, (0, 2), True), lambda x: theirs(x, (0, 2), True),
                [make(2, 3, 4, seed=1)]),
               (lambda x: ours(x.T, 0, False), lambda x: theirs(x.T, 0, False),
                [make(4, 3, seed=2)]),
               (lambda x: ours(x, -1, True), lambda x: theirs(x, -1, True),
                [make(1, 5, seed=3)])]
    errors = [(lambda: getattr(tg, name if name in dir(tg) else "sum")(tg.ones(2, 3), 5),
               IndexError, r"dim 5 is out of range"),
              (lambda: REG[name](tg.ones(2), bogus=1), TypeError, rf"{name}: "),
              (lambda: REG[name]("x"), TypeError, rf"{name}: expected at least one Tensor")]
    SPECS[name] = Spec(samples, errors, differentiable=differentiable)


def _dims(x, dim):
    return tuple(d % x.ndim for d in ((dim,) if isinstance(dim, int) else dim))


_reduction("sum", lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.sum(d, keepdim=k))
_reduction("mean", lambda x, d, k: x.mean(d, keepdim=k), lambda x, d, k: x.mean(d, keepdim=k))
_reduction("var", lambda x, d, k: x.var(d, keepdim=k), lambda x, d, k: x.var(d, keepdim=k))
_reduction("std", lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: x.std(d, keepdim=k))
_reduction("logsumexp", lambda x, d, k: x.logsumexp(d, keepdim=k),
           lambda x, d, k: x.logsumexp(d, keepdim=k))
_reduction("amax", lambda x, d, k: x.amax(d, keepdim=k), lambda x, d, k: x.amax(d, keepdim=k))
_reduction("amin", lambda x, d, k: x.amin(d, keepdim=k), lambda x, d, k: x.amin(d, keepdim=k))
_reduction("prod", lambda x, d, k: REG["prod"](x, dims=_dims(x, d), keepdim=k),
           lambda x, d, k: _torch_prod(x, d, k), make=pos)
_reduction("max_dim", lambda x, d, k: x.max(d if isinstance(d, int) else d[0],
                                             keepdim=k).values,
           lambda x, d, k: x.max(d if isinstance(d, int) else d[0], keepdim=k).values)
_reduction("min_dim", lambda x, d, k: x.min(d if isinstance(d, int) else d[0],
                                             keepdim=k).values,
           lambda x, d, k: x.min(d if isinstance(d, int) else d[0], keepdim=k).values)
_reduction("argmax", lambda x, d, k: x.argmax(d if isinstance(d, int) else d[0], keepdim=k),
           lambda x, d, k: x.argmax(d if isinstance(d, int) else d[0], keepdim=k),
           differentiable=False)
_reduction("argmin", lambda x, d, k: x.argmin(d if isinstance(d, int) else d[0], keepdim=k),
           lambda x, d, k: x.argmin(d if isinstance(d, int) else d[0], keepdim=k),
           differentiable=False)


def _torch_prod(x, d, k):
    for dim in sorted(_dims(x, d), reverse=True):
        x = x.prod(dim, keepdim=k)
    return x


SPECS["prod_others"] = Spec(
    [(lambda x: REG["prod_others"](x, dims=(1,)),
      lambda x: x.prod(1, keepdim=True) / x, [pos(3, 4)]),
     (lambda x: REG["prod_others"](x, dims=(0, 1)),
      lambda x: x.prod() / x, [pos(2, 3, seed=1)]),
     (lambda x: REG["prod_others"](x.T, dims=(0,)),
      lambda x: x.T.prod(0, keepdim=True) / x.T, [pos(4, 3, seed=2)]),
     (lambda x: REG["prod_others"](x, dims=(0,)),
      lambda x: x.prod(0, keepdim=True) / x, [pos(1, 5, seed=3)])],
    _generic_errors("prod_others", lambda v: REG["prod_others"](v, dims=(0,))))


# ---------------------------------------------------------------- shape ops
def _shape_spec(name, samples, errors):
    SPECS[name] = Spec(samples, errors)


_shape_spec("reshape", [
    (lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1), [r(2, 3, 2)]),
    (lambda x: x.T.reshape(-1), lambda x: x.T.reshape(-1), [r(3, 4, seed=1)]),
    (lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [r(seed=2)]),
    (lambda x: x.view(3, 1, 2), lambda x: x.view(3, 1, 2), [r(6, seed=3)])],
    [(lambda: tg.ones(2, 3).reshape(4, 2), RuntimeError, r"reshape: shape \(4, 2\) is invalid"),
     (lambda: tg.ones(2, 3).reshape(-1, -1), ValueError, r"reshape: only one dimension"),
     (lambda: tg.ones(2, 3).reshape(2.0, 3), TypeError, r"reshape: sizes must be ints")])
_shape_spec("squeeze", [
    (lambda x: x.squeeze(), lambda x: x.squeeze(), [r(1, 3, 1, 2)]),
    (lambda x: x.squeeze(2), lambda x: x.squeeze(2), [r(1, 3, 1, 2, seed=1)]),
    (lambda x: x.T.squeeze(0), lambda x: x.T.squeeze(0), [r(3, 1, seed=2)]),
    (lambda x: x.squeeze((0, 1)), lambda x: x.squeeze((0, 1)), [r(1, 1, seed=3)])],
    [(lambda: tg.ones(2).squeeze(3), IndexError, r"squeeze: dim 3 is out of range"),
     (lambda: tg.ones(2).squeeze(0.5), TypeError, r"squeeze: dim must be an int"),
     (lambda: tg.ones(2, 2).squeeze((0, 0)), ValueError, r"squeeze: dim .* names a dimension")])
_shape_spec("unsqueeze", [
    (lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1), [r(3, 2)]),
    (lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), [r(3, 2, seed=1)]),
    (lambda x: x.T.unsqueeze(0), lambda x: x.T.unsqueeze(0), [r(2, 3, seed=2)]),
    (lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0), [r(seed=3)])],
    [(lambda: tg.ones(2).unsqueeze(3), IndexError, r"unsqueeze: dim 3 is out of range"),
     (lambda: tg.ones(2).unsqueeze("a"), TypeError, r"unsqueeze: dim must be an int"),
     (lambda: tg.ones(2).unsqueeze(-3), IndexError, r"unsqueeze: dim -3 is out of range")])
_shape_spec("permute", [
    (lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), [r(2, 3, 4)]),
    (lambda x: x.transpose(0, 1), lambda x: x.transpose(0, 1), [r(1, 3, seed=1)]),
    (lambda x: x.T.permute(1, 0), lambda x: x.T.permute(1, 0), [r(3, 4, seed=2)]),
    (lambda x: x.mT, lambda x: x.mT, [r(2, 3, 5, seed=3)])],
    [(lambda: tg.ones(2, 3).permute(0), ValueError, r"permute: got 1 dims"),
     (lambda: tg.ones(2, 3).permute(0, 0), ValueError, r"permute: dims \(0, 0\) repeat"),
     (lambda: tg.ones(2, 3).permute(0, 5), IndexError, r"permute: dim 5 is out of range")])
_shape_spec("expand", [
    (lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4), [r(3, 1)]),
    (lambda x: x.expand(-1, 5), lambda x: x.expand(-1, 5), [r(3, 1, seed=1)]),
    (lambda x: x.T.expand(2, 4, 3), lambda x: x.T.expand(2, 4, 3), [r(3, 4, seed=2)]),
    (lambda x: x.expand(3), lambda x: x.expand(3), [r(seed=3)])],
    [(lambda: tg.ones(2, 3).expand(2, 4), ValueError, r"expand: the size of dim 1 \(3\)"),
     (lambda: tg.ones(2, 3).expand(3), ValueError, r"expand: the number of sizes"),
     (lambda: tg.ones(3).expand(-1, 3), ValueError, r"expand: -1 is not allowed")])
_shape_spec("sum_to", [
    (lambda x: REG["sum_to"](x, shape=(3, 1)), lambda x: x.sum(1, keepdim=True), [r(3, 4)]),
    (lambda x: REG["sum_to"](x, shape=(4,)), lambda x: x.sum((0, 1)), [r(2, 3, 4, seed=1)]),
    (lambda x: REG["sum_to"](x.T, shape=(1, 3)), lambda x: x.T.sum(0, keepdim=True),
     [r(3, 4, seed=2)]),
    (lambda x: REG["sum_to"](x, shape=()), lambda x: x.sum(), [r(1, 1, seed=3)])],
    _generic_errors("sum_to", lambda v: REG["sum_to"](v, shape=(1,))))
_shape_spec("flip", [
    (lambda x: x.flip((0, 2)), lambda x: x.flip((0, 2)), [r(2, 3, 2)]),
    (lambda x: x.flip(1), lambda x: x.flip(1), [r(1, 4, seed=1)]),
    (lambda x: x.T.flip(0), lambda x: x.T.flip(0), [r(3, 4, seed=2)]),
    (lambda x: x.flip(-1), lambda x: x.flip(-1), [r(5, seed=3)])],
    [(lambda: tg.ones(2).flip(3), IndexError, r"flip: dim 3 is out of range"),
     (lambda: tg.ones(2, 2).flip((0, 0)), ValueError, r"flip: dim .* names a dimension"),
     (lambda: tg.ones(2).flip("a"), TypeError, r"flip: dim must be an int")])


def _lib(t):
    return tg if isinstance(t, tg.Tensor) else torch


_shape_spec("cat", [
    (lambda a, b: _lib(a).cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
     [r(2, 3), r(2, 2, seed=1)]),
    (lambda a, b: _lib(a).cat([a, b]), lambda a, b: torch.cat([a, b]), [r(1, 2), r(1, 2)]),
    (lambda a, b: tg.cat([a.T, b], 0), lambda a, b: torch.cat([a.T, b], 0),
     [r(3, 2, seed=2), r(1, 3, seed=3)]),
    (lambda a, b: tg.cat([a, b], -1), lambda a, b: torch.cat([a, b], -1),
     [r(2, 1, 3), r(2, 1, 2, seed=4)])],
    [(lambda: tg.cat([tg.ones(2, 3), tg.ones(2, 4)]), ValueError, r"cat: tensors must have"),
     (lambda: tg.cat([]), ValueError, r"cat: expected a non-empty list"),
     (lambda: tg.cat(tg.ones(2)), TypeError, r"cat: expected a list or tuple")])
_shape_spec("stack", [
    (lambda a, b: tg.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1),
     [r(2, 3), r(2, 3, seed=1)]),
    (lambda a, b: tg.stack([a, b]), lambda a, b: torch.stack([a, b]), [r(1), r(1, seed=1)]),
    (lambda a, b: tg.stack([a.T, b], -1), lambda a, b: torch.stack([a.T, b], -1),
     [r(3, 2, seed=2), r(2, 3, seed=3)]),
    (lambda a, b: tg.stack([a, b]), lambda a, b: torch.stack([a, b]), [r(), r(seed=4)])],
    [(lambda: tg.stack([tg.ones(2), tg.ones(3)]), ValueError, r"stack: tensors must have"),
     (lambda: tg.stack([]), ValueError, r"stack: expected a non-empty list"),
     (lambda: tg.stack([tg.ones(2), 3]), TypeError, r"stack: element 1 is a int")])

_IDX = np.array([0, 2, 2, 1])
_shape_spec("getitem", [
    (lambda x: x[1:, ::2], lambda x: x[1:, ::2], [r(3, 4)]),
    (lambda x: x[tg.tensor(_IDX)], lambda x: x[torch.from_numpy(_IDX)], [r(3, 4, seed=1)]),
    (lambda x: x[None, 0], lambda x: x[None, 0], [r(3, 4, seed=2)]),
    (lambda x: x[..., np.array([True, False, True])],
     lambda x: x[..., torch.tensor([True, False, True])], [r(2, 3, seed=3)])],
    [(lambda: tg.ones(3)[5], IndexError, r"getitem: index 5 is out of bounds"),
     (lambda: tg.ones(3)[1.5], TypeError, r"getitem: float index"),
     (lambda: tg.ones(3)[tg.ones(2)], IndexError, r"getitem: tensors used as indices")])


def _index_add_ref(g, index, shape):
    out = torch.zeros(shape, dtype=g.dtype)
    return out.index_put((index,), g, accumulate=True)


_shape_spec("index_add", [
    (lambda g: REG["index_add"](g, index=(_IDX,), advanced=True, shape=(3, 4)),
     lambda g: _index_add_ref(g, torch.from_numpy(_IDX), (3, 4)), [r(4, 4)]),
    (lambda g: REG["index_add"](g, index=(slice(1, None),), advanced=False, shape=(3, 2)),
     lambda g: torch.cat([torch.zeros(1, 2, dtype=g.dtype), g]), [r(2, 2, seed=1)]),
    (lambda g: REG["index_add"](g.T, index=(_IDX,), advanced=True, shape=(3, 2)),
     lambda g: _index_add_ref(g.T, torch.from_numpy(_IDX), (3, 2)), [r(2, 4, seed=2)]),
    (lambda g: REG["index_add"](g, index=(np.array([1, 1]),), advanced=True, shape=(2,)),
     lambda g: _index_add_ref(g, torch.tensor([1, 1]), (2,)), [r(2, seed=3)])],
    _generic_errors("index_add", lambda v: REG["index_add"](v, index=(0,), advanced=False,
                                                            shape=(2,))))


def _index_put_ref(x, v, index):
    return x.index_put(index, v)


_shape_spec("index_put", [
    (lambda x, v: REG["index_put"](x, v, index=(slice(1, None),), advanced=False),
     lambda x, v: _index_put_ref(x, v, (torch.arange(1, 3),)), [r(3, 4), r(2, 4, seed=1)]),
    # no repeated positions: which write wins there is undefined (in PyTorch too)
    (lambda x, v: REG["index_put"](x, v, index=(np.array([2, 0]),), advanced=True),
     lambda x, v: _index_put_ref(x, v, (torch.tensor([2, 0]),)), [r(3, 4), r(4, seed=1)]),
    (lambda x, v: REG["index_put"](x.T, v, index=(0, slice(None)), advanced=False),
     lambda x, v: _index_put_ref(x.T, v, (torch.tensor(0),)), [r(4, 3, seed=2), r(4, seed=3)]),
    (lambda x, v: REG["index_put"](x, v, index=(np.array([True, False, True]),), advanced=True),
     lambda x, v: _index_put_ref(x, v, (torch.tensor([True, False, True]),)),
     [r(3, 2, seed=4), r(2, seed=5)])],
    [(lambda: tg.ones(3).__setitem__(5, 1.0), IndexError, r"setitem: index 5 is out of bounds"),
     (lambda: tg.ones(3).__setitem__(slice(None), tg.ones(2)), ValueError,
      r"setitem: value of shape \(2,\) cannot be broadcast"),
     (lambda: tg.ones(3).__setitem__(0, "a"), TypeError, r"setitem: cannot assign a str"),
     (lambda: REG["index_put"](tg.ones(2), not_a_parameter=1), TypeError, r"index_put: ")])


# ---------------------------------------------------------------- linalg, conversion, loss
SPECS["matmul"] = Spec([
    (lambda a, b: a @ b, lambda a, b: a @ b, [r(2, 3), r(3, 4, seed=1)]),
    (lambda a, b: a @ b, lambda a, b: a @ b, [r(5, 2, 3), r(3, seed=1)]),
    (lambda a, b: a.T @ b, lambda a, b: a.T @ b, [r(3, 2), r(3, 1, seed=2)]),
    (lambda a, b: a @ b, lambda a, b: a @ b, [r(1, 2, 3), r(4, 3, 2, seed=3)])],
    [(lambda: tg.ones(2, 3) @ tg.ones(4, 5), ValueError, r"matmul: shapes \(2, 3\) and \(4, 5\)"),
     (lambda: tg.ones(2) @ tg.tensor(1.0), ValueError, r"matmul: both arguments need"),
     (lambda: tg.ones(2, 3) @ tg.ones(3, dtype=tg.float64), RuntimeError,
      r"matmul: expected both operands to have the same dtype")])
SPECS["to"] = Spec([  # device moves are covered in test_devices.py
    (lambda x: REG["to"](x, dtype=x.dtype), lambda x: x.clone(), [r(3, 4)]),
    (lambda x: REG["to"](x), lambda x: x.clone(), [r(1, 2, seed=1)]),
    (lambda x: REG["to"](x.T, dtype=x.dtype), lambda x: x.T.clone(), [r(3, 2, seed=2)]),
    (lambda x: REG["to"](x), lambda x: x.clone(), [r(seed=3)])],
    [(lambda: tg.ones(2).to("tpu"), ValueError, r"unknown device 'tpu'"),
     (lambda: tg.ones(2).to("cuda:7"), RuntimeError, r"cuda"),
     (lambda: tg.ones(2).to(dtype="complex64"), TypeError, r"complex|dtype")])
for _n, _t in [("log_softmax", lambda x, d: TF.log_softmax(x, d)),
               ("softmax", lambda x, d: TF.softmax(x, d))]:
    SPECS[_n] = Spec([
        (lambda x, n=_n: getattr(F, n)(x, 1), lambda x, t=_t: t(x, 1), [r(3, 4)]),
        (lambda x, n=_n: getattr(F, n)(x, 0), lambda x, t=_t: t(x, 0), [r(1, 1, seed=1)]),
        (lambda x, n=_n: getattr(F, n)(x.T, -1), lambda x, t=_t: t(x.T, -1), [r(4, 3, seed=2)]),
        (lambda x, n=_n: getattr(F, n)(x, 2), lambda x, t=_t: t(x, 2), [r(2, 3, 4, seed=3)])],
        [(lambda n=_n: getattr(F, n)(tg.ones(2, 3), 2), IndexError, rf"{_n}: dim 2 is out"),
         (lambda n=_n: getattr(F, n)(tg.ones(2, 3), "a"), TypeError, rf"{_n}: dim must be"),
         (lambda n=_n: REG[n]("x", dim=0), TypeError, rf"{_n}: expected at least one Tensor")])


# ---------------------------------------------------------------- convolution family
def _shape(nd, base):
    return base[:nd]


_CONV_CASES = [  # (input spatial, kernel, stride, padding, dilation, groups)
    ((5, 4, 3), (2, 3, 2), 1, 0, 1, 1),
    ((6, 5, 4), (3, 2, 2), 2, 1, 1, 2),
    ((7, 6, 5), (2, 2, 2), 1, 1, 2, 1),
    ((4, 4, 3), (1, 1, 1), 2, 0, 1, 2),
]


def _tuple(v, nd):
    return (v,) * nd


for _nd in (1, 2, 3):
    name = f"conv{_nd}d"
    tname = f"conv_transpose{_nd}d"
    wname = f"conv{_nd}d_weight"
    conv_s, convt_s, convw_s = [], [], []
    for i, (sp, k, s, p, d, g) in enumerate(_CONV_CASES):
        sp, k = sp[:_nd], k[:_nd]
        c, f = 2 * g, 2 * g if g > 1 else 3
        x = r(1 if i % 2 else 2, c, *sp, seed=i)
        w = r(f, c // g, *k, seed=10 + i)
        kw = dict(stride=s, padding=p, dilation=d, groups=g)
        conv_s.append((lambda x, w, n=name, kw=kw: getattr(F, n)(x, w, **kw),
                       lambda x, w, n=name, kw=kw: getattr(TF, n)(x, w, **kw), [x, w]))
        op = 1 if s > 1 else 0
        xt = r(1, f, *[max(2, q - 2) for q in sp], seed=20 + i)
        wt = r(f, c // g, *k, seed=30 + i)
        tkw = dict(stride=s, padding=p, dilation=d, groups=g, output_padding=op)
        convt_s.append((lambda x, w, n=tname, kw=tkw: getattr(F, n)(x, w, **kw),
                        lambda x, w, n=tname, kw=tkw: getattr(TF, n)(x, w, **kw), [xt, wt]))
        ksize = tuple(k)
        o = tuple((q + 2 * p - d * (kk - 1) - 1) // s + 1 for q, kk in zip(sp, k))
        gy = r(x.shape[0], f, *o, seed=40 + i)
        st_, pad, dil = _tuple(s, _nd), ((p, p),) * _nd, _tuple(d, _nd)
        convw_s.append((
            lambda x, gy, n=wname, st_=st_, pad=pad, dil=dil, g=g, ks=ksize:
                REG[n](x, gy, stride=st_, pad=pad, dilation=dil, groups=g, ksize=ks),
            lambda x, gy, nd=_nd, w_shape=w.shape, kw=kw:
                getattr(torch.nn.grad, f"conv{nd}d_weight")(x, w_shape, gy, **kw),
            [x, gy]))
    bad_x = tg.ones(2, 3, *[6] * _nd)
    SPECS[name] = Spec(conv_s, [
        (lambda n=name, x=bad_x: getattr(F, n)(x, tg.ones(4, 2, *[3] * (x.ndim - 2))),
         ValueError, rf"{name}: input has 3 channels"),
        (lambda n=name, x=bad_x: getattr(F, n)(x, tg.ones(4, 3, *[3] * (x.ndim - 2)), stride=0),
         ValueError, rf"{name}: stride must be positive"),
        (lambda n=name, x=bad_x: getattr(F, n)(x, tg.ones(4, 3, *[9] * (x.ndim - 2))),
         ValueError, rf"{name}: kernel extent 9")])
    SPECS[tname] = Spec(convt_s, [
        (lambda n=tname, x=bad_x: getattr(F, n)(x, tg.ones(4, 2, *[3] * (x.ndim - 2))),
         ValueError, rf"{tname}: input has 3 channels"),
        (lambda n=tname, x=bad_x: getattr(F, n)(x, tg.ones(3, 2, *[3] * (x.ndim - 2)),
                                                output_padding=1),
         ValueError, rf"{tname}: output_padding"),
        (lambda n=tname, x=bad_x: getattr(F, n)(x, tg.ones(3, 2, *[3] * (x.ndim - 2)),
                                                groups=2),
         ValueError, rf"{tname}: groups=2 must divide")])
    SPECS[wname] = Spec(convw_s, _generic_errors(
        wname, lambda v, n=wname, nd=_nd: REG[n](v, v, stride=(1,) * nd, pad=((0, 0),) * nd,
                                                 dilation=(1,) * nd, groups=1,
                                                 ksize=(1,) * nd)))


# ---------------------------------------------------------------- pooling family
_POOL_CASES = [((5, 4, 3), (2, 2, 2), None, 0, 1, False),
               ((6, 5, 4), (3, 2, 2), 2, 1, 1, True),
               ((7, 6, 5), (2, 3, 2), 1, 0, 2, False),
               ((4, 5, 3), (3, 3, 3), 2, 1, 1, False)]


def _distinct(*shape, seed=0):
    """Values without ties (max-pool gradients are then unambiguous)."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 7.0


for _nd in (1, 2, 3):
    mp, ap = f"max_pool{_nd}d", f"avg_pool{_nd}d"
    mp_s, ap_s, sc_s, ga_s, adj_s, un_s = [], [], [], [], [], []
    for i, (sp, k, s, p, d, ceil) in enumerate(_POOL_CASES):
        sp, k = sp[:_nd], k[:_nd]
        x = _distinct(2, 2, *sp, seed=i)
        kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
        mp_s.append((lambda x, n=mp, kw=kw: getattr(F, n)(x, **kw),
                     lambda x, n=mp, kw=kw: getattr(TF, n)(x, **kw), [x]))
        akw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
                   count_include_pad=bool(i % 2))
        ap_s.append((lambda x, n=ap, kw=akw: getattr(F, n)(x, **kw),
                     lambda x, n=ap, kw=akw: getattr(TF, n)(x, **kw), [x]))
        # the adjoint ops, each against the matching vector-Jacobian product of PyTorch
        from tinygrad_cnn.functional.pool import _pool_args
        from tinygrad_cnn.ops.pool import avg_divisor, max_pool_taps
        xt = tg.tensor(x)
        kk, ss, pp, dd, oo, pr = _pool_args(mp, xt, _nd, k, s, p, d, ceil)
        _, arg = max_pool_taps(np, x, kk, ss, pp, dd, oo, pr)
        geo = dict(arg=arg, k=kk, st=ss, p=pp, pr=pr, d=dd)
        g = r(2, 2, *oo, seed=50 + i)

        def vjp(gy, x=x, n=mp, kw=kw):
            xx = torch.from_numpy(x).requires_grad_()
            return torch.autograd.grad(getattr(TF, n)(xx, **kw), xx, gy, create_graph=True)[0]

        sc_s.append((lambda gy, n=mp, geo=geo, size=sp: REG[f"{n}_scatter"](gy, size=size, **geo),
                     vjp, [g]))
        def gather_ref(z, x=x, n=mp, kw=kw):  # torch's indices, taken only when torch runs
            _, tidx = getattr(TF, n)(torch.from_numpy(x), return_indices=True, **kw)
            return z.flatten(2).gather(2, tidx.flatten(2)).view(tidx.shape)

        ga_s.append((lambda z, n=mp, geo=geo: REG[f"{n}_gather"](z, **geo), gather_ref,
                     [r(*x.shape, seed=60 + i)]))
        ak, ass, app, _, aoo, apr = _pool_args(ap, xt, _nd, k, s, p, 1, ceil)
        div = avg_divisor(np, sp, ak, ass, app, aoo, bool(i % 2), None, np.float64)
        ga = r(2, 2, *aoo, seed=70 + i)

        def avjp(gy, shape=x.shape, n=ap, kw=akw):
            z = torch.zeros(shape, dtype=gy.dtype, requires_grad=True)
            return torch.autograd.grad(getattr(TF, n)(z, **kw), z, gy, create_graph=True)[0]

        adj_s.append((lambda gy, n=ap, a=(ak, ass, app, apr, aoo, div), size=sp:
                      REG[f"{n}_adjoint"](gy.to(dtype=gy.dtype), k=a[0], st=a[1], p=a[2],
                                          pr=a[3], o=a[4], divisor=a[5].astype(gy.dtype),
                                          size=size), avjp, [ga]))
        if True:
            # windows that do not overlap: with repeated indices unpooling (a put, as in
            # PyTorch) keeps one value and is not differentiable in the others
            ukw = dict(kernel_size=k, stride=k, padding=0)
            if d == 1 and not ceil:
                # our own pooling gives the indices, so the table builds without torch
                # (the max_pool samples check those indices' gradients against torch)
                y, uidx = getattr(F, mp)(tg.tensor(x), return_indices=True, **ukw)
                size, uidx = tuple(sp), uidx.numpy()
                un_s.append((lambda v, n=f"max_unpool{_nd}d", i_=uidx, size=size:
                             REG[n](v, indices=i_, size=size),
                             lambda v, n=f"max_unpool{_nd}d", i_=uidx, size=size, kw=ukw:
                             getattr(TF, n)(v, torch.from_numpy(i_), output_size=size, **kw),
                             [y.numpy()]))
    while len(un_s) < 4:  # the same layouts again with other values
        un_s.append((un_s[len(un_s) % 2][0], un_s[len(un_s) % 2][1],
                     [v * 2.0 for v in un_s[len(un_s) % 2][2]]))
    bad = tg.ones(2, 3, *[7] * _nd)
    SPECS[mp] = Spec(mp_s, [
        (lambda n=mp, b=bad: getattr(F, n)(b, 3, padding=2), ValueError, rf"{mp}: padding"),
        (lambda n=mp, b=bad: getattr(F, n)(b, 0), ValueError, rf"{mp}: kernel_size must be"),
        (lambda n=mp, b=bad: getattr(F, n)(b.long(), 2), TypeError, rf"{mp}: expected a float")])
    SPECS[ap] = Spec(ap_s, [
        (lambda n=ap, b=bad: getattr(F, n)(b, 3, padding=2), ValueError, rf"{ap}: padding"),
        (lambda n=ap, b=bad: getattr(F, n)(b, 2, stride=-1), ValueError, rf"{ap}: stride"),
        (lambda n=ap, b=bad: getattr(F, n)(b, 9), ValueError, rf"{ap}: kernel extent")])
    for suffix, samples in (("_scatter", sc_s), ("_gather", ga_s)):
        SPECS[mp + suffix] = Spec(samples, _generic_errors(mp + suffix, lambda v, n=mp + suffix:
                                                           REG[n](v)))
    SPECS[ap + "_adjoint"] = Spec(adj_s, _generic_errors(ap + "_adjoint",
                                                         lambda v, n=ap + "_adjoint": REG[n](v)))
    SPECS[f"max_unpool{_nd}d"] = Spec(un_s, _generic_errors(
        f"max_unpool{_nd}d", lambda v, n=f"max_unpool{_nd}d": REG[n](v)))

_PIDX = np.array([[[0, 3, 3], [5, 1, 2]]])   # (n=1, c=2, 3 positions) into planes of 6


def _torch_scatter(g, idx, plane):
    out = torch.zeros(g.shape[:2] + (plane,), dtype=g.dtype)
    return out.scatter_add(2, torch.from_numpy(idx), g)


for _k, (name, make) in enumerate([
        ("pool_gather", lambda: (lambda x: REG["pool_gather"](x, indices=_PIDX, overlap=True),
                                 lambda x: x.flatten(2).gather(2, torch.from_numpy(_PIDX)),
                                 [r(1, 2, 2, 3)])),
        ("pool_scatter", lambda: (lambda g: REG["pool_scatter"](g, indices=_PIDX, size=(6,),
                                                                 overlap=True),
                                  lambda g: _torch_scatter(g, _PIDX, 6), [r(1, 2, 3)]))]):
    base = make()
    SPECS[name] = Spec([base] + [(base[0], base[1], [v * (j + 2) for v in base[2]])
                                 for j in range(3)],
                       _generic_errors(name, lambda v, n=name: REG[n](v)))


# ---------------------------------------------------------------- resampling
def _up_ref(x, f, size):
    out = torch.zeros(x.shape[:2] + tuple(size), dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(None, None, ff) for ff in f)] = x
    return out


_RS = [((5,), (2,)), ((4, 3), (2, 3)), ((1, 1), (3, 1)), ((3, 2, 2), (1, 2, 2))]
SPECS["upsample"] = Spec(
    [(lambda x, f=f: F.upsample(x, f),
      lambda x, f=f, sp=sp: _up_ref(x, f, [(s - 1) * ff + 1 for s, ff in zip(sp, f)]),
      [r(2, 2, *sp, seed=i)]) for i, (sp, f) in enumerate(_RS)],
    [(lambda: F.upsample(tg.ones(1, 1, 3), 0), ValueError, r"upsample: factor must be >= 1"),
     (lambda: F.upsample(tg.ones(1, 1, 3), 1.5), TypeError, r"upsample: factor must be an int"),
     (lambda: F.upsample(tg.ones(3), 2), ValueError, r"upsample: expected input")])
SPECS["downsample"] = Spec(
    [(lambda x, f=f: F.downsample(x, f),
      lambda x, f=f: x[(slice(None), slice(None)) + tuple(slice(None, None, ff) for ff in f)],
      [r(2, 2, *sp, seed=i)]) for i, (sp, f) in enumerate(_RS)],
    [(lambda: F.downsample(tg.ones(1, 1, 3), 0), ValueError, r"downsample: factor must be"),
     (lambda: F.downsample(tg.ones(1, 1, 3), "2"), TypeError, r"downsample: factor must be"),
     (lambda: F.downsample(tg.ones(1, 1, 3), (2, 2, 2)), ValueError, r"downsample: factor")])
SPECS["pad"] = Spec(
    # v=v: without it every sample would pad with the last value (late binding)
    [(lambda x, p=p, v=v: F.pad(x, p, value=v), lambda x, p=p, v=v: TF.pad(x, p, value=v),
      [r(*sh, seed=i)]) for i, (sh, p, v) in enumerate([((2, 3), (1, 2), 0.0),
                                                        ((2, 3, 4), (1, 0, 2, 1), 1.5),
                                                        ((1, 1), (0, 1), -1.0),
                                                        ((3, 2), (2, 2, 1, 1), 0.0)])],
    [(lambda: F.pad(tg.ones(2), (1,)), TypeError, r"pad: pad must be a tuple of an even"),
     (lambda: F.pad(tg.ones(2), (1, 1, 1, 1)), ValueError, r"pad: pad .* covers 2 dims"),
     (lambda: F.pad(tg.ones(2), (1, 1), mode="wrap"), ValueError, r"pad: mode must be")])

# --- tensorops ---
import op_table_tensorops  # noqa: E402,F401  (adds the entries of gather, scatter, einsum, ...)


# --- numerics --- (elementwise math, activations, scans, norms, BCE, casts)
def wide(*shape, seed=0):
    return rand(*shape, seed=seed, low=-4.5, high=4.5)  # reaches every kink of the hard-*


def prob(*shape, seed=0):
    return rand(*shape, seed=seed, low=0.05, high=0.95)


for _n, _t, _m in [("floor", lambda x: x.floor(), wide), ("ceil", lambda x: x.ceil(), wide),
                   ("trunc", lambda x: x.trunc(), wide), ("round", lambda x: x.round(), wide),
                   ("expm1", lambda x: x.expm1(), r), ("log1p", lambda x: x.log1p(), pos),
                   ("reciprocal", lambda x: x.reciprocal(), pos),
                   ("rsqrt", lambda x: x.rsqrt(), pos),
                   ("softplus", lambda x: TF.softplus(x), wide),
                   ("hardsigmoid", lambda x: TF.hardsigmoid(x), wide),
                   ("hardswish", lambda x: TF.hardswish(x), wide)]:
    _unary(_n, _t, make=_m)

SPECS["hardtanh"] = Spec(
    [(lambda x: REG["hardtanh"](x, min_val=-1.0, max_val=1.0), lambda x: TF.hardtanh(x),
      [r(3, 4)]),
     (lambda x: REG["hardtanh"](x, min_val=0.0, max_val=6.0), lambda x: TF.relu6(x),
      [wide(2, 5, seed=1) + 2]),
     (lambda x: REG["hardtanh"](x.T, min_val=-0.5, max_val=0.5),
      lambda x: TF.hardtanh(x.T, -0.5, 0.5), [r(4, 3, seed=2)]),
     (lambda x: REG["hardtanh"](x, min_val=-2.0, max_val=1.0),
      lambda x: TF.hardtanh(x, -2.0, 1.0), [r(seed=3)])],
    [(lambda: F.hardtanh(tg.ones(2), 2.0, 1.0), ValueError, r"hardtanh: min_val .* greater"),
     (lambda: F.hardtanh([1.0]), TypeError, r"F.hardtanh: expected a Tensor"),
     (lambda: REG["hardtanh"]("x", min_val=0.0, max_val=1.0), TypeError, r"hardtanh: ")])


def _bce_ref(x, t):
    return TF.binary_cross_entropy(x, t, reduction="none")


SPECS["binary_cross_entropy"] = Spec(
    [(lambda x, t: REG["binary_cross_entropy"](x, t), _bce_ref, [prob(3, 4), prob(3, 4, seed=1)]),
     (lambda x, t: REG["binary_cross_entropy"](x, t), _bce_ref, [prob(1, 1), prob(1, 1, seed=2)]),
     (lambda x, t: REG["binary_cross_entropy"](x.T, t), lambda x, t: _bce_ref(x.T, t),
      [prob(4, 3), prob(3, 4, seed=3)]),
     (lambda x, t: REG["binary_cross_entropy"](x, t), _bce_ref, [prob(seed=4), prob(seed=5)])],
    [(lambda: F.binary_cross_entropy(tg.ones(2) * 2, tg.ones(2)), ValueError,
      r"binary_cross_entropy: input values must lie in \[0, 1\]"),
     (lambda: F.binary_cross_entropy(tg.ones(2) / 2, tg.ones(3)), ValueError,
      r"binary_cross_entropy: target shape \(3,\)"),
     (lambda: F.binary_cross_entropy([0.5], tg.ones(1)), TypeError,
      r"F.binary_cross_entropy: expected a Tensor")])


def _bcewl_ref(x, t):
    return TF.binary_cross_entropy_with_logits(x, t, reduction="none")


_zl = wide(3, 4, seed=11)
_zl[1] = 0.0  # logits exactly 0: the gradient is sigmoid(0) - t = 0.5 - t
SPECS["binary_cross_entropy_with_logits"] = Spec(
    [(lambda x, t: REG["binary_cross_entropy_with_logits"](x, t), _bcewl_ref,
      [_zl, prob(3, 4, seed=1)]),
     (lambda x, t: REG["binary_cross_entropy_with_logits"](x, t), _bcewl_ref,
      [wide(1, 1, seed=2) * 10, prob(1, 1, seed=3)]),
     (lambda x, t: REG["binary_cross_entropy_with_logits"](x.T, t),
      lambda x, t: _bcewl_ref(x.T, t), [wide(4, 3, seed=4), prob(3, 4, seed=5)]),
     (lambda x, t: REG["binary_cross_entropy_with_logits"](x, t), _bcewl_ref,
      [wide(seed=6), prob(seed=7)])],
    [(lambda: F.binary_cross_entropy_with_logits(tg.ones(2), tg.ones(3)), ValueError,
      r"binary_cross_entropy_with_logits: target shape \(3,\)"),
     (lambda: F.binary_cross_entropy_with_logits(tg.ones(2), tg.ones(2), pos_weight=[1.0]),
      TypeError, r"F.binary_cross_entropy_with_logits: expected a Tensor for pos_weight"),
     (lambda: REG["binary_cross_entropy_with_logits"]("x", "t"), TypeError,
      r"binary_cross_entropy_with_logits: expected at least one Tensor")])


def _isclose_sample(a, b):
    return REG["isclose"](a, b, rtol=1e-5, atol=1e-8, equal_nan=False)


SPECS["isclose"] = Spec(
    [(_isclose_sample, torch.isclose if torch else None, [r(3, 4), r(3, 4, seed=1)]),
     (lambda a: _isclose_sample(a, a + 1e-9), lambda a: torch.isclose(a, a + 1e-9), [r(2, 3)]),
     (lambda a: _isclose_sample(a.T, a.T * (1 + 2e-5)),
      lambda a: torch.isclose(a.T, a.T * (1 + 2e-5)), [r(4, 3, seed=2)]),
     (_isclose_sample, torch.isclose if torch else None, [r(2, 1), r(3, seed=3)])],
    [(lambda: tg.isclose(tg.ones(2), tg.ones(2), rtol=-1), ValueError, r"isclose: rtol"),
     (lambda: tg.isclose(tg.ones(2), tg.ones(3)), ValueError, r"isclose: "),
     (lambda: tg.isclose("a", "b"), TypeError, r"isclose: expected at least one Tensor")],
    differentiable=False)

SPECS["to_integer"] = Spec(
    [(lambda x: REG["to_integer"](x, dtype=tg.int64), lambda x: x.to(torch.int64), [wide(3, 4)]),
     (lambda x: x.long(), lambda x: x.long(), [wide(1, 2, seed=1)]),
     (lambda x: x.T.bool(), lambda x: x.T.bool(), [wide(3, 2, seed=2)]),
     (lambda x: x.int(), lambda x: x.int(), [wide(seed=3)])],
    [(lambda: tg.ones(2).to(dtype="complex64"), TypeError, r"complex|dtype"),
     (lambda: REG["to_integer"]("x", dtype=tg.int64), TypeError, r"to_integer: expected"),
     (lambda: REG["to_integer"](tg.ones(2), bogus=1), TypeError, r"to_integer: ")],
    differentiable=False)


def _torch_dd_prod(g, x, d):
    """sum_i g_i d^2 prod / dx_i dx_j by torch's own double backward."""
    x = x.detach().requires_grad_()
    gx, = torch.autograd.grad(x.prod(d).sum() if d is not None else x.prod(), x,
                              create_graph=True)
    return torch.autograd.grad((gx * g.detach()).sum(), x)[0]


_pz = pos(3, 4, seed=7)
_pz[0, 1] = 0.0  # one zero in a row, two in another, none in the third
_pz[1, 0] = _pz[1, 3] = 0.0
SPECS["prod_others_backward"] = Spec(
    [(lambda g, x: REG["prod_others_backward"](g, x, dims=(1,)),
      lambda g, x: _torch_dd_prod(g, x, 1), [r(3, 4), _pz]),
     (lambda g, x: REG["prod_others_backward"](g, x, dims=(1,)),
      lambda g, x: _torch_dd_prod(g, x, 1), [r(3, 4, seed=1), pos(3, 4, seed=2)]),
     (lambda g, x: REG["prod_others_backward"](g, x, dims=(0, 1)),
      lambda g, x: _torch_dd_prod(g, x, None), [r(2, 3, seed=3), pos(2, 3, seed=4)]),
     (lambda g, x: REG["prod_others_backward"](g, x.T, dims=(0,)),
      lambda g, x: _torch_dd_prod(g, x.T, 0), [r(4, 3, seed=5), pos(3, 4, seed=6)])],
    _generic_errors("prod_others_backward",
                    lambda v: REG["prod_others_backward"](v, v, dims=(0,))),
    differentiable=False)  # torch's side is a double backward; prod tests cover the rest


def _scan_spec(name, make):
    ours = REG[name]
    SPECS[name] = Spec(
        [(lambda x: ours(x, dim=1), lambda x: getattr(torch, name)(x, 1), [make(3, 4)]),
         (lambda x: ours(x, dim=0), lambda x: getattr(torch, name)(x, 0), [make(1, 5, seed=1)]),
         (lambda x: ours(x.T, dim=0), lambda x: getattr(torch, name)(x.T, 0),
          [make(4, 3, seed=2)]),
         (lambda x: ours(x, dim=2), lambda x: getattr(torch, name)(x, 2),
          [make(2, 3, 4, seed=3)])],
        [(lambda: getattr(tg, name)(tg.ones(2, 3), 2), IndexError, rf"{name}: dim 2 is out"),
         (lambda: getattr(tg, name)(tg.ones(2, 3), "a"), TypeError, rf"{name}: dim must be"),
         (lambda: getattr(tg, name)([1.0], 0), TypeError, rf"{name}: expected a Tensor")])


_scan_spec("cumsum", r)
_scan_spec("cumprod", pos)


def _torch_cumprod_grad(g, x, d):
    x = x.detach().requires_grad_()
    return torch.autograd.grad(torch.cumprod(x, d), x, g.detach())[0]


_cz = r(3, 5, seed=8)
_cz[0, 2] = 0.0
_cz[1, 0] = _cz[1, 3] = 0.0
SPECS["cumprod_backward_zeros"] = Spec(
    [(lambda g, x: REG["cumprod_backward_zeros"](g, x, dim=1),
      lambda g, x: _torch_cumprod_grad(g, x, 1), [r(3, 5), _cz]),
     (lambda g, x: REG["cumprod_backward_zeros"](g, x, dim=0),
      lambda g, x: _torch_cumprod_grad(g, x, 0), [r(3, 5, seed=1), _cz]),
     (lambda g, x: REG["cumprod_backward_zeros"](g, x.T, dim=0),
      lambda g, x: _torch_cumprod_grad(g, x.T, 0), [r(5, 3, seed=2), _cz]),
     (lambda g, x: REG["cumprod_backward_zeros"](g, x, dim=1),
      lambda g, x: _torch_cumprod_grad(g, x, 1), [r(3, 5, seed=3), r(3, 5, seed=4)])],
    _generic_errors("cumprod_backward_zeros",
                    lambda v: REG["cumprod_backward_zeros"](v, v, dim=0)),
    differentiable=False)  # cumprod's second derivative at zeros is refused by design

SPECS["norm"] = Spec(
    [(lambda x: tg.norm(x), lambda x: torch.norm(x), [r(3, 4)]),
     (lambda x: x.norm(1, dim=1), lambda x: x.norm(1, dim=1), [r(3, 4, seed=1)]),
     (lambda x: x.T.norm(3, dim=(0, 1), keepdim=True),
      lambda x: x.T.norm(3, dim=(0, 1), keepdim=True), [r(4, 3, seed=2)]),
     (lambda x: x.norm(float("inf"), dim=0), lambda x: x.norm(float("inf"), dim=0),
      [r(2, 5, seed=3)]),
     (lambda x: x.norm(2, dim=-1), lambda x: x.norm(2, dim=-1), [r(1, 5, seed=4)])],
    [(lambda: tg.norm(tg.ones(2, 2), "nuc"), ValueError, r"norm: p='nuc' is not supported"),
     (lambda: tg.norm(tg.tensor([1, 2])), TypeError, r"norm: expected a floating point"),
     (lambda: tg.norm(tg.ones(2), -1), ValueError, r"norm: p must be")])

import op_table_longtail  # noqa: E402,F401  (isnan, logical_*, any/all, fmod, ...)
import op_table_fused  # noqa: E402,F401  (cross_entropy, relu_backward)
import op_table_resample  # noqa: E402,F401  (reflection padding, nearest upsampling)
