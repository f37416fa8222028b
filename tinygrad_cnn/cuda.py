"""``tg.cuda``: is a CUDA device usable here, and does the code wait on it?

A *host synchronisation* is any point where Python needs a device value (``bool(x)``,
``float(x)``, ``x.item()``, ``x.tolist()``, a copy to NumPy, ...): the CPU then waits for
every queued kernel to finish, and the GPU idles until Python queues the next one. Ops and
optimizers must not do it; :func:`sync_debug` finds the places that do, like PyTorch's
``torch.cuda.set_sync_debug_mode``::

    with tg.cuda.sync_debug("error"):
        loss = F.cross_entropy(model(x), t)   # raises at the first host sync, naming the
        loss.backward()                       # op and the line of tinygrad_cnn that did it

Backends report syncs with :func:`report_sync`. The test-only "fake" device reports every
conversion of its arrays, so the suite proves on a CPU that a training step never syncs. On
CUDA, CuPy 14 no longer detects synchronisation itself (``cupyx.allow_synchronize`` is
deprecated and its checks are gone), so only copies through the backend (``to_host``:
``.numpy()``, ``.cpu()``, ``.tolist()``, ``.item()`` of a Tensor) are reported there; see
docs/gpu.md.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings

from .backend import cuda_device_count, cuda_is_available

__all__ = ["is_available", "device_count", "set_sync_debug_mode", "get_sync_debug_mode",
           "sync_debug", "SyncEvent", "SyncWarning", "HostSyncError", "report_sync",
           "synchronize", "device_assert", "check_device_asserts", "set_eager_device_asserts",
           "DeviceAssertError"]

_MODES = {"default": 0, "warn": 1, "error": 2}
_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep
_HERE = os.path.abspath(__file__)
_state = threading.local()   # the logs of the sync_debug() blocks open in this thread
_global = {"mode": 0}        # set_sync_debug_mode(): process-wide, as in PyTorch
active = False               # fast test for backends: is anything listening at all?


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return cuda_is_available()


def device_count() -> int:
    """Number of GPUs CuPy sees (0 without CuPy)."""
    return cuda_device_count()


class SyncWarning(UserWarning):
    """Warned at a host synchronisation in ``"warn"`` mode."""


class HostSyncError(RuntimeError):
    """Raised at a host synchronisation in ``"error"`` mode."""


class SyncEvent:
    """One host synchronisation.

    Attributes:
        kind (str): what synchronised (``"__bool__"``, ``"item"``, ``"to_host"``, ...).
        device (str): the device whose array was read.
        where (str): ``file:line`` of the innermost frame inside ``tinygrad_cnn/`` (or of the
            caller, when no package code is on the stack).
        op (str | None): the op running then: ``"max_pool2d"`` (forward),
            ``"max_pool2d backward"``, or nested (``"relu backward > mul"``: the ``mul`` the
            backward of ``relu`` applied).
        stack (list[str]): ``file:line in function``, innermost first.
    """

    __slots__ = ("kind", "device", "where", "op", "stack")

    def __init__(self, kind, device, where, op, stack):
        self.kind, self.device, self.where, self.op, self.stack = kind, device, where, op, stack

    def __str__(self):
        op = f" in op {self.op}" if self.op else ""
        return f"host sync ({self.kind} on {self.device}){op} at {self.where}"

    __repr__ = __str__


def _mode_number(mode):
    if isinstance(mode, bool) or not isinstance(mode, (int, str)) or \
            (mode not in _MODES and mode not in _MODES.values()):
        raise ValueError(f"sync debug mode must be 'default'/0, 'warn'/1 or 'error'/2, got "
                         f"{mode!r}")
    return _MODES.get(mode, mode)


def set_sync_debug_mode(debug_mode) -> None:
    """Warn (``"warn"`` or 1) or raise (``"error"`` or 2) at every host synchronisation a
    backend reports from now on; ``"default"`` (0) turns it off. As PyTorch's."""
    _global["mode"] = _mode_number(debug_mode)
    _set_active(_global["mode"] != 0 or bool(_logs()))


def get_sync_debug_mode() -> int:
    """The process-wide mode as a number: 0 default, 1 warn, 2 error."""
    return _global["mode"]


def _logs():
    logs = getattr(_state, "logs", None)
    if logs is None:
        logs = _state.logs = []
    return logs


@contextlib.contextmanager
def sync_debug(mode="warn"):
    """Record, and warn or raise at, every host synchronisation inside the block.

    Args:
        mode: ``"warn"`` (a :class:`SyncWarning` per sync), ``"error"`` (a
            :class:`HostSyncError` at the first) or ``"default"`` (only record).

    Yields:
        list[SyncEvent]: the syncs seen in this thread inside the block, in order.

    On a CUDA device the block also runs under ``cupyx.allow_synchronize(False)``, which
    raises ``cupyx.DeviceSynchronized`` in CuPy versions that still check; CuPy 14 does not.
    """
    number = _mode_number(mode)
    log = []
    logs = _logs()
    logs.append((log, number))
    _set_active(True)
    with contextlib.ExitStack() as stack:
        cupyx = sys.modules.get("cupyx")
        if cupyx is not None and hasattr(cupyx, "allow_synchronize"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its deprecation notice, every time
                stack.enter_context(cupyx.allow_synchronize(False))
        try:
            yield log
        finally:
            logs.remove((log, number))
            _set_active(_global["mode"] != 0 or any(_logs()))


def _set_active(on):
    """Backends that must prepare to see syncs (``watch_syncs(on)``) hear when it starts and
    stops; the others read ``active`` at each conversion."""
    global active
    if on == active:
        return
    active = on
    from .backend import _BY_DEVICE
    for module in list(_BY_DEVICE.values()):
        watch = getattr(module, "watch_syncs", None)
        if watch is not None:
            watch(on)


def report_sync(kind: str, device: str = "cuda") -> None:
    """Called by a backend at a host synchronisation of one of its arrays: recorded by the
    open :func:`sync_debug` blocks, then warned or raised as the strictest mode asks."""
    logs = getattr(_state, "logs", None) or ()
    mode = max([_global["mode"]] + [n for _, n in logs])
    if not logs and mode == 0:
        return
    event = _event(kind, device, sys._getframe(1))
    for log, _ in logs:
        log.append(event)
    if mode == 2:
        raise HostSyncError(str(event))
    if mode == 1:
        warnings.warn(str(event), SyncWarning, stacklevel=2)


def _event(kind, device, frame):
    stack, where, ops = [], None, []
    while frame is not None:
        code = frame.f_code
        path = os.path.abspath(code.co_filename)
        stack.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        inside = path.startswith(_PKG) and path != _HERE
        if inside and where is None and os.sep + "backend" + os.sep not in path[len(_PKG) - 1:]:
            where = f"{os.path.relpath(path, os.path.dirname(_PKG[:-1]))}:{frame.f_lineno}"
        if inside:
            ops.append(_op_of(frame, path))
        frame = frame.f_back
    if where is None:  # no package frame: the first caller outside the backends
        where = next((s.rsplit(" in ", 1)[0] for s in stack
                      if "fake_backend" not in s and "backend" + os.sep not in s), stack[0])
    ops = [o for o in reversed(ops) if o]
    return SyncEvent(kind, device, where, " > ".join(ops) or None, stack)


def _op_of(frame, path):
    """The op a frame runs: ``apply`` in the registry (forward) or the engine's loop
    (backward), read from their locals rather than kept as state on every op call."""
    name = frame.f_code.co_name
    if name == "apply" and path.endswith("op_registry.py"):
        op = frame.f_locals.get("op")
        return getattr(op, "name", None)
    if path.endswith(os.path.join("autograd", "engine.py")):
        node = frame.f_locals.get("node")
        op = getattr(node, "name", None) or getattr(getattr(node, "op", None), "name", None)
        return f"{op} backward" if op else None
    return None


# --- device-side asserts ------------------------------------------------------------------
# A check on device values (an index in range, no integer division by zero) would need a
# sync to raise at once. Ops instead hand the device's verdict here, as PyTorch's CUDA
# kernels keep a device-side assert flag: it is raised at the next synchronize() or natural
# sync, or at once with set_eager_device_asserts(True). One flag per message, and-ed on the
# device, keeps the backlog as small as the set of distinct checks.
_asserts: dict = {}
_eager = {"on": os.environ.get("TINYGRAD_CNN_DEVICE_ASSERTS", "") == "eager"}


class DeviceAssertError(RuntimeError):
    """A check an op made on device values failed (raised when it is next looked at)."""


def set_eager_device_asserts(on: bool) -> None:
    """Check device-side asserts where the op runs (one sync each, so the failing call is in
    the traceback), as ``CUDA_LAUNCH_BLOCKING=1`` does for PyTorch. Also turned on by the
    environment variable ``TINYGRAD_CNN_DEVICE_ASSERTS=eager``."""
    if not isinstance(on, bool):
        raise TypeError(f"set_eager_device_asserts: expected a bool, got {on!r}")
    _eager["on"] = on


def device_assert(ok, message: str, error=DeviceAssertError) -> None:
    """Record that the 0-d device bool ``ok`` must be true (else raise ``error(message)``),
    without reading it now; ops call this instead of branching on a device value."""
    if _eager["on"]:
        if not bool(ok):
            raise error(message)
        return
    entry = _asserts.get(message)
    _asserts[message] = (ok if entry is None else entry[0] & ok, error)


def check_device_asserts() -> None:
    """Raise the first failed device-side assert (one sync per distinct check), then clear."""
    gpu = sys.modules.get("tinygrad_cnn.backend.cupy_backend")
    if gpu is not None and gpu.xp is not None:  # the CUDA kernels' own error counters
        gpu.check_device_errors()
    pending = list(_asserts.items())
    _asserts.clear()
    for message, (ok, error) in pending:
        if not bool(ok):
            raise error(f"{message} (device-side assert, raised at the next synchronisation)")


def synchronize(device=None) -> None:
    """Wait for the queued work of ``device`` (default: the current CUDA device) and raise
    the device-side asserts that failed meanwhile."""
    from .backend import parse_device
    dev = parse_device("cuda" if device is None else device)
    if dev.type == "cuda" and "cupy" in sys.modules:
        import cupy
        with cupy.cuda.Device(dev.index):
            cupy.cuda.get_current_stream().synchronize()
    check_device_asserts()
