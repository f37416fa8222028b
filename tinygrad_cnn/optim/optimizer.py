"""The Optimizer base: parameter groups, per-parameter state, zero_grad, state dicts.

Updates are written on the parameters' arrays in place (under no_grad, the way PyTorch's
``.add_`` works): the Parameter objects keep their identity, and the same code runs on
NumPy and CuPy arrays.
"""
from __future__ import annotations

from ..tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
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
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        if group.get("lr", 0) < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']}")

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = Tensor._make(p.grad.xp.zeros_like(p.grad.array))

    def _params_with_grad(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    if p in self.state:
                        self._follow(p, self.state[p])
                    yield g, p, p.grad.array

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
                if p in self.state:
                    state[index[id(p)]] = {k: (Tensor._make(v.copy()) if hasattr(v, "shape")
                                               else v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError("load_state_dict: the saved parameter groups do not match this "
                             "optimizer's")
        params = {}
        for saved, own in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], own["params"]):
                params[int(i)] = p
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, st in state_dict["state"].items():
            p = params[int(i)]
            self.state[p] = {k: (v.to(device=p.device).array.copy() if isinstance(v, Tensor)
                                 else v) for k, v in st.items()}

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])
