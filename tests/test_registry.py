"""The op registry and the package layout it promises."""
import ast
import pathlib

import numpy as np
import pytest

import tinygrad_cnn as tg

PKG = pathlib.Path(tg.__file__).parent


def test_registry_lists_every_op_with_its_backward_rule():
    reg = tg.ops.registry
    for name in ["add", "mul", "div", "pow", "exp", "log", "tanh", "sigmoid", "relu", "sum",
                 "mean", "var", "amax", "max_dim", "reshape", "permute", "expand", "sum_to",
                 "cat", "stack", "getitem", "index_add", "matmul", "to", "where", "clamp"]:
        assert name in reg, name
    for name, op in reg.items():
        assert op.name == name and isinstance(op.rule, str) and len(op.rule) > 5, name
    table = tg.ops.rules_table()
    assert table.count("\n") == len(reg) + 1 and "| `matmul` |" in table


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="'add' is registered twice"):
        tg.ops.register("add", rule="gx = gy")(lambda x: (x.array, None))


def test_user_registered_op_gets_grad_and_graph_node():
    @tg.ops.register("test_square_plus_one", rule="gx = 2 x gy")
    def square_plus_one(x):
        def backward(gy):
            return 2 * x * gy
        return x.array * x.array + 1, backward

    try:
        x = tg.tensor([1.0, 3.0], dtype=tg.float64, requires_grad=True)
        y = square_plus_one(x)
        assert y.grad_fn.name == "test_square_plus_one"
        y.sum().backward()
        assert x.grad.tolist() == [2.0, 6.0]
        assert tg.gradgradcheck(square_plus_one, [x])
    finally:
        del tg.ops.registry["test_square_plus_one"]


def test_errors_escaping_numpy_are_rewrapped_with_the_op_name():
    @tg.ops.register("test_breaks", rule="n/a")
    def breaks(x):
        return np.ones(2) + np.ones(3), None

    try:
        with pytest.raises(ValueError, match=r"test_breaks: operands could not be broadcast.*"
                                             r"\(input shapes: \(2,\)\)"):
            breaks(tg.ones(2))
    finally:
        del tg.ops.registry["test_breaks"]


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("path", sorted((PKG / "ops").glob("*.py")), ids=lambda p: p.name)
def test_ops_reach_arrays_only_through_the_backend(path):
    # so the same op code runs on CuPy: no op module imports numpy (or cupy) itself
    assert not [m for m in _imports(path) if m.split(".")[0] in ("numpy", "cupy")]


def test_import_needs_numpy_only():
    import subprocess
    import sys
    code = ("import sys, tinygrad_cnn; "
            "print(sorted(m for m in ('torch', 'cupy', 'graphviz') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_modules_stay_small():
    for path in PKG.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path
