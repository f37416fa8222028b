"""Pooling ops: max (with indices), max-unpool, average, and their adjoint pairs.

    max_pool{nd}d(x)          each window's first maximum;  backward: max_pool{nd}d_scatter
    max_pool{nd}d_scatter(g)  g added at those maxima;      backward: max_pool{nd}d_gather
    max_pool{nd}d_gather(x)   x read at those maxima;       backward: max_pool{nd}d_scatter
    pool_scatter, pool_gather the same pair by flat plane positions (adaptive max pooling)
    max_unpool{nd}d(x)    puts x at the positions (no sum);      backward: pool_gather
    avg_pool{nd}d(x)      window sum / divisor;                  backward: avg_pool{nd}d_adjoint
    avg_pool{nd}d_adjoint(g)  spreads g / divisor over the windows; backward: avg_pool{nd}d

Max pooling routes the gradient to the argmax of each window (ties: the first maximum,
NaN counts as the maximum, as PyTorch): the forward remembers, per output, which kernel tap
won, and the backward adds each gradient back at that tap; average pooling spreads it
evenly, the lecture notes' constant 1/k filter. Indices are flat positions in each (n, c)
plane of the unpadded input, as PyTorch's return_indices. Notation in cnn_args.

The array work is done by backend kernels (backend/kernels/pool_numpy.py and pool_cuda.py,
reached through ``x.backend``): every rule (first maximum, NaN, padded cells never win) is
decided on the device, so no op here waits for the device (no ``bool()``/``.item()``).
"""
from __future__ import annotations

# the NumPy helpers under their old names (tests/op_table.py builds adjoint cases with them)
from ..backend.kernels.pool_numpy import avg_divisor, max_pool_taps  # noqa: F401
from .op_registry import register

__all__ = ["pool_gather", "pool_scatter", "MAX_POOL", "MAX_UNPOOL", "AVG_POOL",
           "avg_divisor", "max_pool_taps"]


@register("pool_gather", rule="gx = pool_scatter(gy, indices)", saves=())
def pool_gather(x, *, indices, overlap):
    """x (n, c, *s) read at flat plane positions ``indices`` (n, c, *o), an array."""
    def backward(gy):
        return pool_scatter(gy, indices=indices, size=x.shape[2:], overlap=overlap)

    return x.backend.pool_gather_planes(x.array, indices), backward


@register("pool_scatter", rule="gg = pool_gather(gy, indices)", saves=())
def pool_scatter(g, *, indices, size, overlap):
    """Zeros of spatial ``size`` with g summed at ``indices`` (overlapping windows add up)."""
    def backward(gy):
        return pool_gather(gy, indices=indices, overlap=overlap)

    return g.backend.pool_scatter_planes(g.array, indices, size, overlap), backward


def _register_max(nd):
    @register(f"max_pool{nd}d", rule=f"gx = max_pool{nd}d_scatter(gy)", saves=())
    def max_pool(x, *, k, st, p, pr, d, o):
        """Window maxima; the backward sends each gradient to the first maximum of its window
        (NaN counts as the maximum, as PyTorch)."""
        y, arg = x.backend.max_pool_forward(x.array, k, st, p, pr, d, o)

        def backward(gy):
            return scatter(gy, arg=arg, k=k, st=st, p=p, pr=pr, d=d, size=x.shape[2:])

        return y, backward

    @register(f"max_pool{nd}d_scatter", rule=f"gg = max_pool{nd}d_gather(gy, arg)", saves=())
    def scatter(g, *, arg, k, st, p, pr, d, size):
        def backward(gy):
            return gather(gy, arg=arg, k=k, st=st, p=p, pr=pr, d=d)

        return g.backend.max_pool_scatter(g.array, arg, k, st, p, pr, d, size), backward

    @register(f"max_pool{nd}d_gather", rule=f"gx = max_pool{nd}d_scatter(gy, arg)", saves=())
    def gather(x, *, arg, k, st, p, pr, d):
        def backward(gy):
            return scatter(gy, arg=arg, k=k, st=st, p=p, pr=pr, d=d, size=x.shape[2:])

        return x.backend.max_pool_gather(x.array, arg, k, st, p, pr, d), backward

    @register(f"max_unpool{nd}d", rule="gx = pool_gather(gy, indices)", saves=())
    def max_unpool(x, *, indices, size):
        def backward(gy):
            return pool_gather(gy, indices=indices, overlap=True)

        return x.backend.pool_scatter_planes(x.array, indices, size, False), backward

    return max_pool, max_unpool


MAX_POOL, MAX_UNPOOL = {}, {}
for _nd in (1, 2, 3):
    MAX_POOL[_nd], MAX_UNPOOL[_nd] = _register_max(_nd)


def _register_avg(nd):
    @register(f"avg_pool{nd}d", rule=f"gx = avg_pool{nd}d_adjoint(gy, divisor)", saves=())
    def avg_pool(x, *, k, st, p, pr, o, divisor):
        """Window sums / divisor; the backward gives each input gy / divisor from every window
        that contains it."""
        def backward(gy):
            return adjoint(gy, k=k, st=st, p=p, pr=pr, o=o, divisor=divisor, size=x.shape[2:])

        return x.backend.avg_pool_forward(x.array, divisor, k, st, p, pr, o), backward

    @register(f"avg_pool{nd}d_adjoint", rule=f"gg = avg_pool{nd}d(gy, divisor)", saves=())
    def adjoint(g, *, k, st, p, pr, o, divisor, size):
        def backward(gy):
            return avg_pool(gy, k=k, st=st, p=p, pr=pr, o=o, divisor=divisor)

        return g.backend.avg_pool_adjoint(g.array, divisor, k, st, p, pr, o, size), backward

    return avg_pool


AVG_POOL = {}
for _nd in (1, 2, 3):
    AVG_POOL[_nd] = _register_avg(_nd)
