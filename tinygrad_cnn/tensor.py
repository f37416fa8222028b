"""The Tensor: a backend array plus its place in the autograd graph.

A tensor made by the user is a *leaf* (``grad_fn is None``); a tensor made by a recorded op
holds that op's :class:`~tinygrad_cnn.autograd.graph.Node` as ``grad_fn``. The op methods
(``t + u``, ``t.sum()``, ...) come from :class:`~tinygrad_cnn.tensor_methods.TensorMethods`,
where each forwards to the op family module that declares the op once.
"""
from __future__ import annotations

from . import dtypes as _dt
from .backend import backend_of, parse_device
from .backend import numpy_backend as _cpu
from .tensor_data import as_array as _as_array
from .tensor_methods import TensorMethods

_np = _cpu.xp  # host-side work only: Python data in, NumPy scalars out, repr
_ndarray = _cpu.array_type


class Tensor(TensorMethods):
    """An n-dimensional array that records the ops applied to it.

    Args:
        data (scalar | list | ndarray | Tensor): the values (copied).
        requires_grad (bool): record ops on this tensor and accumulate its ``.grad``.
        dtype (dtype | None): NumPy dtype (default: float32 for Python floats, int64 for
            ints, else kept).
        device (str | None): ``"cpu"`` or ``"cuda[:N]"`` (default: the data's device, or
            the default device for Python data).
    """

    __slots__ = ("array", "grad", "requires_grad", "grad_fn", "_output_nr", "_hooks", "_vc",
                 "_base", "_post_hooks", "__weakref__")
    __array_ufunc__ = None  # numpy defers ``array * tensor`` to Tensor.__rmul__
    __hash__ = object.__hash__  # identity hash: tensors go in sets and dict keys

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        arr = _as_array(data, dtype, device)
        if arr is data or (isinstance(data, Tensor) and arr is data.array):
            arr = arr.copy()
        self._init_leaf(arr, requires_grad)

    def _init_leaf(self, arr, requires_grad):
        """Fields of a fresh leaf around ``arr`` (also used by nn.Parameter)."""
        self.array = arr
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._hooks = None
        self._vc = None
        self._base = None
        self._post_hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, grad_fn=None, requires_grad=False):
        """Wrap an array the engine produced (no copy, no checks): the hot path."""
        if type(data) is not _ndarray and isinstance(data, _np.generic):
            data = _np.asarray(data)  # NumPy reductions of 0-d arrays return scalars
        t = object.__new__(cls)
        t.array = data
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = requires_grad
        t._output_nr = 0
        t._hooks = None
        t._vc = None
        t._base = None
        t._post_hooks = None
        return t

    @classmethod
    def _make_view(cls, data, base):
        """Wrap ``data`` as a detached view of ``base``'s storage (``detach()``, ``.data``):
        the two share one version counter, so an in-place change through either is seen by
        graphs that saved the other."""
        t = cls._make(data)
        t._vc = base._counter()
        return t

    # ------------------------------------------------------------ storage and versions
    def _counter(self):
        vc = self._vc
        if vc is None:
            vc = self._vc = _VersionCounter()
        return vc

    @property
    def _version(self):
        """How many times this tensor's storage was changed in place (shared by its views)."""
        vc = self._vc
        return 0 if vc is None else vc.value

    def _bump_version(self):
        """Record that the storage was written in place (every view sees the new version)."""
        self._counter().value += 1

    def _assign(self, value):
        """Write ``value`` (an array or Tensor, broadcast to this shape) into the storage and
        bump the version: the one way optimizers, ``nn.init``, ``load_state_dict`` and
        running statistics change a tensor's values."""
        arr = value.array if isinstance(value, Tensor) else value
        try:
            self.array[...] = arr
        except ValueError as exc:
            raise RuntimeError(f"in-place write into a tensor of shape {self.shape}: {exc}") \
                from None
        self._bump_version()
        return self

    @property
    def data(self):
        """This tensor's values as a tensor that shares its storage and does not require grad
        (PyTorch's ``.data``): in-place ops on it change this tensor."""
        return Tensor._make_view(self.array, self)

    @data.setter
    def data(self, value):
        arr = value.array if isinstance(value, Tensor) else value
        if tuple(arr.shape) != self.shape or arr.dtype != self.dtype:
            pass  # PyTorch allows a new shape/dtype through .data =; so do we
        self.array = arr
        self._bump_version()

    # ------------------------------------------------------------ properties
    shape = property(lambda self: self.array.shape, doc="The size of each dim, a tuple.")
    ndim = property(lambda self: self.array.ndim, doc="Number of dims.")
    dtype = property(lambda self: self.array.dtype, doc="The NumPy dtype.")
    is_leaf = property(lambda self: self.grad_fn is None,
                       doc="True for tensors made by the user rather than by a recorded op.")

    @property
    def backend(self):
        """The backend module serving this tensor's array (see ``tinygrad_cnn.backend``)."""
        return backend_of(self.array)

    @property
    def xp(self):
        """``numpy`` or ``cupy``: the array module of ``.array``."""
        return _np if type(self.array) is _ndarray else backend_of(self.array).xp

    @property
    def is_cuda(self):
        """True for tensors on a CUDA device."""
        return type(self.array) is not _ndarray and self.device.type == "cuda"

    @property
    def device(self):
        """``"cpu"`` or ``"cuda:N"`` (a str subclass with ``.type`` and ``.index``)."""
        return backend_of(self.array).device(self.array)

    def size(self, dim=None):
        """The shape, or the size of one dim."""
        if dim is None:
            return self.array.shape
        from .ops.checks import canonical_dim
        return self.array.shape[canonical_dim("size", dim, self.ndim, self.shape)]

    def dim(self):
        return self.array.ndim

    def numel(self):
        return int(self.array.size)

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    # ------------------------------------------------------------ conversions
    def numpy(self):
        """A host NumPy copy of the data (any device)."""
        host = self.backend.to_host(self.array)
        _raise_deferred_device_checks(self.backend)
        return host

    def __array__(self, dtype=None, copy=None):
        if type(self.array) is not _ndarray:
            raise TypeError(f"can't convert a {self.device} tensor to a NumPy array implicitly; "
                            "use .numpy() or .cpu() first")
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ValueError(f"item: a tensor with {self.array.size} elements (shape "
                             f"{self.shape}) cannot be converted to a Python scalar")
        value = self.array.reshape(()).item()
        _raise_deferred_device_checks(self.backend)
        return value

    def tolist(self):
        return self.numpy().tolist()

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.array.size} elements "
                               f"(shape {self.shape}) is ambiguous; use .any() or .all()")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError(f"only one-element integer tensors can be used as an index, got "
                            f"{self.dtype} of shape {self.shape}")
        return int(self.item())

    def to(self, *args, dtype=None, device=None):
        """Cast and/or move: ``t.to("cuda")``, ``t.to(tg.float64)``, ``t.to(device, dtype)``.

        Returns ``self`` when nothing changes; otherwise the move is recorded, so the
        gradient comes back in this tensor's dtype and device.
        """
        for a in args:
            if isinstance(a, str):
                device = a
            elif isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            else:
                dtype = a
        dtype = _dt.as_dtype(dtype)
        dev = parse_device(device) if device is not None else None
        if (dtype is None or dtype == self.dtype) and (dev is None or dev == self.device):
            return self
        from .ops.conversion import to
        return to(self, dtype=dtype, device=dev)

    def cpu(self):
        return self.to(device="cpu")

    def cuda(self, device=None):
        return self.to(device="cuda" if device is None else
                       (device if isinstance(device, str) else f"cuda:{device}"))

    def float(self):
        return self.to(dtype=_dt.float32)

    def double(self):
        return self.to(dtype=_dt.float64)

    def half(self):
        return self.to(dtype=_dt.float16)

    def long(self):
        return self.to(dtype=_dt.int64)

    def int(self):
        return self.to(dtype=_dt.int32)

    def bool(self):
        return self.to(dtype=_dt.bool_)

    def type_as(self, other):
        return self.to(dtype=other.dtype)

    # ------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` (same shape as self) is required unless self has one element.
        ``retain_graph`` (default: ``create_graph``) keeps the saved tensors for another
        backward; ``create_graph`` records the backward pass for higher derivatives.
        """
        from .autograd.api import backward
        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs=inputs)

    def detach(self):
        """The same data as a new leaf that does not require grad."""
        return Tensor._make_view(self.array, self)

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf (floating point tensors only)."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: you can only change requires_grad of leaf "
                               "tensors; use .detach() for a non-leaf")
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, got dtype {self.dtype} (shape {self.shape})")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward (a no-op on leaves)."""
        import weakref
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has "
                               "requires_grad=False")
        if self.grad_fn is not None:
            node = self.grad_fn
            if node.retained is None:
                node.retained = {}
            node.retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self):
        node = self.grad_fn
        return bool(node is not None and node.retained and self._output_nr in node.retained)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return
        value replaces the gradient. Returns a handle with ``.remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            self.grad_fn.register_hook(self._output_nr, hook)
            hooks = self.grad_fn.tensor_hooks[self._output_nr]
        hooks.append(hook) if hook not in hooks else None
        return _HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after backward() accumulated a gradient into this leaf's
        ``.grad`` (PyTorch's hook of that name; its return value must be None).
        ``autograd.grad`` touches no ``.grad`` and so calls none. Returns a handle with
        ``.remove()``. DistributedDataParallel uses it to start a bucket's all-reduce as
        soon as the bucket's last gradient is in."""
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                            f"{type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on "
                               "a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                               "cannot be registered on non-leaf tensors")
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _HookHandle(self._post_hooks, hook)

    # ------------------------------------------------------------ display
    def __repr__(self):
        xp_data = self.numpy() if type(self.array) is not _ndarray else self.array
        from .settings import print_options  # tg.set_printoptions
        body = _np.array2string(xp_data, separator=", ", prefix="tensor(", **print_options)
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (_dt.float32, _dt.int64, _dt.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __format__(self, spec):
        if self.array.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)


class _VersionCounter:
    """One storage's in-place write count, shared by every tensor that views it."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _raise_deferred_device_checks(backend):
    """A read to the host is a sync anyway: raise the checks ops deferred on the device (a bad
    class index, ...), as PyTorch's device-side asserts surface at the next sync."""
    from . import cuda
    if cuda._asserts or backend.name == "cupy":  # CuPy: the kernels' error counters too
        cuda.check_device_asserts()
