"""Adamax, NAdam and RAdam, step for step as PyTorch's single-tensor implementations (same
operation order, so float32 trajectories agree to round-off). Written like
``algorithms.py``: ``_update`` gets the gradient array (negated for ``maximize=True``) and
writes the parameter in place; state keys are PyTorch's, so state dicts line up.
"""
from __future__ import annotations

import math

from .optimizer import Optimizer


def _opts(foreach, maximize, capturable, differentiable):
    return {"foreach": foreach, "maximize": maximize, "capturable": capturable,
            "differentiable": differentiable}


def _decay(g, w, grad):
    """L2 weight decay added to the gradient, or (decoupled) the parameter shrunk first."""
    wd = g["weight_decay"]
    if not wd:
        return grad
    if g.get("decoupled_weight_decay"):
        w *= 1 - g["lr"] * wd
        return grad
    return grad + wd * w


def _moments(st, xp, w, b1, b2, grad, squares=True):
    if not st:
        st["step"] = 0
        st["exp_avg"] = xp.zeros_like(w)
        st["exp_avg_sq" if squares else "exp_inf"] = xp.zeros_like(w)
    st["step"] += 1
    st["exp_avg"] += (1 - b1) * (grad - st["exp_avg"])  # lerp, as PyTorch
    if squares:
        v = st["exp_avg_sq"]
        v *= b2
        v += (1 - b2) * grad * grad
    return st["step"]


class Adamax(Optimizer):
    """Adam with the infinity norm: u = max(β2·u, |g| + eps); p -= lr / (1 - β1^t) · m / u."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  **_opts(foreach, maximize, capturable, differentiable)})

    def _update(self, g, p, grad, st):
        xp, w = p.xp, p.array
        (b1, b2), eps = g["betas"], g["eps"]
        grad = _decay(g, w, grad)
        t = _moments(st, xp, w, b1, b2, grad, squares=False)
        u = st["exp_inf"]
        u *= b2
        xp.maximum(u, xp.abs(grad) + eps, out=u)
        clr = g["lr"] / (1 - b1 ** t)
        w -= clr * (st["exp_avg"] / u)


class NAdam(Optimizer):
    """Adam with Nesterov momentum and PyTorch's momentum schedule
    μ_t = β1 (1 - ½ · 0.96^(t · momentum_decay))."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        if not 0.0 <= momentum_decay:
            raise ValueError(f"NAdam: invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  **_opts(foreach, maximize, capturable, differentiable)})

    def _update(self, g, p, grad, st):
        xp, w = p.xp, p.array
        lr, (b1, b2), eps, psi = g["lr"], g["betas"], g["eps"], g["momentum_decay"]
        grad = _decay(g, w, grad)
        t = _moments(st, xp, w, b1, b2, grad)
        st.setdefault("mu_product", 1.0)
        bias_correction2 = 1 - b2 ** t
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        st["mu_product"] *= mu
        mu_product_next = st["mu_product"] * mu_next
        denom = xp.sqrt(st["exp_avg_sq"] / bias_correction2)
        denom += eps
        w += (-lr * (1.0 - mu) / (1.0 - st["mu_product"])) * (grad / denom)
        w += ((-lr * mu_next) / (1.0 - mu_product_next)) * (st["exp_avg"] / denom)


class RAdam(Optimizer):
    """Rectified Adam: plain momentum SGD while the variance estimate is unreliable
    (ρ_t <= 5), Adam scaled by the rectification term after."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  **_opts(foreach, maximize, capturable, differentiable)})

    def _update(self, g, p, grad, st):
        xp, w = p.xp, p.array
        lr, (b1, b2), eps = g["lr"], g["betas"], g["eps"]
        grad = _decay(g, w, grad)
        t = _moments(st, xp, w, b1, b2, grad)
        bias_correction1 = 1 - b1 ** t
        bias_correction2 = 1 - b2 ** t
        m_hat = st["exp_avg"] / bias_correction1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                             ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = (bias_correction2 ** 0.5) / (xp.sqrt(st["exp_avg_sq"]) + eps)
            w -= m_hat * lr * adaptive * rect
        else:
            w -= m_hat * lr
