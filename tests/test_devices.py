"""Devices: the same model code on CPU and on the test-only "fake" device (its own array
type, see fake_backend.py), and on CUDA when present. Nothing may silently come home."""
import os
import pathlib
import re
import sys

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from tinygrad_cnn.backend import backend_for

PKG = pathlib.Path(tg.__file__).parent
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
DEVICES = ["fake"] + (["cuda"] if tg.cuda.is_available() else [])


def _on(t, device):
    return type(t.array) is backend_for(device).array_type and t.device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_factories_and_moves(device):
    for t in (tg.zeros(2, 3, device=device), tg.randn(4, device=device),
              tg.arange(5, device=device), tg.full((2,), 1.5, device=device),
              tg.tensor([1.0, 2.0], device=device), tg.ones(2).to(device)):
        assert _on(t, device)
    x = tg.randn(3, requires_grad=True)
    y = x.to(device)
    assert _on(y, device) and y.grad_fn.name == "to"
    (y * 2).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0] * 3  # came back through `to`
    z = tg.ones(2, device=device)
    assert z.cpu().device == "cpu" and isinstance(z.numpy(), np.ndarray)


@pytest.mark.parametrize("device", DEVICES)
def test_mixing_devices_raises_naming_both(device):
    with pytest.raises(RuntimeError, match=rf"add: expected all tensors on one device, got "
                                           rf"input 0 on {device}:0, input 1 on cpu"):
        tg.ones(2, device=device) + tg.ones(2)
    with pytest.raises(RuntimeError, match=r"conv2d: expected all tensors on one device"):
        F.conv2d(tg.ones(1, 1, 4, 4, device=device), tg.ones(1, 1, 3, 3))


@pytest.mark.parametrize("device", DEVICES)
def test_training_step_matches_cpu_and_stays_on_device(device):
    sys.path.insert(0, EXAMPLES)
    try:
        from train_cnn import make_model
    finally:
        sys.path.remove(EXAMPLES)
    tg.manual_seed(0)
    cpu = make_model().double()
    dev = make_model().double()
    dev.load_state_dict(cpu.state_dict())
    dev.to(device)
    assert all(_on(p, device) for p in dev.parameters())
    opt_c, opt_d = optim.Adam(cpu.parameters(), 1e-2), optim.Adam(dev.parameters(), 1e-2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((8, 1, 8, 8))
        y = rng.integers(0, 10, 8)
        losses = []
        for model, opt, d in ((cpu, opt_c, "cpu"), (dev, opt_d, device)):
            opt.zero_grad()
            loss = F.cross_entropy(model(tg.tensor(x, device=d)), tg.tensor(y, device=d))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-10
    for p, q in zip(cpu.parameters(), dev.parameters()):
        assert _on(q, device) and _on(q.grad, device)
        np.testing.assert_allclose(p.numpy(), q.numpy(), atol=1e-10)
    assert all(_on(tg.Tensor._make(v), device) for st in opt_d.state.values()
               for v in st.values() if hasattr(v, "shape"))


@pytest.mark.parametrize("device", DEVICES)
def test_double_backward_on_device(device):
    x = tg.tensor(np.random.default_rng(1).standard_normal((1, 2, 5, 5)), device=device,
                  requires_grad=True)
    w = tg.tensor(np.random.default_rng(2).standard_normal((3, 2, 3, 3)), device=device,
                  requires_grad=True)
    gx, = tg.autograd.grad((F.max_pool2d(F.conv2d(x, w, padding=1), 2) ** 2).sum(), x,
                           create_graph=True)
    ggw, = tg.autograd.grad((gx ** 2).sum(), w)
    assert _on(gx, device) and _on(ggw, device)
    xc, wc = (tg.tensor(t.numpy(), requires_grad=True) for t in (x, w))
    gxc, = tg.autograd.grad((F.max_pool2d(F.conv2d(xc, wc, padding=1), 2) ** 2).sum(), xc,
                            create_graph=True)
    ggwc, = tg.autograd.grad((gxc ** 2).sum(), wc)
    np.testing.assert_allclose(ggw.numpy(), ggwc.numpy(), atol=1e-9)


def test_optimizer_state_follows_the_model_to_another_device():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(tg.ones(1, 3)).sum().backward()
    opt.step()
    model.to("fake")
    opt.zero_grad()
    model(tg.ones(1, 3, device="fake")).sum().backward()
    opt.step()
    buf = opt.state[model.weight]["momentum_buffer"]
    assert type(buf) is backend_for("fake").array_type


def test_save_and_load_onto_a_device(tmp_path):
    model = nn.Linear(3, 2).to("fake")
    tg.save(model.state_dict(), tmp_path / "m.safetensors")
    back = tg.load(tmp_path / "m.safetensors", device="fake")
    assert all(_on(t, "fake") for t in back.values())
    assert tg.load(tmp_path / "m.safetensors")["weight"].device == "cpu"


def test_default_device_and_manual_seed_cover_every_backend():
    tg.set_default_device("fake")
    try:
        tg.manual_seed(3)
        a = tg.randn(4)
        tg.manual_seed(3)
        assert _on(a, "fake") and a.tolist() == tg.randn(4).tolist()
        assert tg.get_default_device() == "fake:0"
    finally:
        tg.set_default_device("cpu")
    assert tg.backend.get_array_module(tg.ones(1, device="fake")).__class__.__name__ == "_Proxy"


LAYERS = ["ops", "functional", "nn", "optim"]


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_reach_arrays_only_through_the_backend(layer):
    """No module of these layers imports numpy/cupy, or brings data home inside an op."""
    for path in (PKG / layer).glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(numpy|cupy)\b", text, re.M), path
        assert not re.search(r"\.numpy\(\)|to_host\(|asnumpy|\.get\(\)", text), path


def test_cuda_tests_skip_cleanly_without_a_gpu():
    if tg.cuda.is_available():
        pytest.skip("a GPU is present: the cuda parametrisations above ran")
    assert "cuda" not in DEVICES and tg.cuda.device_count() == 0


def test_host_side_helpers_work_on_another_device():
    """dtypes, data loading, gradcheck and viz use NumPy on the host on purpose; they must
    still take and give tensors of other devices unchanged."""
    import tinygrad_cnn.functional as F
    from tinygrad_cnn.data import DataLoader, TensorDataset
    x = tg.tensor(np.random.default_rng(0).standard_normal((1, 2, 4, 4)), device="fake",
                  requires_grad=True)
    w = tg.tensor(np.random.default_rng(1).standard_normal((1, 2, 2, 2)), device="fake",
                  requires_grad=True)
    assert tg.gradcheck(lambda a, b: F.conv2d(a, b), [x, w])
    assert tg.gradgradcheck(lambda a: (a * a).sum(1), [x])
    assert tg.gradcheck(lambda a: a.tanh(), [x], fast_mode=True)
    src = tg.viz.to_dot(F.conv2d(x, w).sum(), params={"x": x}, show_values=True,
                        show_grads=True)
    assert "conv2d" in src and "grad" in src
    ds = TensorDataset(tg.arange(6.0, device="fake"), tg.arange(6, device="fake"))
    for xb, yb in DataLoader(ds, batch_size=4, shuffle=True, seed=0):
        assert _on(xb, "fake") and _on(yb, "fake")
    xb, = next(iter(DataLoader(TensorDataset(tg.ones(3)), batch_size=2, device="fake")))
    assert _on(xb, "fake")
    assert (tg.ones(2, device="fake", dtype=tg.int32) + 1.5).dtype == tg.float32


def test_cpu_backend_refuses_to_place_an_array_elsewhere():
    """The CPU backend honours asarray's device: cpu (or None) works, another device is refused
    by name instead of silently giving a host array."""
    cpu = backend_for(tg.device("cpu"))
    assert cpu.asarray([1.0, 2.0], device=tg.device("cpu")).tolist() == [1.0, 2.0]
    assert cpu.asarray([1.0], device=None).tolist() == [1.0]
    with pytest.raises(ValueError, match="fake:0"):
        cpu.asarray([1.0], device=tg.device("fake"))
