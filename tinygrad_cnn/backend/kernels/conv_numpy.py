"""conv kernels, NumPy versions (see backend/kernels/__init__.py)."""
__all__: list = []
