"""SGD, Adam and AdamW, step for step as PyTorch's (single-tensor) implementations."""
from __future__ import annotations

import math

from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (dampening, Nesterov) and L2
    weight decay: buf = μ·buf + (1 - dampening)·g; p -= lr·(g + μ·buf if nesterov else buf)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for g, p, grad in self._params_with_grad():
            d = grad
            if g["weight_decay"]:
                d = d + g["weight_decay"] * p.array
            mu = g["momentum"]
            if mu:
                st = self.state.setdefault(p, {})
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = st["momentum_buffer"] = d.copy()
                else:
                    buf *= mu
                    buf += (1 - g["dampening"]) * d
                d = d + mu * buf if g["nesterov"] else buf
            # written into p's storage (views of p see it), the version bumped so that a
            # graph that saved p or a view of it refuses to run backward with the new values
            p._assign(p.array - g["lr"] * d)
        return loss


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay adds L2 to the gradient."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"{type(self).__name__}: invalid betas {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for g, p, grad in self._params_with_grad():
            xp = p.xp
            lr, (b1, b2), eps, wd = g["lr"], g["betas"], g["eps"], g["weight_decay"]
            if wd:
                if self._decoupled:
                    p.array = p.array * (1 - lr * wd)
                else:
                    grad = grad + wd * p.array
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0
                st["exp_avg"] = xp.zeros_like(p.array)
                st["exp_avg_sq"] = xp.zeros_like(p.array)
                if g["amsgrad"]:
                    st["max_exp_avg_sq"] = xp.zeros_like(p.array)
            st["step"] += 1
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * grad * grad
            if g["amsgrad"]:
                xp.maximum(st["max_exp_avg_sq"], v, out=st["max_exp_avg_sq"])
                v = st["max_exp_avg_sq"]
            bc1 = 1 - b1 ** st["step"]
            bc2 = 1 - b2 ** st["step"]
            denom = xp.sqrt(v) / math.sqrt(bc2) + eps
            p._assign(p.array - (lr / bc1) * (m / denom))
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay: p -= lr·wd·p before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
