"""Indexing: basic, advanced (with repeated indices), bool masks, and mixtures."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import check_op, rand, requires_torch, torch

IDX = np.array([0, 2, 2, 1])  # repeats: the gradient must accumulate
MASK = np.array([True, False, True])

INDICES = {
    "int": lambda: 1,
    "negative_int": lambda: -1,
    "slice": lambda: slice(1, None),
    "step_slice": lambda: (slice(None), slice(None, None, 2)),
    "int_and_slice": lambda: (1, slice(0, 3)),
    "none": lambda: (None, 0),
    "ellipsis": lambda: (Ellipsis, 1),
    "int_array_repeats": lambda: IDX,
    "int_list": lambda: [0, 0, 1],
    "two_arrays": lambda: (IDX, np.array([1, 0, 1, 3])),
    "array_then_slice": lambda: (IDX, slice(1, 3)),
    "slice_then_array": lambda: (slice(None), np.array([3, 3, 0])),
    "bool_mask": lambda: MASK,
    "bool_mask_2d": lambda: np.array([[True, False, False, True]] * 3),
    "mask_and_slice": lambda: (MASK, slice(None, 2)),
    "array_none_array": lambda: (IDX, None, np.array([1, 0, 1, 3])),
    "ellipsis_array": lambda: (Ellipsis, np.array([1, 1])),
}


def _index_for(lib_tensor, index):
    """The same index in the library's own types (Tensors for arrays)."""
    def conv(i):
        if isinstance(i, np.ndarray):
            return torch.from_numpy(i) if not isinstance(lib_tensor, tg.Tensor) else tg.tensor(i)
        return i
    return tuple(conv(i) for i in index) if isinstance(index, tuple) else conv(index)


@requires_torch
@pytest.mark.parametrize("name", list(INDICES))
def test_indexing_matches_torch(name):
    index = INDICES[name]()
    check_op(lambda t: t[_index_for(t, index)], inputs=[rand(3, 4)])


def test_numpy_arrays_work_as_indices_too():
    x = tg.tensor(rand(3, 4), requires_grad=True)
    x[IDX].sum().backward()
    assert x.grad.numpy()[:, 0].tolist() == [1.0, 1.0, 2.0]


def test_iteration_and_len():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert len(x) == 2 and [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    (rows[0] * 2 + rows[1]).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0], [1.0, 1.0]]


def test_double_backward_through_indexing():
    x = tg.tensor(rand(5), requires_grad=True)
    (g,) = tg.autograd.grad((x[IDX] ** 2).sum(), x, create_graph=True)
    (gg,) = tg.autograd.grad(g.sum(), x)
    counts = np.bincount(IDX, minlength=5)
    np.testing.assert_allclose(gg.numpy(), 2.0 * counts)


def test_index_errors():
    x = tg.ones(3, 4)
    with pytest.raises(IndexError, match=r"getitem: index 5 is out of bounds .*\(input shapes: "
                                         r"\(3, 4\)\)"):
        x[5]
    with pytest.raises(IndexError, match="getitem: tensors used as indices must be long, int or "
                                         "bool; got float32"):
        x[tg.ones(2)]
    with pytest.raises(TypeError, match="getitem: float index 1.5"):
        x[1.5]
