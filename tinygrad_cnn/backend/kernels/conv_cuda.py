"""conv kernels, CUDA versions (see backend/kernels/__init__.py). CuPy is imported inside
the functions, so this module imports on a machine without CuPy.

The column format and the two functions' contracts are in ``conv_numpy``'s docstring; here
each is one launch of a grid-stride kernel over its *output* elements. Indices are ``int``
where every one of the launch fits (the common case: 64-bit division is several times
slower on a GPU) and ``long long`` past that, so arrays beyond 2³¹ elements work:

* ``im2col``: one thread per column element (c, t, j, a) reads its x cell, or writes 0 for a
  padding cell or a position beyond the output. x is read through its strides, so a
  non-contiguous batch slice needs no copy.
* ``col2im`` in gather form: one thread per x cell sums, in row-major tap order, the
  columns of the taps whose window covers it. No atomics, so the result is deterministic
  (and in float32/float64 the same additions in the same order as NumPy's per-tap adds).

Geometry is passed as scalars with the spatial dims padded to three (leading dims of size
1), so one compiled kernel per dtype serves 1-D, 2-D and 3-D. float16 travels as its bits
(``unsigned short``): im2col only moves them; col2im converts to float with PTX ``cvt``
(no cuda_fp16.h, which NVRTC alone cannot find), sums in float and rounds once.
"""
from __future__ import annotations

import math

import numpy as np

from .conv_numpy import check_cols, check_rows, conv_out_size
from .cuda_source import get_kernel, register_source

__all__ = ["cols_budget", "im2col", "col2im"]

_CODE = r"""
template <typename T> struct Acc {            // the accumulator type and its conversions
    typedef T type;
    __device__ static T load(T v) { return v; }
    __device__ static T store(T v) { return v; }
};
#ifndef TG_HOST_BUILD   // (tests/test_kernels_conv_host.py runs the float kernels on the CPU)
template <> struct Acc<unsigned short> {      // float16 bits, summed in float
    typedef float type;
    __device__ static float load(unsigned short h) {
        float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f;
    }
    __device__ static unsigned short store(float f) {
        unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h;
    }
};
#endif

// cols (C, K0, K1, K2, M, R0, R1, R2) from x (M, C, S0, S1, S2) read through its strides.
template <typename T, typename I>
__global__ void tg_im2col(const T* __restrict__ x, T* __restrict__ cols, const I total,
        const I C, const I M,
        const I xsm, const I xsc,
        const I xs0, const I xs1, const I xs2,
        const I S0, const I S1, const I S2,
        const I K0, const I K1, const I K2,
        const I ST0, const I ST1, const I ST2,
        const I PB0, const I PB1, const I PB2,
        const I D0, const I D1, const I D2,
        const I O0, const I O1, const I O2,
        const I R0, const I R1, const I R2) {
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (I)gridDim.x * blockDim.x) {
        I r = i;
        const I a2 = r % R2; r /= R2;
        const I a1 = r % R1; r /= R1;
        const I a0 = r % R0; r /= R0;
        const I j = r % M; r /= M;
        const I t2 = r % K2; r /= K2;
        const I t1 = r % K1; r /= K1;
        const I t0 = r % K0;
        const I c = r / K0;
        const I h0 = a0 * ST0 + t0 * D0 - PB0;
        const I h1 = a1 * ST1 + t1 * D1 - PB1;
        const I h2 = a2 * ST2 + t2 * D2 - PB2;
        T v = T(0);
        if (a0 < O0 && a1 < O1 && a2 < O2 && h0 >= 0 && h0 < S0 && h1 >= 0 && h1 < S1 &&
            h2 >= 0 && h2 < S2)
            v = x[j * xsm + c * xsc + h0 * xs0 + h1 * xs1 + h2 * xs2];
        cols[i] = v;
    }
}

// z (M, C, S0, S1, S2), contiguous, from gcols (C, K0, K1, K2, M, R0, R1, R2), contiguous.
template <typename T, typename I>
__global__ void tg_col2im(const T* __restrict__ gcols, T* __restrict__ z, const I total,
        const I C, const I M,
        const I S0, const I S1, const I S2,
        const I K0, const I K1, const I K2,
        const I ST0, const I ST1, const I ST2,
        const I PB0, const I PB1, const I PB2,
        const I D0, const I D1, const I D2,
        const I O0, const I O1, const I O2,
        const I R0, const I R1, const I R2) {
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (I)gridDim.x * blockDim.x) {
        I r = i;
        const I h2 = r % S2; r /= S2;
        const I h1 = r % S1; r /= S1;
        const I h0 = r % S0; r /= S0;
        const I c = r % C;
        const I j = r / C;
        typename Acc<T>::type acc = 0;
        // tap t reads cell h from position a = (h + pb - t·d) / st, when that divides
        // exactly and 0 <= a < o; the offset only shrinks as t grows, so stop below 0
        for (I t0 = 0; t0 < K0; ++t0) {
            const I p0 = h0 + PB0 - t0 * D0;
            if (p0 < 0) break;
            if (p0 % ST0 || p0 / ST0 >= O0) continue;
            for (I t1 = 0; t1 < K1; ++t1) {
                const I p1 = h1 + PB1 - t1 * D1;
                if (p1 < 0) break;
                if (p1 % ST1 || p1 / ST1 >= O1) continue;
                for (I t2 = 0; t2 < K2; ++t2) {
                    const I p2 = h2 + PB2 - t2 * D2;
                    if (p2 < 0) break;
                    if (p2 % ST2 || p2 / ST2 >= O2) continue;
                    const I row = ((c * K0 + t0) * K1 + t1) * K2 + t2;
                    const I at = (((row * M + j) * R0 + p0 / ST0) * R1 + p1 / ST1) * R2
                                         + p2 / ST2;
                    acc += Acc<T>::load(gcols[at]);
                }
            }
        }
        z[i] = Acc<T>::store(acc);
    }
}
"""

# the C type each supported dtype travels as (float16 as its bits, see the docstring)
CTYPES = {"float16": "unsigned short", "float32": "float", "float64": "double"}
# the index type: int where every index fits (64-bit division costs several times 32-bit's
# on a GPU, and im2col is all divisions), long long past that
ITYPES = ("int", "long long")
SOURCE = register_source(
    "conv.columns", _CODE,
    name_expressions=tuple(f"tg_{k}<{t}, {i}>" for k in ("im2col", "col2im")
                           for t in CTYPES.values() for i in ITYPES))

_THREADS = 256
_MAX_BLOCKS = 1 << 20   # the grid-stride loop covers the rest
_COLS_BYTES = 2 << 30   # columns per pass: 2 GiB (ResNet-18's largest conv at batch 256: 1.9 GB)


def _free_bytes():
    """Device memory a pass may take: the driver's free memory plus CuPy's pooled blocks."""
    import cupy
    free, _total = cupy.cuda.runtime.memGetInfo()
    return free + cupy.get_default_memory_pool().free_bytes()


def cols_budget(dtype) -> int:
    """Column elements per conv pass: min(2 GiB, a quarter of free device memory), so that
    a GPU conv layer is one GEMM per group instead of thousands of cache-sized chunks (the
    CPU's budget); the quarter leaves room for the output, gy's columns and col2im."""
    return max(1, min(_COLS_BYTES, _free_bytes() // 4) // np.dtype(dtype).itemsize)


def _ctype(op, dtype):
    name = np.dtype(dtype).name
    if name not in CTYPES:
        raise TypeError(f"{op}: CUDA kernel for dtype {name} not available "
                        f"(float16, float32, float64)")
    return CTYPES[name]


def _dims3(values, fill):
    """A per-dim tuple padded in front to three dims (1-D and 2-D run as 3-D)."""
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def _geometry(s, k, st, pad, d, o, rows):
    """The kernels' shared scalar arguments S, K, ST, PB, D, O, R (three each)."""
    dims = [(s, 1), (k, 1), (st, 1), ([p[0] for p in pad], 0), (d, 1), (o, 1), (rows, 1)]
    return [v for values, fill in dims for v in _dims3(values, fill)]


# int indices need every index, and a grid-stride step past the last one, below 2³¹
_INT_LIMIT = (1 << 31) - 1 - _MAX_BLOCKS * _THREADS


def index_type(extent):
    """("int", np.int32) when every index of a launch (all below ``extent``) fits in an int,
    else ("long long", np.int64)."""
    return ("int", np.int32) if extent < _INT_LIMIT else ("long long", np.int64)


def _span(shape, strides):
    """How many elements past its first one an array's strides reach (its index extent)."""
    return 1 + sum(abs(st) * (n - 1) for n, st in zip(shape, strides) if n > 0)


def _launch(kernel, total, args):
    blocks = min((total + _THREADS - 1) // _THREADS, _MAX_BLOCKS)
    kernel((blocks,), (_THREADS,), tuple(args))


def im2col_args(shape, strides, k, st, pad, d, rows):
    """For x of ``shape`` and element ``strides``: the columns' shape, the index extent and
    the kernel's scalar arguments after its two pointers (total, C, M, x strides, geometry),
    as ints. Pure Python, so the tests run the kernel's index math on them without a GPU."""
    s, k, rows = tuple(shape[2:]), tuple(k), tuple(rows)
    o = conv_out_size(s, k, st, pad, d)
    check_rows("im2col", rows, o)
    m, c = shape[:2]
    out_shape = (c,) + k + (m,) + rows
    total = math.prod(out_shape)
    xst = [int(v) for v in strides[:2]] + list(_dims3(strides[2:], 0))
    # a window's coordinate a·st + t·d stays below the padded size
    extent = max(total, _span(shape, strides), *(si + pb + pa for si, (pb, pa) in zip(s, pad)))
    return out_shape, extent, [total, c, m] + xst + _geometry(s, k, st, pad, d, o, rows)


def col2im_args(gcols_shape, s, k, st, pad, d):
    """For gcols (c, *k, m, *rows), contiguous: z's shape, the index extent and the gather
    kernel's scalar arguments after its two pointers (total, C, M, geometry)."""
    s, k = tuple(s), tuple(k)
    nd = len(k)
    check_cols(gcols_shape, k)
    o = conv_out_size(s, k, st, pad, d)
    rows = tuple(gcols_shape[-nd:])
    check_rows("col2im", rows, o)
    c, m = gcols_shape[0], gcols_shape[nd + 1]
    out_shape = (m, c) + s
    total = math.prod(out_shape)
    extent = max(total, math.prod(gcols_shape), *(si + pb + pa for si, (pb, pa) in zip(s, pad)))
    return out_shape, extent, [total, c, m] + _geometry(s, k, st, pad, d, o, rows)


def im2col(x, k, st, pad, d, rows):
    """x (m, c, *s) -> columns (c, *k, m, *rows), one launch (contract in conv_numpy)."""
    import cupy
    ctype = _ctype("im2col", x.dtype)
    shape, extent, args = im2col_args(x.shape, [v // x.itemsize for v in x.strides],
                                      k, st, pad, d, rows)
    cols = cupy.empty(shape, dtype=x.dtype)
    if cols.size:
        itype, np_itype = index_type(extent)
        _launch(get_kernel("conv.columns", f"tg_im2col<{ctype}, {itype}>"), cols.size,
                [x, cols] + [np_itype(v) for v in args])
    return cols


def col2im(gcols, s, k, st, pad, d):
    """gcols (c, *k, m, *rows) -> (m, c, *s) contiguous, one gather launch (no atomics)."""
    import cupy
    ctype = _ctype("col2im", gcols.dtype)
    shape, extent, args = col2im_args(gcols.shape, s, k, st, pad, d)
    gcols = cupy.ascontiguousarray(gcols)
    z = cupy.empty(shape, dtype=gcols.dtype)
    if z.size:
        itype, np_itype = index_type(extent)
        _launch(get_kernel("conv.columns", f"tg_col2im<{ctype}, {itype}>"), z.size,
                [gcols, z] + [np_itype(v) for v in args])
    return z
