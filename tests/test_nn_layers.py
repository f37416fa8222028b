"""Every nn layer vs torch.nn: the same constructor arguments, torch's weights loaded through
``load_state_dict(strict=True)`` (so the state-dict key names must be identical), then the
forward, the input gradient, every parameter gradient and the buffers after the step compared
in float64 under a random upstream gradient; a float32 run checks dtypes are kept."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from helpers import assert_close, rand, requires_torch, torch

TNN = torch.nn if torch is not None else None
pytestmark = pytest.mark.filterwarnings("ignore:Implicit dimension choice")


def pair(name, *args, dtype="float64", **kw):
    """(ours, torch) layers built alike, with torch's parameters and buffers copied in."""
    ref = getattr(TNN, name)(*args, **kw)
    ref = ref.double() if dtype == "float64" else ref
    ours = getattr(nn, name)(*args, **kw)
    ours = ours.double() if dtype == "float64" else ours
    sd = {k: tg.tensor(v.detach().numpy().copy()) for k, v in ref.state_dict().items()}
    assert list(ours.state_dict()) == list(sd), "state_dict keys differ from torch's"
    ours.load_state_dict(sd, strict=True)
    return ours, ref


def compare(ours, ref, x, train=True, atol=1e-8, rtol=1e-6, grad=True):
    ours.train(train)
    ref.train(train)
    xt = tg.tensor(x, requires_grad=grad and x.dtype.kind == "f")
    xr = torch.from_numpy(x.copy()).requires_grad_(grad and x.dtype.kind == "f")
    y, yr = ours(xt), ref(xr)
    assert_close(y.numpy(), yr.detach().numpy(), atol, rtol, "forward")
    assert y.dtype == np.dtype(str(yr.dtype).replace("torch.", "")), "dtype"
    if grad and yr.requires_grad:
        g = np.random.default_rng(7).standard_normal(y.shape)
        y.backward(tg.tensor(g, dtype=y.dtype))
        yr.backward(torch.from_numpy(g).to(yr.dtype))
        if xr.grad is not None:
            assert_close(xt.grad.numpy(), xr.grad.numpy(), atol, rtol, "input grad")
        for (n, p), (_, pr) in zip(ours.named_parameters(), ref.named_parameters()):
            assert_close(p.grad.numpy(), pr.grad.numpy(), atol, rtol, f"grad of {n}")
    for (n, b), (_, br) in zip(ours.named_buffers(), ref.named_buffers()):
        assert_close(b.numpy(), br.numpy(), atol, rtol, f"buffer {n}")
    return y


LAYERS = [  # (name, args, kwargs, input shape)
    ("GroupNorm", (2, 4), {}, (3, 4, 5, 2)),
    ("GroupNorm", (4, 4), dict(affine=False, eps=1e-3), (2, 4, 3)),
    ("LayerNorm", (5,), {}, (3, 4, 5)),
    ("LayerNorm", ([4, 5],), dict(elementwise_affine=False), (3, 4, 5)),
    ("LayerNorm", ((4, 5),), dict(bias=False), (2, 4, 5)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 6)),
    ("InstanceNorm2d", (3,), dict(affine=True), (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True), (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), {}, (3, 4, 5)),
    ("InstanceNorm3d", (2,), {}, (2, 2, 3, 3, 4)),
    ("BatchNorm1d", (3,), {}, (6, 3)),
    ("BatchNorm1d", (3,), dict(momentum=None), (4, 3, 5)),
    ("BatchNorm2d", (3,), dict(affine=False), (2, 3, 4, 5)),
    ("BatchNorm2d", (3,), dict(track_running_stats=False), (2, 3, 4, 5)),
    ("BatchNorm3d", (2,), dict(momentum=0.3), (2, 2, 3, 3, 4)),
    ("ReflectionPad1d", (2,), {}, (2, 3, 5)),
    ("ReflectionPad2d", ((1, 2, 0, 3),), {}, (2, 3, 4, 5)),
    ("ReplicationPad2d", (2,), {}, (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 0, 2, 1),), {}, (2, 3, 4, 5)),
    ("ConstantPad2d", (1, 3.5), {}, (2, 3, 4, 5)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 4)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
    ("ReLU6", (), {}, (4, 5)),
    ("Hardswish", (), {}, (4, 5)),
    ("Hardsigmoid", (), {}, (4, 5)),
    ("SiLU", (), {}, (4, 5)),
    ("Mish", (), {}, (4, 5)),
    ("ELU", (0.7,), {}, (4, 5)),
    ("GELU", (), dict(approximate="tanh"), (4, 5)),
    ("Softplus", (), dict(beta=2.0, threshold=3.0), (4, 5)),
    ("Hardtanh", (-0.5, 0.7), {}, (4, 5)),
    ("LeakyReLU", (0.2,), {}, (4, 5)),
    ("PReLU", (3,), {}, (2, 3, 4)),
    ("Softmax", (), {}, (2, 3, 4)),      # dim=None: torch's legacy choice (dim 0 for 3-D)
    ("LogSoftmax", (), {}, (2, 3, 4, 2)),  # (dim 1 for 4-D)
    ("AdaptiveMaxPool2d", ((2, 3),), {}, (2, 3, 5, 7)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("MaxPool3d", (2,), {}, (2, 2, 4, 4, 6)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9)),
    ("AvgPool3d", ((2, 1, 2),), dict(ceil_mode=True), (2, 2, 3, 4, 5)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 5)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=(1, 2, 1), groups=1), (2, 2, 3, 3, 4)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect"), (2, 3, 5, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=(2, 1), padding_mode="circular"), (2, 3, 5, 6)),
    ("Conv1d", (3, 2, 4), dict(padding="same", padding_mode="replicate"), (2, 3, 7)),
    ("Unflatten", (1, (2, 3)), {}, (4, 6, 2)),
    ("Flatten", (0, 1), {}, (4, 6, 2)),
    ("Identity", (3,), dict(unused=1), (2, 2)),
]


@requires_torch
@pytest.mark.parametrize("name,args,kw,shape", LAYERS,
                         ids=[f"{n}{a}{k}" for n, a, k, _ in LAYERS])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_layer_matches_torch(name, args, kw, shape, train):
    ours, ref = pair(name, *args, **kw)
    compare(ours, ref, rand(*shape, seed=3), train=train)
    if train and ("track_running_stats" in kw or name.startswith("BatchNorm")):
        compare(ours, ref, rand(*shape, seed=4), train=train)  # running stats move again


@requires_torch
@pytest.mark.parametrize("name,args,kw,shape", LAYERS[:12:3] + LAYERS[40:44],
                         ids=lambda v: str(v))
def test_layer_keeps_float32(name, args, kw, shape):
    ours, ref = pair(name, *args, dtype="float32", **kw)
    compare(ours, ref, rand(*shape, seed=3, dtype=np.float32), atol=2e-5, rtol=2e-5)


@requires_torch
def test_conv_transpose_output_size_matches_torch():
    ours, ref = pair("ConvTranspose2d", 2, 3, 3, stride=2, padding=1)
    x = rand(1, 2, 4, 5)
    y = ours(tg.tensor(x), output_size=(8, 10))
    yr = ref(torch.from_numpy(x), output_size=(8, 10))
    assert_close(y.numpy(), yr.detach().numpy())
    with pytest.raises(ValueError, match="not reachable"):
        ours(tg.tensor(x), output_size=(12, 10))


@requires_torch
def test_embedding_matches_torch_and_skips_the_padding_row():
    ours, ref = pair("Embedding", 6, 3, padding_idx=2)
    assert not ours.weight.numpy()[2].any()
    idx = np.array([[0, 2, 5], [2, 1, 1]])
    y, yr = ours(tg.tensor(idx)), ref(torch.from_numpy(idx))
    assert_close(y.numpy(), yr.detach().numpy())
    g = rand(2, 3, 3, seed=2)
    y.backward(tg.tensor(g))
    yr.backward(torch.from_numpy(g))
    assert_close(ours.weight.grad.numpy(), ref.weight.grad.numpy())
    with pytest.raises(TypeError, match="integer indices"):
        ours(tg.tensor([0.5]))
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(3, 2, max_norm=1.0)


INPLACE = [("ReLU", ()), ("ReLU6", ()), ("Hardtanh", (-0.3, 0.4)), ("LeakyReLU", (0.1,)),
           ("ELU", (0.5,)), ("SiLU", ()), ("Hardswish", ()), ("Hardsigmoid", ()), ("Mish", ())]


@requires_torch
@pytest.mark.parametrize("name,args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_activation_changes_its_input_and_backprops_like_torch(name, args):
    x = rand(3, 4, seed=5)
    xt = tg.tensor(x, requires_grad=True)
    xr = torch.from_numpy(x.copy()).requires_grad_(True)
    h, hr = xt * 1.0, xr * 1.0  # in-place ops need a non-leaf
    y = getattr(nn, name)(*args, inplace=True)(h)
    yr = getattr(TNN, name)(*args, inplace=True)(hr)
    assert y is h, "inplace=True must return the input tensor"
    assert_close(h.numpy(), hr.detach().numpy(), what="the input, changed in place")
    g = rand(3, 4, seed=6)
    (y * tg.tensor(g)).sum().backward()
    (yr * torch.from_numpy(g)).sum().backward()
    assert_close(xt.grad.numpy(), xr.grad.numpy(), what="grad through the in-place op")
    leaf = tg.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(nn, name)(*args, inplace=True)(leaf)


def test_dropout_inplace_changes_its_input():
    tg.manual_seed(0)
    x = tg.ones(200)
    y = nn.Dropout(0.5, inplace=True)(x)
    assert y is x and (x.numpy() == 0).any() and set(np.unique(x.numpy())) <= {0.0, 2.0}
    x2 = tg.ones(2, 6, 3, 3)
    nn.Dropout2d(0.5, inplace=True)(x2)
    assert (x2.numpy() == 0).any()
    before = tg.ones(5)
    assert nn.Dropout(0.5, inplace=True).eval()(before) is before
    assert before.tolist() == [1.0] * 5


@requires_torch
def test_softplus_tails_match_torch_in_float32():
    x = np.array([-120.0, -30.0, -5.0, 0.0, 5.0, 19.0, 30.0], dtype=np.float32)
    y = nn.Softplus()(tg.tensor(x)).numpy()
    yr = TNN.Softplus()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, yr, rtol=1e-6, atol=0)


def test_new_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm2d(3)(tg.ones(2, 4, 2, 2))
    with pytest.raises(ValueError, match="4-D"):
        nn.BatchNorm2d(3)(tg.ones(2, 3, 2))
    with pytest.raises(ValueError, match="trailing dims"):
        nn.LayerNorm(4)(tg.ones(2, 5))
    with pytest.raises(ValueError, match="4-tuple"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match="PixelShuffle"):
        nn.PixelShuffle(2)(tg.ones(1, 3, 2, 2))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(2, momentum=1.5)


KINKS = [("Hardtanh", (-0.5, 0.7)), ("ReLU6", ()), ("Hardswish", ()), ("Hardsigmoid", ())]


@requires_torch
@pytest.mark.parametrize("inplace", [False, True], ids=["out_of_place", "inplace"])
@pytest.mark.parametrize("name,args", KINKS, ids=[n for n, _ in KINKS])
def test_piecewise_activation_layers_take_torchs_gradient_at_the_kinks(name, args, inplace):
    """The layers once composed clamp, whose gradient passes AT the bounds (torch's clamp
    rule), while torch's layers (hardtanh, hardswish, hardsigmoid kernels) give 0 there:
    inputs exactly on a kink (0 and 6 for ReLU6, ±3 for the hard gates) must agree."""
    x = np.array([-4.0, -3.0, -0.5, -0.2, 0.0, 0.7, 1.0, 3.0, 5.0, 6.0, 7.0])
    xt = tg.tensor(x, requires_grad=True)
    xr = torch.from_numpy(x.copy()).requires_grad_(True)
    y = getattr(nn, name)(*args, inplace=inplace)(xt * 1.0)
    yr = getattr(TNN, name)(*args, inplace=inplace)(xr * 1.0)
    assert_close(y.numpy(), yr.detach().numpy(), what="forward")
    g = rand(x.size, seed=8)
    y.backward(tg.tensor(g))
    yr.backward(torch.from_numpy(g))
    assert_close(xt.grad.numpy(), xr.grad.numpy(), what="grad at the kinks")
