"""``einsum`` (and ``tensordot`` on top of it), as ``torch.einsum``.

The public function turns any equation into an explicit one the op can differentiate: the
ellipsis becomes fresh letters (broadcast right-aligned), an implicit output becomes the
letters used once in alphabetical order (after the ellipsis), and a size-1 dim that meets a
larger one of the same letter is expanded (a recorded op, so its gradient is summed back).
The registered op then only sees equations where every letter has one size.

Backward, for operand ``i`` with letters ``L``: ``gx_i = einsum(gy, other operands -> L)``.
Two cases need more than that einsum:

* a letter only operand ``i`` has (summed away in the forward, e.g. ``ij->i``): its gradient
  is constant along that letter, so a vector of ones carries the letter into the output;
* a letter repeated in ``L`` (a diagonal, e.g. ``ii->i``): each repeat gets a fresh letter
  tied to the first by an identity matrix, so the gradient lands on the diagonal only.

Both are constants inside one more einsum, which is therefore twice differentiable as well.
"""
from __future__ import annotations

import importlib
import string

from ..errors import OpRuntimeError, OpTypeError, OpValueError
from .op_registry import const as _const, register

# the module (Tensor is looked up at call time: import cycle); not `from .. import tensor`,
# which gives the `tg.tensor` factory once the package has finished importing
_tensor = importlib.import_module("..tensor", __package__)

_LETTERS = string.ascii_letters


@register("einsum", rule="goperands[i] = einsum(gy, operands[not i])", saves=("*",))
def _einsum(*operands, equation):
    """``equation`` is explicit (``"ij,jk->ik"``), without ellipsis, sizes consistent. The
    backward: operand i's gradient is one einsum of gy with the other operands (operands[not
    i]) into operand i's letters."""
    xp = operands[0].xp
    y = xp.einsum(equation, *(t.array for t in operands), optimize=len(operands) > 1)
    ins, out = equation.split("->")
    ins = ins.split(",")

    def backward(gy):
        return tuple(_operand_grad(gy, operands, ins, out, i) if t.requires_grad else None
                     for i, t in enumerate(operands))

    y = xp.asarray(y)
    if y.base is not None:  # a pure re-labelling ("ij->ji") is a NumPy view: copy, as torch
        y = y.copy()
    return y, backward


def _operand_grad(gy, operands, ins, out, i):
    """``gx_i`` as one einsum of gy, the other operands and constant ones / identities."""
    xp = gy.xp
    letters = ins[i]
    x = operands[i]
    have = set(out).union(*(s for j, s in enumerate(ins) if j != i))
    unused = [c for c in _LETTERS if c not in set("".join(ins) + out)]
    terms = [out] + [s for j, s in enumerate(ins) if j != i]
    tensors = [gy] + [t for j, t in enumerate(operands) if j != i]
    target, seen = [], set()
    for c, n in zip(letters, x.shape, strict=True):
        if c in seen:  # a repeat: a fresh letter tied to the first by the identity
            fresh = unused.pop()
            terms.append(c + fresh)
            tensors.append(_const(xp.eye(n, dtype=gy.dtype)))
            target.append(fresh)
            continue
        seen.add(c)
        target.append(c)
        if c not in have:  # summed away in the forward: constant along this letter
            terms.append(c)
            tensors.append(_const(xp.ones(n, dtype=gy.dtype)))
    return _einsum(*tensors, equation=",".join(terms) + "->" + "".join(target))


# ---------------------------------------------------------------- the public function
def _parse(equation, n_operands):
    if not isinstance(equation, str):
        raise OpTypeError(f"einsum: the equation must be a str, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != n_operands:
        more = "more" if n_operands > len(ins) else "fewer"
        raise OpValueError(f"einsum: {more} operands were provided ({n_operands}) than "
                           f"specified in the equation {equation!r} ({len(ins)})")
    for term in ins + ([rhs] if arrow else []):
        rest = term.replace("...", "", 1)
        bad = [c for c in rest if c not in _LETTERS]
        if bad:
            raise OpValueError(f"einsum: invalid subscript {bad[0]!r} in {equation!r}; "
                               "subscripts are letters, with at most one '...' per operand")
    return ins, (rhs if arrow else None)


def _implicit_output(ins, has_ellipsis):
    counts = {}
    for term in ins:
        for c in term.replace("...", ""):
            counts[c] = counts.get(c, 0) + 1
    once = sorted(c for c, k in counts.items() if k == 1)  # ASCII: upper case first, as torch
    return ("..." if has_ellipsis else "") + "".join(once)


def _expand_ellipsis(ins, out, operands):
    """Replace ``...`` by fresh letters; returns explicit terms and the output."""
    used = set("".join(ins) + out)
    counts = []
    for term, t in zip(ins, operands, strict=True):
        explicit = len(term.replace("...", ""))
        if "..." in term:
            if t.ndim < explicit:
                raise OpValueError(f"einsum: operand {term!r} has {explicit} subscripts but "
                                   f"the tensor only {t.ndim} dims (shape {t.shape})")
            counts.append(t.ndim - explicit)
        else:
            if t.ndim != explicit:
                raise OpValueError(f"einsum: the subscripts {term!r} give {explicit} dims, "
                                   f"the operand has {t.ndim} (shape {t.shape})")
            counts.append(0)
    e = max(counts, default=0)
    fresh = "".join(c for c in _LETTERS if c not in used)[:e]
    if len(fresh) < e:
        raise OpValueError("einsum: too many dims under the ellipsis (out of letters)")
    ins = [t.replace("...", fresh[e - k:]) for t, k in zip(ins, counts, strict=True)]
    out = out.replace("...", fresh)  # an output without '...' sums over those dims
    return ins, out


def _sizes(ins, out, operands):
    """Each letter's size, checking PyTorch's rules; size-1 dims broadcast."""
    size = {}
    for k, (term, t) in enumerate(zip(ins, operands, strict=True)):
        mine = {}
        for c, n in zip(term, t.shape, strict=True):
            if c in mine and mine[c] != n:
                raise OpValueError(f"einsum: subscript {c} is repeated for operand {k} but "
                                   f"the sizes don't match, {mine[c]} != {n}")
            mine[c] = n
        for c, n in mine.items():
            prev = size.get(c)
            if prev is None or prev == 1:
                size[c] = n
            elif n != 1 and n != prev:
                raise OpValueError(f"einsum: subscript {c} has size {n} for operand {k} "
                                   f"(shape {t.shape}) which does not broadcast with "
                                   f"previously seen size {prev}")
    for c in out:
        if c not in size:
            raise OpValueError(f"einsum: output subscript {c} does not appear in the "
                               f"equation for any input operand")
        if out.count(c) > 1:
            raise OpValueError(f"einsum: output subscript {c} appears more than once in the "
                               "output")
    return size


def einsum(equation, *operands):
    """``torch.einsum(equation, *operands)`` (or ``einsum(equation, [a, b])``): sums of
    products over the letters of ``equation``, with ``...``, implicit outputs, repeated
    letters (diagonals) and size-1 broadcasting as PyTorch."""
    from .shape import expand
    Tensor = _tensor.Tensor
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise OpValueError("einsum: at least one operand is needed")
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise OpTypeError(f"einsum: operand {k} must be a Tensor, got {type(t).__name__}")
        if t.dtype != operands[0].dtype:
            raise OpRuntimeError(f"einsum: expected all operands of one dtype, got "
                                 f"{operands[0].dtype} (operand 0) and {t.dtype} (operand {k})")
    ins, out = _parse(equation, len(operands))
    has_ellipsis = any("..." in term for term in ins)
    if out is None:
        out = _implicit_output(ins, has_ellipsis)
    elif "..." in out and not has_ellipsis:
        out = out.replace("...", "")  # nothing to stand for
    ins, out = _expand_ellipsis(ins, out, operands)
    size = _sizes(ins, out, operands)
    operands = tuple(_broadcast(t, term, size, expand)
                     for t, term in zip(operands, ins, strict=True))
    return _einsum(*operands, equation=",".join(ins) + "->" + out)


def _broadcast(t, term, size, expand):
    target = tuple(size[c] for c in term)
    return t if t.shape == target else expand(t, *target)


def tensordot(a, b, dims=2):
    """``torch.tensordot``: contract the last ``dims`` dims of ``a`` with the first of
    ``b``, or the dims listed in ``dims = (dims_a, dims_b)``."""
    from .checks import canonical_dim
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise OpValueError(f"tensordot: dims={dims} must be in [0, {min(a.ndim, b.ndim)}] "
                               f"for shapes {a.shape} and {b.shape}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        try:
            da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        except (TypeError, ValueError):
            raise OpTypeError(f"tensordot: dims must be an int or a pair of dim lists, got "
                              f"{dims!r}") from None
        if len(da) != len(db):
            raise OpValueError(f"tensordot: both dim lists need the same length, got {da} "
                               f"and {db}")
        da = [canonical_dim("tensordot", d, a.ndim, a.shape) for d in da]
        db = [canonical_dim("tensordot", d, b.ndim, b.shape) for d in db]
    for i, j in zip(da, db, strict=True):
        if a.shape[i] != b.shape[j]:
            raise OpRuntimeError(f"tensordot: contracted dimension {i} of a (shape {a.shape}) "
                                 f"and {j} of b (shape {b.shape}) differ in size")
    if len(set(da)) != len(da) or len(set(db)) != len(db):
        raise OpValueError(f"tensordot: a dim is listed twice in {da} or {db}")
    la = _LETTERS[:a.ndim]
    lb = list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for i, j in zip(da, db, strict=True):
        lb[j] = la[i]
    lb = "".join(lb)
    out = "".join(c for k, c in enumerate(la) if k not in da) + \
        "".join(c for k, c in enumerate(lb) if k not in db)
    return einsum(f"{la},{lb}->{out}", a, b)


__all__ = ["einsum", "tensordot"]
