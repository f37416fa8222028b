"""pool kernels, CUDA versions (see backend/kernels/__init__.py). CuPy is imported inside
the functions, so this module imports on a machine without CuPy.

Same names, arguments and results as pool_numpy.py; each call is one kernel launch (plus the
output allocation; a zero fill only for the flat-index scatter). Every kernel is templated
on float/double (float16 runs in float32 and is rounded back: max is exact, sums are better
rounded), handles 1-3-D by treating missing leading spatial dims as size 1, and indexes with
``long long`` in grid-stride loops, so arrays past 2**31 elements are fine.

* max-pool forward: one thread per output; taps in row-major order; a padded cell is never
  read (it is -inf, and must never win); the first real tap is taken, then a strictly greater
  value (until a NaN is seen) or a NaN replaces it: first maximum, NaN counts as the maximum
  at the window's last NaN (PyTorch), an all -inf window names its first real cell
  (pool_numpy.max_pool_taps).
* the adjoints (max-pool scatter, avg-pool adjoint) in *gather* form: one thread per input
  cell visits the windows that contain it (taps in the same order as the NumPy version adds
  them), so overlapping windows need no atomics and the result is deterministic.
* the flat-index scatter (adaptive max pooling's backward, unpooling) uses atomicAdd when
  accumulating: its indices are arbitrary, so no gather form exists without a sort; the sum's
  order (not its terms) can differ between runs. Out-of-range indices (checked by the
  callers) are skipped by the scatter and read as NaN by the gather, never out of bounds.
"""
from __future__ import annotations

import math

import numpy as np

from .cuda_source import get_kernel, register_source
from .pool_numpy import tap_dtype  # a pure function of the tap count: shared

__all__ = ["max_pool_forward", "max_pool_indices", "max_pool_scatter", "max_pool_gather",
           "pool_gather_planes", "pool_scatter_planes", "avg_pool_forward",
           "avg_pool_adjoint"]

_CODE = r"""
#define GEOM long long nc, long long s0, long long s1, long long s2, \
    long long o0, long long o1, long long o2, long long k0, long long k1, long long k2, \
    long long t0, long long t1, long long t2, long long p0, long long p1, long long p2, \
    long long d0, long long d1, long long d2
#define GRID_LOOP(i, n) \
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)
// i -> (plane, c0, c1, c2) over extents (e0, e1, e2)
#define SPLIT(i, e0, e1, e2) long long r_ = (i); long long c2 = r_ % (e2); r_ /= (e2); \
    long long c1 = r_ % (e1); r_ /= (e1); long long c0 = r_ % (e0); long long plane = r_ / (e0);

template <typename T> __device__ __forceinline__ T neg_inf();
template <> __device__ __forceinline__ float neg_inf<float>() {
    return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double neg_inf<double>() {
    return __longlong_as_double(0xfff0000000000000ULL); }
template <typename T> __device__ __forceinline__ T nan_value();
template <> __device__ __forceinline__ float nan_value<float>() {
    return __int_as_float(0x7fc00000); }
template <> __device__ __forceinline__ double nan_value<double>() {
    return __longlong_as_double(0x7ff8000000000000ULL); }

// the output window q (along one dim) that reads input cell i at tap a, or -1
__device__ __forceinline__ long long window_of(long long i, long long a, long long t,
                                               long long p, long long d, long long o) {
    long long num = i + p - a * d;
    if (num < 0 || num % t != 0) return -1;
    long long q = num / t;
    return q < o ? q : -1;
}

template <typename T, typename A>
__global__ void max_pool_fwd(const T* __restrict__ x, T* __restrict__ y, A* __restrict__ arg,
                             GEOM) {
    GRID_LOOP(i, nc * o0 * o1 * o2) {
        SPLIT(i, o0, o1, o2)
        const T* xs = x + plane * s0 * s1 * s2;
        T best = neg_inf<T>();
        long long bt = -1;
        bool nan_seen = false;
        for (long long a = 0; a < k0; ++a) {
            long long i0 = c0 * t0 - p0 + a * d0;
            if (i0 < 0 || i0 >= s0) continue;  // padding: never read, never wins
            for (long long b = 0; b < k1; ++b) {
                long long i1 = c1 * t1 - p1 + b * d1;
                if (i1 < 0 || i1 >= s1) continue;
                for (long long e = 0; e < k2; ++e) {
                    long long i2 = c2 * t2 - p2 + e * d2;
                    if (i2 < 0 || i2 >= s2) continue;
                    T v = xs[(i0 * s1 + i1) * s2 + i2];
                    bool v_nan = v != v;
                    // first real tap; then a strictly greater value, or any NaN (the
                    // last NaN is named, as PyTorch's `val > maxval || isnan(val)`)
                    if (bt < 0 || v_nan || (!nan_seen && v > best)) {
                        best = v; bt = (a * k1 + b) * k2 + e; nan_seen = nan_seen || v_nan;
                    }
                }
            }
        }
        y[i] = best;
        arg[i] = (A)(bt < 0 ? 0 : bt);
    }
}

template <typename A>
__global__ void max_pool_idx(const A* __restrict__ arg, long long* __restrict__ out, GEOM) {
    GRID_LOOP(i, nc * o0 * o1 * o2) {
        SPLIT(i, o0, o1, o2)
        long long tap = (long long)arg[i];
        long long e = tap % k2, b = (tap / k2) % k1, a = tap / (k1 * k2);
        // clamped onto the plane, as PyTorch names an all -inf window's cell
        long long i0 = min(max(c0 * t0 - p0 + a * d0, 0LL), s0 - 1);
        long long i1 = min(max(c1 * t1 - p1 + b * d1, 0LL), s1 - 1);
        long long i2 = min(max(c2 * t2 - p2 + e * d2, 0LL), s2 - 1);
        out[i] = (i0 * s1 + i1) * s2 + i2;
    }
}

template <typename T, typename A>
__global__ void max_pool_bwd(const T* __restrict__ g, const A* __restrict__ arg,
                             T* __restrict__ gx, GEOM) {
    GRID_LOOP(i, nc * s0 * s1 * s2) {
        SPLIT(i, s0, s1, s2)
        T acc = 0;
        for (long long a = 0; a < k0; ++a) {
            long long q0 = window_of(c0, a, t0, p0, d0, o0);
            if (q0 < 0) continue;
            for (long long b = 0; b < k1; ++b) {
                long long q1 = window_of(c1, b, t1, p1, d1, o1);
                if (q1 < 0) continue;
                for (long long e = 0; e < k2; ++e) {
                    long long q2 = window_of(c2, e, t2, p2, d2, o2);
                    if (q2 < 0) continue;
                    long long oi = ((plane * o0 + q0) * o1 + q1) * o2 + q2;
                    if ((long long)arg[oi] == (a * k1 + b) * k2 + e) acc += g[oi];
                }
            }
        }
        gx[i] = acc;
    }
}

template <typename T, typename A>
__global__ void max_pool_gat(const T* __restrict__ x, const A* __restrict__ arg,
                             T* __restrict__ y, GEOM) {
    GRID_LOOP(i, nc * o0 * o1 * o2) {
        SPLIT(i, o0, o1, o2)
        long long tap = (long long)arg[i];
        long long e = tap % k2, b = (tap / k2) % k1, a = tap / (k1 * k2);
        long long i0 = c0 * t0 - p0 + a * d0, i1 = c1 * t1 - p1 + b * d1,
                  i2 = c2 * t2 - p2 + e * d2;
        bool real = i0 >= 0 && i0 < s0 && i1 >= 0 && i1 < s1 && i2 >= 0 && i2 < s2;
        y[i] = real ? x[plane * s0 * s1 * s2 + (i0 * s1 + i1) * s2 + i2] : (T)0;
    }
}

template <typename T>
__global__ void avg_pool_fwd(const T* __restrict__ x, const T* __restrict__ div,
                             T* __restrict__ y, GEOM) {
    GRID_LOOP(i, nc * o0 * o1 * o2) {
        SPLIT(i, o0, o1, o2)
        const T* xs = x + plane * s0 * s1 * s2;
        T acc = 0;  // padded cells are zeros: skipped
        for (long long a = 0; a < k0; ++a) {
            long long i0 = c0 * t0 - p0 + a;
            if (i0 < 0 || i0 >= s0) continue;
            for (long long b = 0; b < k1; ++b) {
                long long i1 = c1 * t1 - p1 + b;
                if (i1 < 0 || i1 >= s1) continue;
                for (long long e = 0; e < k2; ++e) {
                    long long i2 = c2 * t2 - p2 + e;
                    if (i2 < 0 || i2 >= s2) continue;
                    acc += xs[(i0 * s1 + i1) * s2 + i2];
                }
            }
        }
        y[i] = acc / div[(c0 * o1 + c1) * o2 + c2];
    }
}

template <typename T>
__global__ void avg_pool_bwd(const T* __restrict__ g, const T* __restrict__ div,
                             T* __restrict__ gx, GEOM) {
    GRID_LOOP(i, nc * s0 * s1 * s2) {
        SPLIT(i, s0, s1, s2)
        T acc = 0;
        for (long long a = 0; a < k0; ++a) {
            long long q0 = window_of(c0, a, t0, p0, 1, o0);
            if (q0 < 0) continue;
            for (long long b = 0; b < k1; ++b) {
                long long q1 = window_of(c1, b, t1, p1, 1, o1);
                if (q1 < 0) continue;
                for (long long e = 0; e < k2; ++e) {
                    long long q2 = window_of(c2, e, t2, p2, 1, o2);
                    if (q2 < 0) continue;
                    long long q = (q0 * o1 + q1) * o2 + q2;
                    acc += g[plane * o0 * o1 * o2 + q] / div[q];
                }
            }
        }
        gx[i] = acc;
    }
}

// by flat plane position: rows of `per_row` entries, planes of `plane` cells
template <typename T>
__global__ void planes_gather(const T* __restrict__ x, const long long* __restrict__ idx,
                              T* __restrict__ y, long long per_row, long long plane,
                              long long total) {
    GRID_LOOP(i, total) {
        long long j = idx[i];
        y[i] = (j >= 0 && j < plane) ? x[(i / per_row) * plane + j] : nan_value<T>();
    }
}

template <typename T>
__global__ void planes_scatter(const T* __restrict__ g, const long long* __restrict__ idx,
                               T* __restrict__ out, long long per_row, long long plane,
                               long long total, int accumulate) {
    GRID_LOOP(i, total) {
        long long j = idx[i];
        if (j < 0 || j >= plane) continue;
        T* cell = out + (i / per_row) * plane + j;
        if (accumulate) atomicAdd(cell, g[i]); else *cell = g[i];
    }
}
"""

_T = {"float32": "float", "float64": "double"}
_A = {"int8": "signed char", "int16": "short", "int32": "int"}


def _names():
    out = []
    for t in _T.values():
        out += [f"avg_pool_fwd<{t}>", f"avg_pool_bwd<{t}>", f"planes_gather<{t}>",
                f"planes_scatter<{t}>"]
        out += [f"{k}<{t}, {a}>" for k in ("max_pool_fwd", "max_pool_bwd", "max_pool_gat")
                for a in _A.values()]
    return out + [f"max_pool_idx<{a}>" for a in _A.values()]


SOURCE = register_source("pool", _CODE, _names())
_BLOCK = 256
_MAX_GRID = 1 << 20  # grid-stride loops cover the rest


def _launch(kernel, total, args):
    if total == 0:
        return
    grid = min((total + _BLOCK - 1) // _BLOCK, _MAX_GRID)
    get_kernel("pool", kernel)((grid,), (_BLOCK,), args)


def _geom(nc, s, o, k, st, p, d):
    """The 19 scalar geometry arguments, spatial dims padded to 3 at the front."""
    pad = 3 - len(k)
    dims = [(1,) * pad + tuple(v) for v in (s, o, k, st)] + \
        [(0,) * pad + tuple(p), (1,) * pad + tuple(d)]
    return (np.int64(nc),) + tuple(np.int64(v) for dim in dims for v in dim)


def _float(a):
    """(a as float32/float64 contiguous, dtype to give back): float16 runs in float32."""
    import cupy
    dt = str(a.dtype)
    if dt in _T:
        return cupy.ascontiguousarray(a), None
    if dt != "float16":
        raise TypeError(f"pool kernels (CUDA): expected float16/32/64 data, got {dt}")
    return a.astype("float32"), a.dtype


def _back(a, dtype):
    return a if dtype is None else a.astype(dtype)


def _divisor(divisor, o, dtype):
    import cupy
    if isinstance(divisor, (int, float, np.integer, np.floating)):
        return cupy.full(tuple(o), divisor, dtype=dtype)
    div = cupy.asarray(divisor).astype(dtype, copy=False)
    return cupy.ascontiguousarray(cupy.broadcast_to(div, tuple(o)))


def max_pool_forward(x, k, st, p, pr, d, o):  # noqa: ARG001  (pr: bounds are checked instead)
    """(y, arg): window maxima (n, c, *o) and the winning tap of each; see the module doc."""
    import cupy
    x, back = _float(x)
    n, c = x.shape[:2]
    y = cupy.empty((n, c) + tuple(o), dtype=x.dtype)
    adt = tap_dtype(math.prod(k))
    arg = cupy.empty(y.shape, dtype=adt)
    _launch(f"max_pool_fwd<{_T[str(x.dtype)]}, {_A[adt]}>", y.size,
            (x, y, arg) + _geom(n * c, x.shape[2:], o, k, st, p, d))
    return _back(y, back), arg


def max_pool_indices(arg, s, k, st, p, d):
    """Flat positions (int64) in each (n, c, *s) plane from tap numbers (return_indices)."""
    import cupy
    arg = cupy.ascontiguousarray(arg)
    out = cupy.empty(arg.shape, dtype="int64")
    n, c = arg.shape[:2]
    _launch(f"max_pool_idx<{_A[str(arg.dtype)]}>", out.size,
            (arg, out) + _geom(n * c, s, arg.shape[2:], k, st, p, d))
    return out


def max_pool_scatter(g, arg, k, st, p, pr, d, size):  # noqa: ARG001
    """(n, c, *size): each g (n, c, *o) added at its window's chosen tap (gather form)."""
    import cupy
    g, back = _float(g)
    arg = cupy.ascontiguousarray(arg)
    n, c = g.shape[:2]
    out = cupy.empty((n, c) + tuple(size), dtype=g.dtype)
    _launch(f"max_pool_bwd<{_T[str(g.dtype)]}, {_A[str(arg.dtype)]}>", out.size,
            (g, arg, out) + _geom(n * c, size, g.shape[2:], k, st, p, d))
    return _back(out, back)


def max_pool_gather(x, arg, k, st, p, pr, d):  # noqa: ARG001
    """Each window's chosen tap read from x (n, c, *s) -> (n, c, *o), padding reads 0."""
    import cupy
    x, back = _float(x)
    arg = cupy.ascontiguousarray(arg)
    n, c = x.shape[:2]
    y = cupy.empty(arg.shape, dtype=x.dtype)
    _launch(f"max_pool_gat<{_T[str(x.dtype)]}, {_A[str(arg.dtype)]}>", y.size,
            (x, arg, y) + _geom(n * c, x.shape[2:], arg.shape[2:], k, st, p, d))
    return _back(y, back)


def pool_gather_planes(x, indices):
    """x (n, c, *s) read at flat plane positions ``indices`` (n, c, *o) -> (n, c, *o)."""
    import cupy
    x, back = _float(x)
    idx = cupy.ascontiguousarray(indices.astype("int64", copy=False))
    y = cupy.empty(idx.shape, dtype=x.dtype)
    per_row = math.prod(idx.shape[2:])
    _launch(f"planes_gather<{_T[str(x.dtype)]}>", y.size,
            (x, idx, y, np.int64(per_row), np.int64(math.prod(x.shape[2:])), np.int64(y.size)))
    return _back(y, back)


def pool_scatter_planes(g, indices, size, accumulate):
    """Zeros (n, c, *size) with g (n, c, *o) added (``accumulate``, atomics) or put."""
    import cupy
    g, back = _float(g)
    idx = cupy.ascontiguousarray(indices.astype("int64", copy=False))
    out = cupy.zeros(g.shape[:2] + tuple(size), dtype=g.dtype)
    per_row = math.prod(g.shape[2:])
    _launch(f"planes_scatter<{_T[str(g.dtype)]}>", g.size,
            (g, idx, out, np.int64(per_row), np.int64(math.prod(size)), np.int64(g.size),
             np.int32(bool(accumulate))))
    return _back(out, back)


def avg_pool_forward(x, divisor, k, st, p, pr, o):  # noqa: ARG001
    """Σ over each window of the zero-padded x / divisor (broadcastable to o) -> (n, c, *o)."""
    import cupy
    x, back = _float(x)
    n, c = x.shape[:2]
    y = cupy.empty((n, c) + tuple(o), dtype=x.dtype)
    div = _divisor(divisor, o, x.dtype)
    _launch(f"avg_pool_fwd<{_T[str(x.dtype)]}>", y.size,
            (x, div, y) + _geom(n * c, x.shape[2:], o, k, st, p, (1,) * len(k)))
    return _back(y, back)


def avg_pool_adjoint(g, divisor, k, st, p, pr, o, size):  # noqa: ARG001
    """(n, c, *size): each input cell gets g / divisor from every window that holds it."""
    import cupy
    g, back = _float(g)
    n, c = g.shape[:2]
    out = cupy.empty((n, c) + tuple(size), dtype=g.dtype)
    div = _divisor(divisor, o, g.dtype)
    _launch(f"avg_pool_bwd<{_T[str(g.dtype)]}>", out.size,
            (g, div, out) + _geom(n * c, size, o, k, st, p, (1,) * len(k)))
    return _back(out, back)
