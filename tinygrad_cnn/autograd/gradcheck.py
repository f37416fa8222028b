"""Finite-difference checks of analytic gradients (use float64 inputs).

``gradcheck`` builds, for every (output, input) pair, the analytic Jacobian row by row with
``autograd.grad`` and the numerical one column by column with central differences, and
names the first element where they disagree. ``fast_mode=True`` compares one random
directional derivative instead, for inputs too large for a full Jacobian.
"""
from __future__ import annotations

import numpy as np



class GradcheckError(RuntimeError):
    """Analytic and numerical gradients differ (the message says where)."""


def _outputs(fn, inputs):
    from ..tensor import Tensor
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return tuple(o for o in outs if isinstance(o, Tensor))


def _numeric_column(fn, inputs, x, flat_index, eps, out_index):
    """d(outputs)/d(x.flat[flat_index]) by central differences, all outputs flattened."""
    flat = x.array.reshape(-1)  # a view: inputs are contiguous copies (see gradcheck)
    orig = flat[flat_index].copy()
    # grad mode stays on: fn may itself differentiate (gradgradcheck)
    flat[flat_index] = orig + eps
    plus = _outputs(fn, inputs)[out_index].numpy().astype(np.float64).reshape(-1)
    flat[flat_index] = orig - eps
    minus = _outputs(fn, inputs)[out_index].numpy().astype(np.float64).reshape(-1)
    flat[flat_index] = orig
    return (plus - minus) / (2 * eps)


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              fast_mode=False, seed=0):
    """True when ``fn``'s analytic gradients match finite differences for every input that
    requires grad; otherwise raises :class:`GradcheckError` naming the output, the input and
    the element (or returns False when ``raise_exception=False``)."""
    from ..tensor import Tensor
    from .api import grad
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, t in enumerate(inputs):  # perturbing in place needs contiguous, owned data
        if isinstance(t, Tensor) and t.requires_grad:
            if t.grad_fn is not None:
                raise ValueError(f"gradcheck: input {i} is not a leaf tensor")
            if not t.array.flags.c_contiguous:
                t.array = t.xp.ascontiguousarray(t.array)
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    for oi, out in enumerate(outs):
        if not out.requires_grad:
            continue
        n_out = out.numel()
        for ii, x in checked:
            if fast_mode:
                u = rng.standard_normal(x.shape)
                v = rng.standard_normal(out.shape)
                (g,) = grad(out, x, grad_outputs=Tensor(v, dtype=out.dtype, device=out.device),
                            retain_graph=True, allow_unused=True)
                analytic = 0.0 if g is None else float((g.numpy() * u).sum())
                flat = x.array.reshape(-1)
                orig = flat.copy()
                flat[:] = orig + eps * x.xp.asarray(u.reshape(-1))
                plus = _outputs(fn, inputs)[oi].numpy()
                flat[:] = orig - eps * x.xp.asarray(u.reshape(-1))
                minus = _outputs(fn, inputs)[oi].numpy()
                flat[:] = orig
                numeric = float((((plus - minus) / (2 * eps)) * v).sum())
                if abs(analytic - numeric) > atol + rtol * abs(numeric):
                    return _fail(f"gradcheck: output {oi} w.r.t. input {ii} (shape {x.shape}): "
                                 f"directional derivative analytic {analytic:.8g} vs numerical "
                                 f"{numeric:.8g}", raise_exception)
                continue
            analytic = np.zeros((n_out, x.numel()))
            for k in range(n_out):
                e = np.zeros(n_out)
                e[k] = 1.0
                (g,) = grad(out, x, grad_outputs=Tensor(e.reshape(out.shape), dtype=out.dtype,
                                                        device=out.device),
                            retain_graph=True, allow_unused=True)
                if g is not None:
                    analytic[k] = g.numpy().reshape(-1)
            for j in range(x.numel()):
                numeric = _numeric_column(fn, inputs, x, j, eps, oi)
                col = analytic[:, j]
                bad = np.abs(col - numeric) > atol + rtol * np.abs(numeric)
                if bad.any():
                    k = int(np.argmax(bad))
                    out_idx = np.unravel_index(k, out.shape) if out.ndim else ()
                    in_idx = np.unravel_index(j, x.shape) if x.ndim else ()
                    return _fail(
                        f"gradcheck: gradient of output {oi} w.r.t. input {ii} differs at input "
                        f"element {tuple(int(v) for v in in_idx)} (input shape {x.shape}), output "
                        f"element {tuple(int(v) for v in out_idx)}: analytic {col[k]:.8g}, "
                        f"numerical {numeric[k]:.8g}", raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0, fast_mode=False):
    """gradcheck of the gradient: checks second derivatives through ``create_graph=True``."""
    from ..tensor import Tensor
    from .api import grad
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = tuple(Tensor(rng.standard_normal(o.shape), dtype=o.dtype,
                                    device=o.device, requires_grad=True) for o in outs)
    n = len(inputs)

    def first_grads(*args):
        xs, gos = args[:n], args[n:]
        ys = [o for o in _outputs(fn, xs) if o.requires_grad]
        gs = grad(ys, [xs[i] for i in diff], grad_outputs=gos[:len(ys)], create_graph=True,
                  allow_unused=True)
        return tuple(g if g is not None else
                     Tensor._make(xs[i].xp.zeros(xs[i].shape, dtype=xs[i].dtype))
                     for g, i in zip(gs, diff))

    return gradcheck(first_grads, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, fast_mode=fast_mode, seed=seed)
