"""The long-tail nn layers (branch longtail) against torch.nn: same constructor arguments,
same outputs and gradients, same state-dict keys."""
import numpy as np
import pytest

import tinygrad_cnn as tg
from helpers import check_op, rand, requires_torch, torch

nn = tg.nn
TNN = torch.nn if torch is not None else None


def _pair(name, *args, **kw):
    ours = getattr(nn, name)(*args, **kw)
    theirs = getattr(TNN, name)(*args, **kw) if TNN else None
    return (lambda *t: ours(*t)), (lambda *t: theirs(*t)), ours, theirs


_CASES = [("SmoothL1Loss", (), {"beta": 0.5}, 2), ("HuberLoss", (), {"delta": 0.7}, 2),
          ("SmoothL1Loss", (), {"reduction": "sum"}, 2),
          ("KLDivLoss", (), {"reduction": "batchmean", "log_target": True}, 2),
          ("SELU", (), {}, 1), ("CELU", (0.7,), {}, 1), ("Softsign", (), {}, 1),
          ("Softmin", (1,), {}, 1), ("Threshold", (0.2, -1.0), {}, 1),
          ("Tanhshrink", (), {}, 1), ("LogSigmoid", (), {}, 1), ("GLU", (), {"dim": 1}, 1),
          ("CosineSimilarity", (), {"dim": 1}, 2), ("PairwiseDistance", (), {"p": 1.0}, 2),
          ("TripletMarginLoss", (), {"margin": 2.0}, 3)]


@pytest.mark.parametrize("name,args,kw,n_in", _CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(_CASES)])
def test_layer_matches_torch(name, args, kw, n_in):
    ours, theirs, m, tm = _pair(name, *args, **kw)
    check_op(ours, theirs, inputs=[rand(4, 6, seed=i) for i in range(n_in)])
    if tm is not None:
        assert list(m.state_dict()) == list(tm.state_dict()) == []


@requires_torch
def test_ranking_and_embedding_losses_match_torch():
    ours, theirs, *_ = _pair("MarginRankingLoss", 0.2)
    check_op(ours, theirs, inputs=[rand(5), rand(5, seed=1), np.array([1.0, -1, 1, -1, 1])])
    ours, theirs, *_ = _pair("CosineEmbeddingLoss", -0.3, reduction="sum")
    check_op(ours, theirs, inputs=[rand(3, 4), rand(3, 4, seed=1), np.array([1.0, -1, -1])])


@requires_torch
def test_lrn_and_channel_shuffle_match_torch():
    for mod in (("LocalResponseNorm", (3,), {}), ("LocalResponseNorm", (2, 1e-2, 0.5, 2.0), {}),
                ("ChannelShuffle", (3,), {})):
        ours, theirs, *_ = _pair(mod[0], *mod[1], **mod[2])
        check_op(ours, theirs, inputs=[rand(2, 6, 3, 2)])


@requires_torch
@pytest.mark.parametrize("name,kw", [("UpsamplingNearest2d", {"scale_factor": 2}),
                                     ("UpsamplingNearest2d", {"size": (5, 3)}),
                                     ("UpsamplingBilinear2d", {"scale_factor": 2}),
                                     ("UpsamplingBilinear2d", {"size": (4, 7)})])
def test_upsampling_layers_match_torch(name, kw):
    ours, theirs, *_ = _pair(name, **kw)
    check_op(ours, theirs, inputs=[rand(2, 3, 3, 4)])


@requires_torch
def test_unfold_fold_layers_match_torch():
    ours, theirs, *_ = _pair("Unfold", (2, 3), padding=1, stride=2)
    check_op(ours, theirs, inputs=[rand(2, 3, 5, 6)])
    ours, theirs, *_ = _pair("Fold", (5, 6), (2, 3), padding=1, stride=2)
    check_op(ours, theirs, inputs=[rand(2, 18, 9)])


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch_with_its_weights(bias):
    tm = TNN.Bilinear(3, 4, 5, bias=bias)
    m = nn.Bilinear(3, 4, 5, bias=bias)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert m.weight.shape == tuple(tm.weight.shape)
    m.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    if bias:
        check_op(lambda a, b, w, c: tg.functional.bilinear(a, b, w, c),
                 lambda a, b, w, c: torch.nn.functional.bilinear(a, b, w, c),
                 inputs=[rand(2, 3), rand(2, 4, seed=1), rand(5, 3, 4, seed=2), rand(5, seed=3)])
    x1, x2 = rand(6, 3, seed=4, dtype=np.float32), rand(6, 4, seed=5, dtype=np.float32)
    ref = tm(torch.from_numpy(x1), torch.from_numpy(x2)).detach().numpy()
    assert np.allclose(m(tg.tensor(x1), tg.tensor(x2)).numpy(), ref, atol=1e-5)
    bound = 1 / np.sqrt(3)
    assert np.abs(nn.Bilinear(3, 4, 5).weight.numpy()).max() <= bound


def test_dropout_layers_train_and_eval():
    x = tg.ones(4, 6, 5)
    for m, shape in ((nn.Dropout1d(0.5), (4, 6, 5)), (nn.Dropout3d(0.5), (2, 3, 2, 2, 2)),
                     (nn.AlphaDropout(0.5), (4, 6))):
        x = tg.ones(*shape)
        tg.manual_seed(0)
        y = m(x)
        assert not np.array_equal(y.numpy(), x.numpy())
        m.eval()
        assert m(x) is x
    with pytest.raises(ValueError, match="dropout probability"):
        nn.AlphaDropout(1.5)


def test_loss_layers_check_their_reduction():
    with pytest.raises(ValueError, match="SmoothL1Loss: reduction must be one of"):
        nn.SmoothL1Loss(reduction="batchmean")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    assert nn.SmoothL1Loss(size_average=False).reduction == "sum"
