"""``nn.Module`` and ``nn.Parameter``, the PyTorch way (containers live in containers.py).

A Module keeps its Parameters, buffers and child Modules in three ordered dicts, so the
dotted names of ``state_dict()`` / ``named_parameters()`` are exactly PyTorch's. Every change
of a parameter's or buffer's values from library code (``load_state_dict``, ``to``) goes
through ``Tensor._assign`` or ``.data =``, which bump the version counter: a graph recorded
before the change refuses to run backward with the new values, as in PyTorch.
"""
from __future__ import annotations

from collections import OrderedDict

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .parameter import IncompatibleKeys, Parameter, RemovableHandle, _zero_grad

__all__ = ["IncompatibleKeys", "Module", "Parameter", "RemovableHandle"]


def _check_name(kind, module, name):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if "." in name or name == "":
        raise KeyError(f"{kind} name can't contain '.' or be empty, got {name!r}")
    if name in module.__dict__ and name not in module._parameters and \
            name not in module._buffers and name not in module._modules:
        raise KeyError(f"attribute {name!r} already exists on {type(module).__name__}")


class Module:
    """Base class of layers and models: subclass, assign Parameters, Modules and buffers as
    attributes in ``__init__``, write ``forward``; call the module to run it."""

    def __init__(self):
        for name in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks",
                     "_forward_hooks"):
            object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_hook_kwargs", set())  # ids of with_kwargs hooks
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign before Module.__init__() call")
        params, mods, bufs = self._parameters, self._modules, self._buffers
        if isinstance(value, (Parameter, Module)):
            for store in (params, mods, bufs):
                store.pop(name, None)
            self._non_persistent_buffers_set.discard(name)
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
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor kept with the module but not trained (e.g. BatchNorm's running mean);
        ``persistent=False`` keeps it out of ``state_dict()``."""
        _check_name("buffer", self, name)
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {name!r} is already a parameter or submodule")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__} as buffer "
                            f"{name!r} (a Tensor or None is expected)")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name, param):
        _check_name("parameter", self, name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign {type(param).__name__} as "
                            f"parameter {name!r} (nn.Parameter or None expected)")
        if param is None:
            self.__dict__.pop(name, None)
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        _check_name("module", self, name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        self.__dict__.pop(name, None)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        mod = self
        for part in target.split(".") if target else ():
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            mod = mod._modules[part]
        return mod

    # ------------------------------------------------------------ hooks
    def _add_hook(self, hooks, hook, prepend, with_kwargs):
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        if with_kwargs:
            self._hook_kwargs.add(handle.id)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (``with_kwargs``: ``hook(module, args, kwargs)``) before
        forward; a non-None result replaces the args (``(args, kwargs)`` with kwargs)."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs,
        output)``) after forward; a non-None result replaces the output."""
        if always_call:
            raise NotImplementedError("register_forward_hook: always_call=True is not "
                                      "supported (hooks run only after a forward that returns)")
        return self._add_hook(self._forward_hooks, hook, prepend, with_kwargs)

    # ------------------------------------------------------------ running
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        for hid, hook in list(self._forward_pre_hooks.items()):
            if hid in self._hook_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("forward pre-hook with kwargs must return None or "
                                           f"a tuple (args, kwargs), got {type(res).__name__}")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hid, hook in list(self._forward_hooks.items()):
            res = (hook(self, args, kwargs, out) if hid in self._hook_kwargs
                   else hook(self, args, out))
            if res is not None:
                out = res
        if isinstance(out, Tensor) and out.grad_fn is not None:
            # where this call's ops begin and end, for drawing the module as a cluster
            import weakref
            starts = tuple(a.grad_fn if a.grad_fn is not None else a for a in args
                           if isinstance(a, Tensor))
            object.__setattr__(self, "_last_call", (weakref.ref(out.grad_fn),
                                                    tuple(id(s) for s in starts)))
        return out

    # ------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, depth first (pre-order)."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:  # explicit stack, in PyTorch's (pre-)order
            name, mod = stack.pop()
            if remove_duplicate:
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
        seen = set()
        for k, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield k, m

    def children(self):
        return (m for _, m in self.named_children())

    def _named(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                if recurse else [(prefix, self)])
        for mname, mod in mods:
            for k, v in getattr(mod, store).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mname}.{k}" if mname else k), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def apply(self, fn):
        """``fn(m)`` for every submodule, children before parents (PyTorch's order), then
        this module; returns self."""
        stack = [(self, False)]
        while stack:  # explicit post-order walk
            mod, expanded = stack.pop()
            if expanded:
                fn(mod)
                continue
            stack.append((mod, True))
            stack.extend((m, False) for m in reversed(list(mod.children())))
        return self

    # ------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode here and, through their own ``train``, in every child."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be a bool, got {mode!r}")  # noqa: TRY004 (torch raises ValueError)
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (or zero it in place with set_to_none=False)."""
        for p in self.parameters():
            _zero_grad(p, set_to_none)

    # ------------------------------------------------------------ state
    def _own_state(self, keep_non_persistent=False):
        own = OrderedDict()
        for name, mod in self.named_modules(remove_duplicate=False):
            pre = f"{name}." if name else ""
            for k, p in mod._parameters.items():
                if p is not None:
                    own.setdefault(pre + k, p)
            for k, b in mod._buffers.items():
                if b is not None and (keep_non_persistent or
                                      k not in mod._non_persistent_buffers_set):
                    own.setdefault(pre + k, b)
        return own

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, as detached tensors sharing
        storage with them (the tensors themselves with ``keep_vars=True``)."""
        if args:
            raise TypeError("state_dict: pass destination, prefix and keep_vars by keyword")
        sd = OrderedDict() if destination is None else destination
        for k, v in self._own_state().items():
            sd[prefix + k] = v if keep_vars else v.detach()
        return sd

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy tensors into this module's parameters and persistent buffers (shapes must
        match; values are cast to each target's dtype and device). Returns
        ``(missing_keys, unexpected_keys)``; ``strict`` raises when either is non-empty."""
        if assign:
            raise NotImplementedError("load_state_dict: assign=True is not supported; the "
                                      "values are always copied into the existing tensors")
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        own = self._own_state()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]

        def quoted(keys):
            return ", ".join(f'"{k}"' for k in keys)

        errors = []
        if strict and missing:
            errors.append(f"Missing key(s) in state_dict: {quoted(missing)}.")
        if strict and unexpected:
            errors.append(f"Unexpected key(s) in state_dict: {quoted(unexpected)}.")
        sources = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            src = state_dict[k]
            src = src if isinstance(src, Tensor) else Tensor(src)
            if tuple(src.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {k}: copying a param with shape {src.shape} "
                              f"from checkpoint, the shape in current model is {target.shape}.")
            sources[k] = src
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for k, src in sources.items():
                target = own[k]
                target._assign(src.to(dtype=target.dtype, device=target.device))
        return IncompatibleKeys(missing, unexpected)

    def to(self, *args, **kwargs):
        """Move/cast every parameter and buffer in place (``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``); only floating point tensors change dtype.
        Parameters keep their identity, so an optimizer made before still updates them."""
        kwargs.pop("non_blocking", None)  # a hint: copies here are synchronous
        if kwargs.get("memory_format") is not None:
            raise NotImplementedError("Module.to: memory_format is not supported")
        kwargs.pop("memory_format", None)
        for t in self._own_state(keep_non_persistent=True).values():
            moved = Tensor._make(t.array).to(*args, **kwargs)
            if t.dtype.kind != "f" and moved.dtype != t.dtype:
                moved = Tensor._make(t.array).to(device=moved.device)  # only floats change dtype
            if moved.array is not t.array:
                t.data = moved  # new storage; bumps the version (graphs made before refuse)
            if t.grad is not None:
                t.grad = t.grad.to(device=moved.device, dtype=moved.dtype)
        return self

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def half(self):
        return self.to(dtype="float16")

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

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))
