"""SGD, Adam, AdamW, RMSprop, Adadelta and Adagrad, step for step as PyTorch's single-tensor
implementations (same operation order, so float32 trajectories agree to round-off).

Each ``_update`` writes the parameter in place; the base class bumps the version once per
parameter per step. SGD and Adam/AdamW call the backend's fused kernels (``sgd_step``,
``adam_step``: one launch per parameter on the GPU, the same bits as before on the CPU) with
the raw gradient and apply ``maximize`` inside; the others get the gradient already negated.
Step counts and bias corrections are host numbers: a step never reads the device.
Keyword-only options are PyTorch's: ``maximize`` is honoured, ``foreach`` accepted (it only
picks PyTorch's kernels), ``fused=True`` accepted by SGD/Adam/AdamW (their updates are the
fused kernels anyway) and refused by the others, ``capturable``/``differentiable`` refused
when True.
"""
from __future__ import annotations

import math

from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (dampening, Nesterov) and L2
    weight decay: buf = μ·buf + (1 - dampening)·g; p -= lr·(g + μ·buf if nesterov else buf)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                      "weight_decay": weight_decay, "nesterov": nesterov,
                                      "maximize": maximize, "foreach": foreach,
                                      "differentiable": differentiable, "fused": fused})

    _handles_maximize = _fused_kernels = True

    def _update(self, g, p, grad, st):
        w = p.array
        mu = g["momentum"]
        buf = st.get("momentum_buffer")
        first = mu and buf is None
        if first:  # allocated once; the kernel fills it with the first direction
            buf = st["momentum_buffer"] = p.xp.empty_like(w)
        p.backend.sgd_step(w, grad, buf if mu else None, lr=g["lr"], momentum=mu,
                           dampening=g["dampening"], weight_decay=g["weight_decay"],
                           nesterov=g["nesterov"], maximize=g["maximize"], first=first)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay adds L2 to the gradient
    (``decoupled_weight_decay=True``: AdamW's decay instead)."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=None):
        decoupled = self._decoupled if decoupled_weight_decay is None else \
            bool(decoupled_weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                      "weight_decay": weight_decay, "amsgrad": amsgrad,
                                      "maximize": maximize, "foreach": foreach,
                                      "capturable": capturable,
                                      "differentiable": differentiable, "fused": fused,
                                      "decoupled_weight_decay": decoupled})

    _handles_maximize = _fused_kernels = True

    def _update(self, g, p, grad, st):
        xp, w = p.xp, p.array
        lr, (b1, b2) = g["lr"], g["betas"]
        if not st:  # the state is allocated once, then updated in place by the kernel
            st["step"] = 0
            st["exp_avg"] = xp.zeros_like(w)
            st["exp_avg_sq"] = xp.zeros_like(w)
            if g["amsgrad"]:
                st["max_exp_avg_sq"] = xp.zeros_like(w)
        st["step"] += 1  # a host int: the bias corrections below are host floats
        t = st["step"]
        p.backend.adam_step(
            w, grad, st["exp_avg"], st["exp_avg_sq"],
            st.get("max_exp_avg_sq") if g["amsgrad"] else None, lr=lr, beta1=b1, beta2=b2,
            eps=g["eps"], weight_decay=g["weight_decay"],
            decoupled=g["decoupled_weight_decay"], maximize=g["maximize"],
            step_size=lr / (1 - b1 ** t), bias_correction2_sqrt=math.sqrt(1 - b2 ** t))


class AdamW(Adam):
    """Adam with decoupled weight decay: p -= lr·wd·p before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused)


class RMSprop(Optimizer):
    """sq = α·sq + (1-α)·g²; p -= lr·g / (sqrt(sq - avg²) if centered else sqrt(sq)) + eps),
    through a momentum buffer when momentum > 0."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                      "weight_decay": weight_decay,
                                      "momentum": momentum, "centered": centered,
                                      "capturable": capturable, "foreach": foreach,
                                      "maximize": maximize, "differentiable": differentiable})

    def _update(self, g, p, grad, st):
        xp, w = p.xp, p.array
        alpha, eps, mu = g["alpha"], g["eps"], g["momentum"]
        if not st:
            st["step"] = 0
            st["square_avg"] = xp.zeros_like(w)
            if mu > 0:
                st["momentum_buffer"] = xp.zeros_like(w)
            if g["centered"]:
                st["grad_avg"] = xp.zeros_like(w)
        st["step"] += 1
        if g["weight_decay"]:
            grad = grad + g["weight_decay"] * w
        sq = st["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * grad * grad
        if g["centered"]:
            ga = st["grad_avg"]
            ga += (1 - alpha) * (grad - ga)
            avg = xp.sqrt(sq - ga * ga)
        else:
            avg = xp.sqrt(sq)
        avg += eps
        if mu > 0:
            buf = st["momentum_buffer"]
            buf *= mu
            buf += grad / avg
            w -= g["lr"] * buf
        else:
            w -= g["lr"] * (grad / avg)


class Adadelta(Optimizer):
    """sq = ρ·sq + (1-ρ)·g²; Δ = sqrt(acc + eps) / sqrt(sq + eps) · g;
    acc = ρ·acc + (1-ρ)·Δ²; p -= lr·Δ."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value {rho} (must be in [0, 1])")
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                      "foreach": foreach, "capturable": capturable,
                                      "maximize": maximize, "differentiable": differentiable})

    def _update(self, g, p, grad, st):
        xp, w = p.xp, p.array
        rho, eps = g["rho"], g["eps"]
        if not st:
            st["step"] = 0
            st["square_avg"] = xp.zeros_like(w)
            st["acc_delta"] = xp.zeros_like(w)
        st["step"] += 1
        if g["weight_decay"]:
            grad = grad + g["weight_decay"] * w
        sq, acc = st["square_avg"], st["acc_delta"]
        sq *= rho
        sq += (1 - rho) * grad * grad
        delta = xp.sqrt(acc + eps) / xp.sqrt(sq + eps) * grad
        acc *= rho
        acc += (1 - rho) * delta * delta
        w -= g["lr"] * delta


class Adagrad(Optimizer):
    """sum += g²; p -= lr / (1 + (step - 1)·lr_decay) · g / (sqrt(sum) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        if initial_accumulator_value < 0:
            raise ValueError(f"Adagrad: invalid initial_accumulator_value "
                             f"{initial_accumulator_value}")
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                      "initial_accumulator_value": initial_accumulator_value,
                                      "eps": eps, "foreach": foreach, "maximize": maximize,
                                      "differentiable": differentiable, "fused": fused})
        for grp in self.param_groups:  # PyTorch creates the state eagerly
            for p in grp["params"]:
                self.state[p] = {"step": 0, "sum": p.xp.full(
                    p.shape, grp["initial_accumulator_value"], dtype=p.dtype)}

    def _update(self, g, p, grad, st):
        xp, w = p.xp, p.array
        st["step"] += 1
        if g["weight_decay"]:
            grad = grad + g["weight_decay"] * w
        clr = g["lr"] / (1 + (st["step"] - 1) * g["lr_decay"])
        s = st["sum"]
        s += grad * grad
        w -= clr * (grad / (xp.sqrt(s) + g["eps"]))


__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "RMSprop"]
