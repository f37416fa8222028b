"""``tinygrad_cnn.backends.cudnn``: the flags training scripts set on
``torch.backends.cudnn``, as plain module attributes.

This engine's convolutions are im2col + GEMM on NumPy or CuPy, never cuDNN, so:

- ``benchmark``: no effect (there is no algorithm search to enable).
- ``deterministic``: no effect; the im2col/GEMM convolutions are already deterministic for a
  fixed input, device and BLAS (col2im sums in a fixed order).
- ``enabled``: no effect (cuDNN is never used, whatever its value).
- ``allow_tf32``: no effect on CPU; on CuPy GEMMs TF32 is governed by CuPy's own setting
  (the ``CUPY_TF32`` environment variable), not by this flag.

``is_available()`` says whether cuDNN itself could be loaded through CuPy (informational).
"""
from __future__ import annotations

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available():
    """True when CuPy is installed, sees a GPU and can load cuDNN."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return False
        from cupy.cuda import cudnn  # noqa: F401
    except Exception:  # noqa: BLE001 (any import or driver failure means "not available")
        return False
    return True


def version():
    """cuDNN's version number, or None when it is not available."""
    if not is_available():
        return None
    from cupy.cuda import cudnn
    return cudnn.getVersion()


__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "is_available", "version"]
