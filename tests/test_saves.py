"""Declared saves (``register(..., saves=...)``) against what each backward really reads.

For every sample of the op conformance table and every input: run the forward, change that
input in place (through its storage, as a user would), then run the backward. The backward
must either refuse (the input was declared saved: "modified by an in-place operation") or give
exactly the gradients of an unchanged run. A backward that silently uses the new values means
the op reads an input it did not declare. And an op that refuses although its gradients do not
depend on the changed input declares too much (PyTorch runs those backwards: ``sub``,
``reshape``, ``getitem``, ``sum``, ``where``'s branches, ...).
"""
import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.autograd.graph import Node
from op_table import SPECS

OPS = [name for name in sorted(SPECS) if SPECS[name].differentiable]


def _leaves(arrays):
    return [tg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]


def _grads(ours, arrays, upstream, change=None, check_versions=True):
    ts = _leaves(arrays)
    y = ours(*ts)
    if change is not None:
        with tg.no_grad():
            t = ts[change]
            if t.dtype.kind == "f":
                t.mul_(-1.7).add_(0.3)     # flips signs and order: masks and argmaxes move
            elif t.dtype.kind == "b":
                t.copy_(t == False)        # noqa: E712 (elementwise not)
            else:
                t.copy_(t.flip(tuple(range(t.ndim))) if t.ndim else t)
    original = Node.check_saved_versions
    if not check_versions:
        Node.check_saved_versions = lambda self: None
    try:
        floats = [t for t in ts if t.requires_grad]
        gs = tg.autograd.grad(y, floats, grad_outputs=upstream(y), allow_unused=True)
    finally:
        Node.check_saved_versions = original
    return [None if g is None else g.numpy() for g in gs]


def _same(a, b):
    return all((x is None and y is None) or (x is not None and y is not None and
               np.allclose(x, y, rtol=1e-12, atol=1e-12, equal_nan=True)) for x, y in zip(a, b))


# inputs an op declares although the first backward never reads them, and why
READ_LATER = {f"conv{nd}d": {0: "x is read by a second backward (retain_graph): the first one "
                                "consumes the im2col columns the forward kept"} for nd in (1, 2, 3)}
READ_LATER["cross_entropy"] = {0: "x is read by a create_graph backward only: the first-order "
                                  "one uses the softmax the forward kept"}


def _upstream(seed):
    rng, cache = np.random.default_rng(seed), {}

    def upstream(y):
        if "g" not in cache:
            cache["g"] = rng.standard_normal(y.shape)
        return tg.tensor(cache["g"].astype(y.dtype))
    return upstream


@pytest.mark.parametrize("name", OPS)
def test_backward_refuses_or_ignores_inputs_changed_in_place(name):
    refused, needed = {}, set()
    for i, (ours, _, arrays) in enumerate(SPECS[name].samples):
        upstream = _upstream(i)
        ref = _grads(ours, arrays, upstream)
        for k, a in enumerate(arrays):
            if a.size == 0:
                continue
            try:
                got = _grads(ours, arrays, upstream, change=k)
            except RuntimeError as exc:
                assert "modified by an in-place operation" in str(exc), exc
                refused.setdefault(k, []).append(i)
                if not _same(_grads(ours, arrays, upstream, change=k, check_versions=False),
                             ref):
                    needed.add(k)
                continue
            assert _same(got, ref), (
                f"{name} (sample {i}): input {k} was changed in place after the forward and the "
                "backward silently used the new values: the op reads it without declaring it "
                "in saves=")
    for k in refused:
        assert k in needed or k in READ_LATER.get(name, {}), (
            f"{name}: backward refused after input {k} changed in place (samples {refused[k]}), "
            "but in no sample do its gradients depend on that input: it declares a save it "
            "does not read")


@pytest.mark.parametrize("name", OPS)
def test_backward_refuses_or_ignores_an_output_changed_in_place(name):
    for i, (ours, _, arrays) in enumerate(SPECS[name].samples):
        upstream = _upstream(i)
        ref = _grads(ours, arrays, upstream)
        ts = _leaves(arrays)
        y = ours(*ts)
        if not y.array.flags.writeable or y.numel() == 0:
            continue  # an expanded view: in-place writes are refused (tested elsewhere)
        with tg.no_grad():
            y.mul_(-1.7).add_(0.3)
        floats = [t for t in ts if t.requires_grad]
        try:
            gs = tg.autograd.grad(y, floats, grad_outputs=upstream(y), allow_unused=True)
        except RuntimeError as exc:
            assert "modified by an in-place operation" in str(exc), exc
            continue
        got = [None if g is None else g.numpy() for g in gs]
        assert _same(got, ref), (f"{name} (sample {i}): the output was changed in place and the "
                                 "backward silently used the new values")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_an_output_shares_memory_with_an_input_only_as_a_view(name):
    # otherwise an in-place write into one would change the other behind the version counter
    for ours, _, arrays in SPECS[name].samples:
        ts = _leaves(arrays)
        y = ours(*ts)
        for k, t in enumerate(ts):
            if np.shares_memory(y.array, t.array):
                assert y._vc is not None and y._vc is t._vc, (
                    f"{name}: the output shares memory with input {k} but not its version "
                    "counter: mark the op view=True or copy")


def test_prod_others_backward_declares_the_gradient_it_reads_for_x():
    """prod_others_backward(g, x)'s x-gradient (prod's third derivative) reads g: a g changed
    in place since must be refused, not silently used (op_table marks this op
    non-differentiable for the sweep above, so it is checked here)."""
    rng = np.random.default_rng(0)
    g = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = tg.tensor(rng.uniform(0.5, 2.0, (3, 4)), requires_grad=True)
    y = tg.ops.registry["prod_others_backward"](g, x, dims=(1,))
    with tg.no_grad():
        g.mul_(-1.7)
    with pytest.raises(RuntimeError, match="modified by an inplace operation|in-place"):
        tg.autograd.grad(y, [x], grad_outputs=tg.ones(3, 4, dtype=tg.float64))
