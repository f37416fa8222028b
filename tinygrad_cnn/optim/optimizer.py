"""The Optimizer base: parameter groups, per-parameter state, zero_grad, state dicts, and
the checks of PyTorch's keyword options.

Updates are written into the parameters' storage in place (SGD and Adam/AdamW through the
backend's fused kernels, ``backend.sgd_step`` / ``adam_step``: one launch per parameter on the
GPU; the others with ``out=``-style array updates), then one ``_bump_version()`` per parameter
per step: the Parameter objects keep their
identity, views of them see the new values, and a graph recorded before the step refuses
to run backward with them (PyTorch's rule). The same code runs on NumPy and CuPy arrays.
"""
from __future__ import annotations

import numbers

from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor


class Optimizer:
    # True where ``_update`` applies ``maximize`` itself (inside a fused kernel), so the base
    # class need not allocate a negated gradient first
    _handles_maximize = False
    # True where the update always runs as the backend's fused kernels, so ``fused=True``
    # asks for what happens anyway (accepted, like foreach); elsewhere it is refused
    _fused_kernels = False

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of Tensors "
                            "or dicts, got a Tensor")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: can only optimize tensors that "
                                 "require grad")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "parameter group")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay", "momentum", "alpha", "rho", "lr_decay"):
            v = group.get(key, 0)
            if not isinstance(v, numbers.Real) or v < 0:
                raise ValueError(f"{name}: invalid {key.replace('lr', 'learning rate')} {v!r}")
        if "betas" in group:
            b = group["betas"]
            if len(b) != 2 or not (0.0 <= b[0] < 1.0 and 0.0 <= b[1] < 1.0):
                raise ValueError(f"{name}: invalid betas {b!r} (each in [0, 1))")
        if group.get("foreach") not in (None, True, False):
            raise TypeError(f"{name}: foreach must be None or a bool, got {group['foreach']!r}")
        # foreach only chooses PyTorch's batched kernels: the update is the same either way.
        # These change what the step is, and are refused rather than ignored:
        for key, why in (("fused", "fused kernels are not available for this optimizer"),
                         ("capturable", "there are no CUDA graphs to capture the step into"),
                         ("differentiable", "the step is not recorded by autograd")):
            if group.get(key) and not (key == "fused" and self._fused_kernels):
                raise NotImplementedError(f"{name}: {key}=True is not supported: {why}")

    def zero_grad(self, set_to_none=True):
        from ..nn.parameter import _zero_grad
        for g in self.param_groups:
            for p in g["params"]:
                _zero_grad(p, set_to_none)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` (re)computes the
        loss with grad enabled and is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                if p in self.state:
                    self._follow(p, self.state[p])
                grad = p.grad.array
                if g.get("maximize") and not self._handles_maximize:
                    grad = -grad
                with p.backend.quiet_fp():  # inf/nan propagate silently, as in PyTorch
                    self._update(g, p, grad, self.state.setdefault(p, {}))
                p._bump_version()
        return loss

    def _update(self, group, p, grad, state):
        """Write this parameter's new value into ``p.array`` in place."""
        raise NotImplementedError

    @staticmethod
    def _follow(p, state):
        """Move state arrays to the parameter's device if the model moved (``model.to``)."""
        for k, v in state.items():
            if hasattr(v, "shape") and type(v) is not type(p.array):
                state[k] = Tensor._make(v).to(device=p.device).array

    def state_dict(self):
        """{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}."""
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: (Tensor._make(v.copy()) if hasattr(v, "shape")
                                               else v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError("load_state_dict: the saved parameter groups do not match this "
                             "optimizer's (different numbers of groups or parameters)")
        params = {}
        for saved, own in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], own["params"]):
                params[int(i)] = p
            own.update({k: (tuple(v) if k == "betas" else v) for k, v in saved.items()
                        if k != "params"})
        self.state = {}
        for i, st in state_dict["state"].items():
            p = params[int(i)]
            new = {}
            for k, v in st.items():
                if isinstance(v, Tensor):
                    if v.ndim and tuple(v.shape) != tuple(p.shape):
                        raise ValueError(f"load_state_dict: state {k!r} of parameter {i} has "
                                         f"shape {v.shape}, the parameter {p.shape}")
                    v = v.to(device=p.device).array.copy()
                    v = v.item() if k == "step" and v.ndim == 0 else v
                new[k] = v
            self.state[p] = new

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])
