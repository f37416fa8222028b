"""``tg.cuda``: is a CUDA device usable here?"""
from .backend import cuda_device_count, cuda_is_available


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return cuda_is_available()


def device_count() -> int:
    """Number of GPUs CuPy sees (0 without CuPy)."""
    return cuda_device_count()
