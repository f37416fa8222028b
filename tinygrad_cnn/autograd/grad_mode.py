"""Grad mode: the one piece of process-wide autograd state.

``state.enabled`` is read on every op, so it is a plain attribute of a slotted object.
"""
from __future__ import annotations

import functools


class _GradState:
    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


state = _GradState()


class _AnomalyState:
    __slots__ = ("enabled",)

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
        self._prev = self._state.enabled
        self._state.enabled = self._mode
        return self

    def __exit__(self, *exc):
        self._state.enabled = self._prev
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


class detect_anomaly(_GradModeContext):
    """While active, ops remember where they were created and the backward pass raises at
    the first op whose gradient holds NaN or Inf, naming the op and that place (slow: for
    debugging). A context manager and a decorator, like PyTorch's."""

    _state = anomaly

    def __init__(self, check_nan=True):
        self._mode = bool(check_nan)
