"""Losses with torch.nn.functional's signatures and reductions ("mean", "sum", "none").

cross_entropy is log_softmax followed by nll_loss (class indices) or a weighted sum
(class probabilities), with PyTorch's label smoothing and weight normalisation. With class
indices (the common case) it is one fused op, ``ops.loss.cross_entropy_op``; a weight that
requires grad or an input with no classes takes the composed path.

Bad class targets: the backend checks them (``backend.class_targets``) without waiting for the
device: the CPU raises at once; on a GPU the affected losses are NaN and the error is raised by
``backend.check_device_errors()`` (see backend/kernels/fused_cuda.py).
"""
from __future__ import annotations

from .. import dtypes
from ..errors import OpRuntimeError, OpTypeError, OpValueError
from ..ops import activation as _act
from ..ops import elementwise as _ew
from ..ops.loss import (
    binary_cross_entropy_op,
    binary_cross_entropy_with_logits_op,
    cross_entropy_op,
)
from .activation import log_softmax, tensor_arg

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(op, loss, reduction):
    if reduction not in _REDUCTIONS:
        raise OpValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(op, input, target):
    tensor_arg(op, input)
    tensor_arg(op, target, "target")
    if input.shape != target.shape:
        raise OpValueError(f"{op}: target shape {target.shape} must match input shape "
                           f"{input.shape}")


def _check_weight(op, input, weight):
    if weight is not None:
        c = input.shape[0 if input.ndim == 1 else 1]
        if weight.shape != (c,):
            raise OpValueError(f"{op}: weight must have shape ({c},) (one per class), got "
                               f"{weight.shape}")
        if weight.device != input.device:
            raise OpRuntimeError(f"{op}: weight is on {weight.device}, input on {input.device}")


def _class_view(t, ndim):
    """A per-class vector shaped to broadcast over (n, c, *d)."""
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices. input (n, c, *d) log-probabilities (or (c,)
    unbatched), target (n, *d) integers in [0, c) or ignore_index."""
    from ..tensor import Tensor
    op = "nll_loss"
    tensor_arg(op, input)
    if not isinstance(target, Tensor):
        target = Tensor(target, device=input.device)
    if target.dtype.kind not in "iu":
        raise OpTypeError(f"{op}: target must hold class indices (an integer tensor), got "
                          f"{target.dtype}")
    _check_weight(op, input, weight)
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim < 2 or target.shape != (input.shape[0],) + input.shape[2:]:
        raise OpValueError(f"{op}: expected input (n, c, *d) and target (n, *d), got input "
                           f"{input.shape} and target {target.shape}")
    xp = input.xp
    c = input.shape[1]
    # keep: 1 counted, 0 ignore_index (NaN for a bad target on a GPU: see the module doc)
    safe, keep = input.backend.class_targets(target.array, c, ignore_index, input.dtype, op)
    # pick input[n, target[n, ...], ...] with one advanced index, keep d dims in place
    # open grids over n and the trailing dims (np.indices(sparse=True), which CuPy lacks)
    idx = [xp.arange(s).reshape((-1,) + (1,) * (safe.ndim - 1 - i))
           for i, s in enumerate(safe.shape)]
    picked = input[(idx[0], Tensor._make(safe)) + tuple(idx[1:])]
    w = xp.ones(c, dtype=input.dtype) if weight is None else weight.array
    wt = Tensor._make((w[safe] * keep).astype(input.dtype))
    loss = -picked * wt
    if reduction == "mean":
        return loss.sum() / wt.sum()
    loss = _reduce(op, loss, reduction)
    # unbatched (c,) input: one loss of shape (), as PyTorch (not the (1,) of the batch of 1)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """log_softmax over dim 1, then nll_loss (integer targets) or, for float targets of the
    input's shape, the cross-entropy against class probabilities."""
    from ..tensor import Tensor
    op = "cross_entropy"
    tensor_arg(op, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise OpValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    _check_weight(op, input, weight)
    if not isinstance(target, Tensor):
        target = Tensor(target, device=input.device)
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim] if input.ndim else 0
    if target.dtype.kind in "iu" and c and input.dtype.kind == "f" and (
            weight is None or not weight.requires_grad):
        return _fused_cross_entropy(input, target, weight, ignore_index, reduction,
                                    label_smoothing)
    lp = log_softmax(input, class_dim)
    w = None if weight is None else (weight if input.ndim == 1 else _class_view(weight, input.ndim))
    if target.dtype.kind == "f":  # class probabilities
        _same_shape(op, input, target)
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        term = lp * target if w is None else lp * target * w
        loss = -term.sum(class_dim)
        return _reduce(op, loss, reduction)
    nll = nll_loss(lp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    lp2 = lp if lp.ndim > 1 else lp.unsqueeze(0)
    t2 = target.reshape(1) if lp.ndim == 1 else target
    valid = Tensor._make((t2.array != ignore_index).astype(input.dtype))
    smooth = -((lp2 * w).sum(1) if w is not None else lp2.sum(1)) * valid
    if reduction == "mean":
        if weight is not None:
            safe = input.xp.where(t2.array != ignore_index, t2.array, 0)
            denom = (weight.array[safe] * valid.array).sum()
        else:
            denom = valid.array.sum()
        smooth = smooth.sum() / Tensor._make(input.xp.asarray(denom, dtype=input.dtype))
    else:
        smooth = _reduce(op, smooth, reduction)
        if reduction == "none" and lp.ndim == 1:
            smooth = smooth.reshape(())
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def _fused_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    """Class-index targets through the one fused op (shapes checked as nll_loss does)."""
    op = "cross_entropy"
    if reduction not in _REDUCTIONS:
        raise OpValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    unbatched = input.ndim == 1
    x = input.unsqueeze(0) if unbatched else input
    t = target.reshape(1) if unbatched else target
    if x.ndim < 2 or t.shape != (x.shape[0],) + x.shape[2:]:
        raise OpValueError(f"{op}: expected input (n, c, *d) and target (n, *d), got input "
                           f"{input.shape} and target {target.shape}")
    if t.device != x.device:
        raise OpRuntimeError(f"{op}: target is on {t.device}, input on {x.device}")
    loss = cross_entropy_op(x, target=t.array, weight=None if weight is None else weight.array,
                            ignore_index=ignore_index, reduction=reduction,
                            label_smoothing=float(label_smoothing))
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def mse_loss(input, target, reduction="mean"):
    """Mean squared error."""
    _same_shape("mse_loss", input, target)
    d = input - target
    return _reduce("mse_loss", d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error."""
    _same_shape("l1_loss", input, target)
    return _reduce("l1_loss", _ew.abs(input - target), reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t·log(x) + (1-t)·log(1-x)) with the logs clamped at -100, as PyTorch; x, t (…).

    The gradient is PyTorch's ``(x - t) / max(x (1 - x), 1e-12)``: finite at x = 0 or 1
    (which float32 ``sigmoid`` reaches for |logits| > ~17).
    """
    _same_shape("binary_cross_entropy", input, target)
    # eager on the CPU; on a GPU counted on the device (the loss is NaN there anyway: the log
    # of a negative number) and raised by backend.check_device_errors(), with no sync here
    input.backend.check_range(input.array, 0, 1, "binary_cross_entropy: input values must lie "
                              "in [0, 1] (probabilities; {bad} do not); use "
                              "binary_cross_entropy_with_logits for logits")
    loss = binary_cross_entropy_op(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy", loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable expression; x, t (…).

    ``loss = (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)``, so the gradient is
    ``sigmoid(x) - t`` (scaled by pos_weight on positives) everywhere, 0.5 - t at x = 0.
    ``weight`` broadcasts over the loss, ``pos_weight`` over the classes (last dim).
    """
    _same_shape("binary_cross_entropy_with_logits", input, target)
    for name, v in (("weight", weight), ("pos_weight", pos_weight)):
        if v is not None:
            tensor_arg("binary_cross_entropy_with_logits", v, name)
    if pos_weight is None:  # one op: no subgradient of abs/relu leaks in at x = 0
        loss = binary_cross_entropy_with_logits_op(input, target)
    else:  # softplus(-x) = -log(sigmoid(x)), also one op with gradient -sigmoid(-x)
        loss = ((1 - target) * input
                + (1 + (pos_weight - 1) * target) * _act.softplus(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


def one_hot(tensor, num_classes=-1):
    """Class indices (…) int64 -> one-hot (…, num_classes) int64, as ``F.one_hot``.

    ``num_classes=-1`` takes ``max + 1``. The result is a constant (integer, no graph).
    """
    import operator
    from ..tensor import Tensor
    op = "one_hot"
    tensor_arg(op, tensor)
    if tensor.dtype.kind not in "iu":
        raise OpTypeError(f"F.{op}: one_hot is only applicable to index tensors (integer), "
                          f"got {tensor.dtype}")
    try:
        c = operator.index(num_classes)
    except TypeError:
        raise OpTypeError(f"F.{op}: num_classes must be an int, got {num_classes!r}") from None
    t = tensor.array
    xp = tensor.xp
    if t.size == 0 and c == -1:
        raise OpRuntimeError(f"F.{op}: can not infer the total number of classes from an "
                             f"empty tensor (shape {tensor.shape}); give num_classes")
    lo = int(t.min()) if t.size else 0
    hi = int(t.max()) if t.size else -1
    if lo < 0:
        raise OpRuntimeError(f"F.{op}: class values must be non-negative, got {lo}")
    if c == -1:
        c = hi + 1
    elif c < 0 or hi >= c:
        raise OpRuntimeError(f"F.{op}: class values must be smaller than num_classes={c}, got "
                             f"values up to {hi}")
    out = (t[..., None] == xp.arange(c)).astype(dtypes.int64)
    return Tensor._make(out)
