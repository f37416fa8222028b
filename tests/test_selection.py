"""gather, scatter, scatter_add, index_select, take_along_dim, masked_fill, masked_select (and
the in-place forms), sort, argsort, topk, repeat, tile, repeat_interleave: forward and
backward vs PyTorch under a random upstream gradient (float64), gradcheck, gradgradcheck, on
the fake device (all through check_op), explicit tie cases, and the errors PyTorch gives."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import assert_close, check_op, rand, requires_torch, torch
from tinygrad_cnn.ops.selection import ValuesIndices


def _both(fn):
    """The same call on tinygrad_cnn (``tg``) and torch: fn(module, *tensors)."""
    return lambda *a: fn(tg if isinstance(a[0], tg.Tensor) else torch, *a)


def _gradgrad(fn, *arrays):
    ts = [tg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    assert tg.gradgradcheck(fn, ts)


# ---------------------------------------------------------------- gather
GATHER = [  # (x shape, dim, index): non-square, negative dims, smaller index, repeats
    ((3, 4), 1, [[0, 3, 3], [1, 0, 2], [2, 2, 2]]),
    ((3, 4), -2, [[2, 0, 1, 0], [0, 0, 2, 1]]),
    ((2, 3, 5), -1, [[[4, 0]], [[1, 1]]]),
    ((2, 3, 5), 1, [[[0, 2, 1, 0, 2]], [[1, 1, 0, 2, 0]]]),
    ((4,), 0, [3, 3, 0, 1, 2, 0]),
    ((2, 3), 0, np.zeros((0, 3), dtype=np.int64)),
]


@requires_torch
@pytest.mark.parametrize("shape,dim,index", GATHER, ids=lambda v: str(v))
def test_gather_matches_torch(shape, dim, index):
    idx = np.asarray(index, dtype=np.int64)
    check_op(_both(lambda m, x, i: m.gather(x, dim, i)), inputs=[rand(*shape), idx])
    check_op(lambda x, i: x.gather(dim, i), inputs=[rand(*shape, seed=3), idx])
    _gradgrad(lambda x, i: x.gather(dim, i), rand(*shape), idx)


def test_gather_of_a_0d_tensor():
    x = tg.tensor(2.5, requires_grad=True)
    y = x.gather(0, tg.tensor(0))
    assert y.shape == () and y.item() == 2.5
    y.backward()
    assert x.grad.item() == 1.0


def test_gather_accepts_int32_index_as_torch():
    x = tg.tensor([[1.0, 2.0, 3.0]])
    assert x.gather(1, tg.tensor([[2, 0]], dtype=tg.int32)).tolist() == [[3.0, 1.0]]


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: tg.gather(tg.ones(2, 3), 1, tg.tensor([[0], [-1]])), IndexError,
     r"gather: index -1 is out of bounds for dimension 1 with size 3"),
    (lambda: tg.gather(tg.ones(2, 3), 2, tg.tensor([[0]])), IndexError,
     r"gather: dim 2 is out of range for a tensor with 2 dims"),
    (lambda: tg.gather(tg.ones(2, 3), 1, tg.tensor([0, 1])), RuntimeError,
     r"gather: index \(2,\) must have the same number of dims as the input \(2, 3\)"),
    (lambda: tg.gather(tg.ones(2, 3), 1, tg.tensor([[True]])), TypeError,
     r"gather: expected an int64 index tensor, got bool"),
    (lambda: tg.gather(tg.ones(2, 3), 1, tg.tensor([[0]]), sparse_grad=True), ValueError,
     r"gather: sparse_grad=True is not supported"),
    (lambda: tg.gather([1.0], 0, tg.tensor([0])), TypeError, r"gather: expected a Tensor"),
], ids=["negative", "bad-dim", "ndim", "bool-index", "sparse", "not-a-tensor"])
def test_gather_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# ---------------------------------------------------------------- scatter, scatter_add
SCATTER = [  # (x shape, dim, index, src shape)
    ((3, 4), 1, [[0, 3], [1, 0], [2, 1]], (3, 2)),
    ((3, 4), -2, [[2, 0, 1, 0], [0, 1, 2, 1]], (2, 4)),
    ((2, 3, 5), -1, [[[4, 0]], [[1, 3]]], (2, 1, 2)),
    ((4, 2), 0, [[3], [0]], (2, 1)),
]
# src larger than index: only its leading block is read. PyTorch's own backward fails here
# ("invalid gradient ... got [2, 1, 2] but expected shape compatible with [2, 2, 3]"), so
# the forward is compared with torch and the gradients with finite differences.
SCATTER_BIG_SRC = [((2, 3, 5), -1, [[[4, 0]], [[1, 3]]], (2, 2, 3)),
                   ((4, 2), 0, [[3], [0]], (3, 2))]


@requires_torch
@pytest.mark.parametrize("shape,dim,index,src", SCATTER, ids=lambda v: str(v))
def test_scatter_matches_torch(shape, dim, index, src):
    idx = np.asarray(index, dtype=np.int64)
    inputs = [rand(*shape), idx, rand(*src, seed=2)]
    check_op(_both(lambda m, x, i, s: m.scatter(x, dim, i, s)), inputs=inputs)
    check_op(lambda x, i, s: x.scatter_add(dim, i, s), inputs=inputs)
    _gradgrad(lambda x, i, s: x.scatter(dim, i, s), *inputs)
    _gradgrad(lambda x, i, s: x.scatter_add(dim, i, s), *inputs)


@requires_torch
@pytest.mark.parametrize("shape,dim,index,src", SCATTER_BIG_SRC, ids=lambda v: str(v))
@pytest.mark.parametrize("name", ["scatter", "scatter_add"])
def test_scatter_reads_the_leading_block_of_a_larger_src(name, shape, dim, index, src):
    idx = np.asarray(index, dtype=np.int64)
    inputs = [rand(*shape), idx, rand(*src, seed=2)]
    ours = getattr(tg.tensor(inputs[0]), name)(dim, tg.tensor(idx), tg.tensor(inputs[2]))
    ref = getattr(torch.from_numpy(inputs[0]), name)(dim, torch.from_numpy(idx),
                                                     torch.from_numpy(inputs[2]))
    assert_close(ours.numpy(), ref.numpy())
    ts = [tg.tensor(inputs[0], requires_grad=True), tg.tensor(idx),
          tg.tensor(inputs[2], requires_grad=True)]
    fn = lambda x, i, s: getattr(x, name)(dim, i, s)  # noqa: E731
    assert tg.gradcheck(fn, ts)
    _gradgrad(fn, *inputs)


@requires_torch
def test_scatter_value_and_reduce_add_match_torch():
    idx = np.array([[0, 2], [1, 1]])
    check_op(lambda x, i: x.scatter(1, i, 2.5), inputs=[rand(2, 3), idx])
    check_op(lambda x, i: x.scatter(1, i, value=-1.0) if isinstance(x, tg.Tensor) else
             x.scatter(1, i, value=-1.0), inputs=[rand(2, 3), idx])
    # torch's reduce="add" has no derivative; ours is scatter_add's, so compare with that
    check_op(lambda x, i, s: x.scatter(1, i, s, reduce="add"),
             lambda x, i, s: x.scatter_add(1, i, s), inputs=[rand(2, 3), idx, rand(2, 2, seed=1)])


def test_scatter_add_accumulates_repeated_positions_by_hand():
    x = tg.zeros(2, 3)
    y = x.scatter_add(1, tg.tensor([[0, 0, 0], [2, 1, 2]]), tg.tensor([[1.0, 2.0, 3.0],
                                                                       [4.0, 5.0, 6.0]]))
    assert y.tolist() == [[6.0, 0.0, 0.0], [0.0, 5.0, 10.0]]


@requires_torch
def test_scatter_src_gradient_with_repeated_positions_is_torch_rule():
    # where two writes hit one position one wins, but each src element gets gy there
    x, s = rand(2, 3), rand(2, 2, seed=1)
    idx = np.array([[1, 1], [0, 0]])
    ours_s = tg.tensor(s, requires_grad=True)
    tg.tensor(x).scatter(1, tg.tensor(idx), ours_s).sum().backward()
    ref_s = torch.from_numpy(s).requires_grad_()
    torch.from_numpy(x).scatter(1, torch.from_numpy(idx), ref_s).sum().backward()
    assert_close(ours_s.grad.numpy(), ref_s.grad.numpy())


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: tg.ones(2, 3).scatter(1, tg.tensor([[0]]), tg.ones(1, 1), reduce="multiply"),
     ValueError, r"scatter: reduce='multiply' is not supported"),
    (lambda: tg.ones(2, 3).scatter(1, tg.tensor([[0]])), TypeError,
     r"scatter: give exactly one of src"),
    (lambda: tg.ones(2, 3).scatter(1, tg.tensor([[0]]), tg.ones(1, 1), value=1.0), TypeError,
     r"scatter: give exactly one of src"),
    (lambda: tg.ones(2, 3).scatter(1, tg.tensor([[0]]), "a"), TypeError,
     r"scatter: value must be a number"),
    (lambda: tg.ones(2, 3).scatter_add(1, tg.tensor([[0]]), 1.0), TypeError,
     r"scatter_add: src must be a Tensor"),
    (lambda: tg.ones(2, 3).scatter(0, tg.tensor([[0, 0, 0, 0]]), tg.ones(1, 4)), RuntimeError,
     r"scatter: index \(1, 4\) must be no larger than the input \(2, 3\) apart from dim"),
    (lambda: tg.ones(2, 3).scatter(1, tg.tensor([[0]]), tg.ones(1)), RuntimeError,
     r"scatter: index \(1, 1\) must be no larger than src \(1,\)"),
], ids=["multiply", "no-src", "both", "bad-value", "add-number", "too-large", "src-ndim"])
def test_scatter_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# ---------------------------------------------------------------- in-place forms
@requires_torch
@pytest.mark.parametrize("name", ["scatter_", "scatter_add_", "masked_fill_"])
def test_inplace_forms_match_torch_and_views_see_them(name):
    x, s, g = rand(3, 4), rand(3, 2, seed=1), rand(3, 4, seed=2)
    idx = np.array([[0, 3], [1, 2], [2, 0]])
    mask = np.array([True, False, False, True])

    def apply(t, s, i, m):
        if name == "masked_fill_":
            return t.masked_fill_(m, s[0, 0])
        return getattr(t, name)(1, i, s)

    ours_x = tg.tensor(x, requires_grad=True)
    ours_s = tg.tensor(s, requires_grad=True)
    h = ours_x * 2.0
    view = h.data  # shares h's storage and version counter
    out = apply(h, ours_s, tg.tensor(idx), tg.tensor(mask))
    assert out is h and h._version == 1 and view._version == 1
    ref_x = torch.from_numpy(x).requires_grad_()
    ref_s = torch.from_numpy(s).requires_grad_()
    th = ref_x * 2.0
    tview = th.data
    apply(th, ref_s, torch.from_numpy(idx), torch.from_numpy(mask))
    assert_close(h.numpy(), th.detach().numpy())
    assert_close(view.numpy(), tview.detach().numpy())  # the view shares the storage
    (h * tg.tensor(g)).sum().backward()
    (th * torch.from_numpy(g)).sum().backward()
    assert_close(ours_x.grad.numpy(), ref_x.grad.numpy())
    assert_close(ours_s.grad.numpy(), ref_s.grad.numpy())


def test_inplace_scatter_on_a_leaf_that_requires_grad_is_refused():
    x = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scatter_: a leaf tensor that requires grad"):
        x.scatter_(1, tg.tensor([[0]]), 2.0)


def test_masked_fill_inplace_cannot_broadcast_the_tensor():
    with pytest.raises(RuntimeError, match=r"masked_fill_: the result of shape \(2, 3\)"):
        tg.ones(3).masked_fill_(tg.ones(2, 3, dtype=tg.bool), 0.0)


# ---------------------------------------------------------------- index_select
@requires_torch
@pytest.mark.parametrize("shape,dim,index", [
    ((3, 4), 1, [3, 0, 0, 2, 1]), ((3, 4), -2, [2]), ((2, 3, 5), 2, [4, 1]),
    ((5,), 0, [4, 4, 0]), ((2, 3), 0, []), ((3, 2), 0, 1)], ids=lambda v: str(v))
def test_index_select_matches_torch(shape, dim, index):
    idx = np.asarray(index, dtype=np.int64)
    check_op(lambda x, i: x.index_select(dim, i), inputs=[rand(*shape), idx])
    _gradgrad(lambda x, i: x.index_select(dim, i), rand(*shape), idx)


def test_index_select_accepts_int32_and_refuses_matrices():
    x = tg.tensor([[1.0, 2.0, 3.0]])
    assert x.index_select(1, tg.tensor([2, 0], dtype=tg.int32)).tolist() == [[3.0, 1.0]]
    with pytest.raises(IndexError, match=r"index_select: index must be a vector"):
        x.index_select(1, tg.tensor([[0, 1]]))
    with pytest.raises(IndexError, match=r"index_select: index 3 is out of bounds"):
        x.index_select(1, tg.tensor([0, 3]))


# ---------------------------------------------------------------- take_along_dim
@requires_torch
@pytest.mark.parametrize("shape,dim,index", [
    ((3, 4), 1, [[0, 3], [1, 1], [2, 0]]),
    ((3, 4), 1, [[0, 3]]),                      # indices broadcast over dim 0
    ((1, 4), -1, [[0], [3], [2]]),              # input broadcast over dim 0
    ((3, 4), None, [11, 0, 5, 5]),
    ((2, 3, 4), 0, [[[1]], [[0]]]),
], ids=lambda v: str(v))
def test_take_along_dim_matches_torch(shape, dim, index):
    idx = np.asarray(index, dtype=np.int64)
    check_op(_both(lambda m, x, i: m.take_along_dim(x, i, dim)), inputs=[rand(*shape), idx])
    check_op(lambda x, i: x.take_along_dim(i, dim=dim), inputs=[rand(*shape), idx])


def test_take_along_dim_errors():
    with pytest.raises(TypeError, match="take_along_dim: dtype of indices should be int64"):
        tg.take_along_dim(tg.ones(2, 3), tg.tensor([[0]], dtype=tg.int32), 1)
    with pytest.raises(RuntimeError, match=r"take_along_dim: input \(2, 3\) and indices "
                                           r"\(3, 1\) do not broadcast"):
        tg.take_along_dim(tg.ones(2, 3), tg.tensor([[0], [1], [2]]), 1)


# ---------------------------------------------------------------- masked_fill
MASKS = [
    ((3, 4), np.array([[True, False, True, False]] * 2 + [[False] * 4])),
    ((3, 4), np.array([False, True, True, False])),       # broadcast over rows
    ((2, 3), np.array([[[True, False, True]], [[False, False, True]]])),  # grows the result
    ((4,), np.ones(4, dtype=bool)),
]


@requires_torch
@pytest.mark.parametrize("shape,mask", MASKS, ids=lambda v: str(getattr(v, "shape", v)))
def test_masked_fill_matches_torch(shape, mask):
    check_op(lambda x, m: x.masked_fill(m, -1.5), inputs=[rand(*shape), mask])
    # a 0-d tensor value gets a gradient too (the sum of gy where the mask is True)
    check_op(lambda x, m, v: x.masked_fill(m, v), inputs=[rand(*shape), mask, rand(seed=2)])
    _gradgrad(lambda x, m, v: x.masked_fill(m, v), rand(*shape), mask, rand(seed=2))


def test_masked_fill_keeps_the_dtype_and_casts_the_value_as_torch():
    x = tg.zeros(3, dtype=tg.int64).masked_fill(tg.tensor([True, False, False]), 1.5)
    assert x.dtype == tg.int64 and x.tolist() == [1, 0, 0]
    y = tg.zeros(2, dtype=tg.float32).masked_fill(tg.tensor([True, False]), 2.0)
    assert y.dtype == tg.float32


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: tg.ones(3).masked_fill(tg.tensor([1, 0, 1]), 0.0), TypeError,
     r"masked_fill: only bool masks are supported, got a mask of dtype int64"),
    (lambda: tg.ones(3).masked_fill(tg.tensor([True, False, True]), tg.ones(2)), RuntimeError,
     r"masked_fill: value must be a number or a 0-d tensor, got a tensor of shape \(2,\)"),
    (lambda: tg.ones(3).masked_fill(tg.ones(2, dtype=tg.bool), 0.0), RuntimeError,
     r"masked_fill: mask \(2,\) does not broadcast with the input \(3,\)"),
    (lambda: tg.ones(3).masked_fill(tg.ones(3, dtype=tg.bool), "x"), TypeError,
     r"masked_fill: value must be a number"),
], ids=["int-mask", "value-1d", "no-broadcast", "str-value"])
def test_masked_fill_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


@requires_torch
@pytest.mark.parametrize("shape,mask", MASKS + [((), np.array(True)), ((2, 3), np.array(False))],
                         ids=lambda v: str(getattr(v, "shape", v)))
def test_masked_select_matches_torch(shape, mask):
    check_op(_both(lambda m, x, k: m.masked_select(x, k)), inputs=[rand(*shape), mask])
    _gradgrad(lambda x, k: x.masked_select(k), rand(*shape), mask)


def test_masked_select_refuses_non_bool_masks():
    with pytest.raises(TypeError, match="masked_select: only bool masks are supported"):
        tg.ones(3).masked_select(tg.tensor([1, 0, 1]))


# ---------------------------------------------------------------- sort, argsort, topk
TIES = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 1.0], [0.5, 0.5, 0.5, -1.0, 2.0, 0.5]])


@requires_torch
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [-1, 0])
def test_stable_sort_with_ties_matches_torch(descending, dim):
    ours = tg.tensor(TIES).sort(dim=dim, descending=descending, stable=True)
    ref = torch.from_numpy(TIES).sort(dim=dim, descending=descending, stable=True)
    assert isinstance(ours, ValuesIndices) and ours.indices.dtype == tg.int64
    assert np.array_equal(ours.values.numpy(), ref.values.numpy())
    assert np.array_equal(ours.indices.numpy(), ref.indices.numpy())
    assert np.array_equal(tg.argsort(tg.tensor(TIES), dim, descending, stable=True).numpy(),
                          ref.indices.numpy())


@requires_torch
def test_sort_puts_nan_last_ascending_and_first_descending_as_torch():
    x = np.array([1.0, np.nan, 3.0, -2.0, np.nan])
    for descending in (False, True):
        ours = tg.sort(tg.tensor(x), descending=descending, stable=True)
        ref = torch.sort(torch.from_numpy(x), descending=descending, stable=True)
        assert np.array_equal(ours.values.numpy(), ref.values.numpy(), equal_nan=True)
        assert np.array_equal(ours.indices.numpy(), ref.indices.numpy())


@requires_torch
@pytest.mark.parametrize("shape,dim,descending", [
    ((3, 5), -1, False), ((3, 5), 0, True), ((2, 3, 4), 1, False), ((7,), 0, True)],
    ids=lambda v: str(v))
def test_sort_values_and_gradients_match_torch(shape, dim, descending):
    def fn(x):
        v, i = x.sort(dim, descending)
        return v, i
    check_op(fn, inputs=[rand(*shape)])
    check_op(lambda x: x.argsort(dim=dim, descending=descending), inputs=[rand(*shape)],
             grad=False)
    _gradgrad(lambda x: x.sort(dim, descending).values, rand(*shape))


@requires_torch
@pytest.mark.parametrize("shape,k,dim,largest", [
    ((3, 5), 2, -1, True), ((3, 5), 3, 0, False), ((2, 3, 4), 4, 2, True), ((6,), 6, 0, False),
    ((4, 3), 0, 1, True)], ids=lambda v: str(v))
def test_topk_matches_torch(shape, k, dim, largest):
    check_op(lambda x: tuple(x.topk(k, dim, largest)), inputs=[rand(*shape)])
    check_op(_both(lambda m, x: tuple(m.topk(x, k, dim=dim, largest=largest, sorted=True))),
             inputs=[rand(*shape, seed=4)])
    _gradgrad(lambda x: x.topk(k, dim, largest).values, rand(*shape))


def test_topk_with_ties_takes_the_first_and_routes_the_gradient_there():
    # PyTorch leaves which of equal values is taken open; we take the first ones (stable)
    x = tg.tensor([1.0, 3.0, 3.0, 2.0, 3.0], requires_grad=True)
    values, indices = tg.topk(x, 2)
    assert values.tolist() == [3.0, 3.0] and indices.tolist() == [1, 2]
    values.backward(tg.tensor([10.0, 20.0]))
    assert x.grad.tolist() == [0.0, 10.0, 20.0, 0.0, 0.0]
    small = x.topk(2, largest=False)
    assert small.values.tolist() == [1.0, 2.0] and small.indices.tolist() == [0, 3]


@requires_torch
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_topk_with_many_ties_takes_the_first_equal_values(largest, dim):
    # few distinct values, so the k-th value is nearly always tied (the partition path)
    x = np.random.default_rng(5).integers(0, 4, size=(6, 7, 5)).astype(np.float64)
    first = np.argsort(-x if largest else x, axis=dim, kind="stable")  # first among equals
    for k in range(1, x.shape[dim] + 1):
        values, indices = tg.tensor(x).topk(k, dim, largest)
        assert np.array_equal(indices.numpy(), np.take(first, range(k), axis=dim)), k
        ref = torch.from_numpy(x).topk(k, dim, largest)
        assert np.array_equal(values.numpy(), ref.values.numpy()), k


@requires_torch
def test_topk_with_nan_counts_it_as_the_largest_as_torch():
    x = np.array([[1.0, np.nan, 3.0, np.nan, 2.0], [0.0, 5.0, np.nan, -1.0, 4.0]])
    for largest in (True, False):
        for k in (1, 2, 4):
            values, indices = tg.tensor(x).topk(k, largest=largest)
            ref = torch.from_numpy(x).topk(k, largest=largest)
            assert np.array_equal(values.numpy(), ref.values.numpy(), equal_nan=True)
            assert np.array_equal(np.take_along_axis(x, indices.numpy(), 1), values.numpy(),
                                  equal_nan=True)


def test_unstable_sort_with_ties_is_sorted_and_its_indices_point_at_the_values():
    x = np.random.default_rng(6).integers(0, 3, size=(4, 50)).astype(np.float32)
    for descending in (False, True):
        values, indices = tg.tensor(x).sort(descending=descending)
        ref = np.sort(x, axis=1)
        assert np.array_equal(values.numpy(), ref[:, ::-1] if descending else ref)
        assert np.array_equal(np.take_along_axis(x, indices.numpy(), 1), values.numpy())
        assert all(sorted(row) == list(range(50)) for row in indices.numpy().tolist())


def test_topk_unsorted_still_returns_the_k_largest():
    x = tg.tensor(rand(4, 9))
    values, indices = x.topk(3, sorted=False)
    ref = np.sort(rand(4, 9), axis=1)[:, ::-1][:, :3]
    assert_close(np.sort(values.numpy(), axis=1)[:, ::-1], ref)
    assert_close(np.take_along_axis(rand(4, 9), indices.numpy(), 1), values.numpy())


def test_sort_and_topk_of_0d_tensors():
    v, i = tg.tensor(3.0).sort()
    assert v.shape == () and i.shape == () and i.item() == 0
    v, i = tg.tensor(3.0).topk(1)
    assert v.item() == 3.0 and i.item() == 0


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: tg.ones(5).topk(6), RuntimeError,
     r"topk: k=6 is out of range for dimension 0 of size 5"),
    (lambda: tg.ones(5).topk(-1), RuntimeError, r"topk: k=-1 is out of range"),
    (lambda: tg.ones(5).topk(1.5), TypeError, r"topk: k must be an int"),
    (lambda: tg.ones(2, 5).topk(1, dim=2), IndexError, r"topk: dim 2 is out of range"),
    (lambda: tg.ones(5).sort(dim=1), IndexError, r"sort: dim 1 is out of range"),
    (lambda: tg.ones(5).sort(stable=None), TypeError, r"sort: descending and stable"),
], ids=["k-big", "k-negative", "k-float", "topk-dim", "sort-dim", "stable-none"])
def test_sort_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# ---------------------------------------------------------------- repeat, tile, interleave
@requires_torch
@pytest.mark.parametrize("shape,sizes", [
    ((2, 3), (2, 1)), ((2, 3), (3, 1, 2)), ((3,), (2, 2)), ((), (3,)), ((2, 1), (1, 4)),
    ((2, 3), (0, 2))], ids=lambda v: str(v))
def test_repeat_and_tile_match_torch(shape, sizes):
    check_op(lambda x: x.repeat(*sizes), inputs=[rand(*shape)])
    check_op(lambda x: x.repeat(sizes), inputs=[rand(*shape, seed=1)])
    check_op(_both(lambda m, x: m.tile(x, sizes[1:])), inputs=[rand(*shape, seed=2)])
    _gradgrad(lambda x: x.repeat(*sizes), rand(*shape))


@requires_torch
@pytest.mark.parametrize("shape,repeats,dim", [
    ((2, 3), 2, None), ((2, 3), 3, 1), ((2, 3), 2, -2), ((2, 3), [1, 0, 2], 1),
    ((3, 2), [2, 1, 3], 0), ((4,), [1], 0)], ids=lambda v: str(v))
def test_repeat_interleave_matches_torch(shape, repeats, dim):
    def fn(x):
        r = repeats
        if isinstance(r, list):
            r = tg.tensor(r) if isinstance(x, tg.Tensor) else torch.tensor(r)
        return x.repeat_interleave(r, dim=dim)
    check_op(fn, inputs=[rand(*shape)])
    _gradgrad(fn, rand(*shape))


@requires_torch
def test_repeat_interleave_of_counts_alone_is_the_repeated_arange():
    counts = [2, 0, 3]
    assert np.array_equal(tg.repeat_interleave(tg.tensor(counts)).numpy(),
                          torch.repeat_interleave(torch.tensor(counts)).numpy())


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: tg.ones(2, 3).repeat(2), RuntimeError,
     r"repeat: the number of repeat sizes \(1\) can not be smaller"),
    (lambda: tg.ones(2, 3).repeat(2, -1), RuntimeError, r"repeat: sizes must be non-negative"),
    (lambda: tg.ones(2, 3).repeat(2.0, 1), TypeError, r"repeat: sizes must be ints"),
    (lambda: tg.ones(2, 3).repeat_interleave(tg.tensor([1, 2]), dim=1), RuntimeError,
     r"repeat_interleave: repeats must have the same size as the input along dim \(3\)"),
    (lambda: tg.ones(2, 3).repeat_interleave(-1), RuntimeError,
     r"repeat_interleave: repeats can not be negative"),
    (lambda: tg.ones(2, 3).repeat_interleave(2, output_size=5), ValueError,
     r"repeat_interleave: output_size=5 but the repeats give 12"),
], ids=["too-few", "negative", "float", "counts-length", "negative-count", "output-size"])
def test_repeat_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
