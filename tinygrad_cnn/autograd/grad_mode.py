"""Grad mode and anomaly mode: per thread, as in PyTorch.

``with tg.no_grad():`` in one thread (an evaluation loop, a data worker) must not stop
recording in another (the training loop), so both flags live in ``threading.local`` objects;
every new thread starts with grad mode on and anomaly mode off. ``state.enabled`` is read on
every op: a thread-local attribute read costs about as much as a slotted one.
"""
from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    def __init__(self):
        self.enabled = True


state = _GradState()


class _AnomalyState(threading.local):
    def __init__(self):
        self.enabled = False


anomaly = _AnomalyState()


def is_grad_enabled() -> bool:
    """True when new ops are recorded in the graph."""
    return state.enabled


class _GradModeContext:
    """Context manager and decorator that sets a flag (grad mode unless ``_state`` says
    otherwise), restoring the previous value on exit."""

    _mode = True
    _state = state

    def __enter__(self):
        # a stack, not one slot: the same instance may be entered again (nested, or by
        # another thread) before it exits
        self.__dict__.setdefault("_prev", []).append(self._state.enabled)
        self._state.enabled = self._mode
        return self

    def __exit__(self, *exc):
        self._state.enabled = self._prev.pop()
        return False

    def __call__(self, fn):
        flag, mode = self._state, self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = flag.enabled
            flag.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                flag.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Ops inside run without recording the graph (``with tg.no_grad():`` or ``@tg.no_grad()``)."""

    _mode = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a ``no_grad`` region."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """``with set_grad_enabled(flag):`` records only when ``flag`` is true."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)


class inference_mode(_GradModeContext):
    """``with tg.inference_mode():`` runs without recording, like ``no_grad`` (PyTorch's
    inference mode also skips version counting for speed; here the result is the same as
    ``no_grad``). ``inference_mode(False)`` records again."""

    def __init__(self, mode: bool = True):
        self._mode = not bool(mode)


class detect_anomaly(_GradModeContext):
    """While active, ops remember where they were created and the backward pass raises at
    the first op whose gradient holds NaN or Inf, naming the op and that place (slow: for
    debugging). A context manager and a decorator, like PyTorch's."""

    _state = anomaly

    def __init__(self, check_nan=True):
        self._mode = bool(check_nan)
