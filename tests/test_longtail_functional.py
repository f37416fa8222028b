"""The long tail of torch.nn.functional (branch longtail) against PyTorch: forward, backward
under a random upstream gradient, float64 gradcheck (helpers.check_op)."""
import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import check_op, rand, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def _both(name, *args, **kw):
    """``F.<name>`` here and in torch with the same extra arguments."""
    return (lambda *t: getattr(F, name)(*t, *args, **kw),
            lambda *t: getattr(TF, name)(*t, *args, **kw))


# inputs away from the kinks (|x| == beta, x == 0, ...) so that finite differences hold
_X = rand(3, 5, seed=0)
_T = rand(3, 5, seed=1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_loss(reduction, beta):
    check_op(*_both("smooth_l1_loss", reduction=reduction, beta=beta), inputs=[_X, _T])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_loss(reduction, delta):
    check_op(*_both("huber_loss", reduction=reduction, delta=delta), inputs=[_X, _T])


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
def test_kl_div(reduction):
    logp = np.log(rand(4, 3, seed=2, low=0.1, high=1.0))
    q = rand(4, 3, seed=3, low=0.05, high=1.0)
    q[0, 1] = 0.0                            # target 0: contributes 0 (xlogy)
    with np.errstate(divide="ignore"):
        check_op(*_both("kl_div", reduction=reduction), inputs=[logp, q], grad=False)
    check_op(lambda a: F.kl_div(a, a.new_tensor(q), reduction=reduction),
             lambda a: TF.kl_div(a, torch.from_numpy(q), reduction=reduction), inputs=[logp])
    check_op(*_both("kl_div", reduction=reduction, log_target=True),
             inputs=[logp, np.log(rand(4, 3, seed=4, low=0.1, high=1.0))])


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(tg.zeros(2, 2), tg.ones(2, 2))


def test_legacy_size_average_reduce():
    check_op(*_both("smooth_l1_loss", size_average=False), inputs=[_X, _T])
    check_op(*_both("kl_div", reduce=False), inputs=[_X, rand(3, 5, seed=5, low=0.1)])


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize(p, dim):
    check_op(*_both("normalize", p=p, dim=dim), inputs=[rand(3, 4)])


def test_normalize_clamps_at_eps():
    x = tg.zeros(2, 3)
    assert F.normalize(x).numpy().tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize("dim,shapes", [(1, ((3, 4), (3, 4))), (0, ((4, 2), (4, 2))),
                                        (-1, ((2, 1, 5), (3, 5)))])
def test_cosine_similarity(dim, shapes):
    check_op(*_both("cosine_similarity", dim=dim),
             inputs=[rand(*shapes[0]), rand(*shapes[1], seed=1)])


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_pairwise_distance(p):
    check_op(*_both("pairwise_distance", p=p), inputs=[rand(3, 4), rand(3, 4, seed=1)])


@pytest.mark.parametrize("name,kw", [("logsigmoid", {}), ("selu", {}), ("celu", {}),
                                     ("celu", {"alpha": 0.5}), ("softsign", {}),
                                     ("tanhshrink", {}), ("softmin", {"dim": 1}),
                                     ("softmin", {"dim": 0}),
                                     ("threshold", {"threshold": 0.3, "value": -2.0}),
                                     ("glu", {}), ("glu", {"dim": 0})])
def test_activations(name, kw):
    check_op(*_both(name, **kw), inputs=[rand(4, 6)])


def test_logsigmoid_is_stable_for_large_inputs():
    y = F.logsigmoid(tg.tensor([-1000.0, 1000.0]))
    assert y.numpy().tolist() == [-1000.0, 0.0]


def test_softmin_implicit_dim_warns_as_torch():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmin(tg.ones(2, 3))
    assert np.allclose(y.numpy(), 1 / 3)


@pytest.mark.parametrize("inplace_name", ["selu", "celu", "threshold"])
def test_inplace_activations(inplace_name):
    kw = {"threshold": 0.1, "value": 0.0} if inplace_name == "threshold" else {}
    x = tg.tensor(rand(3, 4))
    ref = getattr(F, inplace_name)(x, **kw).numpy()
    assert getattr(F, inplace_name)(x, inplace=True, **kw) is x
    assert np.array_equal(x.numpy(), ref)


@pytest.mark.parametrize("wshape,xshape", [((1,), (3, 4)), ((4,), (2, 4, 3)), ((1,), (3,)),
                                           ((1,), ()), ((2,), (5, 2))])
def test_prelu(wshape, xshape):
    check_op(F.prelu, TF.prelu if TF else None,
             inputs=[rand(*xshape), rand(*wshape, seed=1, low=0.1, high=0.5)])


def test_glu_and_prelu_errors():
    with pytest.raises(RuntimeError, match="glu: halving dimension must be even"):
        F.glu(tg.ones(2, 3))
    with pytest.raises(RuntimeError, match="prelu: weight of shape"):
        F.prelu(tg.ones(2, 3), tg.ones(2))
    with pytest.raises(RuntimeError, match=r"prelu: .* one per channel \(1\)"):
        F.prelu(tg.ones(3), tg.ones(3))        # torch: a 1-D input has one channel
    with pytest.raises(ValueError, match="celu: alpha must be nonzero"):
        F.celu(tg.ones(2), alpha=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_margin_ranking_loss(reduction):
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    check_op(*_both("margin_ranking_loss", margin=0.3, reduction=reduction),
             inputs=[rand(5), rand(5, seed=1), y])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 3), (3,)])
def test_cosine_embedding_loss(reduction, shape):
    y = np.array([1.0, -1.0, -1.0, 1.0])[:shape[0]] if len(shape) == 2 else np.array(-1.0)
    check_op(*_both("cosine_embedding_loss", margin=-0.5, reduction=reduction),
             inputs=[rand(*shape), rand(*shape, seed=1), y])


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [2, 1])
def test_triplet_margin_loss(swap, p):
    check_op(*_both("triplet_margin_loss", margin=2.0, p=p, swap=swap),
             inputs=[rand(4, 3), rand(4, 3, seed=1), rand(4, 3, seed=2)])


def test_embedding_and_padding_idx():
    idx = np.array([[0, 2, 4], [1, 2, 2]])
    check_op(lambda w, i: F.embedding(i, w), lambda w, i: TF.embedding(i, w),
             inputs=[rand(5, 3), idx])
    # the padding row's zero gradient is a convention, not the derivative: no gradcheck
    check_op(lambda w, i: F.embedding(i, w, padding_idx=2),
             lambda w, i: TF.embedding(i, w, padding_idx=2), inputs=[rand(5, 3), idx],
             gradcheck=False)
    check_op(lambda w, i: F.embedding(i, w, padding_idx=-1),
             lambda w, i: TF.embedding(i, w, padding_idx=-1), inputs=[rand(5, 3), idx],
             gradcheck=False)
    with pytest.raises(NotImplementedError, match="embedding: max_norm"):
        F.embedding(tg.tensor([0]), tg.ones(2, 2), max_norm=1.0)
    with pytest.raises(IndexError, match="embedding: index 7 is out of range"):
        F.embedding(tg.tensor([7]), tg.ones(2, 2))
    with pytest.raises(TypeError, match="embedding: expected integer indices"):
        F.embedding(tg.tensor([0.0]), tg.ones(2, 2))


@pytest.mark.parametrize("kw", [{"size": 3}, {"size": 2, "alpha": 0.1, "beta": 0.5, "k": 2.0},
                                {"size": 5}])
@pytest.mark.parametrize("shape", [(2, 6, 4, 3), (2, 5, 7), (1, 4, 2, 3, 2)])
def test_local_response_norm(kw, shape):
    check_op(*_both("local_response_norm", **kw), inputs=[rand(*shape)])


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3), "padding": 1},
                                {"kernel_size": 3, "stride": 2, "dilation": (1, 2),
                                 "padding": (1, 2)}])
def test_unfold_fold(kw):
    check_op(*_both("unfold", **kw), inputs=[rand(2, 3, 6, 7)])
    check_op(*_both("unfold", **kw), inputs=[rand(3, 6, 7, seed=1)])
    cols = TF.unfold(torch.zeros(2, 3, 6, 7), **kw).shape if TF else None
    if cols is not None:
        check_op(*_both("fold", (6, 7), **kw), inputs=[rand(*cols, seed=2)])


def test_fold_errors():
    with pytest.raises(RuntimeError, match="fold: given output_size"):
        F.fold(tg.ones(1, 4, 5), (3, 3), 2)
    with pytest.raises(ValueError, match="unfold: kernel extent 3"):
        F.unfold(tg.ones(1, 1, 2, 2), 3)


@requires_torch
def test_fold_is_unfolds_adjoint():
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 3 * 4, 4 * 4))
    kw = {"kernel_size": 2, "stride": (1, 2), "padding": (0, 1)}
    lhs = (F.unfold(tg.tensor(x), **kw).numpy() * c).sum()
    rhs = (x * F.fold(tg.tensor(c), (5, 6), **kw).numpy()).sum()
    assert np.isclose(lhs, rhs)


@pytest.mark.parametrize("name,shape,spatial", [("dropout1d", (4, 5, 6), 1),
                                                ("dropout1d", (5, 6), 1),
                                                ("dropout3d", (2, 5, 2, 3, 2), 3)])
def test_channel_dropout_zeros_whole_channels_and_scales(name, shape, spatial):
    tg.manual_seed(0)
    x = tg.ones(*shape)
    y = getattr(F, name)(x, p=0.4).numpy()
    per_channel = y.reshape(y.shape[:-spatial] + (-1,))
    assert np.all(per_channel.min(-1) == per_channel.max(-1))        # whole channels
    assert np.all(np.isclose(y, 0.0) | np.isclose(y, 1 / 0.6))
    assert 0 < (per_channel[..., 0] == 0).sum() < per_channel[..., 0].size
    assert getattr(F, name)(x, p=0.4, training=False) is x
    with pytest.raises(ValueError, match=f"{name}: expected"):
        getattr(F, name)(tg.ones(2), p=0.5)


def test_alpha_dropout_follows_torchs_affine_rule():
    tg.manual_seed(1)
    p = 0.3
    x = tg.tensor(rand(200, 50))
    y = F.alpha_dropout(x, p=p, training=True).numpy()
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha ** 2 * p + 1) * (1 - p))
    kept = np.isclose(y, x.numpy() * a + alpha * a * p)
    dropped = np.isclose(y, alpha * a * (p - 1))
    assert np.all(kept | dropped) and 0.25 < dropped.mean() < 0.35
    z = F.alpha_dropout(tg.randn(400, 400), p=0.2, training=True).numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02    # what alpha dropout keeps
    assert F.alpha_dropout(x, p) is x                           # training=False by default
