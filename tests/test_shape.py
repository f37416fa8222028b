"""Shape ops: views, permutations, broadcasting, joining and splitting."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import check_op, rand, requires_torch, torch


def _lib(t):
    return tg if isinstance(t, tg.Tensor) else torch


CASES = {
    "reshape": (lambda t: t.reshape(4, -1), (2, 3, 2)),
    "reshape_tuple": (lambda t: t.reshape((3, 4)), (2, 3, 2)),
    "view": (lambda t: t.view(-1), (2, 3)),
    "flatten": (lambda t: t.flatten(1), (2, 3, 2)),
    "flatten_mid": (lambda t: t.flatten(0, 1), (2, 3, 2)),
    "flatten_scalar": (lambda t: t.flatten(), ()),
    "transpose": (lambda t: t.transpose(0, 2), (2, 3, 4)),
    "transpose_neg": (lambda t: t.transpose(-1, -2), (2, 3, 4)),
    "permute": (lambda t: t.permute(2, 0, 1), (2, 3, 4)),
    "permute_tuple": (lambda t: t.permute((1, 2, 0)), (2, 3, 4)),
    "T": (lambda t: t.T, (3, 5)),
    "mT": (lambda t: t.mT, (2, 3, 5)),
    "squeeze_all": (lambda t: t.squeeze(), (1, 3, 1, 2)),
    "squeeze_dim": (lambda t: t.squeeze(2), (1, 3, 1, 2)),
    "squeeze_non1": (lambda t: t.squeeze(1), (1, 3, 1, 2)),
    "unsqueeze": (lambda t: t.unsqueeze(1), (3, 2)),
    "unsqueeze_end": (lambda t: t.unsqueeze(-1), (3, 2)),
    "expand": (lambda t: t.expand(2, 3, 4), (3, 1)),
    "expand_keep": (lambda t: t.expand(-1, 5), (3, 1)),
    "contiguous": (lambda t: t.T.contiguous(), (3, 4)),
    "clone": (lambda t: t.clone(), (3,)),
    "flip": (lambda t: t.flip((0, 2)), (2, 3, 2)),
    "split": (lambda t: t.split(2, 1), (3, 5)),
    "split_sizes": (lambda t: t.split([1, 3, 1], 1), (3, 5)),
    "chunk": (lambda t: t.chunk(3, 0), (5, 2)),
    "chunk_more_than_size": (lambda t: t.chunk(4, 0), (2, 2)),
}


@requires_torch
@pytest.mark.parametrize("name", list(CASES))
def test_shape_op_matches_torch(name):
    fn, shape = CASES[name]
    check_op(fn, inputs=[rand(*shape)])


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_matches_torch(dim):
    shapes = [(2, 3), (2, 3), (2, 3)]
    shapes = [tuple(s if i != dim % 2 else s + k for i, s in enumerate(sh))
              for k, sh in enumerate(shapes)]
    check_op(lambda *ts: _lib(ts[0]).cat(list(ts), dim),
             inputs=[rand(*s, seed=i) for i, s in enumerate(shapes)])


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack_matches_torch(dim):
    check_op(lambda *ts: _lib(ts[0]).stack(ts, dim), inputs=[rand(2, 3, seed=i) for i in range(3)])


def test_view_ops_share_memory_where_numpy_can():
    x = tg.arange(6.0)
    assert np.shares_memory(x.reshape(2, 3).array, x.array)
    assert np.shares_memory(x.reshape(2, 3).T.array, x.array)


def test_contiguous_returns_self_when_already_contiguous():
    x = tg.ones(2, 3)
    assert x.contiguous() is x


def test_split_pieces_gradients_assemble():
    x = tg.arange(10.0, requires_grad=True)
    a, b, c = x.split([2, 5, 3])
    (a.sum() * 1 + b.sum() * 2 + c.sum() * 3).backward()
    assert x.grad.tolist() == [1.0] * 2 + [2.0] * 5 + [3.0] * 3


def test_shape_errors_name_op_and_values():
    x = tg.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(4, 2\) is invalid for input of "
                                           r"shape \(2, 3\) \(6 elements\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="reshape: only one dimension can be -1"):
        x.reshape(-1, -1)
    with pytest.raises(ValueError, match=r"permute: got 1 dims \(0,\) for a tensor with 2 dims"):
        x.permute(0)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0\) repeat"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match=r"expand: the size of dim 1 \(3\) of shape \(2, 3\) "
                                         r"must be 1 or match the target size 4"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match=r"cat: tensors must have the same shape except in dim "
                                         r"0; tensor 0 has shape \(2, 3\), tensor 1 has shape "
                                         r"\(2, 4\)"):
        tg.cat([x, tg.ones(2, 4)])
    with pytest.raises(ValueError, match="stack: expected a non-empty list"):
        tg.stack([])
    with pytest.raises(TypeError, match="cat: expected a list or tuple of tensors, got Tensor"):
        tg.cat(x)
    with pytest.raises(IndexError, match="unsqueeze: dim 3 is out of range"):
        x.unsqueeze(3)
    with pytest.raises(ValueError, match=r"split: sizes \(1, 1\) must be non-negative and sum"):
        x.split([1, 1], 1)
    with pytest.raises(ValueError, match="chunk: chunks must be a positive int"):
        x.chunk(0)
    with pytest.raises(TypeError, match="reshape: sizes must be ints, got float"):
        x.reshape(2.0, 3)
