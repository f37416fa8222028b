"""The op registry: every differentiable op is declared once, here is how.

An op is a function decorated with :func:`register`. It receives its tensor inputs as
:class:`~tinygrad_cnn.tensor.Tensor` positional arguments and its hyper-parameters as keywords,
checks them, computes the forward on backend arrays (``x.array`` with ``xp = x.xp``) and returns
``(y, backward)`` where ``backward`` is a closure right below the forward::

    @register("mul", rule="gx0 = gy * x1; gx1 = gy * x0", promote=True)
    def mul(x0, x1):
        def backward(gy):
            return gy * x1, gy * x0
        return x0.array * x1.array, backward

The closure is pure: it gets the output gradient ``gy`` (a Tensor) and returns one gradient
per input (``None`` where there is none), written with Tensor ops so it can itself be
differentiated. It captures what it needs, never the output tensor; an op whose rule needs
its output lists ``"y"`` in ``saves`` and its closure is called as ``backward(gy, y)``.
The engine sums broadcast gradients back to the input shape and casts them to its dtype.

``saves`` declares which tensors the backward *reads*: forward parameter names (``"x1"``),
``"y"`` for the output, or ``"x1 for gx0"`` for an input read only when another input's
gradient is needed (``mul`` reads ``x1`` only for ``gx0``). The node records each saved
tensor with its version, so backward refuses to run on values changed in place since
(PyTorch's rule), and the graph viewer labels exactly those tensors "saved". An op that
leaves ``saves`` out is treated as reading every input (safe, but it can raise spuriously).
``view=True`` marks ops whose output may share the input's storage (reshape, permute,
basic indexing, ...): such an output shares the input's version counter.

``registry`` maps names to :class:`OpDef` entries; ``rule`` is the backward rule in words,
shown by the graph viewer and the docs.
"""
from __future__ import annotations

import inspect

from .. import tensor as _tensor  # the module: Tensor is looked up at call time (import cycle)

from .. import dtypes
from ..backend import numpy_backend as _cpu
from ..autograd import grad_mode as _gm
from ..autograd.graph import Node
from ..errors import OpError, OpRuntimeError, OpTypeError, OpValueError, OpIndexError

registry: dict = {}

_grad_state = _gm.state
_anomaly = _gm.anomaly
_np = _cpu.xp  # only for type checks on the NumPy fast path
_ndarray = _cpu.array_type


class OpDef:
    """A registry entry; calling it applies the op (recording it when grad is on)."""

    __slots__ = ("name", "forward", "rule", "saves_output", "differentiable", "promote",
                 "saves", "save_spec", "input_names", "view", "needs_mask", "__dict__")

    def __init__(self, name, forward, rule, saves, differentiable, promote, view,
                 needs_mask=False):
        self.name = name
        self.forward = forward
        self.rule = rule
        self.differentiable = differentiable
        self.promote = promote
        self.view = view
        self.needs_mask = needs_mask
        self.input_names = _tensor_params(forward)
        self.saves = saves
        self.saves_output, self.save_spec = _parse_saves(name, saves, self.input_names)
        self.__doc__ = forward.__doc__
        self.__wrapped__ = forward

    def __call__(self, *inputs, **params):
        return apply(self, inputs, params)

    def __repr__(self):
        return f"<op {self.name}: {self.rule}>"


def register(name, rule, *, saves=None, saves_output=False, differentiable=True,
             promote=False, view=False, needs_mask=False):
    """Declare an op. See the module docstring for the contract of the decorated function.

    Args:
        name (str): registry name, shown as ``grad_fn.name`` and in graphs.
        rule (str): the backward rule in words (e.g. ``"gx = gy * y"``).
        saves (tuple[str] | None): what the backward reads: forward parameter names, ``"y"``
            (the output; the closure is then called as ``backward(gy, y)``), or
            ``"x1 for gx0"`` (read only when ``gx0`` is needed). ``None``: every input.
        saves_output (bool): shorthand for listing ``"y"`` in ``saves``.
        differentiable (bool): ``False`` for ops with integer/bool results (no graph node).
        promote (bool): elementwise op: inputs are brought to PyTorch's common dtype first.
        view (bool): the output may share the first input's storage.
        needs_mask (bool): the closure takes a keyword ``needs``, one bool per input: which
            gradients the engine wants this time (inputs that require grad and, under
            ``autograd.grad``, lead to a requested tensor); it returns None for the others.
    """
    if name in registry:
        raise ValueError(f"op {name!r} is registered twice")
    if saves_output:
        saves = ("y",) + tuple(s for s in (saves or ()) if s != "y") if saves is not None \
            else None
        if saves is None:
            saves = ("*", "y")

    def deco(fn):
        op = OpDef(name, fn, rule, saves, differentiable, promote, view, needs_mask)
        registry[name] = op
        return op

    return deco


def _tensor_params(fn):
    """Names of the forward's positional (tensor) parameters, ``"*"`` for ``*xs``."""
    names = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return tuple(names) + ("*",)
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            names.append(p.name)
    return tuple(names)


def _parse_saves(name, saves, params):
    """``(saves_output, ((input index or -1 for all, index of the gradient that needs it or
    -1 for always), ...))`` from a ``saves`` declaration."""
    if saves is None:
        saves = ("*",)
    if isinstance(saves, str):
        raise TypeError(f"register({name!r}): saves must be a tuple of names, got a str")
    spec, out = [], False
    for entry in saves:
        what, _, cond = entry.partition(" for ")
        what = what.strip()
        if what == "output" or (what == "y" and "y" not in params):
            out = True  # the output ("output" where a parameter is itself called y)
            continue
        need = -1
        if cond:
            g = cond.strip()
            if not g.startswith("g") or g[1:] not in params:
                raise ValueError(f"register({name!r}): {entry!r}: {g!r} is not the gradient of "
                                 f"a parameter of {params}")
            need = params.index(g[1:])
        if what == "*":
            spec.append((-1, need))
        elif what in params:
            spec.append((params.index(what), need))
        else:
            raise ValueError(f"register({name!r}): saves names {what!r}, which is not one of "
                             f"the forward's tensor parameters {params} nor 'y'/'output'")
    return out, tuple(spec)


def _to_tensors(op, inputs):
    """Tensors for every positional input; scalars and arrays become constants."""
    if op.promote:
        return promote_operands(op.name, inputs)
    Tensor = _tensor.Tensor
    ref = _first_tensor(op.name, inputs)
    return tuple(v if isinstance(v, Tensor) else Tensor(v, device=ref.device) for v in inputs)


def _first_tensor(name, values):
    Tensor = _tensor.Tensor
    for v in values:
        if isinstance(v, Tensor):
            return v
    raise OpTypeError(f"{name}: expected at least one Tensor input, got "
                      f"{', '.join(type(v).__name__ for v in values)}")


def promote_operands(name, values):
    """Tensors of PyTorch's common dtype for ``values`` (Tensors and Python numbers).

    A tensor that must change dtype goes through the recorded ``to`` op, so its gradient is
    cast back; a number becomes a constant on the first tensor's device.
    """
    Tensor = _tensor.Tensor
    ref = _first_tensor(name, values)
    values = tuple(Tensor(v, device=ref.device) if hasattr(v, "__array__") and not
                   isinstance(v, Tensor) and not _is_number(v) else v for v in values)
    for v in values:
        if not isinstance(v, (Tensor, int, float, bool)) and not _is_number(v):
            raise OpTypeError(f"{name}: unsupported operand type {type(v).__name__}; "
                              "expected Tensor, array or number")
    dt = dtypes.result_type(*values)
    return tuple((v if v.dtype == dt else v.to(dtype=dt)) if isinstance(v, Tensor)
                 else Tensor._make(ref.xp.asarray(v, dtype=dt)) for v in values)


def _is_number(v):
    return isinstance(v, (_np.number, _np.bool_))  # NumPy scalars count as Python numbers


def _scalar_operand(t, v):
    """Fast path for ``tensor (op) python number``: the number takes the tensor's dtype when
    PyTorch's rule says so (float tensor with int/float; int tensor with int), else None."""
    kind = t.array.dtype.kind
    tv = type(v)
    if (tv is float and kind == "f") or (tv is int and kind in "fiu"):
        return _tensor.Tensor._make(t.xp.asarray(v, dtype=t.array.dtype))
    return None


def apply(op, inputs, params):
    """Run ``op`` on ``inputs`` and, when grad is on and an input requires it, record a Node."""
    Tensor = _tensor.Tensor
    n_in = len(inputs)
    # fast paths for the common cases; everything else goes through _to_tensors
    if op.promote and n_in == 2:
        a, b = inputs
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                if a.array.dtype != b.array.dtype:
                    inputs = _to_tensors(op, inputs)
            else:
                c = _scalar_operand(a, b)
                inputs = (a, c) if c is not None else _to_tensors(op, inputs)
        elif isinstance(b, Tensor):
            c = _scalar_operand(b, a)
            inputs = (c, b) if c is not None else _to_tensors(op, inputs)
        else:
            inputs = _to_tensors(op, inputs)
    elif op.promote:
        inputs = _to_tensors(op, inputs)
    else:
        for v in inputs:
            if not isinstance(v, Tensor):
                inputs = _to_tensors(op, inputs)
                break
    if n_in > 1:
        t0 = type(inputs[0].array)
        for t in inputs:
            if type(t.array) is not t0 or t0 is not _ndarray:
                _check_devices(op, inputs)
                break
    try:
        y, backward = op.forward(*inputs, **params)
    except OpError:
        raise
    except (ValueError, TypeError, IndexError, RuntimeError) as exc:
        shapes = ", ".join(str(t.shape) for t in inputs)
        kind = {ValueError: OpValueError, TypeError: OpTypeError,
                IndexError: OpIndexError}.get(type(exc), OpRuntimeError)
        raise kind(f"{op.name}: {exc} (input shapes: {shapes})") from exc
    if not (op.differentiable and _grad_state.enabled):
        return _constant_result(op, y, inputs)
    # one edge per input that needs a gradient: its node (or the leaf tensor itself)
    edges = None
    for i, t in enumerate(inputs):
        if t.requires_grad:
            if edges is None:
                edges = [None] * n_in
            fn = t.grad_fn
            edges[i] = t if fn is None else (fn if t._output_nr == 0 else (fn, t._output_nr))
    if edges is None:
        return _constant_result(op, y, inputs)
    node = Node(op, backward, tuple(edges), y.shape, y.dtype, y if op.saves_output else None)
    if op.save_spec:
        _record_saved(node, op.save_spec, inputs, edges)
    if _anomaly.enabled:
        import traceback
        node.created_at = "".join(traceback.format_stack(limit=12)[:-2])
    out = Tensor._make(y, node, True)
    if op.view:
        _share_storage(out, inputs[0])
    if op.saves_output:  # an in-place write into the output must be seen by this node
        node.output_counter = out._counter()
        node.output_version = out._counter().value
    return out


def _constant_result(op, y, inputs):
    out = _tensor.Tensor._make(y)
    if op.view:
        _share_storage(out, inputs[0])
    return out


def _record_saved(node, spec, inputs, edges):
    """The inputs the backward will read (as declared), with their versions."""
    saved = []
    for i, need in spec:
        if need >= 0 and edges[need] is None:
            continue  # read only for a gradient nobody asked for
        if i < 0:
            saved.extend(inputs)
        else:
            saved.append(inputs[i])
    if saved:
        node.saved = tuple(saved)
        for t in saved:  # versions are only worth recording once something was changed
            if t._vc is not None and t._vc.value:
                node.saved_versions = tuple([t._version for t in saved])
                break


def _share_storage(out, x):
    """A view op's output shares x's version counter when it really shares its memory."""
    y, a = out.array, x.array
    base = getattr(y, "base", None)
    if y is a or (base is not None and (base is a or base is getattr(a, "base", None))):
        out._vc = x._counter()
        out._base = x if x._base is None else x._base


def _check_devices(op, inputs):
    """Raise when the inputs live on different devices (only called off the NumPy fast path)."""
    t0 = type(inputs[0].array)
    for t in inputs[1:]:
        if type(t.array) is not t0 or (t0 is not _ndarray and t.device != inputs[0].device):
            devs = ", ".join(f"input {i} on {t.device}" for i, t in enumerate(inputs))
            raise OpRuntimeError(f"{op.name}: expected all tensors on one device, got {devs}")


def const(arr):
    """A constant tensor (no graph) around an array computed inside an op."""
    return _tensor.Tensor._make(arr)


def rules_table() -> str:
    """Markdown table of every registered op and its backward rule (for docs and viewers)."""
    lines = ["| op | backward rule |", "|---|---|"]
    for name in sorted(registry):
        lines.append(f"| `{name}` | {registry[name].rule} |")
    return "\n".join(lines)
