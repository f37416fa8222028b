"""matmul with 1-D operands, batching and broadcasting, as numpy.matmul and torch.matmul."""
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
