"""CUDA C sources of the kernels: declared once, compiled lazily, checkable without a GPU.

A family module declares each source with :func:`register_source` (its C++ code and the
template instantiations / kernel names it exports). At run time :func:`get_kernel` compiles the
source once per device with ``cupy.RawModule`` and returns the kernel; tests compile every
registered source to PTX with NVRTC alone (``cupy.cuda.nvrtc`` needs no driver), so a syntax
or template error shows on a CPU-only machine.
"""
from __future__ import annotations

from dataclasses import dataclass

# Options every source is compiled with. 64-bit indices are the kernels' own business
# (they index with long long); -std=c++17 for `if constexpr` in the templates.
OPTIONS = ("--std=c++17",)


@dataclass(frozen=True)
class CudaSource:
    name: str                      # unique, e.g. "conv.im2col"
    code: str                      # CUDA C++ source
    name_expressions: tuple = ()   # template instantiations, e.g. ("im2col<float>",)
    options: tuple = OPTIONS


SOURCES: dict = {}
_modules: dict = {}


def register_source(name, code, name_expressions=(), options=OPTIONS) -> CudaSource:
    """Declare a CUDA source; ``name_expressions`` lists the kernels callers will fetch
    (template instantiations in full, plain ``extern "C"`` names otherwise)."""
    if name in SOURCES:
        raise ValueError(f"cuda_source: a source named {name!r} is already registered")
    src = CudaSource(name, code, tuple(name_expressions), tuple(options))
    SOURCES[name] = src
    return src


def get_kernel(source_name, kernel_name):
    """The compiled ``cupy.RawKernel`` ``kernel_name`` of the source (compiled once per
    device on first use; CuPy also caches the binary on disk)."""
    import cupy
    dev = cupy.cuda.Device().id
    key = (source_name, dev)
    module = _modules.get(key)
    if module is None:
        src = SOURCES[source_name]
        module = cupy.RawModule(code=src.code, options=src.options,
                                name_expressions=src.name_expressions or None)
        _modules[key] = module
    return module.get_function(kernel_name)


def compile_to_ptx(src: CudaSource, arch="compute_80") -> str:
    """Compile ``src`` with NVRTC alone (no GPU or driver needed) and return the PTX;
    raises RuntimeError with the compiler log on failure."""
    from cupy.cuda import nvrtc
    prog = nvrtc.createProgram(src.code, src.name + ".cu", [], [])
    try:
        for expr in src.name_expressions:
            nvrtc.addNameExpression(prog, expr)
        options = list(src.options) + [f"--gpu-architecture={arch}"]
        try:
            nvrtc.compileProgram(prog, options)
        except nvrtc.NVRTCError as exc:
            log = nvrtc.getProgramLog(prog)
            raise RuntimeError(f"NVRTC failed on {src.name}: {exc}\n{log}") from None
        for expr in src.name_expressions:
            nvrtc.getLoweredName(prog, expr)  # raises if the instantiation is missing
        ptx = nvrtc.getPTX(prog)
        return ptx.decode() if isinstance(ptx, bytes) else ptx
    finally:
        nvrtc.destroyProgram(prog)
