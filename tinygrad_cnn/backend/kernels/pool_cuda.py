"""pool kernels, CUDA versions (see backend/kernels/__init__.py). CuPy is imported inside
the functions, so this module imports on a machine without CuPy."""
__all__: list = []
