"""Every CUDA source the kernels declare compiles to PTX with NVRTC, on a machine with no GPU
(needs the CuPy wheel and NVRTC: pip install cupy-cuda12x nvidia-cuda-nvrtc-cu12)."""
import importlib
import pkgutil
import re

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


def _ptx(src):
    ptx = cuda_source.compile_to_ptx(src)
    return ptx.decode() if isinstance(ptx, bytes) else ptx   # NVRTC hands back bytes


def test_every_source_compiles_to_ptx():
    _nvrtc_or_skip()
    sources = _load_all_families()
    for src in sources.values():
        assert ".entry" in _ptx(src), src.name


def test_the_conv_sources_are_registered_with_every_dtype():
    """im2col and col2im, each for float16 (as its bits), float32 and float64, with int and
    long long indices."""
    sources = _load_all_families()
    assert "conv.columns" in sources
    want = {f"tg_{k}<{t}, {i}>" for k in ("im2col", "col2im")
            for t in ("unsigned short", "float", "double") for i in ("int", "long long")}
    assert set(sources["conv.columns"].name_expressions) == want
    _nvrtc_or_skip()
    entries = re.findall(r"\.entry\s+(\w+)", _ptx(sources["conv.columns"]))
    # the mangled names: _Z9tg_im2colIfiEv... (f float, d double, t unsigned short; i int,
    # x long long)
    assert sorted(e[:15] for e in entries) == sorted(
        f"_Z9tg_{k}I{t}{i}" for k in ("col2im", "im2col") for t in "dft" for i in "ix")


def test_a_broken_source_is_reported_with_the_compiler_log():
    _nvrtc_or_skip()
    bad = cuda_source.CudaSource("test.broken", 'extern "C" __global__ void k() { oops; }')
    with pytest.raises(RuntimeError, match=r"(?s)NVRTC failed on test.broken.*oops"):
        cuda_source.compile_to_ptx(bad)
