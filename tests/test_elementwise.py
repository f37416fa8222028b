"""Elementwise ops: unary math, binary arithmetic with broadcasting, comparisons, where."""
import operator

import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import assert_close, check_op, rand, requires_torch, torch

SHAPES = [(), (1,), (5,), (2, 3), (2, 1, 4), (0,), (2, 0)]
SHAPE_IDS = ["scalar", "size1", "vec5", "2x3", "2x1x4", "empty", "2x0"]


def _positive(*shape):
    return rand(*shape, low=0.2, high=3.0)


UNARY = {
    "neg": (lambda x: -x, rand),
    "abs": (lambda x: abs(x), rand),
    "exp": (lambda x: x.exp(), rand),
    "log": (lambda x: x.log(), _positive),
    "sqrt": (lambda x: x.sqrt(), _positive),
    "sin": (lambda x: x.sin(), rand),
    "cos": (lambda x: x.cos(), rand),
    "tanh": (lambda x: x.tanh(), rand),
    "sigmoid": (lambda x: x.sigmoid(), rand),
    "relu": (lambda x: x.relu(), rand),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), rand),
    "clamp_min": (lambda x: x.clamp(min=0.1), rand),
    "pow_scalar": (lambda x: x ** 3, rand),
    "rpow": (lambda x: 2.0 ** x, rand),
    "square_root_pow": (lambda x: x ** 0.5, _positive),
}


@requires_torch
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_matches_torch(name, shape):
    fn, make = UNARY[name]
    check_op(fn, inputs=[make(*shape)])


def test_unary_gradcheck_without_torch():
    # the finite-difference oracle alone, so this family is checked even where torch is absent
    for name, (fn, make) in UNARY.items():
        x = tg.tensor(make(2, 3), requires_grad=True)
        assert tg.gradcheck(fn, [x]), name


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a.abs() ** b,
    "maximum": lambda a, b: a.maximum(b) if isinstance(a, tg.Tensor) else torch.maximum(a, b),
    "minimum": lambda a, b: a.minimum(b) if isinstance(a, tg.Tensor) else torch.minimum(a, b),
}
BROADCAST = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2)), ((4, 1, 3), (2, 1)),
             ((1,), ()), ((0, 3), (3,)), ((2, 0), (2, 1))]


@requires_torch
@pytest.mark.parametrize("shapes", BROADCAST, ids=lambda s: f"{s[0]}~{s[1]}")
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_broadcasting_matches_torch(name, shapes):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2, low=0.5, high=2.0)
    check_op(BINARY[name], inputs=[a, b])


@requires_torch
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
def test_python_scalars_on_both_sides(op):
    x = rand(2, 3, low=0.5, high=2.0)
    check_op(lambda t: eval(f"t {op} 1.5"), inputs=[x])
    check_op(lambda t: eval(f"1.5 {op} t"), inputs=[x])
    check_op(lambda t: eval(f"t {op} 2"), inputs=[x])


@requires_torch
def test_maximum_minimum_ties_split_gradient_like_torch():
    a = np.array([1.0, 2.0, 3.0, 2.0])
    b = np.array([1.0, 0.0, 3.0, 5.0])
    check_op(lambda x, y: x.maximum(y) if isinstance(x, tg.Tensor) else torch.maximum(x, y),
             inputs=[a, b], gradcheck=False)
    check_op(lambda x, y: x.minimum(y) if isinstance(x, tg.Tensor) else torch.minimum(x, y),
             inputs=[a, b], gradcheck=False)


@requires_torch
def test_kinks_follow_torch_conventions():
    # relu'(0) = 0, |x|'(0) = 0, clamp passes the gradient on its bounds (inclusive)
    x = np.array([-1.0, 0.0, 0.5, 1.0])
    check_op(lambda t: t.relu(), inputs=[x], gradcheck=False)
    check_op(lambda t: abs(t), inputs=[x], gradcheck=False)
    check_op(lambda t: t.clamp(0.0, 0.5), inputs=[x], gradcheck=False)


@requires_torch
def test_pow_at_zero_matches_torch():
    base = np.array([0.0, 0.0, 2.0, 1.5])
    expo = np.array([0.0, 2.0, 0.0, 1.0])
    check_op(lambda a, b: a ** b, inputs=[base, expo], gradcheck=False)


def test_sigmoid_is_stable_for_large_inputs():
    x = tg.tensor([-1000.0, 0.0, 1000.0], dtype=tg.float64, requires_grad=True)
    y = x.sigmoid()
    assert y.tolist() == [0.0, 0.5, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.25, 0.0]


# ---------------------------------------------------------------- dtypes
DTYPES = ["bool", "int32", "int64", "float32", "float64"]


@requires_torch
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
@pytest.mark.parametrize("b_zero_dim", [False, True], ids=["dim", "zero-dim"])
def test_type_promotion_matches_torch(da, db, b_zero_dim):
    a = np.ones((2,), dtype=da)
    b = np.ones(() if b_zero_dim else (2,), dtype=db)
    ours = tg.tensor(a) * tg.tensor(b)
    ref = torch.from_numpy(a) * torch.from_numpy(np.asarray(b))
    assert str(ours.dtype) == str(ref.dtype).replace("torch.", "")


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5])
def test_scalar_promotion_matches_torch(dtype, scalar):
    a = np.ones((2,), dtype=dtype)
    ours = tg.tensor(a) + scalar
    ref = torch.from_numpy(a) + scalar
    assert str(ours.dtype) == str(ref.dtype).replace("torch.", "")


@requires_torch
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_float32_keeps_dtype_and_matches_torch(name):
    fn, make = UNARY[name]
    check_op(fn, inputs=[make(3, 4).astype(np.float32)], atol=1e-5, rtol=1e-5, gradcheck=False)


@requires_torch
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_float32_keeps_dtype_and_matches_torch(name):
    a, b = rand(2, 3, seed=1), rand(3, seed=2, low=0.5, high=2.0)
    check_op(BINARY[name], inputs=[a.astype(np.float32), b.astype(np.float32)], atol=1e-5,
             rtol=1e-5, gradcheck=False)


def test_float32_stays_float32_forward_and_backward():
    x = tg.randn(3, 4, requires_grad=True)
    y = ((x * 2.5 + 1) / 3 - x.exp().tanh().sigmoid() ** 2).relu().sum()
    assert y.dtype == tg.float32
    y.backward()
    assert x.grad.dtype == tg.float32


def test_mixed_dtype_gradient_comes_back_in_input_dtype():
    a = tg.ones(3, dtype=tg.float32, requires_grad=True)
    b = tg.ones(3, dtype=tg.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == tg.float32 and b.grad.dtype == tg.float64


def test_integer_true_division_gives_float32():
    r = tg.tensor([3, 4]) / tg.tensor([2, 2])
    assert r.dtype == tg.float32 and r.tolist() == [1.5, 2.0]


@requires_torch
def test_floor_divide_and_remainder_follow_python_signs():
    a = np.array([7.0, -7.0, 7.5, -7.5])
    b = np.array([2.0, 2.0, -2.0, -2.0])
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    assert_close((tg.tensor(a) // tg.tensor(b)).numpy(), (ta // tb).numpy())
    check_op(lambda x, y: x % y, inputs=[a, b], gradcheck=False)


# ---------------------------------------------------------------- comparisons and where
@requires_torch
@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_return_bool_without_grad(op):
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[2.0], [1.0]])
    fn = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
          ">": operator.gt, ">=": operator.ge}[op]  # the operator itself, as `a {op} b`
    ours = fn(tg.tensor(a, requires_grad=True), tg.tensor(b))
    ref = fn(torch.from_numpy(a), torch.from_numpy(b))
    assert ours.dtype == tg.bool and not ours.requires_grad
    assert ours.tolist() == ref.tolist()


@requires_torch
def test_where_matches_torch():
    cond = rand(2, 3, seed=5) > 0
    check_op(lambda c, a, b: (tg.where if isinstance(a, tg.Tensor) else torch.where)(c, a, b),
             inputs=[cond, rand(2, 3, seed=1), rand(3, seed=2)])
    check_op(lambda c, a: (tg.where if isinstance(a, tg.Tensor) else torch.where)(c, a, 0.0),
             inputs=[cond, rand(2, 3, seed=1)])


# ---------------------------------------------------------------- bad input
def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: .*\(2, 3\), \(4,\)"):
        tg.ones(2, 3) + tg.ones(4)


def test_bad_operand_type_is_a_type_error():
    with pytest.raises(TypeError, match="mul: unsupported operand type str"):
        tg.ones(2) * "a"


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        tg.ones(2).clamp()


def test_where_condition_must_be_bool():
    with pytest.raises(TypeError, match="where: condition must be a bool tensor, got float32"):
        tg.where(tg.ones(2), tg.ones(2), tg.zeros(2))


def test_ops_on_different_devices_raise(monkeypatch):
    from tinygrad_cnn.ops import op_registry as registry
    a, b = tg.ones(2), tg.ones(2)

    class Other(np.ndarray):  # stands in for an array of another backend
        pass

    b.array = b.array.view(Other)
    monkeypatch.setattr(type(b), "device", property(
        lambda self: "cuda:0" if type(self.array) is Other else "cpu"))
    with pytest.raises(RuntimeError, match="add: expected all tensors on one device.*cuda:0"):
        registry.apply(registry.registry["add"], (a, b), {})


# --- numerics: rounding, sign, and the small math methods, vs torch
ROUNDING = ["sign", "floor", "ceil", "trunc", "round"]


@requires_torch
@pytest.mark.parametrize("name", ROUNDING)
def test_rounding_and_sign_have_zero_gradient_like_torch(name):
    # exact halves and zeros, where torch's rounding (half to even) and sign are decided
    x = np.array([-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 0.3, -1.7])
    check_op(lambda t: getattr(t, name)(), inputs=[x], gradcheck=False)
    t = tg.tensor(x, requires_grad=True)
    getattr(t, name)().sum().backward()
    assert not t.grad.numpy().any()


@requires_torch
@pytest.mark.parametrize("decimals", [1, 2, -1])
def test_round_decimals_matches_torch(decimals):
    x = rand(3, 4, low=-50, high=50)
    check_op(lambda t: t.round(decimals=decimals), inputs=[x], gradcheck=False)


@requires_torch
@pytest.mark.parametrize("name", ROUNDING[1:])
def test_rounding_integer_tensors_returns_them_like_torch(name):
    x = np.array([-3, 0, 4])
    ours, ref = getattr(tg.tensor(x), name)(), getattr(torch.from_numpy(x), name)()
    assert ours.dtype == tg.int64 and ours.tolist() == ref.tolist()


@requires_torch
@pytest.mark.parametrize("name,low", [("square", -2.0), ("rsqrt", 0.2), ("reciprocal", 0.2),
                                      ("log1p", -0.9), ("expm1", -2.0)])
def test_small_math_methods_match_torch(name, low):
    x = rand(3, 4, low=low, high=3.0)
    check_op(lambda t: getattr(t, name)(), inputs=[x])
    check_op(lambda t: getattr(tg, name)(t), lambda t: getattr(torch, name)(t), inputs=[x])


@requires_torch
@pytest.mark.parametrize("name", ["rsqrt", "reciprocal", "log1p", "expm1"])
def test_small_math_of_integers_gives_float32_like_torch(name):
    x = np.array([1, 2, 4])
    ours, ref = getattr(tg.tensor(x), name)(), getattr(torch.from_numpy(x), name)()
    assert ours.dtype == tg.float32 and str(ref.dtype) == "torch.float32"
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)
