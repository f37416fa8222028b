"""The pool kernels (backend/kernels/pool_*.py): NumPy versions against PyTorch, and the CUDA
versions against the NumPy ones on random shapes and edge cases (NaN, -inf, ties, padding,
dilation, ceil_mode, 1-D/3-D, float16/32/64).

The CUDA versions run twice: on a GPU (``@pytest.mark.cuda``, skipped without one), and, on
any machine with a C++ compiler, *emulated*: the very CUDA source compiled for the host with
g++ (a shim maps blockIdx/threadIdx to a one-thread grid, so each grid-stride loop runs every
index in turn; atomicAdd becomes +=), launched through ``pool_cuda``'s own Python wrappers
with NumPy standing in for CuPy. Every kernel argument is passed by address like a CUDA
launch, and its byte size is checked against the kernel's parameter list, so a wrong scalar
type fails here and not first on the GPU.
"""
import ctypes
import math
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import requires_torch, torch
from tinygrad_cnn.backend.kernels import pool_cuda
from tinygrad_cnn.backend.kernels import pool_numpy as pn
from tinygrad_cnn.functional.pool import _pool_args

# ---------------------------------------------------------------- cases
FIXED = [  # (input spatial shape, kernel_size, stride, padding, dilation, ceil_mode)
    ((7, 6), 2, None, 0, 1, False), ((7, 6), 3, 1, 1, 1, False),
    ((7, 6), (3, 2), (2, 1), 1, 1, True),
    ((9,), 3, 2, 1, 1, True), ((8,), 2, None, 0, 1, False), ((9,), 3, 1, 1, 3, False),
    ((5, 4, 6), (2, 3, 2), (1, 2, 2), 1, 1, False), ((5, 5, 5), 3, 2, 1, 2, True),
    ((3, 3), 4, 1, 2, 1, True), ((7, 6), (7, 6), None, 0, 1, False),
]


def random_cases(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        nd = int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 4, nd))
        st = tuple(int(v) for v in rng.integers(1, 4, nd))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        s = tuple(int(v) for v in rng.integers(3, 10 if nd < 3 else 7, nd))
        if all(si + 2 * pp >= dd * (kk - 1) + 1 for si, pp, dd, kk in zip(s, p, d, k)):
            out.append((s, k, st, p, d, bool(rng.integers(0, 2))))
    return out


CASES = FIXED + random_cases(14)


def geometry(case, n=2, c=3, avg=False):
    s, k, st, p, d, ceil = case
    x = tg.zeros(n, c, *s)
    return _pool_args("pool", x, len(s), k, st, p, 1 if avg else d, ceil)  # k, st, p, d, o, pr


def data(shape, kind, dtype, seed=0):
    """Random data with the edge case ``kind`` planted: ties, NaN, -inf (whole rows, and a
    whole plane), or all equal."""
    rng = np.random.default_rng(seed)
    if kind == "ties":
        x = rng.integers(-2, 3, shape).astype(dtype)
    elif kind == "equal":
        x = np.ones(shape, dtype)
    else:
        x = rng.uniform(-2, 2, shape).astype(dtype)
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    if kind == "nan":
        flat[rng.random(flat.shape) < 0.15] = np.nan
    if kind == "-inf":
        flat[:, :, : max(1, flat.shape[2] // 3)] = -np.inf
        flat[-1, -1] = -np.inf
    return x


KINDS = ["random", "ties", "nan", "-inf", "equal"]


# ---------------------------------------------------------------- NumPy kernels vs PyTorch
@requires_torch
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_numpy_max_pool_kernels_match_torch(case, kind):
    k, st, p, d, o, pr = geometry(case)
    x = data((2, 3) + case[0], kind, np.float64, seed=len(o))
    tf = getattr(torch.nn.functional, f"max_pool{len(k)}d")
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = tf(xt, k, st, p, d, ceil_mode=case[5], return_indices=True)
    y, arg = pn.max_pool_forward(x, k, st, p, pr, d, o)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(pn.max_pool_indices(arg, x.shape[2:], k, st, p, d), it.numpy())
    g = np.random.default_rng(1).standard_normal(y.shape)
    gx, = torch.autograd.grad(yt, xt, torch.from_numpy(g))
    np.testing.assert_allclose(pn.max_pool_scatter(g, arg, k, st, p, pr, d, x.shape[2:]),
                               gx.numpy(), atol=1e-12)
    z = np.random.default_rng(2).standard_normal(x.shape)
    ref = torch.from_numpy(z).flatten(2).gather(2, it.flatten(2)).view(it.shape)
    np.testing.assert_array_equal(pn.max_pool_gather(z, arg, k, st, p, pr, d), ref.numpy())


@requires_torch
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_numpy_avg_pool_kernels_match_torch(case, count_include_pad):
    k, st, p, _, o, pr = geometry(case, avg=True)
    x = data((2, 3) + case[0], "random", np.float64)
    div = pn.avg_divisor(np, x.shape[2:], k, st, p, o, count_include_pad, None, x.dtype)
    tf = getattr(torch.nn.functional, f"avg_pool{len(k)}d")
    xt = torch.from_numpy(x).requires_grad_()
    yt = tf(xt, k, st, p, ceil_mode=case[5], count_include_pad=count_include_pad)
    np.testing.assert_allclose(pn.avg_pool_forward(x, div, k, st, p, pr, o),
                               yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(yt.shape)
    gx, = torch.autograd.grad(yt, xt, torch.from_numpy(g))
    np.testing.assert_allclose(pn.avg_pool_adjoint(g, div, k, st, p, pr, o, x.shape[2:]),
                               gx.numpy(), rtol=1e-12, atol=1e-12)


@requires_torch
def test_numpy_plane_kernels_match_torch():
    x = data((2, 3, 7, 9), "random", np.float64)
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = torch.nn.functional.adaptive_max_pool2d(xt, (4, 6), return_indices=True)
    idx = it.numpy()
    np.testing.assert_array_equal(pn.pool_gather_planes(x, idx), yt.detach().numpy())
    g = np.random.default_rng(1).standard_normal(yt.shape)
    gx, = torch.autograd.grad(yt, xt, torch.from_numpy(g))  # overlapping windows: summed
    np.testing.assert_allclose(pn.pool_scatter_planes(g, idx, (7, 9), True), gx.numpy(),
                               atol=1e-12)
    y2, i2 = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    ref = torch.nn.functional.max_unpool2d(y2, i2, 2, output_size=(7, 9))
    np.testing.assert_array_equal(pn.pool_scatter_planes(y2.numpy(), i2.numpy(), (7, 9), False),
                                  ref.numpy())


# ---------------------------------------------------------------- the CUDA versions
_SHIM = r"""
#include <cstring>
#include <cstddef>
#include <algorithm>
#include <type_traits>
#include <utility>
struct Dim3_ { unsigned int x; };
static const Dim3_ blockIdx{0}, threadIdx{0}, blockDim{1}, gridDim{1};
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
static inline float __int_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline double __longlong_as_double(unsigned long long i) {
    double f; std::memcpy(&f, &i, 8); return f; }
template <typename T> inline T atomicAdd(T* p, T v) { T old = *p; *p += v; return old; }
using std::min; using std::max;
"""
_TRAMPOLINE = r"""
template <typename... P, std::size_t... I>
void invoke_(void (*f)(P...), void** argv, std::index_sequence<I...>) {
    f(*static_cast<std::remove_reference_t<P>*>(argv[I])...); }
template <typename... P> int call_(void (*f)(P...), void** argv, int n, int* sizes) {
    int want[] = {(int)sizeof(P)...};
    if (n != (int)sizeof...(P)) return -1;
    for (int i = 0; i < n; ++i) if (sizes[i] != want[i]) return -2 - i;
    invoke_(f, argv, std::index_sequence_for<P...>{});
    return 0; }
"""


def _symbol(name):
    return "w_" + re.sub(r"\W+", "_", name).strip("_")


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """The CUDA source compiled for the host (see the module docstring)."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None or not sys.platform.startswith("linux"):
        pytest.skip("no C++ compiler to emulate the CUDA kernels on the host")
    src = pool_cuda.SOURCE
    wrappers = "".join(f'extern "C" int {_symbol(e)}(void** a, int n, int* s) '
                       f"{{ return call_(&{e}, a, n, s); }}\n" for e in src.name_expressions)
    d = tmp_path_factory.mktemp("pool_emulated")
    (d / "k.cpp").write_text(_SHIM + src.code + _TRAMPOLINE + wrappers)
    subprocess.run([cxx, "-std=c++17", "-O1", "-shared", "-fPIC", "-o", str(d / "k.so"),
                    str(d / "k.cpp")], check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(d / "k.so"))


def _ctype(v):
    if isinstance(v, np.ndarray):
        return ctypes.c_void_p(v.ctypes.data)
    if isinstance(v, np.int64):
        return ctypes.c_longlong(int(v))
    if isinstance(v, np.int32):
        return ctypes.c_int(int(v))
    raise TypeError(f"kernel argument of type {type(v).__name__}: CuPy would not pass it as "
                    "a fixed-size C scalar")


@pytest.fixture(params=["emulated", pytest.param("gpu", marks=pytest.mark.cuda)])
def cuda_impl(request, monkeypatch):
    """(call the CUDA wrapper, to device, to host) for the GPU or the host emulation."""
    if request.param == "gpu":
        if not tg.cuda.is_available():
            pytest.skip("no CUDA GPU")
        import cupy
        return cupy.asarray, cupy.asnumpy
    lib = request.getfixturevalue("emulated")
    launches = []

    def get_kernel(source, name):
        assert source == "pool" and name in pool_cuda.SOURCE.name_expressions, name

        def launch(grid, block, args):
            launches.append(name)
            cargs = [_ctype(a) for a in args]
            argv = (ctypes.c_void_p * len(cargs))(
                *[ctypes.cast(ctypes.pointer(a), ctypes.c_void_p) for a in cargs])
            sizes = (ctypes.c_int * len(cargs))(*[ctypes.sizeof(a) for a in cargs])
            rc = getattr(lib, _symbol(name))(argv, len(cargs), sizes)
            assert rc == 0, f"{name}: argument list does not match the kernel (code {rc})"
        return launch

    monkeypatch.setitem(sys.modules, "cupy", np)  # NumPy stands in for CuPy's array API
    monkeypatch.setattr(pool_cuda, "get_kernel", get_kernel)
    return np.asarray, np.asarray


def _ref(fn, *args, **kw):
    """The NumPy kernel's result; float16 data computed in float32 and rounded once, as the
    CUDA versions do (NumPy's float16 sums round at every step: a worse oracle)."""
    half = any(getattr(a, "dtype", None) == np.float16 for a in args)
    if not half:
        return fn(*args, **kw)
    up = [a.astype(np.float32) if getattr(a, "dtype", None) == np.float16 else a for a in args]
    out = fn(*up, **kw)
    return out.astype(np.float16) if out.dtype == np.float32 else out


def _same(ours, ref, dtype, exact):
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    if exact or dtype == np.float64:
        tol = 0 if exact else 1e-12
        np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol)
    else:
        tol = 1e-3 if dtype == np.float16 else 1e-6
        np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol)


DTYPES = [np.float32, np.float64, np.float16]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_cuda_max_pool_kernels_match_numpy(cuda_impl, case, dtype, kind):
    dev, host = cuda_impl
    k, st, p, d, o, pr = geometry(case)
    x = data((2, 3) + case[0], kind, dtype, seed=len(o))
    y, arg = pn.max_pool_forward(x, k, st, p, pr, d, o)
    cy, carg = pool_cuda.max_pool_forward(dev(x), k, st, p, pr, d, o)
    _same(host(cy), y, dtype, exact=True)
    np.testing.assert_array_equal(host(carg), arg)
    assert host(carg).dtype == arg.dtype
    np.testing.assert_array_equal(
        host(pool_cuda.max_pool_indices(carg, x.shape[2:], k, st, p, d)),
        pn.max_pool_indices(arg, x.shape[2:], k, st, p, d))
    g = data(y.shape, "random", dtype, seed=5)
    g.reshape(-1)[::7] = np.inf  # a non-finite gradient must not leak into other cells
    _same(host(pool_cuda.max_pool_scatter(dev(g), carg, k, st, p, pr, d, x.shape[2:])),
          _ref(pn.max_pool_scatter, g, arg, k, st, p, pr, d, x.shape[2:]), dtype, exact=False)
    z = data(x.shape, "random", dtype, seed=6)
    _same(host(pool_cuda.max_pool_gather(dev(z), carg, k, st, p, pr, d)),
          pn.max_pool_gather(z, arg, k, st, p, pr, d), dtype, exact=True)


@pytest.mark.parametrize("mode", ["include_pad", "exclude_pad", "override"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_cuda_avg_pool_kernels_match_numpy(cuda_impl, case, dtype, mode):
    dev, host = cuda_impl
    k, st, p, _, o, pr = geometry(case, avg=True)
    x = data((2, 3) + case[0], "random", dtype)
    div = pn.avg_divisor(np, x.shape[2:], k, st, p, o, mode == "include_pad",
                         -3 if mode == "override" else None, dtype)
    cdiv = div if isinstance(div, int) else dev(div)
    _same(host(pool_cuda.avg_pool_forward(dev(x), cdiv, k, st, p, pr, o)),
          _ref(pn.avg_pool_forward, x, div, k, st, p, pr, o), dtype, exact=False)
    g = data((2, 3) + tuple(o), "random", dtype, seed=3)
    _same(host(pool_cuda.avg_pool_adjoint(dev(g), cdiv, k, st, p, pr, o, x.shape[2:])),
          _ref(pn.avg_pool_adjoint, g, div, k, st, p, pr, o, x.shape[2:]), dtype, exact=False)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("accumulate", [True, False])
def test_cuda_plane_kernels_match_numpy(cuda_impl, dtype, accumulate):
    dev, host = cuda_impl
    rng = np.random.default_rng(0)
    size = (7, 9)
    x = data((2, 3) + size, "random", dtype)
    if accumulate:   # repeated positions (overlapping adaptive windows) add up
        idx = rng.integers(0, math.prod(size), (2, 3, 4, 6))
    else:            # a put: distinct positions per plane, as unpooling's
        idx = np.stack([rng.permutation(math.prod(size))[:24] for _ in range(6)])
        idx = idx.reshape(2, 3, 4, 6)
    for ix in (idx, idx.astype(np.int32)):
        _same(host(pool_cuda.pool_gather_planes(dev(x), dev(ix))),
              pn.pool_gather_planes(x, idx), dtype, exact=True)
        g = data(idx.shape, "random", dtype, seed=4)
        _same(host(pool_cuda.pool_scatter_planes(dev(g), dev(ix), size, accumulate)),
              _ref(pn.pool_scatter_planes, g, idx, size, accumulate), dtype,
              exact=not accumulate)


def test_cuda_kernels_handle_an_empty_batch(cuda_impl):
    dev, host = cuda_impl
    x = np.zeros((0, 3, 4, 6), np.float32)
    y, arg = pool_cuda.max_pool_forward(dev(x), (2, 2), (2, 2), (0, 0), (0, 0), (1, 1), (2, 3))
    assert host(y).shape == (0, 3, 2, 3) and host(arg).shape == (0, 3, 2, 3)
    gx = pool_cuda.avg_pool_adjoint(dev(np.zeros((0, 3, 2, 3), np.float32)), 4, (2, 2), (2, 2),
                                    (0, 0), (0, 0), (2, 3), (4, 6))
    assert host(gx).shape == (0, 3, 4, 6)


def test_cuda_kernels_refuse_integer_data(cuda_impl):
    dev, _ = cuda_impl
    with pytest.raises(TypeError, match=r"pool kernels \(CUDA\): expected float16/32/64 data, "
                                        r"got int64"):
        pool_cuda.max_pool_forward(dev(np.zeros((1, 1, 4), np.int64)), (2,), (2,), (0,), (0,),
                                   (1,), (2,))


def test_emulated_launch_catches_a_wrong_scalar_type(cuda_impl, monkeypatch):
    """The emulation is only worth its name if it fails where CuPy would pack the arguments
    differently from the kernel's parameter list (a float where a long long is expected)."""
    dev, _ = cuda_impl
    if dev is not np.asarray:
        pytest.skip("checks the host emulation")
    geom = pool_cuda._geom
    monkeypatch.setattr(pool_cuda, "_geom", lambda *a: geom(*a)[:-1] + (np.int32(1),))
    with pytest.raises(AssertionError, match="argument list does not match"):
        pool_cuda.max_pool_forward(np.zeros((1, 1, 4), np.float32), (2,), (2,), (0,), (0,),
                                   (1,), (2,))


def test_every_pool_kernel_instantiation_compiles_to_ptx():
    """NVRTC alone (no GPU): one PTX entry per declared template instantiation."""
    try:
        from cupy.cuda import nvrtc
        nvrtc.getVersion()
    except Exception as exc:  # no CuPy wheel, or no NVRTC library
        pytest.skip(f"NVRTC not available: {exc}")
    from tinygrad_cnn.backend.kernels import cuda_source
    ptx = cuda_source.compile_to_ptx(pool_cuda.SOURCE)
    ptx = ptx.decode() if isinstance(ptx, bytes) else ptx  # getPTX gives bytes in CuPy 14
    assert ptx.count(".entry") == len(pool_cuda.SOURCE.name_expressions) == 29
