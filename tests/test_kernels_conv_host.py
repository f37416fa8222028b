"""The conv CUDA kernels' own source, compiled for the CPU and run: with no GPU here, this
executes the exact C++ the GPU will (its index arithmetic, loops, bounds tests and 64-bit
types), one (block, thread) at a time, against NumPy's kernels.

A prelude turns the CUDA keywords into plain C++ (``__global__`` and ``__device__`` vanish;
``blockIdx``, ``threadIdx``, ``blockDim``, ``gridDim`` become globals a driver loop sets), and
``TG_HOST_BUILD`` leaves out the float16 accumulator, whose conversions are PTX assembly.
A small grid (3 blocks of 5 threads) makes every thread take many turns of the grid-stride
loop. Skipped without a C++ compiler.
"""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from test_kernels_conv import CASE_IDS, CASES, _geometry, _x
from tinygrad_cnn.backend import numpy_backend
from tinygrad_cnn.backend.kernels import conv_cuda

_PRELUDE = """
#define __global__
#define __device__
#define TG_HOST_BUILD
struct TgDim { unsigned int x; };
static TgDim blockIdx, threadIdx, blockDim, gridDim;
"""

_NARGS = {"im2col": 29, "col2im": 24}     # scalar arguments after the two pointers


def _driver(kernel, ctype, itype):
    args = ", ".join(f"({itype})a[{i}]" for i in range(_NARGS[kernel]))
    return f"""
extern "C" void {kernel}_{_suffix(ctype, itype)}(const {ctype}* src, {ctype}* dst,
                                  const long long* a,
                                  unsigned int blocks, unsigned int threads) {{
    gridDim.x = blocks; blockDim.x = threads;
    for (unsigned int b = 0; b < blocks; ++b)
        for (unsigned int t = 0; t < threads; ++t) {{
            blockIdx.x = b; threadIdx.x = t;
            tg_{kernel}<{ctype}, {itype}>(src, dst, {args});
        }}
}}
"""


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler to build the CUDA source for the host")
    code = _PRELUDE + conv_cuda.SOURCE.code + "".join(
        _driver(k, t, i) for k in _NARGS for t in ("float", "double") for i in conv_cuda.ITYPES)
    path = tmp_path_factory.mktemp("conv_host")
    (path / "conv.cpp").write_text(code)
    subprocess.run([cxx, "-std=c++17", "-O1", "-shared", "-fPIC", "-o", str(path / "conv.so"),
                    str(path / "conv.cpp")], check=True, capture_output=True)
    return ctypes.CDLL(str(path / "conv.so"))


def _suffix(ctype, itype):
    return ctype + "_" + itype.replace(" ", "")


def _run(lib, kernel, src, out, args, itype):
    fn = getattr(lib, f"{kernel}_{_suffix(conv_cuda.CTYPES[out.dtype.name], itype)}")
    a = np.array([int(v) for v in args], dtype=np.int64)
    fn(ctypes.c_void_p(src.ctypes.data), ctypes.c_void_p(out.ctypes.data),
       ctypes.c_void_p(a.ctypes.data), ctypes.c_uint(3), ctypes.c_uint(5))
    return out


@pytest.mark.parametrize("itype", conv_cuda.ITYPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed,layout", CASES, ids=CASE_IDS)
def test_cuda_source_run_on_the_host_matches_numpy(host_lib, seed, layout, dtype, itype):
    shape, k, st, pad, d, rows = _geometry(seed, layout=layout)
    base = _x((shape[0] + 2, shape[1] * 2) + shape[2:], seed, dtype)
    x = base[1:1 + shape[0], ::-2]               # strided and reversed: read via its strides
    cshape, _, args = conv_cuda.im2col_args(x.shape, [v // x.itemsize for v in x.strides],
                                            k, st, pad, d, rows)
    cols = _run(host_lib, "im2col", x, np.full(cshape, np.nan, dtype), args, itype)
    np.testing.assert_array_equal(cols, numpy_backend.im2col(x, k, st, pad, d, rows))
    g = _x(cshape, seed + 1, dtype)
    zshape, _, args = conv_cuda.col2im_args(g.shape, shape[2:], k, st, pad, d)
    z = _run(host_lib, "col2im", g, np.full(zshape, np.nan, dtype), args, itype)
    # the same additions in the same (tap) order as NumPy's: bitwise equal
    np.testing.assert_array_equal(z, numpy_backend.col2im(g.copy(), shape[2:], k, st, pad, d))
