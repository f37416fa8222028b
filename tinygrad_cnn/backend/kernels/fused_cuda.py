"""fused kernels, CUDA versions (see backend/kernels/__init__.py). CuPy is imported inside
the functions, so this module imports on a machine without CuPy.

One launch per call: an SGD or Adam/AdamW update of one parameter (state updated in place),
ReLU backward, cross-entropy forward (a warp per row) and backward (a thread per element).
Host numbers (learning rate, bias corrections, flags) are kernel arguments; nothing is read
back. Compiled with ``--fmad=false``: each update is then the same sequence of IEEE
operations as the NumPy version, so a float32 step gives the CPU's bits (sqrt and division
are correctly rounded by default); CUDA's exp/log (within 2 ulp) make cross-entropy agree to
round-off.

Bad class targets (and probabilities outside [0, 1], :func:`check_range`): a kernel cannot
raise, and a host check would wait for the GPU. A target outside [0, c) that is not
ignore_index makes its row's loss and gradient NaN (never a silently wrong number) and is
counted per device; :func:`check_device_errors` reads the counters and raises ValueError
naming the op, at ``tg.cuda.synchronize()``, ``.item()``, ``.numpy()`` (where the host waits
anyway), or after every such kernel with ``tg.cuda.set_eager_device_asserts(True)`` (a debug
mode, like ``CUDA_LAUNCH_BLOCKING``). float16 runs the float32 kernels on float32 copies.
"""
from __future__ import annotations

from . import fused_numpy as _np_version
from .cuda_source import OPTIONS, get_kernel, register_source

__all__ = ["sgd_step", "adam_step", "relu_backward", "class_targets", "check_range",
           "cross_entropy_forward", "cross_entropy_backward", "check_device_errors"]

_COMMON = r"""
template <typename T> __device__ __forceinline__ T dsqrt(T v);
template <> __device__ __forceinline__ float dsqrt<float>(float v) { return sqrtf(v); }
template <> __device__ __forceinline__ double dsqrt<double>(double v) { return sqrt(v); }
template <typename T> __device__ __forceinline__ T dexp(T v);
template <> __device__ __forceinline__ float dexp<float>(float v) { return expf(v); }
template <> __device__ __forceinline__ double dexp<double>(double v) { return exp(v); }
template <typename T> __device__ __forceinline__ T dlog(T v);
template <> __device__ __forceinline__ float dlog<float>(float v) { return logf(v); }
template <> __device__ __forceinline__ double dlog<double>(double v) { return log(v); }
template <typename T> __device__ __forceinline__ T qnan();
template <> __device__ __forceinline__ float qnan<float>() { return __int_as_float(0x7fc00000); }
template <> __device__ __forceinline__ double qnan<double>() {
    return __longlong_as_double(0x7ff8000000000000LL); }
template <typename T> __device__ __forceinline__ T ninf();
template <> __device__ __forceinline__ float ninf<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double ninf<double>() {
    return __longlong_as_double(0xfff0000000000000LL); }
// NumPy's maximum: NaN wins (fmax would drop it)
template <typename T> __device__ __forceinline__ T nanmax(T a, T b) {
    return (a != a || a >= b) ? a : b; }
#define GRID_LOOP(i, n) \
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)
"""

_OPTIM = _COMMON + r"""
// numpy: d = -g; d = d + w*wd; buf = buf*mu + d*(1-damp) (or d on the first step);
// d = d + buf*mu (nesterov) or buf; w = w - d*lr
template <typename T>
__global__ void sgd_step(T* w, const T* g, T* buf, long long n, T lr, T mu, T one_m_damp,
                         T wd, int has_wd, int has_mom, int nesterov, int maximize, int first) {
    GRID_LOOP(i, n) {
        T d = maximize ? -g[i] : g[i];
        if (has_wd) d = d + w[i] * wd;
        if (has_mom) {
            T b = first ? d : buf[i] * mu + d * one_m_damp;
            buf[i] = b;
            d = nesterov ? d + b * mu : b;
        }
        w[i] = w[i] - d * lr;
    }
}

template <typename T>
__global__ void adam_step(T* w, const T* g, T* m, T* v, T* vmax, long long n, T decay, T wd,
                          T one_m_b1, T b2, T one_m_b2, T eps, T step_size, T bc2_sqrt,
                          int has_wd, int decoupled, int amsgrad, int maximize) {
    GRID_LOOP(i, n) {
        T gi = maximize ? -g[i] : g[i];
        T wi = w[i];
        if (has_wd) {
            if (decoupled) wi = wi * decay;
            else gi = gi + wi * wd;
        }
        T mi = m[i] + (gi - m[i]) * one_m_b1;
        T vi = v[i] * b2 + (gi * one_m_b2) * gi;
        m[i] = mi;
        v[i] = vi;
        if (amsgrad) {
            vi = nanmax(vmax[i], vi);
            vmax[i] = vi;
        }
        T denom = dsqrt(vi) / bc2_sqrt + eps;
        w[i] = wi - (mi / denom) * step_size;
    }
}

template <typename T>
__global__ void relu_backward(const T* gy, const T* x, T* gx, long long n) {
    GRID_LOOP(i, n) { gx[i] = gy[i] * (T)(x[i] > (T)0); }
}
// count the entries outside [lo, hi] (NaN is not counted, as NumPy's comparisons)
template <typename T>
__global__ void count_outside(const T* x, long long n, T lo, T hi, unsigned long long* err) {
    GRID_LOOP(i, n) { if (x[i] < lo || x[i] > hi) atomicAdd(err, 1ULL); }
}

// safe index 0 and keep 0 for ignore_index; keep NaN (poison) and a count for a bad target
template <typename T>
__global__ void class_targets(const long long* t, long long* safe, T* keep, long long n,
                              long long c, long long ignore, unsigned long long* err) {
    GRID_LOOP(i, n) {
        long long ti = t[i];
        bool ign = ti == ignore, bad = !ign && (ti < 0 || ti >= c);
        if (bad) atomicAdd(err, 1ULL);
        safe[i] = (ign || bad) ? 0 : ti;
        keep[i] = bad ? qnan<T>() : (T)(ign ? 0 : 1);
    }
}
"""

_CE = _COMMON + r"""
template <typename T> __device__ __forceinline__ T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v; }
template <typename T> __device__ __forceinline__ T warp_max(T v) {
    for (int o = 16; o > 0; o >>= 1) v = nanmax(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v; }

// one warp per row r = (ni, ki) of x (n, c, k); element j of the row at x[(ni*c + j)*k + ki]
template <typename T>
__global__ void ce_forward(const T* x, const long long* t, const T* w, T* loss, T* lse,
                           T* wt_out, unsigned long long* err, long long rows, long long c,
                           long long k, long long ignore, T one_m_eps, T eps_c, int smooth) {
    long long r = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (r >= rows) return;  // the whole warp leaves together
    const T* xr = x + (r / k) * c * k + (r % k);
    T mx = ninf<T>();
    for (long long j = lane; j < c; j += 32) mx = nanmax(mx, xr[j * k]);
    mx = warp_max(mx);
    T s = 0, sx = 0, sw = 0;
    for (long long j = lane; j < c; j += 32) {
        T e = xr[j * k] - mx;
        s += dexp(e);
        if (smooth) {
            T wj = w ? w[j] : (T)1;
            sx += e * wj;
            sw += wj;
        }
    }
    s = warp_sum(s);
    if (smooth) { sx = warp_sum(sx); sw = warp_sum(sw); }
    if (lane) return;
    T ls = dlog(s);
    long long sr = (r / k) * 2 * k + (r % k);  // stats (n, 2, k): max, then log-sum-exp
    lse[sr] = mx;
    lse[sr + k] = ls;
    long long ti = t[r];
    bool ign = ti == ignore, bad = !ign && (ti < 0 || ti >= c);
    if (bad) {
        atomicAdd(err, 1ULL);
        loss[r] = wt_out[r] = qnan<T>();
        return;
    }
    long long safe = ign ? 0 : ti;
    T keep = ign ? (T)0 : (T)1;
    T wt = w ? w[safe] * keep : keep;
    T l = -((xr[safe * k] - mx) - ls) * wt;
    if (smooth) l = l * one_m_eps + (-(sx - ls * sw) * keep) * eps_c;
    loss[r] = l;
    wt_out[r] = wt;
}

// gx = g * ((1-eps) wt (p - onehot) + eps/c keep (W p - w_j)), p = exp((x - max) - lse)
template <typename T>
__global__ void ce_backward(const T* x, const T* lse, const long long* t, const T* w,
                            const T* wsum, const T* g, long long g_stride, T* gx, long long n,
                            long long c, long long k, long long ignore, T one_m_eps, T eps_c,
                            int smooth) {
    GRID_LOOP(i, n) {
        long long ki = i % k, j = (i / k) % c, ni = i / (c * k), r = ni * k + ki;
        long long sr = ni * 2 * k + ki;
        long long ti = t[r];
        bool ign = ti == ignore, bad = !ign && (ti < 0 || ti >= c);
        if (bad) { gx[i] = qnan<T>(); continue; }
        long long safe = ign ? 0 : ti;
        T keep = ign ? (T)0 : (T)1;
        T wt = w ? w[safe] * keep : keep;
        T a = wt * one_m_eps;
        T p = dexp((x[i] - lse[sr]) - lse[sr + k]);
        if (smooth) {
            T W = w ? *wsum : (T)c;
            p = p * (a + keep * eps_c * W) - eps_c * keep * (w ? w[j] : (T)1);
        } else {
            p = p * a;
        }
        if (j == safe) p = p - a;
        gx[i] = p * g[r * g_stride];
    }
}
"""

_FT = ("float", "double")
_OPTIONS = OPTIONS + ("--fmad=false",)
register_source("fused.elementwise", _OPTIM, options=_OPTIONS, name_expressions=tuple(
    f"{k}<{t}>" for k in ("sgd_step", "adam_step", "relu_backward", "class_targets",
                          "count_outside") for t in _FT))
register_source("fused.cross_entropy", _CE, options=_OPTIONS, name_expressions=tuple(
    f"{k}<{t}>" for k in ("ce_forward", "ce_backward") for t in _FT))

_THREADS = 256
_errors: dict = {}   # device id -> (uint64 counter array, [op, c, ignore_index] of the last use)


def _kernel(source, name, dtype):
    return get_kernel(source, f"{name}<{'float' if dtype.itemsize == 4 else 'double'}>")


def _grid(n, per_thread=1):
    return (max(1, min(-(-n // (_THREADS * per_thread)), 65535 * 8)),), (_THREADS,)


def _native(*arrays):
    """True when every array is a C-contiguous float32/float64 array of one dtype and shape
    (what the flat kernels index); host metadata only."""
    a0 = arrays[0]
    return a0.dtype.char in "fd" and all(
        a.dtype == a0.dtype and a.shape == a0.shape and a.flags.c_contiguous for a in arrays)


def _scalars(dtype, *values):
    import numpy
    return tuple(numpy.dtype(dtype).type(v) for v in values)


def _flags(*values):
    return _scalars("int32", *(bool(v) for v in values))


def sgd_step(w, grad, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize,
             first):
    """See fused_numpy.sgd_step; one launch for float32/float64 contiguous arrays."""
    if not _native(w, grad, w if buf is None else buf):
        return _np_version.sgd_step(w, grad, buf, lr=lr, momentum=momentum,
                                    dampening=dampening, weight_decay=weight_decay,
                                    nesterov=nesterov, maximize=maximize, first=first)
    import numpy
    grid, block = _grid(w.size)
    _kernel("fused.elementwise", "sgd_step", w.dtype)(grid, block, (
        w, grad, w if buf is None else buf, numpy.int64(w.size),
        *_scalars(w.dtype, lr, momentum, 1 - dampening, weight_decay),
        *_flags(weight_decay, momentum, nesterov, maximize, first)))


def adam_step(w, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps,
              weight_decay, decoupled, maximize, step_size, bias_correction2_sqrt):
    """See fused_numpy.adam_step; one launch for float32/float64 contiguous arrays."""
    vmax = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq
    if not _native(w, grad, exp_avg, exp_avg_sq, vmax):
        return _np_version.adam_step(
            w, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr=lr, beta1=beta1, beta2=beta2,
            eps=eps, weight_decay=weight_decay, decoupled=decoupled, maximize=maximize,
            step_size=step_size, bias_correction2_sqrt=bias_correction2_sqrt)
    import numpy
    grid, block = _grid(w.size)
    _kernel("fused.elementwise", "adam_step", w.dtype)(grid, block, (
        w, grad, exp_avg, exp_avg_sq, vmax, numpy.int64(w.size),
        *_scalars(w.dtype, 1 - lr * weight_decay, weight_decay, 1 - beta1, beta2, 1 - beta2,
                  eps, step_size, bias_correction2_sqrt),
        *_flags(weight_decay, decoupled, max_exp_avg_sq is not None, maximize)))


def relu_backward(gy, x):
    """``gy * (x > 0)``; one launch (float16 and mixed layouts: CuPy's elementwise ops)."""
    import cupy
    import numpy
    if gy.shape != x.shape or gy.dtype != x.dtype or gy.dtype.char not in "fd":
        return cupy.multiply(gy, x > 0, dtype=gy.dtype)
    gy, x = cupy.ascontiguousarray(gy), cupy.ascontiguousarray(x)
    gx = cupy.empty_like(gy)
    _kernel("fused.elementwise", "relu_backward", gy.dtype)(
        *_grid(gx.size), (gy, x, gx, numpy.int64(gx.size)))
    return gx


def _target_error(op, c, ignore_index):
    return (f"{op}: {{bad}} target value(s) outside [0, {c}) (and not ignore_index="
            f"{ignore_index}) on cuda:{{dev}}; their losses and gradients are NaN")


def _error_counter(message):
    """The device's counter for errors described by ``message`` (a template with {bad} and
    {dev}), allocated once per device and message."""
    import cupy
    key = (cupy.cuda.Device().id, message)
    counter = _errors.get(key)
    if counter is None:
        counter = _errors[key] = cupy.zeros(1, dtype=cupy.uint64)
    return counter


def check_device_errors():
    """Raise ValueError if a kernel counted bad values (class targets, probabilities) since the
    last check, and reset the counters: a host sync, made where the host waits anyway."""
    if not _errors:  # no kernel has counted anything yet (nor imported CuPy)
        return
    import cupy
    for (dev, message), counter in list(_errors.items()):
        with cupy.cuda.Device(dev):
            bad = int(counter.get()[0])
            if bad:
                counter.fill(0)
                raise ValueError(message.format(bad=bad, dev=dev))


def _maybe_eager():
    from ... import cuda  # one debug switch for every deferred check (tg.cuda's)
    if cuda._eager["on"]:
        check_device_errors()


def class_targets(t, c, ignore_index, dtype, op):
    """See fused_numpy.class_targets. A bad target is not raised here (that would wait for
    the GPU): its ``keep`` is NaN and the device error counter counts it."""
    import cupy
    import numpy
    t64 = cupy.ascontiguousarray(t, dtype=cupy.int64)
    safe = cupy.empty_like(t64)
    ft = numpy.dtype(dtype)
    kt = ft if ft.char in "fd" else numpy.dtype(numpy.float32)
    keep = cupy.empty(t64.shape, dtype=kt)
    _kernel("fused.elementwise", "class_targets", kt)(*_grid(t64.size), (
        t64, safe, keep, numpy.int64(t64.size), numpy.int64(c), numpy.int64(ignore_index),
        _error_counter(_target_error(op, c, ignore_index))))
    _maybe_eager()
    return safe.reshape(t.shape), keep.astype(ft, copy=False)


def check_range(x, lo, hi, message):
    """Count the entries of ``x`` outside [lo, hi] on the device (no sync; raised by
    :func:`check_device_errors`). ``message`` describes the error, ``{bad}`` its count."""
    import cupy
    import numpy
    xc = cupy.ascontiguousarray(x, dtype=x.dtype if x.dtype.char in "fd" else cupy.float32)
    _kernel("fused.elementwise", "count_outside", xc.dtype)(*_grid(xc.size), (
        xc, numpy.int64(xc.size), *_scalars(xc.dtype, lo, hi),
        _error_counter(message + " on cuda:{dev}")))
    _maybe_eager()


def _ce_inputs(x, t, w):
    import cupy
    ct = x.dtype if x.dtype.char in "fd" else cupy.float32
    xc = cupy.ascontiguousarray(x, dtype=ct)
    wc = None if w is None else cupy.ascontiguousarray(w, dtype=ct)
    return xc, cupy.ascontiguousarray(t, dtype=cupy.int64), wc


def cross_entropy_forward(x, t, w, *, ignore_index, label_smoothing, op="cross_entropy"):
    """See fused_numpy.cross_entropy_forward; one launch (a warp per row)."""
    import cupy
    import numpy
    n, c, k = x.shape
    xc, tc, wc = _ce_inputs(x, t, w)
    loss = cupy.empty((n, k), dtype=xc.dtype)
    lse = cupy.empty((n, 2, k), dtype=xc.dtype)
    wt = cupy.empty((n, k), dtype=xc.dtype)
    rows = n * k
    grid = (max(1, -(-rows * 32 // _THREADS)),)
    _kernel("fused.cross_entropy", "ce_forward", xc.dtype)(grid, (_THREADS,), (
        xc, tc, wc, loss, lse, wt, _error_counter(_target_error(op, c, ignore_index)),
        numpy.int64(rows),
        numpy.int64(c), numpy.int64(k), numpy.int64(ignore_index),
        *_scalars(xc.dtype, 1 - label_smoothing, label_smoothing / c),
        numpy.int32(bool(label_smoothing))))
    _maybe_eager()
    if xc.dtype != x.dtype:
        loss, wt = loss.astype(x.dtype), wt.astype(x.dtype)
    return loss, lse, wt


def cross_entropy_backward(x, stats, t, w, g, *, ignore_index, label_smoothing,
                           op="cross_entropy"):  # noqa: ARG001  (the forward counted bad targets)
    """See fused_numpy.cross_entropy_backward; one launch (a thread per element)."""
    import cupy
    import numpy
    n, c, k = x.shape
    xc, tc, wc = _ce_inputs(x, t, w)
    g = cupy.asarray(g, dtype=xc.dtype)
    g_stride = 0 if g.size == 1 else 1
    g = cupy.ascontiguousarray(g if g_stride else g.reshape(1))
    if g_stride and g.shape != (n, k):
        g = cupy.ascontiguousarray(cupy.broadcast_to(g, (n, k)))
    wsum = None if wc is None else wc.sum()
    gx = cupy.empty_like(xc)
    _kernel("fused.cross_entropy", "ce_backward", xc.dtype)(*_grid(gx.size), (
        xc, cupy.ascontiguousarray(stats, dtype=xc.dtype), tc, wc, wsum, g,
        numpy.int64(g_stride), gx, numpy.int64(gx.size), numpy.int64(c), numpy.int64(k),
        numpy.int64(ignore_index), *_scalars(xc.dtype, 1 - label_smoothing, label_smoothing / c),
        numpy.int32(bool(label_smoothing))))
    return gx if gx.dtype == x.dtype else gx.astype(x.dtype)
