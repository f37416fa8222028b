"""Reverse-mode autodiff: grad mode, the engine, ``grad``, user ``Function`` s, gradcheck."""
from .grad_mode import (detect_anomaly, enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .graph import Node


def __getattr__(name):
    # these need Tensor, which needs this package: load them on first use
    if name == "queue_callback":
        from .engine import queue_callback
        return queue_callback
    if name in ("backward", "grad"):
        from . import api
        return getattr(api, name)
    if name in ("Function", "FunctionCtx"):
        from . import function
        return getattr(function, name)
    if name in ("gradcheck", "gradgradcheck", "GradcheckError"):
        from . import gradcheck
        return getattr(gradcheck, name)
    raise AttributeError(f"module 'tinygrad_cnn.autograd' has no attribute {name!r}")


__all__ = ["detect_anomaly", "inference_mode", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "Node", "backward", "grad", "Function", "FunctionCtx", "gradcheck",
           "gradgradcheck", "queue_callback"]
