"""Random DAGs with shared nodes, repeated backward and zero_grad, against a tiny scalar
reference engine written here (hypothesis state machine)."""
import math

import pytest

pytest.importorskip("hypothesis")
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402


class Ref:
    """A scalar with a gradient: the reference engine (forward-mode bookkeeping of parents)."""

    def __init__(self, value, parents=()):
        self.value, self.parents, self.grad = value, parents, 0.0


def ref_op(kind, a, b):
    if kind == "add":
        return Ref(a.value + b.value, ((a, 1.0), (b, 1.0)))
    if kind == "sub":
        return Ref(a.value - b.value, ((a, 1.0), (b, -1.0)))
    if kind == "mul":
        return Ref(a.value * b.value, ((a, b.value), (b, a.value)))
    if kind == "tanh":
        t = math.tanh(a.value)
        return Ref(t, ((a, 1 - t * t),))
    if kind == "square":
        return Ref(a.value ** 2, ((a, 2 * a.value),))
    raise ValueError(kind)


def tg_op(kind, a, b):
    return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
            "tanh": lambda: a.tanh(), "square": lambda: a ** 2}[kind]()


def ref_backward(root):
    """Accumulate d root / d node into every node's .grad (topological order, no recursion)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p, _ in node.parents)
    grads = {id(root): 1.0}
    for node in reversed(order):
        g = grads.get(id(node), 0.0)
        if not node.parents:
            node.grad += g
        for p, local in node.parents:
            grads[id(p)] = grads.get(id(p), 0.0) + g * local


class RandomGraphs(RuleBasedStateMachine):
    @initialize(values=st.lists(st.floats(-1.5, 1.5), min_size=2, max_size=4))
    def leaves(self, values):
        self.leaves_tg = [tg.tensor(v, dtype=tg.float64, requires_grad=True) for v in values]
        self.leaves_ref = [Ref(v) for v in values]
        self.nodes = list(zip(self.leaves_tg, self.leaves_ref))

    @rule(kind=st.sampled_from(["add", "sub", "mul", "tanh", "square"]), data=st.data())
    def new_node(self, kind, data):
        i = data.draw(st.integers(0, len(self.nodes) - 1))
        j = data.draw(st.integers(0, len(self.nodes) - 1))   # may equal i: a shared input
        (a, ra), (b, rb) = self.nodes[i], self.nodes[j]
        self.nodes.append((tg_op(kind, a, b), ref_op(kind, ra, rb)))

    @rule(data=st.data(), times=st.integers(1, 2))
    def backward_from_a_node(self, data, times):
        k = data.draw(st.integers(0, len(self.nodes) - 1))
        out, ref = self.nodes[k]
        if not out.requires_grad or out.grad_fn is None:
            return
        for _ in range(times):  # gradients accumulate across calls
            out.backward(retain_graph=True)
            ref_backward(ref)

    @rule()
    def zero_grad(self):
        for t, r in zip(self.leaves_tg, self.leaves_ref):
            t.grad = None
            r.grad = 0.0

    @invariant()
    def gradients_agree(self):
        for t, r in zip(getattr(self, "leaves_tg", ()), getattr(self, "leaves_ref", ())):
            got = 0.0 if t.grad is None else t.grad.item()
            assert math.isclose(got, r.grad, rel_tol=1e-9, abs_tol=1e-9), (got, r.grad)

    @invariant()
    def values_agree(self):
        for t, r in getattr(self, "nodes", ()):
            assert math.isclose(t.item(), r.value, rel_tol=1e-12, abs_tol=1e-12)


RandomGraphs.TestCase.settings = settings(max_examples=60, stateful_step_count=25,
                                          deadline=None)
test_random_graphs_against_a_scalar_reference = RandomGraphs.TestCase
