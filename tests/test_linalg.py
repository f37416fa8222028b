"""matmul with 1-D operands, batching and broadcasting, as numpy.matmul and torch.matmul; the
strict forms mm, bmm, dot, outer, t; einsum (ellipsis, implicit output, diagonals, size-1
broadcasting) and tensordot, forward and backward vs torch and twice differentiable."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import check_op, rand, requires_torch

SHAPES = [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)), ((3,), (5, 3, 2)),
    ((5, 2, 3), (3,)), ((2, 1, 2, 3), (3, 3, 2)), ((0, 3), (3, 2)),
]


@requires_torch
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}@{s[1]}")
def test_matmul_matches_torch(shapes):
    check_op(lambda a, b: a @ b, inputs=[rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)])


@requires_torch
def test_matmul_with_constant_operand_only_differentiates_the_other():
    w = rand(3, 4)
    check_op(lambda x: x @ (tg.tensor(w, device=x.device) if isinstance(x, tg.Tensor) else
                            __import__("torch").from_numpy(w)), inputs=[rand(2, 3)])


def test_matmul_errors_name_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be "
                                         r"multiplied \(3 != 4\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(ValueError, match="matmul: both arguments need at least 1 dimension"):
        tg.ones(2) @ tg.tensor(1.0)
    with pytest.raises(ValueError, match=r"matmul: batch dims of shapes \(2, 2, 3\) and "
                                         r"\(3, 3, 4\) do not broadcast"):
        tg.ones(2, 2, 3) @ tg.ones(3, 3, 4)
    with pytest.raises(RuntimeError, match="matmul: expected both operands to have the same "
                                           "dtype, got float32 and float64"):
        tg.ones(2, 3) @ tg.ones(3, dtype=tg.float64)


# ---------------------------------------------------------------- mm, bmm, dot, outer, t
def _both(fn):
    """The same call on tinygrad_cnn (``tg``) and torch: fn(module, *tensors)."""
    return lambda *a: fn(tg if isinstance(a[0], tg.Tensor) else __import__("torch"), *a)


@requires_torch
@pytest.mark.parametrize("name,shapes", [
    ("mm", ((2, 3), (3, 5))), ("mm", ((1, 4), (4, 1))), ("mm", ((0, 3), (3, 2))),
    ("bmm", ((4, 2, 3), (4, 3, 5))), ("bmm", ((1, 1, 3), (1, 3, 2))),
    ("dot", ((5,), (5,))), ("outer", ((3,), (4,))), ("outer", ((1,), (2,)))],
    ids=lambda v: str(v))
def test_strict_products_match_torch(name, shapes):
    inputs = [rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)]
    check_op(_both(lambda m, a, b: getattr(m, name)(a, b)), inputs=inputs)
    check_op(lambda a, b: getattr(a, name)(b), inputs=inputs)
    assert tg.gradgradcheck(lambda a, b: getattr(a, name)(b),
                            [tg.tensor(v, requires_grad=True) for v in inputs])


@requires_torch
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (1, 4)], ids=str)
def test_t_matches_torch(shape):
    check_op(lambda x: x.t() * 1.0, inputs=[rand(*shape)])
    x = tg.ones(*shape)
    if len(shape) < 2:
        assert x.t() is x  # 0-D and 1-D come back as they are


@pytest.mark.parametrize("call,msg", [
    (lambda: tg.mm(tg.ones(2, 3), tg.ones(4, 5)),
     r"mm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: tg.mm(tg.ones(3), tg.ones(3, 5)), r"mm: both arguments must be matrices"),
    (lambda: tg.mm(tg.ones(2, 2, 3), tg.ones(3, 5)), r"mm: both arguments must be matrices"),
    (lambda: tg.bmm(tg.ones(2, 2, 3), tg.ones(3, 3, 5)),
     r"bmm: expected the second batch of shape \[2, 3, m\]"),
    (lambda: tg.bmm(tg.ones(2, 3), tg.ones(3, 3, 5)), r"bmm: both arguments must be 3-D"),
    (lambda: tg.dot(tg.ones(2), tg.ones(3)), r"dot: both vectors need the same number"),
    (lambda: tg.dot(tg.ones(2, 2), tg.ones(2)), r"dot: 1-D tensors expected"),
    (lambda: tg.outer(tg.ones(2, 2), tg.ones(3)), r"outer: expected 1-D arguments"),
    (lambda: tg.mm(tg.ones(2, 3), tg.ones(3, 2, dtype=tg.float64)),
     r"mm: expected both operands to have the same dtype"),
    (lambda: tg.ones(2, 3, 4).t(), r"t\(\) expects a tensor with <= 2 dimensions, but self "
                                   r"is 3D"),
], ids=["mm-shapes", "mm-1d", "mm-3d", "bmm-batch", "bmm-2d", "dot-length", "dot-2d",
        "outer-2d", "mm-dtype", "t-3d"])
def test_strict_product_errors(call, msg):
    with pytest.raises(RuntimeError, match=msg):
        call()


# ---------------------------------------------------------------- einsum, tensordot
EINSUM = [  # (equation, operand shapes)
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                        # implicit output
    ("ba", [(2, 3)]),                                   # implicit output is sorted: (3, 2)
    ("ij->", [(2, 3)]),
    ("ij->j", [(4, 3)]),                                # a letter summed away
    ("ii->i", [(3, 3)]),                                # diagonal
    ("ii", [(4, 4)]),                                   # trace
    ("iji->j", [(3, 2, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),  # ellipsis with broadcasting
    ("...ij->ij", [(4, 2, 3)]),                         # ellipsis summed away
    ("i...->...", [(3, 2, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),                    # size-1 letter broadcasts
    ("ab, bc, cd -> ad", [(2, 3), (3, 4), (4, 2)]),     # three operands, spaces
    ("Ab,bA->A", [(2, 3), (3, 2)]),                     # upper-case letters
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("i,i->", [(0,), (0,)]),
]


@requires_torch
@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_matches_torch(eq, shapes):
    inputs = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    check_op(_both(lambda m, *ops: m.einsum(eq, *ops)), inputs=inputs)
    assert tg.gradgradcheck(lambda *ops: tg.einsum(eq, *ops),
                            [tg.tensor(v, requires_grad=True) for v in inputs])


@requires_torch
def test_einsum_list_form_and_one_operand_twice():
    a, b = rand(2, 3), rand(3, 4, seed=1)
    check_op(lambda a, b: _both(lambda m, a, b: m.einsum("ij,jk->ik", [a, b]))(a, b),
             inputs=[a, b])
    check_op(_both(lambda m, a: m.einsum("ij,ij->", a, a)), inputs=[a])


def test_einsum_diagonal_gradient_by_hand():
    x = tg.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    tg.einsum("ii->i", x).backward(tg.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]


@requires_torch
@pytest.mark.parametrize("shapes,dims", [
    (((2, 3, 4), (3, 4, 5)), 2), (((2, 3), (4, 5)), 0), (((3, 4), (4, 3)), ([1, 0], [0, 1])),
    (((2, 3, 4), (4, 2)), ([-1], [0])), (((2, 3), (3, 2)), 1)], ids=lambda v: str(v))
def test_tensordot_matches_torch(shapes, dims):
    inputs = [rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)]
    check_op(_both(lambda m, a, b: m.tensordot(a, b, dims=dims)), inputs=inputs)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: tg.einsum("ii->i", tg.ones(2, 3)), ValueError,
     r"einsum: subscript i is repeated for operand 0 but the sizes don't match, 2 != 3"),
    (lambda: tg.einsum("ij->ii", tg.ones(2, 2)), ValueError,
     r"einsum: output subscript i appears more than once in the output"),
    (lambda: tg.einsum("i,j", tg.ones(2)), ValueError, r"einsum: fewer operands were provided"),
    (lambda: tg.einsum("ij", tg.ones(2)), ValueError,
     r"einsum: the subscripts 'ij' give 2 dims, the operand has 1"),
    (lambda: tg.einsum("i1", tg.ones(2, 2)), ValueError, r"einsum: invalid subscript '1'"),
    (lambda: tg.einsum("ij,j", tg.ones(2, 3), tg.ones(3, dtype=tg.float64)), RuntimeError,
     r"einsum: expected all operands of one dtype"),
    (lambda: tg.einsum("i", [1.0]), TypeError, r"einsum: operand 0 must be a Tensor"),
    (lambda: tg.einsum(3, tg.ones(2)), TypeError, r"einsum: the equation must be a str"),
    (lambda: tg.tensordot(tg.ones(2, 3), tg.ones(2, 3), dims=1), RuntimeError,
     r"tensordot: contracted dimension 1 of a .* and 0 of b .* differ in size"),
    (lambda: tg.tensordot(tg.ones(2, 3), tg.ones(3, 2), dims=3), ValueError,
     r"tensordot: dims=3 must be in \[0, 2\]"),
], ids=["repeat-sizes", "repeat-out", "too-few", "too-many-letters", "bad-letter", "dtypes",
        "not-tensor", "eq-type", "td-sizes", "td-dims"])
def test_einsum_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
