"""No host synchronisation in a training step, proved on the CPU with the fake device.

The fake device reports every host conversion of its arrays (``fake_backend.FakeArray``) to
``tg.cuda``; a training step (forward, cross-entropy, backward, optimizer step, zero_grad)
must not make any, because on a GPU each one stalls the queue of kernels. A failure names
the op and the line of ``tinygrad_cnn`` of every sync, first one first.
"""
import sys
import os
import warnings

import numpy as np
import pytest

import fake_backend
import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from tinygrad_cnn.models.lenet import LeNet5
from tinygrad_cnn.models.resnet import BasicBlock, ResNet

DEV = "fake"


def _fake(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) \
        .view(fake_backend.FakeArray)


def _report(log):
    lines = [f"{len(log)} host sync(s); each with the op running and the package line:"]
    for e in log[:12]:
        lines.append(f"  {e.kind:12s} op={e.op}  at {e.where}")
    return "\n".join(lines)


def _steps(model, x, target, optimizers, steps=2):
    """Train ``steps`` steps with each optimizer in turn; returns the syncs seen."""
    with fake_backend.count_syncs() as log:
        for opt in optimizers:
            for _ in range(steps):
                loss = F.cross_entropy(model(x), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
    return log, loss


def _optimizers(model):
    params = list(model.parameters())
    return [optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4),
            optim.Adam(params, lr=1e-3), optim.AdamW(params, lr=1e-3)]


def test_lenet_training_step_never_syncs():
    tg.manual_seed(0)
    model = LeNet5().to(DEV)
    x = tg.tensor(_fake((4, 1, 32, 32)), device=DEV)
    target = tg.tensor([1, 0, 9, 3], device=DEV)
    log, loss = _steps(model, x, target, _optimizers(model))
    assert not log, _report(log)
    assert loss.device.type == DEV and np.isfinite(loss.numpy())


def test_resnet_training_step_never_syncs():
    tg.manual_seed(0)
    model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5).to(DEV)
    model.train()
    x = tg.tensor(_fake((2, 3, 32, 32), seed=1), device=DEV)
    target = tg.tensor([4, 0], device=DEV)
    log, loss = _steps(model, x, target, _optimizers(model), steps=1)
    assert not log, _report(log)
    assert loss.device.type == DEV


def test_eval_forward_never_syncs():
    model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5).to(DEV).eval()
    x = tg.tensor(_fake((1, 3, 32, 32)), device=DEV)
    with fake_backend.count_syncs() as log, tg.no_grad():
        F.softmax(model(x), dim=1).argmax(dim=1)
    assert not log, _report(log)


# --- the counter itself: each kind of conversion is caught (so the tests above can fail) ---
_CONVERSIONS = {
    "__bool__": lambda a: bool(a[0]),
    "__float__": lambda a: float(a[0]),
    "__int__": lambda a: int(a[0]),
    "__index__": lambda a: range(a[0].astype(np.int64)),
    "__complex__": lambda a: complex(a[0]),
    "item": lambda a: a[0].item(),
    "tolist": lambda a: a.tolist(),
    "tobytes": lambda a: a.tobytes(),
    "__iter__": lambda a: list(a),
    "__contains__": lambda a: 1.0 in a,
    "__repr__": repr,
    "__str__": str,
    "__format__": lambda a: f"{a[0]:.3f}",
    "get": lambda a: a.get(),
    "__array__": lambda a: a.__array__(),
    "to_host": fake_backend.to_host,
}


@pytest.mark.parametrize("kind", sorted(_CONVERSIONS))
def test_counter_catches(kind):
    a = _fake((3,))
    with fake_backend.count_syncs() as log:
        _CONVERSIONS[kind](a)
    assert [e.kind for e in log] == [kind]  # once: repr's own float() calls are not more
    assert log[0].device == "fake:0" and "test_sync.py" in log[0].where


def test_counter_ignores_device_work():
    a = _fake((3, 4))
    with fake_backend.count_syncs() as log:
        b = np.maximum(a + 1, 0).sum(axis=0)
        np.concatenate([a, a])[np.concatenate([a, a]) > 0]
        a.reshape(4, 3) @ a
        fake_backend.xp.asarray(a)
        np.asarray(a)  # test code, not the package: NumPy's own business
    assert not log, _report(log)
    assert isinstance(b, fake_backend.FakeArray) and isinstance(a[0, 0], fake_backend.FakeArray)


def test_counter_names_op_and_line_inside_the_package():
    # Tensor.item() and .numpy() read a device value on purpose: the events name the lines
    t = tg.tensor(_fake((2,)), device=DEV, requires_grad=True)
    with fake_backend.count_syncs() as log:
        (t * 2).sum().item()
        t.numpy()
    assert [e.kind for e in log] == ["item", "to_host"]
    assert all(e.where.startswith("tinygrad_cnn" + os.sep + "tensor.py:") for e in log)
    assert all(e.op is None for e in log)


def test_counter_names_the_op_forward_and_backward(monkeypatch):
    from tinygrad_cnn.ops import op_registry
    op = op_registry.registry["exp"]
    forward = op.forward

    def syncing_exp(x):
        bool(x.array[0])  # a deliberate sync in the forward ...
        y, backward = forward(x)

        def syncing_backward(gy, *rest):
            float(gy.array[0])  # ... and in the backward
            return backward(gy, *rest)
        return y, syncing_backward

    monkeypatch.setattr(op, "forward", syncing_exp)
    t = tg.tensor(_fake((2,)), device=DEV, requires_grad=True)
    with fake_backend.count_syncs() as log:
        tg.exp(t).sum().backward()
    assert [(e.kind, e.op) for e in log] == [("__bool__", "exp"), ("__float__", "exp backward")]


def test_np_asarray_from_package_code_is_counted(monkeypatch):
    from tinygrad_cnn.ops import op_registry
    op = op_registry.registry["neg"]
    forward = op.forward
    # a call written in package code: the converters are wrapped only while counting
    code = compile("lambda x: np.asarray(x.array)", op_registry.__file__, "eval")
    escape = eval(code, {"np": np})
    monkeypatch.setattr(op, "forward", lambda x: (escape(x), forward(x)[1]))
    t = tg.tensor(_fake((2,)), device=DEV)
    with fake_backend.count_syncs() as log:
        tg.neg(t)
    assert [(e.kind, e.op) for e in log] == [("np.asarray", "neg")]
    assert np.asarray is fake_backend._saved_converters.get("asarray", np.asarray)


def test_sync_debug_modes():
    a = _fake((2,))
    with pytest.warns(tg.cuda.SyncWarning, match=r"__bool__ on fake:0.*test_sync.py"):
        with tg.cuda.sync_debug("warn") as log:
            bool(a[0])
    assert len(log) == 1
    with pytest.raises(tg.cuda.HostSyncError, match="item on fake:0"):
        with tg.cuda.sync_debug("error"):
            a[0].item()
    with pytest.raises(ValueError, match="sync debug mode"):
        tg.cuda.set_sync_debug_mode("loud")
    assert tg.cuda.get_sync_debug_mode() == 0
    try:
        tg.cuda.set_sync_debug_mode("error")
        assert tg.cuda.get_sync_debug_mode() == 2
        with pytest.raises(tg.cuda.HostSyncError):
            a.tolist()
        tg.cuda.set_sync_debug_mode(1)
        with pytest.warns(tg.cuda.SyncWarning):
            a.tolist()
    finally:
        tg.cuda.set_sync_debug_mode("default")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a.tolist()  # off again: nothing is reported
    assert not tg.cuda.active


def test_module_training_helpers_never_sync():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).to(DEV)
    x = tg.tensor(_fake((5, 4)), device=DEV)
    with fake_backend.count_syncs() as log:
        model(x).pow(2).mean().backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        nn.utils.clip_grad_value_(model.parameters(), 0.5)
    assert not log, _report(log)


# --- checks on device values: deferred to the next synchronisation, never a sync in the op ---
_DEFERRED = {
    "gather": (lambda: tg.gather(tg.tensor([1.0, 2.0], device=DEV), 0,
                                 tg.tensor([0, 5], device=DEV)), IndexError, "out of bounds"),
    "floor_divide": (lambda: tg.tensor([4, 2], device=DEV) // tg.tensor([1, 0], device=DEV),
                     RuntimeError, "division by zero"),
    "fmod": (lambda: tg.fmod(tg.tensor([4, 2], device=DEV), tg.tensor([1, 0], device=DEV)),
             RuntimeError, "division by zero"),
}
# NumPy itself refuses negative integer powers, so on the fake device (NumPy underneath) only
# the CPU case can show pow's own check
_EAGER = dict(_DEFERRED, pow=(lambda: tg.tensor([4, 2], device=DEV) ** tg.tensor(
    [1, -1], device=DEV), ValueError, "negative integer powers"))


def _clear_device_asserts():
    try:
        tg.cuda.check_device_asserts()
    except RuntimeError:
        pass


@pytest.mark.parametrize("case", sorted(_DEFERRED))
def test_device_checks_are_deferred_not_synced(case):
    fn, error, match = _DEFERRED[case]
    _clear_device_asserts()  # nothing pending from other tests
    with fake_backend.count_syncs() as log:
        try:
            fn()
        except IndexError:  # NumPy's own bounds check under the fake device, after ours
            assert case == "gather"
    assert not log, _report(log)
    with pytest.raises(error, match=match + ".*device-side assert"):
        tg.cuda.synchronize("fake")
    tg.cuda.synchronize("fake")  # raised once, then cleared
    tg.cuda.set_eager_device_asserts(True)
    try:
        with pytest.raises(error, match=match):
            fn()
    finally:
        tg.cuda.set_eager_device_asserts(False)


@pytest.mark.parametrize("case", sorted(_EAGER))
def test_device_checks_stay_eager_on_the_cpu(case):
    fn, error, match = _EAGER[case]
    global DEV
    DEV = "cpu"
    try:
        with pytest.raises(error, match=match):
            fn()
    finally:
        DEV = "fake"


@pytest.mark.parametrize("rows, create_graph", [
    ([[2.0, 0.0, 3.0], [1.5, -2.0, 0.5]], False),
    ([[2.0, 0.25, 3.0], [1.5, -2.0, 0.5]], False),
    ([[2.0, 0.25, 3.0], [1.5, -2.0, 0.5]], True)], ids=["zeros", "no-zeros", "create_graph"])
def test_prod_and_cumprod_gradients_on_the_device_need_no_sync(rows, create_graph):
    _clear_device_asserts()
    grads = []
    for device in ("cpu", DEV):
        t = tg.tensor(np.array(rows), device=device, requires_grad=True)
        with fake_backend.count_syncs() as log:
            y = t.prod(dim=1).sum() + t.cumprod(dim=1).sum()
            (g,) = tg.autograd.grad(y, t, create_graph=create_graph)
        assert not log or device == "cpu", _report(log)
        grads.append(g.detach().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)
    tg.cuda.synchronize("fake")  # and no device-side assert failed


def test_cumprod_recorded_gradient_at_zeros_is_refused_at_the_next_sync():
    _clear_device_asserts()
    t = tg.tensor(np.array([2.0, 0.0, 3.0]), device=DEV, requires_grad=True)
    tg.autograd.grad(t.cumprod(dim=0).sum(), t, create_graph=True)
    with pytest.raises(RuntimeError, match="cumprod.*zeros.*device-side assert"):
        tg.cuda.synchronize("fake")


@pytest.mark.parametrize("read", ["item", "numpy", "tolist"])
def test_a_deferred_check_surfaces_at_the_next_read_to_the_host(read):
    """As PyTorch's device-side asserts: the op does not wait, the next host read raises."""
    _clear_device_asserts()
    y = tg.tensor([4, 2], device=DEV) // tg.tensor([1, 0], device=DEV)
    with pytest.raises(RuntimeError, match="division by zero.*device-side assert"):
        getattr(y.sum() if read == "item" else y, read)()
    assert tg.tensor([1.0], device=DEV).item() == 1.0  # raised once, then cleared


def test_a_tensor_made_from_a_device_array_stays_on_the_device():
    arr = _fake((2, 3))
    with fake_backend.count_syncs() as log:
        t = tg.tensor(arr, device=DEV)
        u = tg.as_tensor(arr)
    assert not log, _report(log)
    assert t.device == "fake:0" and u.device == "fake:0"
    assert np.array_equal(t.numpy(), arr.view(np.ndarray))


def test_deferred_checks_need_no_cupy(monkeypatch):
    """A machine without CuPy (CI): the GPU backend module may be loaded (tg.cuda.is_available
    imports it) but CuPy is not; raising the deferred checks must not import it."""
    from tinygrad_cnn.backend import cupy_backend
    from tinygrad_cnn.backend.kernels import fused_cuda
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(cupy_backend, "xp", None)
    monkeypatch.setattr(fused_cuda, "_errors", {})
    _clear_device_asserts()
    tg.cuda.check_device_asserts()
    assert tg.tensor([2.0]).item() == 2.0
