"""nn modules vs PyTorch: weights copied into an identical torch model, then forward, loss
and every parameter gradient compared; module mechanics; initialisation bounds."""
import math

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn
from helpers import assert_close, check_op, rand, requires_torch, torch

TNN = torch.nn if torch is not None else None


def _models():
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
                         nn.LeakyReLU(0.1), nn.AvgPool2d(2, ceil_mode=True), nn.Flatten(),
                         nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    ref = TNN.Sequential(TNN.Conv2d(2, 4, 3, padding=1), TNN.BatchNorm2d(4), TNN.ReLU(),
                         TNN.MaxPool2d(2), TNN.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
                         TNN.LeakyReLU(0.1), TNN.AvgPool2d(2, ceil_mode=True), TNN.Flatten(),
                         TNN.Linear(6, 5), TNN.Tanh(), TNN.Linear(5, 3)).double()
    ours.double()
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(ours.named_parameters(), ref.named_parameters()):
            assert name == tname
            p.array = tp.detach().numpy().copy()
    return ours, ref


@requires_torch
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_model_forward_loss_and_gradients_match_torch(train):
    ours, ref = _models()
    ours.train(train)
    ref.train(train)
    x = rand(4, 2, 8, 8)
    y = np.array([0, 2, 1, 2])
    loss = F.cross_entropy(ours(tg.tensor(x)), tg.tensor(y))
    tloss = TNN.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
    assert abs(loss.item() - tloss.item()) < 1e-10
    loss.backward()
    tloss.backward()
    for (name, p), (_, tp) in zip(ours.named_parameters(), ref.named_parameters()):
        assert_close(p.grad.numpy(), tp.grad.numpy(), what=name)
    for (name, b), (_, tb) in zip(ours.named_buffers(), ref.named_buffers()):
        if not name.endswith("num_batches_tracked"):
            assert_close(b.numpy(), tb.numpy(), what=name)


@requires_torch
@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss",
                                  "BCEWithLogitsLoss"])
def test_loss_modules_match_torch(name):
    if name in ("CrossEntropyLoss", "NLLLoss"):
        inputs = [rand(5, 4), np.array([0, 3, 1, 1, 2])]
    elif name == "BCELoss":
        inputs = [rand(5, 4, low=0.05, high=0.95), rand(5, 4, seed=2, low=0, high=1)]
    else:
        inputs = [rand(5, 4), rand(5, 4, seed=2, low=0, high=1)]
    check_op(lambda a, b: (getattr(nn, name) if isinstance(a, tg.Tensor)
                           else getattr(TNN, name))()(a, b), inputs=inputs)


@requires_torch
@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.1), dict(reduction="sum"),
                                dict(ignore_index=1), dict(weight=True),
                                dict(weight=True, label_smoothing=0.2, reduction="none")],
                         ids=str)
def test_cross_entropy_options_match_torch(kw):
    w = rand(4, seed=5, low=0.5, high=2.0)

    def ce(x, t):
        lib = F if isinstance(x, tg.Tensor) else TNN.functional
        k = dict(kw)
        if k.pop("weight", False):
            k["weight"] = tg.tensor(w, device=x.device) if lib is F else torch.from_numpy(w)
        return lib.cross_entropy(x, t, **k)

    check_op(ce, inputs=[rand(6, 4), np.array([0, 3, 1, 1, 2, 1])])
    check_op(ce, inputs=[rand(2, 4, 3, 2), np.array([[[0, 1], [3, 1], [2, 2]]] * 2)])


@requires_torch
def test_cross_entropy_with_probability_targets_matches_torch():
    p = np.random.default_rng(0).dirichlet(np.ones(4), 5)
    check_op(lambda x, t: (F if isinstance(x, tg.Tensor) else TNN.functional).cross_entropy(
        x, t, label_smoothing=0.1), inputs=[rand(5, 4), p])


@requires_torch
@pytest.mark.parametrize("name,kw", [("gelu", {}), ("gelu", dict(approximate="tanh")),
                                     ("elu", {}), ("leaky_relu", {}), ("softmax", dict(dim=1)),
                                     ("log_softmax", dict(dim=0))], ids=str)
def test_activations_match_torch(name, kw):
    check_op(lambda x: getattr(F if isinstance(x, tg.Tensor) else TNN.functional, name)(x, **kw),
             inputs=[rand(3, 4)])


def test_module_registration_and_traversal():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
            self.head = nn.Linear(4, 2)
            self.scale = nn.Parameter(tg.ones(1))
            self.register_buffer("steps", tg.zeros(1))
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

        def forward(self, x):
            return self.head(self.body(x)) * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "head.weight", "head.bias",
                     "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps"]
    assert len(list(net.children())) == 3 and len(list(net.modules())) == 8
    assert net(tg.ones(5, 3)).shape == (5, 2)
    net.eval()
    assert not net.body[1].training
    net.train()
    assert all(m.training for m in net.modules())
    assert "(head): Linear(in_features=4, out_features=2, bias=True)" in repr(net)
    with pytest.raises(TypeError, match="cannot assign int as 'scale'"):
        net.scale = 3


def test_state_dict_round_trip_and_strictness():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a.weight.numpy(), b.weight.numpy())
    with pytest.raises(RuntimeError, match="Missing key\\(s\\) in state_dict: \"bias\""):
        b.load_state_dict({"weight": a.weight})
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        b.load_state_dict({"weight": tg.ones(2, 2), "bias": a.bias})
    res = b.load_state_dict({"weight": a.weight, "extra": a.bias}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]


def test_default_initialisation_follows_pytorch_bounds():
    tg.manual_seed(0)
    lin = nn.Linear(50, 40)
    conv = nn.Conv2d(6, 8, 3, groups=2)
    convt = nn.ConvTranspose2d(4, 6, 3)
    for w, b, fan_in in ((lin.weight, lin.bias, 50), (conv.weight, conv.bias, 3 * 9),
                         (convt.weight, convt.bias, 6 * 9)):
        bound = 1 / math.sqrt(fan_in)
        assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.8 * bound
        assert np.abs(b.numpy()).max() <= bound
    assert convt.weight.shape == (4, 6, 3, 3)
    bn = nn.BatchNorm2d(3)
    assert bn.weight.tolist() == [1.0] * 3 and bn.running_var.tolist() == [1.0] * 3


def test_dropout_is_identity_in_eval_and_scales_in_train():
    tg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = tg.ones(1000)
    y = d(x)
    kept = y.numpy() != 0
    assert 0.65 < kept.mean() < 0.85 and np.allclose(y.numpy()[kept], 1 / 0.75)
    d.eval()
    assert d(x) is x
    d2 = nn.Dropout2d(0.5)
    m = d2(tg.ones(4, 8, 3, 3)).numpy()
    assert np.all((m == 0).all(axis=(2, 3)) | (m == 2).all(axis=(2, 3)))


def test_module_to_keeps_parameter_identity():
    lin = nn.Linear(2, 2)
    w = lin.weight
    lin.double()
    assert lin.weight is w and w.dtype == tg.float64
    lin.float()
    assert w.dtype == tg.float32


@requires_torch
def test_resampling_and_transposed_conv_layers_match_torch():
    x = rand(2, 3, 5, 4)
    ours = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1).double()
    ref = TNN.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1).double()
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    assert_close(ours(tg.tensor(x)).numpy(), ref(torch.from_numpy(x)).detach().numpy())
    up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    tup = TNN.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    assert_close(up(tg.tensor(x)).numpy(), tup(torch.from_numpy(x)).numpy())
    assert nn.Downsample(2)(tg.tensor(x)).shape == (2, 3, 3, 2)
    assert nn.AdaptiveAvgPool2d((2, 2))(tg.tensor(x)).shape == (2, 3, 2, 2)
