"""Backend kernels, one module pair per op family.

``<family>_numpy.py`` holds the NumPy version of each kernel (the CPU code, vectorised) and
``<family>_cuda.py`` the CuPy version: CUDA C sources compiled lazily with
``cupy.RawModule`` / ``ElementwiseKernel`` on first use. ``numpy_backend`` and
``cupy_backend`` re-export them under the same names, so an op calls
``backend_of(x).<kernel>(...)`` and never asks which library it runs on. The test-only fake
device runs the NumPy versions (tests/fake_backend.py).

CUDA sources are declared with :func:`cuda_source.register_source`, so that a test can compile
every source and template instantiation to PTX with NVRTC on a machine with no GPU
(tests/test_cuda_sources.py).
"""
