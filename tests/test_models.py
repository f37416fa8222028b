"""The model zoo runs PyTorch model code by changing its imports, and nothing else.

For each model, the SAME source file (``tinygrad_cnn/models/<family>.py``) is built twice: here,
imported as a normal module, and under real PyTorch, by replacing its three import lines
(``import tinygrad_cnn as torch`` -> ``import torch``, ``from tinygrad_cnn import nn`` ->
``from torch import nn``, ``import tinygrad_cnn.functional as F`` ->
``import torch.nn.functional as F``) and exec'ing it into a fresh namespace. torch's state dict
(parameters and buffers, keys in the same order) is copied into ours through NumPy; then the
train-mode forward, the loss, every parameter gradient, the updated BatchNorm running stats, the
eval-mode forward, and every parameter and buffer after 3 steps of SGD with momentum and of
Adam are compared in float32.

Dropout is made deterministic for the train-mode comparisons by setting ``p = 0`` on every
``Dropout`` layer of both models (the layers stay in the graph); the eval-mode forward is
compared with the layers as built.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as tgF
from tests.helpers import requires_torch, torch

ZOO = Path(__file__).resolve().parents[1] / "tinygrad_cnn" / "models"
IMPORTS = {"import tinygrad_cnn as torch": "import torch",
           "from tinygrad_cnn import nn": "from torch import nn",
           "import tinygrad_cnn.functional as F": "import torch.nn.functional as F"}
STEPS = 3


# ----------------------------------------------------------------------------- building
def torch_source(family):
    """The family's source with our three import lines swapped for PyTorch's; any other
    line naming the package fails (the model files must port by their imports alone)."""
    lines = []
    for no, line in enumerate((ZOO / f"{family}.py").read_text().splitlines(), 1):
        if "tinygrad_cnn" in line:
            assert line in IMPORTS, f"{family}.py:{no} names tinygrad_cnn outside the " \
                                    f"three import lines: {line!r}"
            line = IMPORTS[line]
        lines.append(line)
    return "\n".join(lines) + "\n"


def torch_namespace(family):
    ns = {"__name__": f"torch_zoo.{family}"}
    exec(compile(torch_source(family), f"<torch {family}.py>", "exec"), ns)  # noqa: S102
    return ns


def our_namespace(family):
    return vars(importlib.import_module(f"tinygrad_cnn.models.{family}"))


@dataclass
class Case:
    family: str
    build: object          # namespace -> model
    shape: tuple           # input shape
    loss: str              # "ce", "nll", "bce", "mse", "ce2d"
    classes: int = 10
    lr: float = 0.01

    def make_target(self, rng, out_shape):
        n = out_shape[0]
        if self.loss in ("ce", "nll"):
            return rng.integers(0, self.classes, size=n).astype(np.int64)
        if self.loss == "ce2d":
            return rng.integers(0, out_shape[1], size=(n,) + out_shape[2:]).astype(np.int64)
        if self.loss == "bce":
            return rng.integers(0, 2, size=out_shape).astype(np.float32)
        return rng.standard_normal(out_shape).astype(np.float32)


def loss_of(F, kind, out, target):
    if kind in ("ce", "ce2d"):
        return F.cross_entropy(out, target)
    if kind == "nll":
        return F.nll_loss(out, target)
    if kind == "bce":
        return F.binary_cross_entropy(out, target)
    return F.mse_loss(out, target)


def _vgg_small(ns, batch_norm):
    cfg = [8, "M", 16, "M", 32, 32, "M", 64, 64, "M", 64, 64, "M"]  # cfg "A" at 1/8 width
    return ns["VGG"](ns["make_layers"](cfg, batch_norm=batch_norm), num_classes=10, hidden=64,
                     last_channels=64)


CASES = {
    "lenet_mnist_net": Case("lenet", lambda ns: ns["Net"](), (2, 1, 28, 28), "nll"),
    "lenet5": Case("lenet", lambda ns: ns["LeNet5"](), (3, 1, 32, 32), "ce"),
    "alexnet_narrow": Case("alexnet", lambda ns: ns["AlexNet"](
        num_classes=10, widths=(16, 32, 48, 32, 32), hidden=64), (2, 3, 64, 64), "ce"),
    "vgg_a_narrow": Case("vgg", lambda ns: _vgg_small(ns, False), (2, 3, 32, 32), "ce"),
    "vgg_a_bn_narrow": Case("vgg", lambda ns: _vgg_small(ns, True), (4, 3, 32, 32), "ce"),
    "resnet18": Case("resnet", lambda ns: ns["resnet18"](num_classes=10), (4, 3, 32, 32), "ce"),
    "resnet50": Case("resnet", lambda ns: ns["resnet50"](num_classes=10), (4, 3, 32, 32), "ce"),
    "mobilenet_v2_x0.25": Case("mobilenet", lambda ns: ns["MobileNetV2"](
        num_classes=10, width_mult=0.25), (2, 3, 64, 64), "ce"),
    "mobilenet_v3_small_x0.5": Case("mobilenet", lambda ns: ns["mobilenet_v3_small"](
        width_mult=0.5, num_classes=10), (2, 3, 64, 64), "ce"),
    "squeezenet1_0": Case("squeezenet", lambda ns: ns["squeezenet1_0"](num_classes=10),
                          (2, 3, 64, 64), "ce"),
    "squeezenet1_1": Case("squeezenet", lambda ns: ns["squeezenet1_1"](num_classes=10),
                          (2, 3, 64, 64), "ce"),
    "densenet_small": Case("densenet", lambda ns: ns["densenet_small"](num_classes=10),
                           (2, 3, 32, 32), "ce"),
    "unet_transpose_b8": Case("unet", lambda ns: ns["UNet"](3, 3, bilinear=False, base=8),
                              (2, 3, 36, 40), "ce2d"),
    "unet_bilinear_b8": Case("unet", lambda ns: ns["UNet"](3, 3, bilinear=True, base=8),
                             (2, 3, 36, 40), "ce2d"),
    "dcgan_nz16_w8": Case("dcgan", lambda ns: ns["DCGAN"](nz=16, ngf=8, ndf=8),
                          (4, 16, 1, 1), "bce"),
    "espcn_x3": Case("superres", lambda ns: ns["Net"](upscale_factor=3), (2, 1, 16, 16),
                     "mse"),
    "transformer_net": Case("style_transfer", lambda ns: ns["TransformerNet"](),
                            (2, 3, 32, 32), "mse", lr=1e-3),
    "transformer_net_upsample_layer": Case("style_transfer", lambda ns: ns["TransformerNet"](
        upsample_module=True), (2, 3, 32, 32), "mse", lr=1e-3),
}

# models blocked by a gap in the package; strict, so each flips to a failure (an alert)
# once the gap is filled
GAPS = {}


def case_params():
    return [pytest.param(name, id=name, marks=[pytest.mark.xfail(strict=True, reason=GAPS[name])]
                         if name in GAPS else []) for name in CASES]


# ----------------------------------------------------------------------------- comparing
def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def assert_close(ours, ref, what, rtol=2e-4, atol_frac=2e-5, scale=None):
    """float32 agreement: elementwise within rtol, plus an absolute slack that is a small
    fraction of the reference's magnitude (``scale``, default its max-abs), so that
    elements near zero, where float32 round-off of a sum of large terms dominates, pass."""
    ours, ref = _np(ours), _np(ref)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != torch {ref.shape}"
    assert ours.dtype == ref.dtype, f"{what}: dtype {ours.dtype} != torch {ref.dtype}"
    if ref.dtype.kind != "f":
        np.testing.assert_array_equal(ours, ref, err_msg=what)
        return
    scale = float(np.abs(ref).max(initial=0.0)) if scale is None else scale
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol_frac * scale + 1e-7,
                               err_msg=what)


def zero_dropout(model):
    for m in model.modules():
        if type(m).__name__ in ("Dropout", "Dropout2d"):
            m.p = 0.0


def make_pair(name):
    """(case, torch model, our model) with our parameters and buffers copied from torch's."""
    case = CASES[name]
    torch.manual_seed(0)
    ref = case.build(torch_namespace(case.family))
    ours = case.build(our_namespace(case.family))
    sd = ref.state_dict()
    assert list(ours.state_dict()) == list(sd), "state_dict keys differ from torch's"
    result = ours.load_state_dict({k: tg.tensor(v.detach().numpy().copy())
                                   for k, v in sd.items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in ours.state_dict().items():
        assert_close(v, sd[k], f"{k} after load_state_dict", rtol=0, atol_frac=0)
    return case, ref, ours


def run_both(case, ref, ours, x, rng):
    """Forward both models on x, then each one's loss against the same drawn target."""
    out_r = ref(torch.from_numpy(x))
    out_o = ours(tg.tensor(x))
    target = case.make_target(rng, tuple(out_r.shape))
    t_r, t_o = torch.from_numpy(target), tg.tensor(target)
    return out_r, out_o, loss_of(torch.nn.functional, case.loss, out_r, t_r), \
        loss_of(tgF, case.loss, out_o, t_o)


def compare_state(ref, ours, when, scale=None):
    own = ours.state_dict()
    for k, v in ref.state_dict().items():
        assert_close(own[k], v, f"{k} {when}", scale=None if scale is None else scale(k, v))


def grad_scale(ref):
    """Per-parameter gradient scale with a floor at 1e-3 of the largest gradient in the model:
    the gradient of a bias that a following norm layer cancels is float32 noise (both
    engines' noise, far below everything else), not a value to compare digit by digit."""
    peaks = {k: float(p.grad.abs().max()) for k, p in ref.named_parameters()
             if p.grad is not None}
    top = max(peaks.values(), default=0.0)
    return {k: max(v, 1e-3 * top) for k, v in peaks.items()}


# ----------------------------------------------------------------------------- tests
@requires_torch
def test_sources_port_by_their_imports():
    """Every family's file names the package only in the three import lines, and the PyTorch
    version builds (exec) without touching tinygrad_cnn."""
    families = sorted(p.stem for p in ZOO.glob("*.py") if p.stem != "__init__")
    assert {c.family for c in CASES.values()} == set(families)
    for family in families:
        src = torch_source(family)
        assert "tinygrad" not in src
        assert src.count("\nimport ") + src.count("\nfrom ") <= 6, f"{family}: extra imports"
        torch_namespace(family)


@requires_torch
@pytest.mark.parametrize("name", case_params())
def test_forward_backward_matches_torch(name):
    case, ref, ours = make_pair(name)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(case.shape).astype(np.float32)
    zero_dropout(ref)
    zero_dropout(ours)
    ref.train()
    ours.train()
    out_r, out_o, loss_r, loss_o = run_both(case, ref, ours, x, np.random.default_rng(2))
    assert_close(out_o, out_r, "train-mode output")
    assert_close(loss_o, loss_r, "loss")
    loss_r.backward()
    loss_o.backward()
    scales = grad_scale(ref)
    own = dict(ours.named_parameters())
    assert list(own) == [k for k, _ in ref.named_parameters()]
    for k, p in ref.named_parameters():
        g = own[k].grad
        assert g is not None, f"{k}: no gradient (torch has one)"
        assert_close(g, p.grad, f"grad of {k}", scale=scales[k])
    compare_state(ref, ours, "after one train-mode forward")  # running stats
    ref.eval()
    ours.eval()
    x2 = np.random.default_rng(3).standard_normal(case.shape).astype(np.float32)
    with torch.no_grad():
        out_r = ref(torch.from_numpy(x2))
    with tg.no_grad():
        out_o = ours(tg.tensor(x2))
    assert_close(out_o, out_r, "eval-mode output")


def _steps(case, ref, ours, make_opt_r, make_opt_o):
    opt_r, opt_o = make_opt_r(ref.parameters()), make_opt_o(ours.parameters())
    rng = np.random.default_rng(5)
    scales = None
    for step in range(STEPS):
        x = rng.standard_normal(case.shape).astype(np.float32)
        opt_r.zero_grad()
        opt_o.zero_grad()
        _, _, loss_r, loss_o = run_both(case, ref, ours, x, rng)
        assert_close(loss_o, loss_r, f"loss at step {step}")
        loss_r.backward()
        loss_o.backward()
        scales = grad_scale(ref) if scales is None else scales
        opt_r.step()
        opt_o.step()
    return scales


@requires_torch
@pytest.mark.parametrize("name", case_params())
def test_sgd_momentum_steps_match_torch(name):
    case, ref, ours = make_pair(name)
    zero_dropout(ref)
    zero_dropout(ours)
    _steps(case, ref, ours, lambda ps: torch.optim.SGD(ps, lr=case.lr, momentum=0.9),
           lambda ps: tg.optim.SGD(ps, lr=case.lr, momentum=0.9))
    compare_state(ref, ours, f"after {STEPS} SGD steps")


@requires_torch
@pytest.mark.parametrize("name", case_params())
def test_adam_steps_match_torch(name):
    case, ref, ours = make_pair(name)
    zero_dropout(ref)
    zero_dropout(ours)
    lr = 1e-3
    scales = _steps(case, ref, ours, lambda ps: torch.optim.Adam(ps, lr=lr),
                    lambda ps: tg.optim.Adam(ps, lr=lr))
    params = dict(ref.named_parameters())
    # Adam divides by the gradient's own scale, so a parameter whose gradient is float32
    # noise (see grad_scale) moves by up to lr per step in either engine: allow that move
    # for those parameters only; every other parameter is compared tightly
    noise = {k for k in params if scales[k] > 1.01 * float(params[k].grad.abs().max())}

    def scale(k, v):
        if k in noise:
            return STEPS * lr / 2e-5
        return None

    compare_state(ref, ours, f"after {STEPS} Adam steps", scale=scale)
