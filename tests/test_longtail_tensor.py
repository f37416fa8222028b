"""The long tail of Tensor methods and top-level names (branch longtail), each against
PyTorch (forward; backward under a random upstream gradient; float64 gradcheck) through
helpers.check_op, or against worked examples where the result is structural."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import check_op, rand, requires_torch, torch


def _t(v):
    return torch.from_numpy(np.asarray(v)) if torch is not None else None


# ---------------------------------------------------------------- differentiable compositions
@pytest.mark.parametrize("k", [0, 1, -1, 3, -4])
@pytest.mark.parametrize("name", ["tril", "triu"])
def test_triangles_match_torch(name, k):
    check_op(lambda x: getattr(x, name)(k), inputs=[rand(2, 3, 4)])
    check_op(lambda x: getattr(tg, name)(x.mT, diagonal=k),
             lambda x: getattr(torch, name)(x.mT, diagonal=k), inputs=[rand(5, 3, seed=1)])


@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag_both_ways(k):
    check_op(lambda x: tg.diag(x, k), lambda x: torch.diag(x, k), inputs=[rand(4)])
    check_op(lambda x: tg.diag(x, k), lambda x: torch.diag(x, k), inputs=[rand(3, 5, seed=2)])
    check_op(lambda x: x.diag(k), lambda x: x.diag(k), inputs=[rand(5, 3, seed=3)])


def test_triangle_errors():
    with pytest.raises(RuntimeError, match=r"tril: input tensor must have at least 2 dim"):
        tg.ones(3).tril()
    with pytest.raises(TypeError, match=r"triu: diagonal must be an int"):
        tg.ones(2, 2).triu(0.5)
    with pytest.raises(RuntimeError, match=r"diag: expected a 1-D or 2-D tensor"):
        tg.diag(tg.ones(2, 2, 2))


@pytest.mark.parametrize("shifts,dims", [(1, 1), (-2, 0), ((1, 2), (0, 1)), (5, None),
                                         (7, -1), (0, 0)])
def test_roll_matches_torch(shifts, dims):
    check_op(lambda x: x.roll(shifts, dims), inputs=[rand(3, 4)])


def test_narrow_is_a_view_and_matches_torch():
    check_op(lambda x: x.narrow(1, 1, 2), inputs=[rand(3, 4)])
    check_op(lambda x: tg.narrow(x, 0, -2, 2), lambda x: torch.narrow(x, 0, -2, 2),
             inputs=[rand(3, 4, seed=1)])
    x = tg.zeros(3, 4)
    v = x.narrow(1, 1, 2)
    v.fill_(5.0)
    assert x.numpy()[:, 1:3].tolist() == [[5, 5]] * 3 and x.numpy()[:, 0].sum() == 0
    with pytest.raises(RuntimeError, match=r"narrow: start \(3\) \+ length \(2\) exceeds"):
        x.narrow(1, 3, 2)
    with pytest.raises(IndexError, match=r"narrow: start 9 is out of range"):
        x.narrow(1, 9, 0)


def test_unbind_gives_views_and_matches_torch():
    check_op(lambda x: x.unbind(1), inputs=[rand(2, 3, 2)])
    check_op(lambda x: tg.unbind(x), lambda x: torch.unbind(x), inputs=[rand(3, 2, seed=1)])
    x = tg.zeros(2, 3)
    x.unbind(0)[1].add_(1.0)
    assert x.numpy().tolist() == [[0, 0, 0], [1, 1, 1]]
    with pytest.raises(RuntimeError, match="unbind: dimension specified as 0"):
        tg.tensor(1.0).unbind()


@pytest.mark.parametrize("dim,size,step", [(0, 2, 1), (1, 3, 2), (-1, 1, 3), (1, 5, 1)])
def test_unfold_matches_torch(dim, size, step):
    check_op(lambda x: x.unfold(dim, size, step), inputs=[rand(3, 5)])


def test_unfold_errors():
    with pytest.raises(RuntimeError, match="unfold: maximum size for tensor at dimension 1 is 5"):
        tg.ones(2, 5).unfold(1, 6, 1)
    with pytest.raises(ValueError, match="unfold: step is 0"):
        tg.ones(2, 5).unfold(1, 2, 0)


def test_fmod_method_and_integers():
    check_op(lambda a, b: a.fmod(b), inputs=[np.array([-3.3, 2.7, 5.1]),
                                             np.array([1.5, -1.2, 2.2])])
    check_op(lambda a: tg.fmod(a, 1.25), lambda a: torch.fmod(a, 1.25),
             inputs=[np.array([-3.3, 2.7, 5.1])])
    check_op(lambda a, b: tg.fmod(a, b), lambda a, b: torch.fmod(a, b),
             inputs=[np.array([-7, 7, -8]), np.array([3, -3, 5])], grad=False)


@pytest.mark.parametrize("weight", [0.3, 0.5, 0.9, -1.5, "tensor"])
def test_lerp_matches_torch(weight):
    if weight == "tensor":
        check_op(lambda a, b, w: a.lerp(b, w), inputs=[rand(3, 4), rand(3, 4, seed=1),
                                                        rand(4, seed=2, low=-0.5, high=1.5)])
    else:
        check_op(lambda a, b: tg.lerp(a, b, weight), lambda a, b: torch.lerp(a, b, weight),
                 inputs=[rand(3, 4), rand(3, 4, seed=1)])


def test_lerp_weight_one_gives_end_exactly():
    a, b = tg.tensor([1e8, -3.0]), tg.tensor([1.0, 7.1])
    assert a.lerp(b, 1.0).numpy().tolist() == b.numpy().tolist()


@pytest.mark.parametrize("value", [1, 0.5, -2])
def test_addcmul_addcdiv_match_torch(value):
    ins = [rand(3, 4), rand(3, 1, seed=1), rand(4, seed=2, low=0.5, high=2.0)]
    check_op(lambda a, b, c: a.addcmul(b, c, value=value), inputs=ins)
    check_op(lambda a, b, c: tg.addcdiv(a, b, c, value=value),
             lambda a, b, c: torch.addcdiv(a, b, c, value=value), inputs=ins)


def test_addcdiv_refuses_integer_division():
    with pytest.raises(RuntimeError, match="addcdiv: integer division"):
        tg.addcdiv(tg.ones(2), tg.tensor([1, 2]), tg.tensor([1, 2]))


def test_nan_to_num_matches_torch():
    x = np.array([[1.5, np.nan, -np.inf], [np.inf, -2.0, 0.25]])
    check_op(lambda t: t.nan_to_num(), inputs=[x], gradcheck=False)  # inf: no finite diffs
    check_op(lambda t: tg.nan_to_num(t, nan=1.0, posinf=9.0, neginf=-9.0),
             lambda t: torch.nan_to_num(t, nan=1.0, posinf=9.0, neginf=-9.0), inputs=[x],
             gradcheck=False)
    check_op(lambda t: t.nan_to_num(nan=2.0), inputs=[rand(3, 2)])
    check_op(lambda t: t.nan_to_num(), inputs=[x.astype(np.float32)], grad=False)


def test_index_add_and_fill_match_torch():
    idx = np.array([2, 0, 2])
    check_op(lambda x, s, i: x.index_add(1, i, s, alpha=0.5),
             inputs=[rand(3, 4), rand(3, 3, seed=1), idx])
    check_op(lambda x, i: x.index_fill(0, i, -1.5), inputs=[rand(4, 2), np.array([3, 1])])
    check_op(lambda x, v, i: x.index_fill(1, i, v), inputs=[rand(2, 3), np.array(0.7),
                                                           np.array([0, 2])])
    with pytest.raises(RuntimeError, match=r"index_add: source of shape \(3, 2\) does not"):
        tg.ones(3, 4).index_add(1, tg.tensor([0, 1, 2]), tg.ones(3, 2))
    with pytest.raises(IndexError, match=r"index_fill: index 5 is out of bounds"):
        tg.ones(3, 4).index_fill(1, tg.tensor([5]), 0.0)


def test_sum_to_size_matches_torch():
    check_op(lambda x: x.sum_to_size(3, 1), inputs=[rand(2, 3, 4)])
    check_op(lambda x: x.sum_to_size((1, 4)), inputs=[rand(3, 4)])
    with pytest.raises(RuntimeError, match=r"sum_to_size: size \(2,\) is not expandable"):
        tg.ones(3, 4).sum_to_size(2)


# ---------------------------------------------------------------- non-differentiable results
@requires_torch
def test_any_all_return_bool_tensors_as_torch():
    a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    for name in ("any", "all"):
        for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
            ours = getattr(tg.tensor(a), name)(**kw)
            ref = getattr(_t(a), name)(**kw)
            assert isinstance(ours, tg.Tensor) and ours.dtype == tg.bool
            assert ours.numpy().tolist() == ref.numpy().tolist()
    assert tg.tensor(np.array([0, 3], np.uint8)).any().dtype == tg.uint8  # as torch
    x = tg.tensor([1.0], requires_grad=True)
    assert not x.any().requires_grad and bool(x.all())


@requires_torch
def test_nonzero_argwhere_unique_match_torch():
    a = np.array([[0, 2, 0], [3, 0, 4]])
    assert tg.tensor(a).nonzero().numpy().tolist() == _t(a).nonzero().numpy().tolist()
    assert tg.argwhere(tg.tensor(a)).numpy().tolist() == torch.argwhere(_t(a)).tolist()
    for o, r in zip(tg.tensor(a).nonzero(as_tuple=True), _t(a).nonzero(as_tuple=True)):
        assert o.dtype == tg.int64 and o.numpy().tolist() == r.tolist()
    assert tg.nonzero(tg.tensor(5)).shape == tuple(torch.nonzero(torch.tensor(5)).shape)
    assert tg.nonzero(tg.tensor(0)).shape == tuple(torch.nonzero(torch.tensor(0)).shape)
    v = np.array([[3.0, 1.0], [3.0, 2.0], [1.0, 1.0]])
    for kw in ({}, {"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True}, {"dim": 0},
               {"dim": 1, "return_inverse": True, "return_counts": True}):
        ours, ref = tg.unique(tg.tensor(v), **kw), torch.unique(_t(v), **kw)
        ours = ours if isinstance(ours, tuple) else (ours,)
        ref = ref if isinstance(ref, tuple) else (ref,)
        assert len(ours) == len(ref), kw
        for o, r in zip(ours, ref):
            assert o.numpy().tolist() == r.numpy().tolist() and o.shape == tuple(r.shape), kw
    assert not tg.tensor(v, requires_grad=True).unique().requires_grad


def test_predicates_on_a_tensor_that_requires_grad_stay_off_the_graph():
    x = tg.tensor([1.0, float("nan"), float("inf")], requires_grad=True)
    for out in (x.isnan(), x.isinf(), x.isfinite(), x.logical_not(), x.logical_and(x),
                x.nonzero(), tg.logical_or(x, x), tg.logical_xor(x, x)):
        assert out.grad_fn is None and not out.requires_grad
    assert x.isnan().numpy().tolist() == [False, True, False]
    assert x.isfinite().numpy().tolist() == [True, False, False]


# ---------------------------------------------------------------- in place
@pytest.mark.parametrize("name", ["abs", "exp", "sqrt", "sigmoid", "tanh", "floor", "log",
                                  "sin", "cos"])
def test_unary_inplace_matches_out_of_place_and_records(name):
    a = rand(3, 4, low=0.2, high=2.0)

    def f(x):
        y = x * 1.0          # a non-leaf, so it may be changed in place under grad
        return getattr(y, name + "_")()

    check_op(f, lambda x: getattr(x * 1.0, name + "_")(), inputs=[a])
    t = tg.tensor(a)
    v = t._version
    assert getattr(t, name + "_")() is t and t._version == v + 1


def test_clip_inplace_and_compound_inplace_match_torch():
    check_op(lambda x: (x * 1.0).clip_(-0.5, 0.5), lambda x: (x * 1.0).clip_(-0.5, 0.5),
             inputs=[rand(3, 4)])
    ins = [rand(3, 4), rand(3, 4, seed=1), rand(4, seed=2, low=0.5, high=2.0)]
    check_op(lambda a, b, c: (a * 1.0).addcmul_(b, c, value=0.3),
             lambda a, b, c: (a * 1.0).addcmul_(b, c, value=0.3), inputs=ins)
    check_op(lambda a, b, c: (a * 1.0).addcdiv_(b, c, value=-2),
             lambda a, b, c: (a * 1.0).addcdiv_(b, c, value=-2), inputs=ins)
    check_op(lambda a, b: (a * 1.0).lerp_(b, 0.7), lambda a, b: (a * 1.0).lerp_(b, 0.7),
             inputs=ins[:2])
    check_op(lambda x, s, i: (x * 1.0).index_add_(0, i, s),
             lambda x, s, i: (x * 1.0).index_add_(0, i, s),
             inputs=[rand(3, 2), rand(2, 2, seed=1), np.array([2, 2])])
    check_op(lambda x, i: (x * 1.0).index_fill_(1, i, 3.0),
             lambda x, i: (x * 1.0).index_fill_(1, i, 3.0), inputs=[rand(3, 2), np.array([1])])


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    w = tg.zeros(3, requires_grad=True)
    for call in (w.exp_, w.normal_, w.uniform_, lambda: w.addcmul_(w, w)):
        with pytest.raises(RuntimeError, match=r"leaf tensor that requires grad"):
            call()


def test_random_fills_draw_from_the_seeded_generator_and_cut_the_history():
    tg.manual_seed(3)
    a = tg.zeros(2000).normal_(1.0, 2.0)
    tg.manual_seed(3)
    b = tg.empty(2000).normal_(1.0, 2.0)
    assert np.array_equal(a.numpy(), b.numpy())
    assert abs(a.numpy().mean() - 1.0) < 0.2 and abs(a.numpy().std() - 2.0) < 0.2
    u = tg.zeros(2000, dtype=tg.float64).uniform_(-3, -1)
    assert u.dtype == tg.float64 and u.numpy().min() >= -3 and u.numpy().max() < -1
    assert tg.zeros(50).uniform_(**{"from": 2, "to": 3}).numpy().min() >= 2
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * float("inf")       # the old values: fill must not turn inf * 0 into NaN
    assert np.isfinite(y.normal_().detach().numpy()).all()
    z = x * 3.0
    z.uniform_()
    z.sum().backward()         # the old values' history gets a zero gradient, as torch
    assert x.grad.numpy().tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="normal_: expects std >= 0"):
        tg.zeros(2).normal_(0, -1)
    with pytest.raises(ValueError, match="uniform_: expects from <= to"):
        tg.zeros(2).uniform_(2, 1)
    with pytest.raises(TypeError, match="normal_: expected a floating point tensor"):
        tg.zeros(2, dtype=tg.int64).normal_()


# ---------------------------------------------------------------- constructors and metadata
@requires_torch
def test_new_factories_follow_the_source_tensor():
    src, ref = tg.zeros(2, dtype=tg.float64), torch.zeros(2, dtype=torch.float64)
    for name, args in (("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_empty", (1, 2))):
        o, r = getattr(src, name)(*args), getattr(ref, name)(*args)
        assert o.shape == tuple(r.shape) and str(o.dtype) == str(r.dtype).split(".")[1]
        if name != "new_empty":
            assert o.numpy().tolist() == r.numpy().tolist()
    o = src.new_full((2, 2), 7)
    assert o.dtype == tg.float64 and o.numpy().tolist() == [[7, 7], [7, 7]]
    assert src.new_zeros(2, dtype=tg.int32).dtype == tg.int32
    y = tg.tensor([1.0], requires_grad=True)
    n = src.new_tensor(y)
    assert n.dtype == tg.float64 and not n.requires_grad
    assert src.new_ones(2, requires_grad=True).requires_grad


def test_type_names_and_casts():
    assert tg.ones(2).type() == "tinygrad_cnn.FloatTensor"
    assert tg.ones(2, dtype=tg.int64).type() == "tinygrad_cnn.LongTensor"
    assert tg.ones(2).type(tg.float64).dtype == tg.float64
    assert tg.ones(2).type("tinygrad_cnn.IntTensor").dtype == tg.int32
    with pytest.raises(ValueError, match="type: unknown tensor type"):
        tg.ones(2).type("tinygrad_cnn.NopeTensor")


@requires_torch
def test_layout_queries_match_torch():
    a = np.arange(24.0).reshape(2, 3, 4)
    x, t = tg.tensor(a), _t(a)
    for f in (lambda v: v, lambda v: v.transpose(0, 2), lambda v: v[:, 1:, ::2],
              lambda v: v[:, :1].expand(2, 5, 4)):
        assert f(x).stride() == f(t).stride()
        assert f(x).is_contiguous() == f(t).is_contiguous()
    assert x.stride(-1) == t.stride(-1)
    assert x.element_size() == t.element_size() and x.nelement() == t.nelement()
    assert x.is_floating_point() and not tg.is_floating_point(tg.tensor([1]))


# ---------------------------------------------------------------- top level
def test_dtype_aliases_are_torchs():
    assert tg.long is tg.int64 and tg.int is tg.int32 and tg.float is tg.float32
    assert tg.double is tg.float64 and tg.half is tg.float16 and tg.short is tg.int16
    assert tg.ones(2, dtype=tg.long).dtype == np.int64


def test_set_default_dtype_changes_what_python_floats_become():
    assert tg.get_default_dtype() == tg.float32
    try:
        tg.set_default_dtype(tg.float64)
        assert tg.tensor(1.5).dtype == tg.float64 and tg.tensor([1.0, 2]).dtype == tg.float64
        for t in (tg.zeros(2), tg.ones(2), tg.empty(1), tg.rand(2), tg.randn(2),
                  tg.arange(0.0, 1.0, 0.5), tg.tensor([1, 2]).sqrt(),
                  tg.tensor([1, 2]) * 0.5, tg.full((2,), 1.5)):
            assert t.dtype == tg.float64
        assert tg.get_default_dtype() == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)
    assert tg.zeros(2).dtype == tg.float32
    with pytest.raises(TypeError, match="set_default_dtype: only float32 and float64"):
        tg.set_default_dtype(tg.int64)


def test_deterministic_flag_is_stored():
    assert tg.are_deterministic_algorithms_enabled() is False
    try:
        tg.use_deterministic_algorithms(True)
        assert tg.are_deterministic_algorithms_enabled() is True
    finally:
        tg.use_deterministic_algorithms(False)
    with pytest.raises(TypeError, match="use_deterministic_algorithms: mode"):
        tg.use_deterministic_algorithms("yes")


def test_set_printoptions_changes_repr():
    x = tg.tensor([1.123456, 2.5])
    try:
        tg.set_printoptions(precision=2)
        assert "1.12," in repr(x) and "1.1235" not in repr(x)
        tg.set_printoptions(sci_mode=True)
        assert "e+00" in repr(x)
        tg.set_printoptions(threshold=5, edgeitems=1)
        assert "..." in repr(tg.arange(100))
    finally:
        tg.set_printoptions(profile="default", sci_mode=None)
    assert repr(x) == "tensor([1.1235, 2.5   ])"
    with pytest.raises(ValueError, match="set_printoptions: profile"):
        tg.set_printoptions(profile="tiny")


def test_top_level_helpers():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert tg.is_tensor(x) and not tg.is_tensor(np.ones(2)) and tg.numel(tg.ones(2, 3)) == 6
    c = tg.clone(x)
    assert c.grad_fn is not None and tg.detach(x).grad_fn is None and not tg.detach(x).requires_grad
    assert tg.as_tensor(x) is x
    a = np.ones(3)
    t = tg.as_tensor(a)
    a[0] = 5.0
    assert t.numpy()[0] == 5.0                     # shares the NumPy memory, as torch
    assert tg.as_tensor(a, dtype=tg.float32).dtype == tg.float32
    assert tg.as_tensor([1, 2]).dtype == tg.int64
    tg.manual_seed(0)
    p = tg.randperm(10)
    assert p.dtype == tg.int64 and sorted(p.numpy().tolist()) == list(range(10))
    assert tg.randperm(4, dtype=tg.float32).dtype == tg.float32
    with pytest.raises(RuntimeError, match="randperm: n must be non-negative"):
        tg.randperm(-1)
