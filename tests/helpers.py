"""One helper for every op test: run an op here and in PyTorch (float64) on the same inputs,
compare the forward result and every input gradient under a random upstream gradient, then
gradcheck it in float64 against finite differences (which needs no torch)."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg

try:
    import torch
except ImportError:  # the torch comparisons skip; gradchecks still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

ATOL, RTOL = 1e-8, 1e-6
# every op check also runs on these devices: the test-only "fake" device (its own array
# type, see fake_backend.py) always, CUDA when CuPy sees a GPU
DEVICES = ("fake",) + (("cuda",) if tg.cuda.is_available() else ())


def rand(*shape, seed=0, low=-2.0, high=2.0, dtype=np.float64):
    """Random test data; values spread so that ties are unlikely."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


def _to_tg(v, requires_grad):
    if isinstance(v, np.ndarray):
        return tg.tensor(v, requires_grad=requires_grad and v.dtype.kind == "f")
    return v


def _to_torch(v, requires_grad):
    if isinstance(v, np.ndarray):
        t = torch.from_numpy(v.copy())
        return t.requires_grad_(requires_grad and v.dtype.kind == "f")
    return v


def _outputs(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def assert_close(ours, ref, atol=ATOL, rtol=RTOL, what="value"):
    ours = np.asarray(ours)
    ref = np.asarray(ref)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != reference {ref.shape}"
    np.testing.assert_allclose(ours, ref, atol=atol, rtol=rtol, err_msg=what)


def check_on_device(fn, inputs, device, cpu_outputs, grad, seed, atol, rtol):
    """Run fn on ``device``: every output and gradient must stay there (never decay to a
    plain NumPy array) and equal the CPU results."""
    from tinygrad_cnn.backend import backend_for
    kind = backend_for(device).array_type
    ins = [tg.tensor(v, device=device, requires_grad=grad and v.dtype.kind == "f")
           if isinstance(v, np.ndarray) else v for v in inputs]
    outs = _outputs(fn(*ins))
    for i, (o, c) in enumerate(zip(outs, cpu_outputs)):
        assert type(o.array) is kind, f"output {i} left {device}: {type(o.array).__name__}"
        assert o.device == tg.tensor([0], device=device).device
        assert_close(o.numpy(), c.numpy(), atol, rtol, f"output {i} on {device}")
    diff = [o for o in outs if o.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(seed)
    gs = [tg.tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=device) for o in diff]
    tg.autograd.backward(diff, gs)
    for k, t in enumerate(ins):
        if isinstance(t, tg.Tensor) and t.requires_grad and t.grad is not None:
            assert type(t.grad.array) is kind, f"grad of input {k} left {device}"


def check_op(fn, torch_fn=None, inputs=(), *, grad=True, atol=ATOL, rtol=RTOL,
             gradcheck=True, seed=1, check_dtype=True, devices=DEVICES):
    """Compare ``fn`` (tinygrad_cnn) with ``torch_fn`` (default: the same callable) on
    ``inputs`` (NumPy arrays become tensors that require grad when floating; anything else
    is passed through), forward and backward; then gradcheck ``fn`` in float64."""
    torch_fn = fn if torch_fn is None else torch_fn
    ours_in = [_to_tg(v, grad) for v in inputs]
    ours = _outputs(fn(*ours_in))
    if torch is not None:
        ref_in = [_to_torch(v, grad) for v in inputs]
        ref = _outputs(torch_fn(*ref_in))
        assert len(ours) == len(ref)
        for i, (o, r) in enumerate(zip(ours, ref)):
            assert_close(o.numpy(), r.detach().numpy(), atol, rtol, f"forward output {i}")
            if check_dtype:
                assert o.dtype == np.dtype(str(r.dtype).replace("torch.", "")), \
                    f"output {i}: dtype {o.dtype} vs torch {r.dtype}"
        diff = [(o, r) for o, r in zip(ours, ref) if o.requires_grad and r.requires_grad]
        assert len(diff) == sum(r.requires_grad for r in ref), "requires_grad differs from torch"
        if diff:
            rng = np.random.default_rng(seed)
            gs = [rng.standard_normal(o.shape) for o, _ in diff]
            tg.autograd.backward([o for o, _ in diff],
                                 [tg.tensor(g, dtype=o.dtype) for g, (o, _) in zip(gs, diff)])
            torch.autograd.backward([r for _, r in diff],
                                    [torch.from_numpy(g).to(r.dtype) for g, (_, r) in
                                     zip(gs, diff)])
            for k, (a, b) in enumerate(zip(ours_in, ref_in)):
                if isinstance(a, tg.Tensor) and a.requires_grad:
                    if b.grad is None:
                        assert a.grad is None or not a.grad.numpy().any(), f"grad of input {k}"
                        continue
                    assert a.grad is not None, f"input {k} got no gradient (torch did)"
                    assert a.grad.dtype == a.dtype, f"grad of input {k}: dtype {a.grad.dtype}"
                    assert_close(a.grad.numpy(), b.grad.numpy(), atol, rtol, f"grad of input {k}")
    for device in devices:
        check_on_device(fn, inputs, device, ours, grad, seed, max(atol, 1e-6), rtol)
    if gradcheck and grad:
        fresh = [_to_tg(v, True) if isinstance(v, np.ndarray) and v.dtype == np.float64 else
                 _to_tg(v, False) for v in inputs]
        if any(isinstance(t, tg.Tensor) and t.requires_grad for t in fresh):
            if all(o.requires_grad for o in _outputs(fn(*fresh)) if o.dtype.kind == "f"):
                assert tg.gradcheck(fn, fresh)
    return ours
