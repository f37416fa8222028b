"""Every CUDA source the kernels declare compiles to PTX with NVRTC, on a machine with no GPU
(needs the CuPy wheel and NVRTC: pip install cupy-cuda12x nvidia-cuda-nvrtc-cu12)."""
import importlib
import pkgutil

import pytest

from tinygrad_cnn.backend import kernels
from tinygrad_cnn.backend.kernels import cuda_source


def _nvrtc_or_skip():
    try:
        from cupy.cuda import nvrtc
        nvrtc.getVersion()
    except Exception as exc:  # no CuPy wheel, or no NVRTC library
        pytest.skip(f"NVRTC not available: {exc}")


def _load_all_families():
    for info in pkgutil.iter_modules(kernels.__path__):
        if info.name.endswith("_cuda"):
            importlib.import_module(f"{kernels.__name__}.{info.name}")
    return dict(cuda_source.SOURCES)


def test_every_source_compiles_to_ptx():
    _nvrtc_or_skip()
    sources = _load_all_families()
    for src in sources.values():
        ptx = cuda_source.compile_to_ptx(src)
        assert ".entry" in ptx, src.name


def test_a_broken_source_is_reported_with_the_compiler_log():
    _nvrtc_or_skip()
    bad = cuda_source.CudaSource("test.broken", 'extern "C" __global__ void k() { oops; }')
    with pytest.raises(RuntimeError, match=r"(?s)NVRTC failed on test.broken.*oops"):
        cuda_source.compile_to_ptx(bad)
