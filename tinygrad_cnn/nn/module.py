"""``nn.Module``, ``nn.Parameter`` and the containers, the PyTorch way."""
from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as learnable (``requires_grad=True`` by default).
    Wrapping a tensor shares its data."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = Tensor([])
        src = data if isinstance(data, Tensor) else Tensor(data)
        self._init_leaf(src.array, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of layers and models: subclass, assign Parameters, Modules and buffers as
    attributes in ``__init__``, write ``forward``; call the module to run it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign before Module.__init__() call")
        params, mods, bufs = self._parameters, self._modules, self._buffers
        if isinstance(value, (Parameter, Module)):
            for store in (params, mods, bufs):
                store.pop(name, None)
            self.__dict__.pop(name, None)
            (params if isinstance(value, Parameter) else mods)[name] = value
            return
        for store, what in ((params, "Parameter"), (mods, "Module"), (bufs, "Tensor")):
            if name in store:
                ok = value is None or (what == "Tensor" and isinstance(value, Tensor))
                if not ok:
                    raise TypeError(f"cannot assign {type(value).__name__} as {name!r}: a "
                                    f"{what} or None is expected")
                store[name] = value
                return
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor saved in the state dict but not trained (e.g. BatchNorm's running mean)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        self._modules[name] = module

    # ------------------------------------------------------------ running
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        if isinstance(out, Tensor) and out.grad_fn is not None:
            # where this call's ops begin and end, for drawing the module as a cluster
            import weakref
            starts = tuple(a.grad_fn if a.grad_fn is not None else a for a in args
                           if isinstance(a, Tensor))
            object.__setattr__(self, "_last_call", (weakref.ref(out.grad_fn),
                                                    tuple(id(s) for s in starts)))
        return out

    # ------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix=""):
        """(name, module) for this module and every descendant, depth first, each once."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:  # explicit stack, in PyTorch's (pre-)order
            name, mod = stack.pop()
            if id(mod) in memo:
                continue
            memo.add(id(mod))
            yield name, mod
            children = [(f"{name}.{k}" if name else k, m) for k, m in mod._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((k, m) for k, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _named(self, store, prefix, recurse):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, mod in mods:
            for k, v in getattr(mod, store).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield (f"{mname}.{k}" if mname else k), v

    def named_parameters(self, prefix="", recurse=True):
        return self._named("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        return self._named("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._make(p.grad.xp.zeros_like(p.grad.array))

    def apply(self, fn):
        for m in list(self.modules())[::-1]:
            fn(m)
        return self

    # ------------------------------------------------------------ state
    def state_dict(self):
        """Parameters and buffers by dotted name (the tensors themselves, detached)."""
        sd = OrderedDict()
        for name, mod in self.named_modules():
            for k, p in mod._parameters.items():
                if p is not None:
                    sd[f"{name}.{k}" if name else k] = p.detach()
            for k, b in mod._buffers.items():
                if b is not None:
                    sd[f"{name}.{k}" if name else k] = b.detach()
        return sd

    def load_state_dict(self, state_dict, strict=True):
        """Copy tensors into this module's parameters and buffers (shapes must match)."""
        own = {}
        for name, mod in self.named_modules():
            for store in ("_parameters", "_buffers"):
                for k, v in getattr(mod, store).items():
                    if v is not None:
                        own[f"{name}.{k}" if name else k] = v
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"load_state_dict: missing keys {missing}, unexpected keys "
                               f"{unexpected}")
        for k, target in own.items():
            if k not in state_dict:
                continue
            src = state_dict[k]
            src = src if isinstance(src, Tensor) else Tensor(src)
            if src.shape != target.shape:
                raise RuntimeError(f"load_state_dict: size mismatch for {k}: copying a tensor "
                                   f"of shape {src.shape}, the module has {target.shape}")
            target.array = src.to(dtype=target.dtype, device=target.device).array.copy()
        return IncompatibleKeys(missing, unexpected)

    def to(self, *args, **kwargs):
        """Move/cast every parameter and buffer in place (parameters keep their identity, so
        an optimizer made before still updates them)."""
        for t in list(self.parameters()) + list(self.buffers()):
            moved = Tensor._make(t.array).to(*args, **kwargs)
            if t.dtype.kind != "f" and moved.dtype != t.dtype and "device" not in kwargs:
                moved = Tensor._make(t.array).to(device=moved.device)  # only floats change dtype
            t.array = moved.array
            if t.grad is not None:
                t.grad = t.grad.to(device=moved.device)
        return self

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    # ------------------------------------------------------------ display
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


class Sequential(Module):
    """Modules applied one after the other."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for k, m in modules[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered."""

    def __init__(self, modules=None):
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
